"""ImportWizard: bring your own key material (BYOK), one AWS step per button.

0. CreateKey with Origin EXTERNAL: a key with no material (PendingImport).
1. GetParametersForImport: KMS hands out an RSA wrapping public key and an
   import token (valid 24 hours), both bound to this key.
2. Wrap, on your side: the material (here 32 random bytes, never shown) is
   encrypted with the wrapping public key (``kmslab.byok.wrap_key_material``).
3. ImportKeyMaterial: the wrapped material and the token go to KMS, which
   unwraps them inside; with an expiration date, the material is deleted then.
4. DescribeKey: the key is Enabled and usable.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import ipywidgets as widgets

from .. import byok
from ._base import ErrorBox, client_of, html_table, lab_of, note_html

__all__ = ["ImportWizard"]

EXPLANATIONS = (
    "CreateKey with Origin EXTERNAL makes a KMS key with no key material: its state is "
    "PendingImport until you import some.",
    "GetParametersForImport returns the public half of an RSA wrapping key pair KMS keeps, and "
    "an import token binding it to this key. Both expire after 24 hours.",
    "On your side, the key material is encrypted with the wrapping public key. Only these "
    "wrapped bytes leave your side; the plaintext material is dropped at once.",
    "ImportKeyMaterial sends the wrapped material and the import token. KMS unwraps it with "
    "the private half, which never left KMS. Material that expires is deleted at ValidTo.",
    "DescribeKey: the key is now Enabled and works like any other, with your material.",
)


class ImportWizard(widgets.VBox):
    """Import 32 bytes of your own symmetric key material into a new EXTERNAL key, step by step."""

    def __init__(self, kms):
        self.client = client_of(kms)
        self.lab = lab_of(kms)
        self.key_id: str | None = None
        self._parameters: dict | None = None
        self._wrapped: bytes | None = None

        self.wrapping_algorithm = widgets.Dropdown(
            options=["RSA_AES_KEY_WRAP_SHA_256", "RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1"],
            value="RSAES_OAEP_SHA_256", description="Wrapping algorithm",
            style={"description_width": "initial"}, layout=widgets.Layout(width="auto"))
        self.wrapping_key_spec = widgets.Dropdown(options=["RSA_2048", "RSA_3072", "RSA_4096"],
                                                  value="RSA_2048", description="Wrapping key",
                                                  style={"description_width": "initial"})
        self.expires = widgets.Checkbox(value=False, description="material expires",
                                        style={"description_width": "initial"})
        self.valid_days = widgets.BoundedIntText(value=30, min=1, max=3650,
                                                 description="after (days)",
                                                 style={"description_width": "initial"})
        self.buttons = [
            widgets.Button(description="0. Create EXTERNAL key"),
            widgets.Button(description="1. GetParametersForImport"),
            widgets.Button(description="2. Wrap material"),
            widgets.Button(description="3. ImportKeyMaterial"),
            widgets.Button(description="4. DescribeKey"),
        ]
        actions = (self.create_key, self.get_parameters, self.wrap, self.import_material,
                   self.describe)
        for button, action in zip(self.buttons, actions, strict=True):
            button.layout = widgets.Layout(width="240px", min_width="240px")
            button.on_click(lambda _, a=action: a())
        self.outputs = [widgets.HTML() for _ in self.buttons]
        self.error = ErrorBox()
        rows = []
        for i, (button, output) in enumerate(zip(self.buttons, self.outputs, strict=True)):
            rows.append(widgets.HBox([button, widgets.VBox([
                widgets.HTML(note_html(EXPLANATIONS[i])), output])]))
        super().__init__([
            widgets.HTML("<b>Import wizard: bring your own key</b>"),
            widgets.HBox([self.wrapping_algorithm, self.wrapping_key_spec]),
            widgets.HBox([self.expires, self.valid_days]), *rows, self.error])
        self.add_class("kmslab-import-wizard")
        self._enable_step(0)

    def __repr__(self) -> str:
        return f"<ImportWizard: {self.key_id or 'no key yet'}>"

    def _enable_step(self, step: int) -> None:
        for i, button in enumerate(self.buttons):
            button.disabled = i > step

    def _now(self) -> datetime:
        return self.lab.clock.now() if self.lab is not None else datetime.now(UTC)

    def _step(self, number: int, action) -> bool:
        if self.buttons[number].disabled:
            self.error.show(ValueError(f"do step {number - 1} first"))
            return False
        html = self.error.run(action)
        if html is None:
            return False
        self.outputs[number].value = html
        self._enable_step(number + 1)
        return True

    # ------------------------------------------------------------ the steps
    def create_key(self) -> bool:
        def run():
            meta = self.client.create_key(Origin="EXTERNAL", Description="imported key material",
                                          KeySpec="SYMMETRIC_DEFAULT")["KeyMetadata"]
            self.key_id = meta["KeyId"]
            self._parameters = self._wrapped = None
            for output in self.outputs[1:]:
                output.value = ""
            return html_table(("KeyId", "Origin", "KeyState"),
                              [[meta["KeyId"], meta["Origin"], meta["KeyState"]]])
        return self._step(0, run)

    def get_parameters(self) -> bool:
        def run():
            self._parameters = self.client.get_parameters_for_import(
                KeyId=self.key_id, WrappingAlgorithm=self.wrapping_algorithm.value,
                WrappingKeySpec=self.wrapping_key_spec.value)
            p = self._parameters
            return html_table(("wrapping public key", "import token", "valid to"), [[
                f"{len(p['PublicKey'])} bytes (DER)", f"{len(p['ImportToken'])} bytes",
                f"{p['ParametersValidTo']:%Y-%m-%d %H:%M} UTC"]])
        return self._step(1, run)

    def wrap(self) -> bool:
        def run():
            material = secrets.token_bytes(32)
            assert self._parameters is not None  # step 1 ran: _step runs the steps in order
            self._wrapped = byok.wrap_key_material(
                self._parameters["PublicKey"], self.wrapping_algorithm.value, material)
            del material
            return html_table(("your key material", "wrapped material"), [[
                "32 bytes (hidden, dropped after wrapping)", f"{len(self._wrapped)} bytes"]])
        return self._step(2, run)

    def import_material(self) -> bool:
        def run():
            assert self._parameters is not None  # step 1 ran: _step runs the steps in order
            params = {"KeyId": self.key_id, "ImportToken": self._parameters["ImportToken"],
                      "EncryptedKeyMaterial": self._wrapped}
            if self.expires.value:
                params["ExpirationModel"] = "KEY_MATERIAL_EXPIRES"
                params["ValidTo"] = self._now() + timedelta(days=self.valid_days.value)
            else:
                params["ExpirationModel"] = "KEY_MATERIAL_DOES_NOT_EXPIRE"
            response = self.client.import_key_material(**params)
            self._wrapped = None
            valid_to = f"{params['ValidTo']:%Y-%m-%d %H:%M} UTC" if "ValidTo" in params else "never"
            return html_table(("ExpirationModel", "expires", "KeyMaterialId"), [[
                params["ExpirationModel"], valid_to,
                (response.get("KeyMaterialId") or "")[:16] + "…"]])
        return self._step(3, run)

    def describe(self) -> bool:
        def run():
            meta = self.client.describe_key(KeyId=self.key_id)["KeyMetadata"]
            valid = meta.get("ValidTo")
            return html_table(("KeyState", "Origin", "ExpirationModel", "ValidTo"), [[
                meta["KeyState"], meta["Origin"], meta.get("ExpirationModel", ""),
                f"{valid:%Y-%m-%d %H:%M} UTC" if valid else ""]])
        return self._step(4, run)

    def run_all(self) -> bool:
        """Every step in order (for a notebook or a test); stops at the first error."""
        return all(step() for step in (self.create_key, self.get_parameters, self.wrap,
                                       self.import_material, self.describe))
