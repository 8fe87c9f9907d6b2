"""Policy documents: parse and validate as KMS CreateKey/PutKeyPolicy do, then compile.

:func:`parse_policy` turns the JSON text into a :class:`Policy` whose
statements are compiled once (wildcards to regular expressions, names
case-folded, condition values parsed), so evaluating a request costs a few
set look-ups. The original text is kept verbatim: GetKeyPolicy returns it.

Validation follows AWS KMS (key-policy-overview "Key policy format",
conditions-kms) and the IAM policy grammar: a document of at most 32,768
bytes (LimitExceededException), characters ``\\t \\n \\r`` and
``\\u0020``-``\\u00FF``, top-level ``Version``/``Id``/``Statement`` only,
each statement with an ``Effect`` of ``Allow`` or ``Deny``, a ``Principal``
(key policies) and never both ``Action`` and ``NotAction``; principals that do
not exist make the whole document invalid. A key-policy statement without
``Action`` or ``Resource`` is accepted and simply never applies, as in KMS.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from .. import errors
from .conditions import Condition, compile_conditions
from .evaluate import ActionSpec, PrincipalSpec, ResourceSpec

__all__ = ["Policy", "Statement", "parse_policy", "KEY_POLICY_MAX_BYTES", "INVALID_PRINCIPALS"]

#: AWS KMS quota: "The key policy document cannot exceed 32 KB (32,768 bytes)."
KEY_POLICY_MAX_BYTES = 32_768
#: AWS KMS's message for a principal that is malformed or does not exist
INVALID_PRINCIPALS = "Policy contains a statement with one or more invalid principals."

_TOP_LEVEL = ("Version", "Id", "Statement")
_STATEMENT_ELEMENTS = ("Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                       "Resource", "NotResource", "Condition")
_VERSIONS = ("2012-10-17", "2008-10-17")
_ALLOWED_CHARS = re.compile(r"[\t\n\r\u0020-\u00ff]*")
_ACCOUNT_ID = re.compile(r"\d{12}")
_AWS_PRINCIPAL_ARN = re.compile(
    r"arn:aws(?:-cn|-us-gov|-iso|-iso-b)?:(?:iam::(\d{12}):(root|user/[\w+=,.@/-]+|role/[\w+=,.@/-]+|"
    r"federated-user/[\w+=,.@-]+)|sts::(\d{12}):(assumed-role/[\w+=,.@-]+/[\w+=,.@-]+|"
    r"federated-user/[\w+=,.@-]+))")
_SERVICE_PRINCIPAL = re.compile(r"[a-z0-9][a-z0-9.-]*\.(?:amazonaws\.com(?:\.cn)?|aws\.internal)")
_ACTION = re.compile(r"\*|[A-Za-z0-9-]+:[A-Za-z0-9*?]+")


@dataclass(frozen=True, slots=True)
class Statement:
    """One compiled policy statement (``index`` counts from 0 in document order)."""

    index: int
    sid: str | None
    effect: str  # "Allow" or "Deny"
    principal: PrincipalSpec | None
    not_principal: PrincipalSpec | None
    action: ActionSpec | None
    not_action: ActionSpec | None
    resource: ResourceSpec | None
    not_resource: ResourceSpec | None
    conditions: tuple[Condition, ...]
    raw: dict

    @property
    def label(self) -> str:
        """``Sid "Enable IAM User Permissions"`` or ``statement #2`` for learners."""
        return f'Sid "{self.sid}"' if self.sid else f"statement #{self.index + 1}"

    @property
    def depends_on_request(self) -> bool:
        """True when the request can change whether it applies: a Condition, or a policy
        variable in Resource/NotResource."""
        spec = self.resource or self.not_resource
        return bool(self.conditions) or (spec is not None and spec.depends_on_request)

    def principals_text(self) -> str:
        if self.principal is not None:
            return self.principal.describe()
        if self.not_principal is not None:
            return "NotPrincipal " + self.not_principal.describe()
        return "(the caller's own policy)"

    def actions_text(self) -> str:
        if self.action is not None:
            return ", ".join(self.action.written)
        if self.not_action is not None:
            return "NotAction " + ", ".join(self.not_action.written)
        return "(no Action)"


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed policy document: the verbatim ``text`` plus compiled statements."""

    text: str
    kind: str  # "key" (resource policy of a KMS key) or "identity" (IAM policy)
    version: str | None
    id: str | None
    statements: tuple[Statement, ...]
    name: str = ""  # for identity policies: where it is attached, shown in explanations

    @property
    def document(self) -> dict:
        """The JSON document as a dict (parsed afresh; the Policy stays immutable)."""
        return json.loads(self.text)

    def __repr__(self) -> str:
        return f"<Policy {self.kind} {self.id or self.name or ''} {len(self.statements)} statement(s)>"

    def _repr_html_(self) -> str:
        import html
        return f"<pre>{html.escape(self.text)}</pre>"


def _malformed(message: str) -> errors.KMSError:
    return errors.MalformedPolicyDocumentException(message)


def _string_list(value, element: str, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        raise _malformed(f"{where}: {element} must be a non-empty string or a list of strings.")
    return tuple(items)


def _compile_principal(value, where: str, principal_exists) -> PrincipalSpec:
    if value == "*":
        return PrincipalSpec(any_=True, entries=[("AWS", "*")])
    if not isinstance(value, dict) or not value:
        raise _malformed(INVALID_PRINCIPALS)
    any_ = False
    accounts, arns, services, federated, entries = set(), set(), set(), set(), []
    for kind, raw in value.items():
        if kind not in ("AWS", "Service", "Federated", "CanonicalUser"):
            raise _malformed(INVALID_PRINCIPALS)
        items = raw if isinstance(raw, list) else [raw]
        if not items or not all(isinstance(v, str) and v for v in items):
            raise _malformed(INVALID_PRINCIPALS)
        for v in items:
            entries.append((kind, v))
            if kind == "AWS":
                if v == "*":
                    any_ = True
                    continue
                if _ACCOUNT_ID.fullmatch(v):
                    account, arn = v, f"arn:aws:iam::{v}:root"
                else:
                    m = _AWS_PRINCIPAL_ARN.fullmatch(v)
                    if not m:
                        raise _malformed(INVALID_PRINCIPALS)
                    account = m.group(1) or m.group(3)
                    arn = v
                if principal_exists is not None and not principal_exists(arn):
                    raise _malformed(INVALID_PRINCIPALS)
                if arn.endswith(":root"):
                    accounts.add(account)
                else:
                    arns.add(arn)
            elif kind == "Service":
                if v != "*" and not _SERVICE_PRINCIPAL.fullmatch(v):
                    raise _malformed(INVALID_PRINCIPALS)
                if v == "*":
                    any_ = True
                else:
                    services.add(v)
            else:
                federated.add(v)
    return PrincipalSpec(any_=any_, accounts=accounts, arns=arns, services=services,
                         federated=federated, entries=entries)


def _compile_statement(index: int, raw, *, kind: str, variables: bool,
                       principal_exists) -> Statement:
    where = f"Statement {index + 1}"
    if not isinstance(raw, dict):
        raise _malformed(f"{where}: each statement must be a JSON object.")
    unknown = [k for k in raw if k not in _STATEMENT_ELEMENTS]
    if unknown:
        raise _malformed(f"{where}: unknown element {unknown[0]!r}; a statement may contain only "
                         + ", ".join(_STATEMENT_ELEMENTS) + ".")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise _malformed(f"{where}: Sid must be a string.")
    if sid:
        where = f'Statement {index + 1} (Sid "{sid}")'
    if "Effect" not in raw:
        raise _malformed(f"{where}: the Effect element is required.")
    effect = raw["Effect"]
    if effect not in ("Allow", "Deny"):
        raise _malformed(f"{where}: Effect must be \"Allow\" or \"Deny\", not {effect!r}.")
    for a, b in (("Principal", "NotPrincipal"), ("Action", "NotAction"), ("Resource", "NotResource")):
        if a in raw and b in raw:
            raise _malformed(f"{where}: a statement cannot contain both {a} and {b}.")
    has_principal = "Principal" in raw or "NotPrincipal" in raw
    if kind == "key" and not has_principal:
        raise _malformed(f"{where}: a key policy statement must have a Principal.")
    if kind == "identity":
        if has_principal:
            raise _malformed(f"{where}: an identity-based policy cannot contain Principal or "
                             "NotPrincipal.")
        if "Action" not in raw and "NotAction" not in raw:
            raise _malformed(f"{where}: the Action or NotAction element is required.")
        if "Resource" not in raw and "NotResource" not in raw:
            raise _malformed(f"{where}: the Resource or NotResource element is required.")
    principal = not_principal = None
    if "Principal" in raw:
        principal = _compile_principal(raw["Principal"], where, principal_exists)
    if "NotPrincipal" in raw:
        not_principal = _compile_principal(raw["NotPrincipal"], where, principal_exists)
    action = not_action = None
    for name in ("Action", "NotAction"):
        if name in raw:
            actions = _string_list(raw[name], name, where)
            bad = [a for a in actions if not _ACTION.fullmatch(a)]
            if bad:
                raise _malformed(f"{where}: {bad[0]!r} is not a valid action "
                                 "(expected service:ActionName, such as kms:Encrypt).")
            if name == "Action":
                action = ActionSpec(actions)
            else:
                not_action = ActionSpec(actions)
    resource = not_resource = None
    for name in ("Resource", "NotResource"):
        if name in raw:
            resources = _string_list(raw[name], name, where)
            bad = [r for r in resources if r != "*" and not r.startswith("arn:")]
            if bad:
                raise _malformed(f"{where}: {bad[0]!r} is not a valid resource "
                                 "(expected \"*\" or an ARN).")
            spec = ResourceSpec(resources, key_policy=kind == "key", variables=variables)
            if name == "Resource":
                resource = spec
            else:
                not_resource = spec
    conditions: tuple[Condition, ...] = ()
    if "Condition" in raw:
        conditions = compile_conditions(raw["Condition"], variables=variables, where=where)
        if kind == "key":
            for cond in conditions:
                folded = cond.key_folded
                if cond.set_operator == "ForAllValues" and folded.startswith("kms:encryptioncontext:"):
                    raise _malformed(
                        "OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set "
                        "operator with a single-valued condition key matches requests without the "
                        "specified encryption context or with an unspecified encryption context. "
                        "To fix, remove ForAllValues.")
                if cond.set_operator == "ForAllValues" and folded.startswith("aws:requesttag/"):
                    raise _malformed(
                        "OverlyPermissiveCondition:RequestTag: Using the ForAllValues set operator "
                        "with a single-valued condition key matches requests without the specified "
                        "tag or with an unspecified tag. To fix, remove ForAllValues.")
    return Statement(index, sid, effect, principal, not_principal, action, not_action, resource,
                     not_resource, conditions, raw)


def parse_policy(text: str, *, principal_exists: Callable[[str], bool] | None = None,
                 kind: str = "key", name: str = "") -> Policy:
    """Parse and validate a policy document as AWS KMS CreateKey/PutKeyPolicy do.

    ``kind`` is ``"key"`` for a key policy or ``"identity"`` for an IAM
    (identity-based) policy. ``principal_exists(arn)`` is asked about every
    AWS principal the document names (12-digit account ids as their root ARN);
    returning False makes the document invalid, as KMS rejects principals that
    do not exist. ``name`` labels identity policies in explanations.

    Raises ``MalformedPolicyDocumentException``, or ``LimitExceededException``
    for a key policy over 32,768 bytes.
    """
    if kind not in ("key", "identity"):
        raise ValueError(f"kind must be 'key' or 'identity', not {kind!r}")
    if not isinstance(text, str):
        raise _malformed("The policy document must be a JSON string.")
    if kind == "key" and len(text.encode("utf-8")) > KEY_POLICY_MAX_BYTES:
        raise errors.LimitExceededException(
            f"The key policy is {len(text.encode('utf-8'))} bytes; a key policy document cannot "
            f"exceed {KEY_POLICY_MAX_BYTES} bytes.")
    if not _ALLOWED_CHARS.fullmatch(text):
        bad = next(c for c in text if not _ALLOWED_CHARS.fullmatch(c))
        raise _malformed(f"The policy contains a character that is not allowed ({bad!r}, "
                         f"U+{ord(bad):04X}); a policy may contain only tab, line feed, carriage "
                         "return and the characters U+0020 to U+00FF.")
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        raise _malformed(f"The policy has the element {exc.args[0]!r} more than once.") from None
    except ValueError as exc:
        raise _malformed(f"The policy is not valid JSON: {exc}.") from None
    if not isinstance(doc, dict):
        raise _malformed("The policy must be a JSON object.")
    unknown = [k for k in doc if k not in _TOP_LEVEL]
    if unknown:
        raise _malformed(f"Unknown policy element {unknown[0]!r}; a policy may contain only "
                         "Version, Id and Statement.")
    version = doc.get("Version")
    if version is not None and version not in _VERSIONS:
        raise _malformed(f"Version {version!r} is not valid; use \"2012-10-17\".")
    pid = doc.get("Id")
    if pid is not None and not isinstance(pid, str):
        raise _malformed("The Id element must be a string.")
    if "Statement" not in doc:
        raise _malformed("The policy has no Statement element.")
    raw_statements = doc["Statement"]
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise _malformed("The Statement element must be a statement or a non-empty list of them.")
    variables = version == "2012-10-17"
    statements = tuple(
        _compile_statement(i, raw, kind=kind, variables=variables, principal_exists=principal_exists)
        for i, raw in enumerate(raw_statements))
    sids = [s.sid for s in statements if s.sid]
    dup = next((s for s in sids if sids.count(s) > 1), None)
    if kind == "identity" and dup is not None:  # IAM's rule; KMS key policies do not check
        raise _malformed(f'Statement IDs must be unique within a policy; Sid "{dup}" appears twice.')
    return Policy(text, kind, version, pid, statements, name)


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


# the policies AWS writes for you live in .defaults; re-exported here for convenience
from .defaults import console_key_policy, default_key_policy  # noqa: E402,F401
