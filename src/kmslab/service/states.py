"""Key states: which operation each state allows, and how a key moves between states.

Two tables, as data, and the code that reads them:

* :data:`TABLE`, AWS KMS's key-state table: one row per operation, one column
  per key state. A cell is either ``OK`` or the footnote of AWS's table that
  says which error the operation gets. The request pipeline consults
  :func:`check` for every key a request names (step 4); a learner can print
  it or plot it (``kmslab.plots.key_state_table``).
* :data:`TRANSITIONS`, the key-state machine: ``(state, event) -> state``.
  Events are the operations that move a key (``DisableKey``...) and what KMS
  does by itself (``waiting period ends``...). :func:`transition` is the only
  code that changes a key's state; it also bumps the key's ``revision``, the
  authorization cache's key, so no state change can leave a stale decision
  behind. ``Deleted`` is the last state; :data:`NEW` stands before the first.
  The key-state diagram (``kmslab.plots.key_state_transitions``) is drawn
  from this table.

Sources: Developer Guide, "Key states of AWS KMS keys"
(https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html), and
the API Reference of each operation named as an event.
"""

from __future__ import annotations

from types import MappingProxyType

from .. import errors

__all__ = ["STATES", "TABLE", "check", "FOOTNOTES", "OK", "TRANSITIONS", "transition", "initial",
           "transition_table", "NEW", "DELETED", "LIFECYCLE_STATES"]

STATES = ("Enabled", "Disabled", "PendingDeletion", "PendingReplicaDeletion", "PendingImport",
          "Unavailable", "Creating", "Updating")

OK = "ok"

#: AWS's footnotes: which error, with which message (``{arn}`` is the key ARN)
FOOTNOTES = MappingProxyType({
    1: (errors.DisabledException, "{arn} is disabled."),
    # 2 (DisabledException) is never answered: see "[2] or [3]" below the table
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
    row = dict(zip(_COLUMNS, cells, strict=True))
    row["PendingReplicaDeletion"] = row["PendingDeletion"]
    return MappingProxyType({s: row[s] for s in STATES})


#: operation -> {key state -> OK or footnote number}
TABLE = MappingProxyType({op: _row(cells) for op, cells in _ROWS.items()})

# "[2] or [3]": AWS documents DisabledException (footnote 2) or KMSInvalidStateException
# (footnote 3) for a key pending deletion; kmslab follows what the service returns today,
# [3], so the table holds no [2] and FOOTNOTES none either.


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




# ------------------------------------------------------------------ the state machine

#: before a key exists (the start of CreateKey and ReplicateKey)
NEW = "(new)"
#: after the waiting period: the key and its material are gone (DescribeKey: NotFoundException)
DELETED = "Deleted"
#: every state a key record can be in, in the order a diagram lists them
LIFECYCLE_STATES = STATES + (DELETED,)

_ENABLED, _DISABLED, _PENDING_DELETION, _PENDING_REPLICA_DELETION, _PENDING_IMPORT, \
    _UNAVAILABLE, _CREATING, _UPDATING = STATES


def _each(states, event: str, to: str | None = None) -> dict:
    """``event`` from each of ``states`` to ``to`` (None: the key stays in its state)."""
    return {(state, event): to or state for state in states}


#: (state, event) -> the state the key is in afterwards
TRANSITIONS = MappingProxyType({
    # creation
    (NEW, "CreateKey"): _ENABLED,
    (NEW, "CreateKey with Origin EXTERNAL"): _PENDING_IMPORT,
    (NEW, "ReplicateKey"): _CREATING,
    (_CREATING, "replica created"): _ENABLED,
    (_CREATING, "replica created, imported key material"): _PENDING_IMPORT,
    # EnableKey / DisableKey (on an Unavailable key they wait for the key store: see keystores)
    (_DISABLED, "EnableKey"): _ENABLED,
    **_each((_ENABLED, _UNAVAILABLE), "EnableKey"),
    (_ENABLED, "DisableKey"): _DISABLED,
    **_each((_DISABLED, _UNAVAILABLE), "DisableKey"),
    # deletion
    **_each((_ENABLED, _DISABLED, _PENDING_IMPORT, _UNAVAILABLE, _CREATING), "ScheduleKeyDeletion",
            _PENDING_DELETION),
    # (a primary is never Creating, and keys in custom key stores are never multi-Region)
    **_each((_ENABLED, _DISABLED, _PENDING_IMPORT),
            "ScheduleKeyDeletion of a primary key with replicas", _PENDING_REPLICA_DELETION),
    (_PENDING_REPLICA_DELETION, "last replica deleted"): _PENDING_DELETION,
    **_each((_PENDING_DELETION, _PENDING_REPLICA_DELETION), "CancelKeyDeletion", _DISABLED),
    (_PENDING_DELETION, "waiting period ends"): DELETED,
    # imported key material (a reimport into a key that has all its material moves nothing;
    # a replica being created has no material yet)
    (_PENDING_IMPORT, "ImportKeyMaterial"): _ENABLED,
    (_PENDING_IMPORT, "ImportKeyMaterial, other material still missing"): _PENDING_IMPORT,
    **_each((_ENABLED, _DISABLED, _PENDING_IMPORT, _UPDATING),
            "key material deleted or expired", _PENDING_IMPORT),
    **_each((_PENDING_DELETION, _PENDING_REPLICA_DELETION), "key material deleted or expired"),
    # custom key stores (a key pending deletion stays so)
    **_each((_ENABLED, _DISABLED), "DisconnectCustomKeyStore", _UNAVAILABLE),
    (_UNAVAILABLE, "ConnectCustomKeyStore"): _ENABLED,
    (_UNAVAILABLE, "ConnectCustomKeyStore, key disabled meanwhile"): _DISABLED,
    # multi-Region keys
    **_each((_ENABLED, _UPDATING), "UpdatePrimaryRegion", _UPDATING),
    (_UPDATING, "primary Region updated"): _ENABLED,
})


def initial(event: str) -> str:
    """The state a key is born in: ``initial("CreateKey")`` is ``Enabled``."""
    return TRANSITIONS[(NEW, event)]


def transition(key, event: str) -> str:
    """Move ``key`` by ``event`` (the only code that changes a key's state); returns the state.

    A change bumps ``key.revision``, so decisions the authorizer cached for the
    key are not reused. An event the table does not allow from the key's state
    is a bug in kmslab (the key-state table refuses requests before they get
    here): ``KMSInternalException``.
    """
    old = key.state
    new = TRANSITIONS.get((old, event))
    if new is None:
        raise errors.KMSInternalException(
            f"{key.arn}: the key-state machine has no transition from {old} on {event!r}.")
    if new != old:
        object.__setattr__(key, "state", new)
        key.revision += 1
    return new


def transition_table() -> list[tuple[str, str, str]]:
    """(from, event, to) for every change of state in :data:`TRANSITIONS`, for diagrams."""
    return [(old, event, new) for (old, event), new in TRANSITIONS.items() if old != new]
