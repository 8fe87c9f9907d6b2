"""Every KMS operation, compiled once: kmslab's table of facts joined with botocore's model.

:data:`kmslab.operations.table.OPERATIONS` says how KMS treats each operation
(the key it names and in which forms, cross-account use, permissions, condition
keys, what CloudTrail logs, the request quota, custom key store support...);
botocore's model (:mod:`kmslab.operations.model`, loaded once) says what its
request and response are. :func:`spec` joins both into one frozen
:class:`OperationSpec`, the only description of an operation the rest of
kmslab reads::

    >>> from kmslab import operations
    >>> s = operations.spec("DisableKey")
    >>> sorted(s.key.forms), s.cross_account, s.action, s.dry_run
    (['key_arn', 'key_id'], False, 'kms:DisableKey', False)
    >>> s.sources["cross_account"]
    'API Reference, DisableKey: "Cross-account use : No."'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from . import model
from .table import ANY, FORMS, IDS, OPERATIONS, SOURCES

__all__ = ["OperationSpec", "KeySlot", "AuditFacts", "spec", "specs", "names", "FORMS", "ANY",
           "IDS", "EC_GRANT_OPERATIONS", "GRANT_OPERATIONS", "slot_for_action", "model",
           "OWN_QUOTAS", "SYMMETRIC_QUOTA_OPERATIONS", "ASYMMETRIC_QUOTA_OPERATIONS",
           "DATA_KEY_PAIR_QUOTA_OPERATIONS"]

_KEY_COLUMNS = {"key", "forms", "from_ciphertext", "locate", "action", "usage", "key_spec",
                "algorithm", "context", "grant", "conditions", "alias_refused"}
_COLUMNS = _KEY_COLUMNS | {"cross_account", "policy", "source", "read_only", "response_logged",
                           "defaults_logged", "key_id_as_arn", "additional_data",
                           "key_arn_response", "request_logged", "resources_logged", "quota",
                           "custom_key_store", "limit", "creates_aws_managed_key", "notes",
                           "alias"}
_INVALID_KEY_ID = ("NotFoundException", "Invalid keyId {identifier}")


@dataclass(frozen=True, slots=True, eq=False)
class KeySlot:
    """How a request names one KMS key, and what that key must be.

    ``param`` is the request member (None when the handler locates the key,
    ``locate``); ``forms`` the identifier forms it accepts (``key_id``,
    ``key_arn``, ``alias_name``, ``alias_arn``); ``from_ciphertext`` the blob
    member whose symmetric ciphertext names the key (Decrypt); ``action`` the
    IAM action checked on the key (None: not authorized on the key);
    ``usage``/``key_spec``/``algorithm`` what the key must support;
    ``context`` the member with the encryption context; ``grant`` whether the
    action is a grant operation; ``conditions`` the condition keys the
    request sets for this action.
    """

    param: str | None
    forms: frozenset
    from_ciphertext: str | None
    locate: str | None
    action: str | None
    usage: str | None
    key_spec: str | None
    algorithm: tuple | None
    context: str | None
    grant: bool
    conditions: Mapping[str, tuple]
    alias_refused: tuple[str, str]

    @property
    def grant_operation(self) -> str | None:
        """The GrantOperation name of this action (``Encrypt``, ``ReEncryptFrom``...), if any."""
        return self.action.split(":", 1)[1] if self.grant and self.action else None


@dataclass(frozen=True, slots=True)
class AuditFacts:
    """What CloudTrail records for an operation (read by :mod:`kmslab.audit`)."""

    read_only: bool
    response_logged: tuple | None   # response members logged as responseElements (None: none)
    defaults_logged: Mapping[str, Any]  # members logged with KMS's default when omitted
    key_id_as_arn: bool             # requestParameters.keyId is the ARN of the key used
    additional_data: bool           # additionalEventData (key material id, custom key store)
    key_arn_response: bool          # responseElements.keyId is the key ARN (not in the response)
    request_logged: bool            # requestParameters (False: null)
    resources_logged: bool          # the key in resources (False: an empty list)
    tracked: bool                   # a use GetKeyLastUsage reports (the model's enum)


@dataclass(frozen=True, slots=True, eq=False)
class OperationSpec:
    """One KMS operation as kmslab serves it: the table's facts and the model's shapes."""

    name: str
    key: KeySlot | None             # the key the operation acts on
    source: KeySlot | None          # ReEncrypt's other key (the one that decrypts)
    cross_account: bool
    policy: str                     # "key", "iam" (IAM policies only) or "grant"
    action: str                     # the IAM action of the operation
    conditions: Mapping[str, tuple]
    audit: AuditFacts
    quota: Any                      # "cryptographic", "data key pair", a rate, or None
    custom_key_store: bool
    limit: tuple | None             # (min, max, default) of Limit
    dry_run: bool                   # the request has a DryRun member (botocore's model)
    creates_aws_managed_key: bool
    alias_member: str | None        # the member naming an alias (checked against the name rules)
    notes: str | None
    input_shape: Any = field(repr=False, compare=False)
    output_shape: Any = field(repr=False, compare=False)

    # ------------------------------------------------------------ reading
    @property
    def key_param(self) -> str | None:
        """The request member naming the key (None if the request names none)."""
        return self.key.param if self.key is not None else None

    @property
    def iam_only(self) -> bool:
        """Decided by IAM policies alone (CreateKey, ListKeys, custom key stores...)."""
        return self.policy == "iam"

    @property
    def read_only(self) -> bool:
        """Whether CloudTrail logs the operation as read-only (``readOnly``)."""
        return self.audit.read_only

    @property
    def slots(self) -> tuple[KeySlot, ...]:
        """The keys a request names, in the order the pipeline finds them."""
        return tuple(s for s in (self.key, self.source) if s is not None)

    def slot(self, action: str) -> KeySlot | None:
        """The key slot authorized with ``action`` (ReEncrypt: kms:ReEncryptFrom / To)."""
        for s in self.slots:
            if s.action == action:
                return s
        return self.key

    @property
    def sources(self) -> Mapping[str, str]:
        """fact -> the AWS text or page it comes from (quoting the model where it is the source)."""
        return _sources(self.name)

    def __repr__(self) -> str:
        forms = sorted(self.key.forms) if self.key else None
        return (f"<OperationSpec {self.name}: key={self.key_param} forms={forms} "
                f"cross_account={self.cross_account} action={self.action} "
                f"policy={self.policy} dry_run={self.dry_run}>")


# ------------------------------------------------------------------ compiling
def _slot(name: str, row: dict, *, action: str | None) -> KeySlot | None:
    if row.get("key") is None and row.get("locate") is None and row.get("from_ciphertext") is None:
        return None
    forms = row.get("forms", IDS)
    unknown = set(forms) - set(FORMS)
    if unknown:
        raise ValueError(f"{name}: unknown key forms {sorted(unknown)}")
    return KeySlot(
        param=row.get("key"), forms=frozenset(forms), from_ciphertext=row.get("from_ciphertext"),
        locate=row.get("locate"), action=action, usage=row.get("usage"),
        key_spec=row.get("key_spec"), algorithm=row.get("algorithm"), context=row.get("context"),
        grant=bool(row.get("grant", False)),
        conditions=MappingProxyType(_with_request_alias(row.get("conditions", {}), row, forms)),
        alias_refused=tuple(row.get("alias_refused", _INVALID_KEY_ID)))


def _with_request_alias(conditions: dict, row: dict, forms) -> dict:
    """kms:RequestAlias: set by every request that may name its key by an alias."""
    if row.get("key") and "alias_name" in forms:
        return {**conditions, "kms:RequestAlias": ("derived", "request_alias")}
    return dict(conditions)


def _compile(name: str, row: dict) -> OperationSpec:
    unknown = set(row) - _COLUMNS
    if unknown:
        raise ValueError(f"{name}: unknown columns {sorted(unknown)} in the operation table")
    op_model = model.operation_model(name)
    inp = op_model.input_shape
    policy = row.get("policy", "key")
    # the action checked on the key: the row's, else kms:<Operation> (none for IAM-only ones)
    key_action = row["action"] if "action" in row else (None if policy == "iam" else f"kms:{name}")
    key = _slot(name, row, action=key_action)
    source = _slot(name, row["source"], action=row["source"].get("action")) \
        if "source" in row else None
    conditions = key.conditions if key is not None else row.get("conditions", {})
    return OperationSpec(
        name=name, key=key, source=source, cross_account=bool(row.get("cross_account", False)),
        policy=policy, action=row.get("action") or f"kms:{name}",
        conditions=MappingProxyType(dict(conditions)),
        audit=AuditFacts(read_only=bool(row.get("read_only", False)),
                         response_logged=tuple(row["response_logged"])
                         if "response_logged" in row else None,
                         defaults_logged=MappingProxyType(dict(row.get("defaults_logged", {}))),
                         key_id_as_arn=bool(row.get("key_id_as_arn", False)),
                         additional_data=bool(row.get("additional_data", False)),
                         key_arn_response=bool(row.get("key_arn_response", False)),
                         request_logged=bool(row.get("request_logged", True)),
                         resources_logged=bool(row.get("resources_logged", True)),
                         tracked=name in _tracked_operations()),
        quota=row.get("quota"), custom_key_store=bool(row.get("custom_key_store", True)),
        limit=tuple(row["limit"]) if row.get("limit") else None,
        dry_run=inp is not None and "DryRun" in inp.members,
        creates_aws_managed_key=bool(row.get("creates_aws_managed_key", False)),
        alias_member=row.get("alias"), notes=row.get("notes"), input_shape=inp, output_shape=op_model.output_shape)


@functools.cache
def _tracked_operations() -> frozenset[str]:
    """The operations GetKeyLastUsage tracks: the model's KeyLastUsageTrackingOperation enum."""
    return frozenset(model.kms_model().shape_for("KeyLastUsageTrackingOperation").enum)


@functools.cache
def specs() -> Mapping[str, OperationSpec]:
    """Every operation kmslab serves -> its OperationSpec (compiled once)."""
    missing = set(model.operation_names()) - set(OPERATIONS)
    extra = set(OPERATIONS) - set(model.operation_names())
    if missing or extra:
        raise ValueError(f"the operation table and botocore's model disagree: missing "
                         f"{sorted(missing)}, not in the model {sorted(extra)}")
    return MappingProxyType({name: _compile(name, row) for name, row in OPERATIONS.items()})


def spec(name: str) -> OperationSpec:
    """The OperationSpec of one operation (KeyError for a name the KMS API does not have)."""
    return specs()[name]


def names() -> tuple[str, ...]:
    """Every operation name, in the table's order."""
    return tuple(OPERATIONS)


# ------------------------------------------------------------------ derived facts (no model)
def _grant_slots():
    for name, row in OPERATIONS.items():
        for r in (row, row.get("source")):
            if r and r.get("grant"):
                yield (r.get("action") or f"kms:{name}").split(":", 1)[1], name, r


#: grant operation -> (API operation, its row): what a key must be for the grant operation
GRANT_OPERATIONS: Mapping[str, tuple[str, dict]] = MappingProxyType(
    {grant_op: (name, r) for grant_op, name, r in _grant_slots()})

#: grant operations whose requests carry an encryption context: grant constraints apply to
#: these only (DescribeKey, RetireGrant, Sign... ignore them)
EC_GRANT_OPERATIONS: frozenset[str] = frozenset(
    grant_op for grant_op, _, r in _grant_slots()
    if (r.get("context") or "").endswith("EncryptionContext"))


def _quota_slots():
    for name, row in OPERATIONS.items():
        if row.get("quota") == "cryptographic":
            yield name, row.get("usage"), row.get("key_spec")


#: operation -> its own request quota, requests per second (AWS's "Request quotas"), highest
#: first then by name (the order of kmslab's quota tables)
OWN_QUOTAS: Mapping[str, float] = MappingProxyType(dict(sorted(
    ((name, row["quota"]) for name, row in OPERATIONS.items()
     if isinstance(row.get("quota"), (int, float)) and not isinstance(row.get("quota"), bool)),
    key=lambda item: (-item[1], item[0]))))
#: the operations sharing the cryptographic-operations quota of symmetric (and HMAC) keys
SYMMETRIC_QUOTA_OPERATIONS: tuple[str, ...] = tuple(sorted(
    name for name, usage, key_spec in _quota_slots()
    if usage in (None, "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC") and key_spec != "asymmetric"))
#: the operations sharing the cryptographic-operations quota of their asymmetric key's type
ASYMMETRIC_QUOTA_OPERATIONS: tuple[str, ...] = tuple(sorted(
    name for name, usage, key_spec in _quota_slots()
    if usage in ("ENCRYPT_DECRYPT", "SIGN_VERIFY", "KEY_AGREEMENT") and key_spec != "SYMMETRIC_DEFAULT"))
#: the operations with one quota per KeyPairSpec
DATA_KEY_PAIR_QUOTA_OPERATIONS: tuple[str, ...] = tuple(
    name for name, row in OPERATIONS.items() if row.get("quota") == "data key pair")


def slot_for_action(action: str) -> tuple[OperationSpec, KeySlot | None]:
    """The operation and key slot an IAM action is checked for (``kms:ReEncryptFrom`` ->
    ReEncrypt's source key)."""
    name = action.split(":", 1)[-1]
    if name in ("ReEncryptFrom", "ReEncryptTo"):
        s = spec("ReEncrypt")
        return s, s.slot(action)
    s = spec(name)
    return s, s.key


# ------------------------------------------------------------------ sources
def _quote(text: str, needle: str) -> str | None:
    """The sentence of ``text`` that holds ``needle`` (cut before the next heading)."""
    m = re.search(r"[^.]*" + re.escape(needle) + r"[^.]*\.?", text)
    if not m:
        return None
    return re.split(r" (?:Related operations|Eventual consistency)", m.group(0).strip())[0]


@functools.cache
def _sources(name: str) -> MappingProxyType:
    row = OPERATIONS[name]
    out = {column: SOURCES[column] for column in row if column in SOURCES}
    op_text = model.operation_text(name)
    s = spec(name)
    api = f"API Reference, {name}"
    for column, needle in (("cross_account", "Cross-account use"),
                           ("policy", "Required permissions"),
                           ("creates_aws_managed_key", "predefined Amazon Web Services alias")):
        quote = _quote(op_text, needle)
        if quote and (column in row or column in ("cross_account", "policy")):
            out[column] = f'{api}: "{quote}"'
    if s.key is not None and s.key.param:
        text = model.member_text(name, s.key.param)
        quote = (_quote(text, "alias name, or alias ARN") or _quote(text, "key ID or key ARN")
                 or _quote(text, "key ARN"))
        if quote:
            out["forms"] = f'{api}, {s.key.param}: "{quote}"'
    if s.limit is not None:
        quote = _quote(model.member_text(name, "Limit"), "must be between")
        if quote:
            out["limit"] = f'{api}, Limit: "{quote}"'
    out["dry_run"] = f"API Reference, {name}: the request syntax " + (
        "has a DryRun member" if s.dry_run else "has no DryRun member")
    if row.get("notes"):
        out["notes"] = row["notes"]
    return MappingProxyType(out)
