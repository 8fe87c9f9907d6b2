"""EnvelopeExplorer: envelope encryption of the learner's own text, one step at a time.

1. GenerateDataKey: KMS returns a data key twice, in plaintext and encrypted
   under the KMS key. The plaintext key is never shown: only its length and
   a short SHA-256 fingerprint (which reveals nothing of a random 256-bit key).
2. The encrypted data key: its length and the parts of the blob.
3. The message: the data encrypted locally (``kmslab.envelope.encrypt``) and
   its layout (``kmslab.envelope.parse``): header, encrypted data keys, frames.
4. Decrypt: Decrypt unwraps the data key, the data is decrypted locally.

The widget watches the calls ``kmslab.envelope`` makes through the client,
so steps 1 and 2 show the very data key the message uses. ``show_message``
takes apart any AWS Encryption SDK message instead, the SDK's own included.
Listing the keys (ListKeys, DescribeKey, ListAliases) is the widget's own
reading: it carries the user agent ``kmslab-widgets/EnvelopeExplorer``.
"""

from __future__ import annotations

import hashlib
import html

import ipywidgets as widgets

from .. import envelope
from ._base import (
    ErrorBox,
    client_of,
    html_table,
    key_labels,
    list_all_keys,
    note_html,
    parse_context,
    permitted,
    widget_client,
)
from ._blob import blob_parts

__all__ = ["EnvelopeExplorer"]


def fingerprint(secret: bytes) -> str:
    """A short SHA-256 fingerprint: tells two keys apart without showing either."""
    return "sha256:" + hashlib.sha256(secret).hexdigest()[:12]


class _WatchedClient:
    """Forwards calls to a KMS client and keeps a summary (never key bytes) of each."""

    def __init__(self, kms):
        self._kms = kms
        self.calls: list[dict] = []

    def __getattr__(self, name):
        method = getattr(self._kms, name)
        if not callable(method):
            return method

        def call(**params):
            response = method(**params)
            summary = {"method": name, "KeyId": params.get("KeyId")}
            if "Plaintext" in response and name.startswith("generate_data_key"):
                summary["data_key_length"] = len(response["Plaintext"])
                summary["data_key_fingerprint"] = fingerprint(response["Plaintext"])
            if "CiphertextBlob" in response:
                summary["encrypted_data_key"] = bytes(response["CiphertextBlob"])
                summary["KeyArn"] = response.get("KeyId")
            self.calls.append(summary)
            return response
        return call


class EnvelopeExplorer(widgets.VBox):
    """Type a text, pick a key, press "Encrypt": each step of envelope encryption is shown."""

    def __init__(self, kms):
        self.client = client_of(kms)
        self.reader = widget_client(kms, "EnvelopeExplorer")
        self.text = widgets.Textarea(value="Meet me at the library at noon.",
                                     description="Your text", layout=widgets.Layout(width="600px"))
        self.key = widgets.Dropdown(description="KMS key")
        self.context = widgets.Text(description="Context", value="purpose=demo",
                                    placeholder="k=v, k2=v2")
        self.encrypt_button = widgets.Button(description="Encrypt", button_style="primary")
        self.encrypt_button.on_click(lambda _: self.run())
        self.refresh_button = widgets.Button(description="Reload keys", icon="refresh")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.error = ErrorBox()
        self.steps = [widgets.HTML() for _ in range(4)]
        self.message: bytes | None = None
        super().__init__([
            widgets.HTML("<b>Envelope encryption, step by step</b>"),
            self.text, widgets.HBox([self.key, self.refresh_button]), self.context,
            self.encrypt_button, self.error, *self.steps])
        self.add_class("kmslab-envelope-explorer")
        self.refresh()

    def __repr__(self) -> str:
        return f"<EnvelopeExplorer: {len(self.key.options)} keys>"

    def refresh(self) -> None:
        """Offer the symmetric encryption keys that are enabled."""
        kms = self.reader
        usable = []
        for key_id in list_all_keys(kms) if permitted(kms, "ListKeys") else []:
            if not permitted(kms, "DescribeKey", key_id):
                continue
            meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
            if meta["KeySpec"] == "SYMMETRIC_DEFAULT" and meta["KeyUsage"] == "ENCRYPT_DECRYPT" \
                    and meta["KeyState"] == "Enabled":
                usable.append(key_id)
        current = self.key.value
        self.key.options = key_labels(kms, usable, None if permitted(kms, "ListAliases") else {})
        if current in usable:
            self.key.value = current
        elif usable:
            self.key.value = usable[0]

    def run(self) -> bool:
        """Encrypt the text under the chosen key and show every step. True on success."""
        for step in self.steps:
            step.value = ""
        return self.error.run(self._run) is not None

    def _run(self) -> bool:
        if not self.key.value:
            raise ValueError("create a symmetric encryption key first, then Reload keys")
        context = parse_context(self.context.value)
        plaintext = self.text.value.encode("utf-8")
        watched = _WatchedClient(self.client)
        self.message = bytes(envelope.encrypt(watched, plaintext, [self.key.value],
                                              context or None))
        generated = next(c for c in watched.calls if c["method"] == "generate_data_key")
        self.steps[0].value = (
            "<h4>1. GenerateDataKey</h4>"
            f"<p>KMS made a data key: <b>{generated['data_key_length']} bytes (hidden)</b>, "
            f"fingerprint <code>{generated['data_key_fingerprint']}</code>. It is used here, in "
            "memory, and thrown away; KMS also returned it encrypted under the KMS key.</p>")
        blob = generated["encrypted_data_key"]
        parts = blob_parts(blob)
        table = html_table(("part", "bytes", "what"), parts) if parts else \
            note_html("(this blob's layout is not public)")
        self.steps[1].value = (
            "<h4>2. The encrypted data key</h4>"
            f"<p>{len(blob)} bytes, stored next to the data. Only KMS can turn it back into the "
            "data key (Decrypt).</p>" + table)
        info = envelope.parse(self.message)
        self.steps[2].value = (
            "<h4>3. The message</h4>"
            f"<p>Your {len(plaintext)} bytes became a {len(self.message)}-byte message, "
            "encrypted locally with the data key (KMS never saw your text).</p>"
            + info._repr_html_())
        recovered = bytes(envelope.decrypt(self.client, self.message, context or None))
        ok = recovered == plaintext
        self.steps[3].value = (
            "<h4>4. Decrypt</h4>"
            "<p>Decrypt sends only the encrypted data key to KMS; the text is decrypted locally. "
            f"Round trip: <b>{'the same text' if ok else 'MISMATCH'}</b> "
            f"({html.escape(str(len(recovered)))} bytes).</p>")
        return True

    def show_message(self, message: bytes) -> bool:
        """Show the parts of any AWS Encryption SDK message (step 3 only). True on success."""
        for step in self.steps:
            step.value = ""

        def show() -> bool:
            info = envelope.parse(message)
            self.message = bytes(message)
            self.steps[2].value = ("<h4>3. The message</h4>"
                                   f"<p>A {len(self.message)}-byte message, taken apart without "
                                   "decrypting anything.</p>" + info._repr_html_())
            return True
        return self.error.run(show) is not None
