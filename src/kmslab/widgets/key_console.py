"""KeyConsole: the keys of an account and Region, a create-key form and the lifecycle actions.

Every action is one boto3-shaped call (CreateKey, EnableKey, DisableKey,
ScheduleKeyDeletion, CancelKeyDeletion, RotateKeyOnDemand, CreateAlias);
the table is rebuilt from ListKeys, DescribeKey, ListAliases and
GetKeyRotationStatus after each one, and AWS's errors appear inline. The
rebuilding reads carry the user agent ``kmslab-widgets/KeyConsole`` and ask
only what the caller's permissions and the key's state allow, so they never fail.
"""

from __future__ import annotations

import ipywidgets as widgets

from ._base import (
    ErrorBox,
    aliases_by_key,
    allowed_in_state,
    client_of,
    html_table,
    key_labels,
    list_all_keys,
    note_html,
    permitted,
    short_id,
    widget_client,
)

__all__ = ["KeyConsole"]

KEY_SPECS = ("SYMMETRIC_DEFAULT", "RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256",
             "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1", "HMAC_224", "HMAC_256",
             "HMAC_384", "HMAC_512", "ML_DSA_44", "ML_DSA_65", "ML_DSA_87")
KEY_USAGES = ("ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT")
ORIGINS = ("AWS_KMS", "EXTERNAL")
COLUMNS = ("KeyId", "Aliases", "Description", "KeySpec", "KeyUsage", "KeyState", "Origin",
           "Rotation")


class KeyConsole(widgets.VBox):
    """The keys as a table, a create-key form, and actions on the selected key.

    ``KeyConsole(lab)`` acts as the lab's administrator; ``KeyConsole(client)``
    as that client's caller (any boto3-shaped KMS client).
    """

    def __init__(self, lab_or_client):
        self.client = client_of(lab_or_client)
        self.reader = widget_client(lab_or_client, "KeyConsole")
        self.table = widgets.HTML(layout=widgets.Layout(max_height="20em", overflow="auto"))
        self.error = ErrorBox()
        self.status = widgets.HTML()

        # create-key form
        self.key_spec = widgets.Dropdown(options=KEY_SPECS, value="SYMMETRIC_DEFAULT",
                                         description="KeySpec")
        self.key_usage = widgets.Dropdown(options=KEY_USAGES, value="ENCRYPT_DECRYPT",
                                          description="KeyUsage")
        self.description = widgets.Text(description="Description", placeholder="what the key is for")
        self.origin = widgets.Dropdown(options=ORIGINS, value="AWS_KMS", description="Origin")
        self.create_button = widgets.Button(description="Create key", button_style="primary",
                                            tooltip="CreateKey")
        self.create_button.on_click(lambda _: self.create_key())

        # actions on the selected key
        self.key = widgets.Dropdown(description="Key", options=[])
        self.enable_button = widgets.Button(description="Enable", tooltip="EnableKey")
        self.disable_button = widgets.Button(description="Disable", tooltip="DisableKey")
        self.window = widgets.BoundedIntText(value=30, min=1, max=365, description="Window (days)",
                                             style={"description_width": "initial"},
                                             layout=widgets.Layout(width="170px"))
        self.schedule_button = widgets.Button(description="Schedule deletion",
                                              button_style="danger", tooltip="ScheduleKeyDeletion")
        self.cancel_button = widgets.Button(description="Cancel deletion",
                                            tooltip="CancelKeyDeletion")
        self.rotate_button = widgets.Button(description="Rotate now", tooltip="RotateKeyOnDemand")
        self.alias_name = widgets.Text(description="Alias", placeholder="alias/my-key")
        self.alias_button = widgets.Button(description="Add alias", tooltip="CreateAlias")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")

        self.enable_button.on_click(lambda _: self.enable())
        self.disable_button.on_click(lambda _: self.disable())
        self.schedule_button.on_click(lambda _: self.schedule_deletion())
        self.cancel_button.on_click(lambda _: self.cancel_deletion())
        self.rotate_button.on_click(lambda _: self.rotate())
        self.alias_button.on_click(lambda _: self.add_alias())
        self.refresh_button.on_click(lambda _: self.refresh())

        form = widgets.VBox([
            widgets.HTML("<b>Create a key</b>"),
            widgets.HBox([self.key_spec, self.key_usage]),
            widgets.HBox([self.description, self.origin]),
            self.create_button,
        ])
        actions = widgets.VBox([
            widgets.HTML("<b>Act on a key</b>"),
            self.key,
            widgets.HBox([self.enable_button, self.disable_button, self.rotate_button]),
            widgets.HBox([self.window, self.schedule_button, self.cancel_button]),
            widgets.HBox([self.alias_name, self.alias_button]),
        ])
        super().__init__([widgets.HBox([widgets.HTML("<b>KMS keys</b>"), self.refresh_button]),
                          self.table, self.error, self.status, form, actions])
        self.add_class("kmslab-key-console")
        self.table.add_class("kmslab-keys")
        self.description.add_class("kmslab-description")
        self.error.add_class("kmslab-error-box")
        self.rows: list[dict] = []
        self.refresh()

    def __repr__(self) -> str:
        return f"<KeyConsole: {len(self.rows)} keys>"

    # ------------------------------------------------------------ reading
    def _rotation(self, key_id: str, meta: dict) -> str:
        if meta["KeySpec"] != "SYMMETRIC_DEFAULT" or meta.get("Origin") != "AWS_KMS":
            return "n/a"
        if not allowed_in_state("GetKeyRotationStatus", meta["KeyState"]) \
                or not permitted(self.reader, "GetKeyRotationStatus", key_id):
            return "-"
        status = self.reader.get_key_rotation_status(KeyId=key_id)
        if not status.get("KeyRotationEnabled"):
            return "off"
        period = status.get("RotationPeriodInDays")
        return f"every {period} days" if period else "on"

    def refresh(self) -> None:
        """Rebuild the table and the key selector from the service (ListKeys, DescribeKey...)."""
        kms = self.reader
        if not permitted(kms, "ListKeys"):
            self.rows = []
            self.table.value = note_html("This caller may not ListKeys: no keys to show.")
            self.key.options = []
            return
        aliases = aliases_by_key(kms) if permitted(kms, "ListAliases") else {}
        rows, hidden = [], 0
        for key_id in list_all_keys(kms):
            if not permitted(kms, "DescribeKey", key_id):
                hidden += 1
                continue
            meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
            if meta.get("KeyManager") == "AWS":
                continue
            rows.append({"KeyId": key_id, "Aliases": ", ".join(aliases.get(key_id, [])),
                         "Description": meta.get("Description", ""), "KeySpec": meta["KeySpec"],
                         "KeyUsage": meta["KeyUsage"],
                         "KeyState": meta["KeyState"], "Origin": meta.get("Origin", ""),
                         "Rotation": self._rotation(key_id, meta),
                         "DeletionDate": meta.get("DeletionDate"),
                         "CreationDate": meta["CreationDate"]})
        rows.sort(key=lambda r: (r["CreationDate"], r["KeyId"]))
        self.rows = rows
        shown = []
        for r in rows:
            state = r["KeyState"]
            if r["DeletionDate"] is not None:
                state += f" (deletion on {r['DeletionDate']:%Y-%m-%d})"
            shown.append([short_id(r["KeyId"]), r["Aliases"], r["Description"], r["KeySpec"],
                          r["KeyUsage"], state, r["Origin"], r["Rotation"]])
        self.table.value = html_table(COLUMNS, shown, empty="(no customer managed keys yet)",
                                      nowrap=("KeyId", "KeySpec", "KeyUsage", "KeyState")) + (
            note_html(f"{hidden} more key(s) this caller may not DescribeKey") if hidden else "")
        selected = self.key.value
        options = key_labels(kms, [r["KeyId"] for r in rows], aliases)
        self.key.options = options
        ids = [key_id for _, key_id in options]
        if selected in ids:
            self.key.value = selected
        elif ids:
            self.key.value = ids[-1]

    def state_of(self, key_id: str) -> str | None:
        """The KeyState the table shows for ``key_id`` (None if it is not listed)."""
        for row in self.rows:
            if row["KeyId"] == key_id:
                return row["KeyState"]
        return None

    # ------------------------------------------------------------ actions
    def _act(self, what: str, action) -> object:
        result = self.error.run(action)
        if not self.error.shown:
            self.status.value = note_html(what)
        else:
            self.status.value = ""
        self.refresh()
        return result

    def create_key(self) -> str | None:
        """CreateKey with the form's values; selects the new key. Returns its id."""
        params = {"KeySpec": self.key_spec.value, "KeyUsage": self.key_usage.value,
                  "Origin": self.origin.value}
        if self.description.value:
            params["Description"] = self.description.value
        response = self.error.run(lambda: self.client.create_key(**params))
        if response is None:
            self.status.value = ""
            return None
        key_id = response["KeyMetadata"]["KeyId"]
        self.status.value = note_html(f"Created {key_id} ({response['KeyMetadata']['KeyState']})")
        self.refresh()
        self.key.value = key_id
        return key_id

    def _selected(self) -> str:
        if not self.key.value:
            raise ValueError("select a key first")
        return self.key.value

    def enable(self) -> None:
        self._act("EnableKey done", lambda: self.client.enable_key(KeyId=self._selected()))

    def disable(self) -> None:
        self._act("DisableKey done", lambda: self.client.disable_key(KeyId=self._selected()))

    def schedule_deletion(self) -> None:
        self._act("ScheduleKeyDeletion done", lambda: self.client.schedule_key_deletion(
            KeyId=self._selected(), PendingWindowInDays=self.window.value))

    def cancel_deletion(self) -> None:
        self._act("CancelKeyDeletion done: the key is Disabled until you enable it",
                  lambda: self.client.cancel_key_deletion(KeyId=self._selected()))

    def rotate(self) -> None:
        self._act("RotateKeyOnDemand started",
                  lambda: self.client.rotate_key_on_demand(KeyId=self._selected()))

    def add_alias(self) -> None:
        name = self.alias_name.value.strip()
        if name and not name.startswith("alias/"):
            name = "alias/" + name
        self._act(f"CreateAlias {name} done", lambda: self.client.create_alias(
            AliasName=name, TargetKeyId=self._selected()))
