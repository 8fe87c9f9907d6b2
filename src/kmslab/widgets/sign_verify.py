"""SignVerifyPlayground: sign a message with an asymmetric KMS key, tamper with it, verify.

Sign and Verify are the AWS operations; a changed message (or a different
algorithm) makes Verify fail with KMSInvalidSignatureException, shown inline,
which is exactly what boto3 code sees. The widget's own reads (ListKeys,
ListAliases, DescribeKey) carry the user agent ``kmslab-widgets/SignVerifyPlayground``.
"""

from __future__ import annotations

import hashlib

import ipywidgets as widgets

from ._base import ErrorBox, client_of, key_labels, list_all_keys, permitted, widget_client

__all__ = ["SignVerifyPlayground"]


class SignVerifyPlayground(widgets.VBox):
    """Sign the text, edit it (or press "Tamper"), verify: valid, or the AWS error."""

    def __init__(self, kms):
        self.client = client_of(kms)
        self.reader = widget_client(kms, "SignVerifyPlayground")
        self.key = widgets.Dropdown(description="Signing key", style={"description_width": "initial"})
        self.algorithm = widgets.Dropdown(description="Algorithm")
        self.message = widgets.Textarea(value="Pay Bob 10 EUR", description="Message")
        self.new_key_button = widgets.Button(description="New ECC_NIST_P256 key", tooltip="CreateKey",
                                             layout=widgets.Layout(width="auto"))
        self.sign_button = widgets.Button(description="Sign", button_style="primary")
        self.tamper_button = widgets.Button(description="Tamper", tooltip="change one character")
        self.verify_button = widgets.Button(description="Verify")
        self.signature_info = widgets.HTML()
        self.result = widgets.HTML()
        self.error = ErrorBox()
        self.signature: bytes | None = None
        self.signed_algorithm: str | None = None
        self.key.observe(lambda _: self._load_algorithms(), "value")
        self.new_key_button.on_click(lambda _: self.create_key())
        self.sign_button.on_click(lambda _: self.sign())
        self.tamper_button.on_click(lambda _: self.tamper())
        self.verify_button.on_click(lambda _: self.verify())
        super().__init__([
            widgets.HTML("<b>Sign / verify playground</b>"),
            widgets.HBox([self.key, self.new_key_button]), self.algorithm, self.message,
            widgets.HBox([self.sign_button, self.tamper_button, self.verify_button]),
            self.signature_info, self.result, self.error])
        self.add_class("kmslab-sign-verify")
        self.refresh()

    def __repr__(self) -> str:
        return f"<SignVerifyPlayground: {len(self.key.options)} signing keys>"

    def refresh(self) -> None:
        """Offer the enabled SIGN_VERIFY keys."""
        keys = []
        listed = list_all_keys(self.reader) if permitted(self.reader, "ListKeys") else []
        for key_id in listed:
            if not permitted(self.reader, "DescribeKey", key_id):
                continue
            meta = self.reader.describe_key(KeyId=key_id)["KeyMetadata"]
            if meta["KeyUsage"] == "SIGN_VERIFY" and meta["KeyState"] == "Enabled":
                keys.append(key_id)
        current = self.key.value
        self.key.options = key_labels(self.reader, keys,
                                      None if permitted(self.reader, "ListAliases") else {})
        if current in keys:
            self.key.value = current
        elif keys:
            self.key.value = keys[-1]
        self._load_algorithms()

    def _load_algorithms(self) -> None:
        if not self.key.value:
            self.algorithm.options = []
            return
        meta = self.reader.describe_key(KeyId=self.key.value)["KeyMetadata"]
        algorithms = meta.get("SigningAlgorithms", [])
        self.algorithm.options = algorithms
        if algorithms:
            self.algorithm.value = algorithms[0]

    def create_key(self) -> str | None:
        """CreateKey(KeySpec=ECC_NIST_P256, KeyUsage=SIGN_VERIFY); selects it."""
        response = self.error.run(lambda: self.client.create_key(
            KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY", Description="signing playground"))
        if response is None:
            return None
        self.refresh()
        self.key.value = response["KeyMetadata"]["KeyId"]
        return self.key.value

    def sign(self) -> bool:
        """Sign the message (MessageType RAW); shows the signature's length and algorithm."""
        def run():
            if not self.key.value:
                raise ValueError("create or pick a signing key first")
            return self.client.sign(KeyId=self.key.value, Message=self.message.value.encode(),
                                    MessageType="RAW", SigningAlgorithm=self.algorithm.value)
        response = self.error.run(run)
        self.result.value = ""
        if response is None:
            return False
        self.signature = bytes(response["Signature"])
        self.signed_algorithm = response["SigningAlgorithm"]
        self.signature_info.value = (
            f"Signed with {self.signed_algorithm}: signature {len(self.signature)} bytes "
            f"(sha256:{hashlib.sha256(self.signature).hexdigest()[:12]}). "
            "Now change the message, or press Tamper, and verify.")
        return True

    def tamper(self) -> None:
        """Change the message's last character (what an attacker might do)."""
        text = self.message.value or "x"
        last = text[-1]
        self.message.value = text[:-1] + ("0" if last != "0" else "1")

    def verify(self) -> bool | None:
        """Verify the signature against the current message: True, or the error inline."""
        def run():
            if self.signature is None:
                raise ValueError("sign the message first")
            return self.client.verify(KeyId=self.key.value, Message=self.message.value.encode(),
                                      MessageType="RAW", Signature=self.signature,
                                      SigningAlgorithm=self.signed_algorithm)
        response = self.error.run(run)
        if response is None:
            self.result.value = ""
            return None
        self.result.value = ("<b style='color:#1a7f37'>SignatureValid: "
                             f"{response['SignatureValid']}</b>")
        return bool(response["SignatureValid"])
