"""Key states and what each one allows: AWS KMS's key-state table, as data.

One row per operation, one column per key state. A cell is either ``OK`` or
the footnote of AWS's table that says which error the operation gets. The
service consults :func:`check` on every request that names a key; a learner
can print :data:`TABLE` or plot it (``kmslab.plots.key_state_table``).
"""

from __future__ import annotations

from types import MappingProxyType

from .. import errors

__all__ = ["STATES", "TABLE", "check", "FOOTNOTES", "OK", "transition_table"]

STATES = ("Enabled", "Disabled", "PendingDeletion", "PendingReplicaDeletion", "PendingImport",
          "Unavailable", "Creating", "Updating")

OK = "ok"

#: AWS's footnotes: which error, with which message (``{arn}`` is the key ARN)
FOOTNOTES = MappingProxyType({
    1: (errors.DisabledException, "{arn} is disabled."),
    2: (errors.DisabledException, "{arn} is pending deletion."),
    3: (errors.KMSInvalidStateException, "{arn} is pending deletion."),
    4: (errors.KMSInvalidStateException, "{arn} is not pending deletion."),
    5: (errors.KMSInvalidStateException, "{arn} is pending import."),
    6: (errors.UnsupportedOperationException, "{arn} origin is EXTERNAL which is not valid for this operation."),
    11: (errors.KMSInvalidStateException, "{arn} is unavailable."),
    14: (errors.KMSInvalidStateException, "{arn} is creating."),
    15: (errors.KMSInvalidStateException, "{arn} is updating."),
})

# Columns: Enabled, Disabled, PendingDeletion (and PendingReplicaDeletion), PendingImport,
# Unavailable, Creating, Updating. Numbers are AWS's footnotes. Conditional cells
# (footnotes 7-10, 12) are decided by the operation's handler and are OK here.
_ = OK
_CRYPTO = (_, 1, 3, 5, 11, 14, _)
_ROWS = {
    "CancelKeyDeletion":      (4, 4, _, 4, 4, 4, 4),
    "CreateAlias":            (_, _, 3, _, _, _, _),
    "CreateGrant":            (_, 1, 3, 5, _, 14, _),
    "Decrypt":                _CRYPTO,
    "DeleteAlias":            (_, _, _, _, _, _, _),
    "DeleteImportedKeyMaterial": (_, _, _, _, _, 14, 15),
    "DescribeKey":            (_, _, _, _, _, _, _),
    "DisableKey":             (_, _, 3, 5, _, 14, 15),
    "DisableKeyRotation":     (_, 1, 3, 6, _, 14, _),
    "EnableKey":              (_, _, 3, 5, _, 14, 15),
    "EnableKeyRotation":      (_, 1, 3, 6, _, 14, _),
    "Encrypt":                _CRYPTO,
    "GenerateDataKey":        _CRYPTO,
    "GenerateDataKeyPair":    _CRYPTO,
    "GenerateDataKeyPairWithoutPlaintext": _CRYPTO,
    "GenerateDataKeyWithoutPlaintext": _CRYPTO,
    "GenerateMac":            _CRYPTO,
    "GetKeyPolicy":           (_, _, _, _, _, _, _),
    "GetKeyRotationStatus":   (_, _, _, 6, _, _, _),
    "GetParametersForImport": (_, _, 3, _, _, 14, 15),
    "GetPublicKey":           _CRYPTO,
    "ImportKeyMaterial":      (_, _, 3, _, _, 14, _),
    "ListGrants":             (_, _, _, _, _, _, _),
    "ListKeyPolicies":        (_, _, _, _, _, _, _),
    "ListResourceTags":       (_, _, _, _, _, _, _),
    "PutKeyPolicy":           (_, _, _, _, _, _, _),
    "ReEncrypt":              _CRYPTO,
    "ReplicateKey":           (_, 1, 3, 5, _, 14, 15),
    "RetireGrant":            (_, _, _, _, _, _, _),
    "RevokeGrant":            (_, _, _, _, _, _, _),
    "ScheduleKeyDeletion":    (_, _, 3, _, _, _, 15),
    "Sign":                   _CRYPTO,
    "TagResource":            (_, _, 3, _, _, _, _),
    "UntagResource":          (_, _, 3, _, _, _, _),
    "UpdateAlias":            (_, _, _, _, _, _, _),
    "UpdateKeyDescription":   (_, _, 3, _, _, _, _),
    "UpdatePrimaryRegion":    (_, 1, 3, 5, _, 14, _),
    "Verify":                 _CRYPTO,
    "VerifyMac":              _CRYPTO,
    # newer operations behave like their closest relatives in the table
    "DeriveSharedSecret":     _CRYPTO,
    "Encapsulate":            _CRYPTO,
    "Decapsulate":            _CRYPTO,
    "RotateKeyOnDemand":      (_, 1, 3, _, _, 14, _),
    "ListKeyRotations":       (_, _, _, _, _, _, _),
    "GetKeyLastUsage":        (_, _, _, _, _, _, _),
}
_COLUMNS = ("Enabled", "Disabled", "PendingDeletion", "PendingImport", "Unavailable", "Creating",
            "Updating")


def _row(cells):
    row = dict(zip(_COLUMNS, cells))
    row["PendingReplicaDeletion"] = row["PendingDeletion"]
    return MappingProxyType({s: row[s] for s in STATES})


#: operation -> {key state -> OK or footnote number}
TABLE = MappingProxyType({op: _row(cells) for op, cells in _ROWS.items()})

# Crypto operations on a key pending deletion get DisabledException (footnote 2)
# when KMS knows the key is disabled-for-deletion; AWS documents "[2] or [3]".
# kmslab follows what the service returns today: KMSInvalidStateException.


def check(operation: str, state: str, key_arn: str) -> None:
    """Raise AWS's error if ``operation`` is not allowed on a key in ``state``."""
    row = TABLE.get(operation)
    if row is None:
        return
    cell = row[state]
    if cell is OK:
        return
    cls, message = FOOTNOTES[cell]
    if state == "PendingReplicaDeletion":
        message = message.replace("pending deletion", "pending replica deletion")
    raise cls(message.format(arn=key_arn))


def transition_table() -> list[tuple[str, str, str]]:
    """(from, operation or event, to): the key-state transitions, for diagrams."""
    return [
        ("(new)", "CreateKey", "Enabled"),
        ("(new)", "CreateKey Origin=EXTERNAL", "PendingImport"),
        ("PendingImport", "ImportKeyMaterial", "Enabled"),
        ("Enabled", "DeleteImportedKeyMaterial / material expires", "PendingImport"),
        ("Disabled", "DeleteImportedKeyMaterial / material expires", "PendingImport"),
        ("Enabled", "DisableKey", "Disabled"),
        ("Disabled", "EnableKey", "Enabled"),
        ("Enabled", "ScheduleKeyDeletion", "PendingDeletion"),
        ("Disabled", "ScheduleKeyDeletion", "PendingDeletion"),
        ("PendingImport", "ScheduleKeyDeletion", "PendingDeletion"),
        ("PendingDeletion", "CancelKeyDeletion", "Disabled"),
        ("PendingDeletion", "waiting period ends", "(deleted)"),
        ("Enabled", "DisconnectCustomKeyStore", "Unavailable"),
        ("Unavailable", "ConnectCustomKeyStore", "Enabled"),
        ("Enabled", "ScheduleKeyDeletion (primary with replicas)", "PendingReplicaDeletion"),
        ("PendingReplicaDeletion", "last replica deleted", "PendingDeletion"),
        ("(new replica)", "ReplicateKey", "Creating"),
        ("Creating", "replica ready", "Enabled"),
        ("Enabled", "UpdatePrimaryRegion", "Updating"),
        ("Updating", "update done", "Enabled"),
    ]
