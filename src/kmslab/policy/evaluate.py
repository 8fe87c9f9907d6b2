"""Evaluate one policy statement against one request (IAM policy language for KMS).

The request is plain data, a :class:`RequestContext`; a statement answers four
questions about it: does the Principal (or NotPrincipal) cover the caller,
does the Action (NotAction) cover the action, does the Resource (NotResource)
cover the key, and do all the Conditions hold? :func:`evaluate_statement`
answers them into a :class:`StatementResult` that the decision (and the
learner) can read.

Matching rules (IAM reference_policies_elements_*):

* action names are case-insensitive and take ``*``/``?`` wildcards
  (``kms:*``, ``kms:Describe*``, ``*``);
* resources are case-sensitive ARNs with wildcards; in a *key policy*
  ``"Resource": "*"`` means "this KMS key";
* ``{"AWS": "111122223333"}`` and ``{"AWS": "arn:aws:iam::111122223333:root"}``
  name the *account*: the account's root user directly, and every other
  principal of the account only through that account's IAM policies; a role
  ARN covers that role's assumed-role sessions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..identity import Principal
from .conditions import Condition, glob_regex, literal_text, needs_request, substitute
from .global_keys import folded_principal_keys, principal_keys

__all__ = [
    "RequestContext", "PrincipalSpec", "ActionSpec", "ResourceSpec", "StatementResult",
    "evaluate_statement", "NO_MATCH", "ACCOUNT", "DIRECT",
]

#: principal match levels
NO_MATCH, ACCOUNT, DIRECT = 0, 1, 2


@dataclass(slots=True)
class RequestContext:
    """What one KMS request looks like to the authorization engine.

    ``action`` is the IAM action (``"kms:Encrypt"``); ``resource`` the key ARN
    (or the alias ARN for the alias half of CreateAlias, or ``"*"`` for
    ListKeys/CreateKey...); ``key_account`` the account that owns the resource.
    ``encryption_context`` feeds ``kms:EncryptionContext:<key>`` and
    ``kms:EncryptionContextKeys``. ``conditions`` holds every other condition
    key the request carries (``kms:ViaService``, ``aws:SourceIp``,
    ``aws:CurrentTime``, ``aws:ResourceTag/Project``...); keys it lacks are
    absent, so ``Null`` and ``...IfExists`` work. The caller's own keys
    (``aws:PrincipalArn``, ``aws:PrincipalType``, ``aws:userid``, a role
    session's ``aws:TokenIssueTime``..., see :mod:`.global_keys`;
    ``kms:CallerAccount``) and ``aws:RequestedRegion`` are derived from
    ``principal`` and ``region``; the service adds the other global keys
    (:func:`.global_keys.request_keys`) to ``conditions``.
    ``grant_operation`` names the grant operation this request needs when it
    differs from the action (``ReEncryptFrom``/``ReEncryptTo``).
    """

    action: str
    principal: Principal
    resource: str = "*"
    key_account: str | None = None
    region: str = "us-east-1"
    encryption_context: Mapping[str, str] | None = None
    conditions: Mapping[str, Any] | None = None
    grant_operation: str | None = None
    _action_folded: str = field(default="", init=False, repr=False, compare=False)
    _keys: dict | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        self._action_folded = self.action.lower()
        if self.key_account is None and self.resource.startswith("arn:"):
            parts = self.resource.split(":", 5)
            if len(parts) == 6:
                self.key_account = parts[4]
        # a set operator over nothing: an empty context is the same as no context
        if self.encryption_context is not None and not self.encryption_context:
            self.encryption_context = None

    @property
    def operation(self) -> str:
        """The grant operation this request needs (``Encrypt`` for ``kms:Encrypt``)."""
        return self.grant_operation or self.action.split(":", 1)[-1]

    @property
    def cross_account(self) -> bool:
        return self.key_account is not None and self.principal.account_id != self.key_account

    def condition_keys(self) -> dict[str, Any]:
        """Every condition key of the request, by its case-folded name."""
        if self._keys is None:
            self._keys = self._build_keys()
        return self._keys

    def lookup(self, folded_key: str) -> Any:
        """The request's value(s) for a (case-folded) condition key, or None if absent."""
        keys = self._keys if self._keys is not None else self.condition_keys()
        return keys.get(folded_key)

    def context_keys(self) -> dict[str, Any]:
        """Every key of the request context, named as AWS writes them (what explanations show)."""
        p = self.principal
        named: dict[str, Any] = {"aws:RequestedRegion": self.region, **principal_keys(p)}
        if p.type != "AWSService":
            named["kms:CallerAccount"] = p.account_id
        ec = self.encryption_context
        if ec:
            named["kms:EncryptionContextKeys"] = list(ec)
            for k, v in ec.items():
                named["kms:EncryptionContext:" + k] = v
        for k, v in (self.conditions or {}).items():
            if v is not None:
                named[k] = v
        return named

    def _build_keys(self) -> dict[str, Any]:
        p = self.principal
        keys: dict[str, Any] = {"aws:requestedregion": self.region}
        keys.update(folded_principal_keys(p))
        if p.type != "AWSService":
            keys["kms:calleraccount"] = p.account_id
        ec = self.encryption_context
        if ec:
            keys["kms:encryptioncontextkeys"] = list(ec)
            for k, v in ec.items():
                folded = "kms:encryptioncontext:" + k.lower()
                if folded in keys:  # keys differing only in case: both values count
                    prev = keys[folded]
                    keys[folded] = (prev if isinstance(prev, list) else [prev]) + [v]
                else:
                    keys[folded] = v
        for k, v in (self.conditions or {}).items():
            if v is not None:
                keys[k.lower()] = v
        return keys


# ----------------------------------------------------------------- matchers
class PrincipalSpec:
    """A compiled ``Principal``/``NotPrincipal`` element."""

    __slots__ = ("any", "accounts", "arns", "services", "federated", "entries")

    def __init__(self, *, any_: bool = False, accounts=(), arns=(), services=(), federated=(),
                 entries=()):
        self.any = any_
        self.accounts = frozenset(accounts)
        self.arns = frozenset(arns)
        self.services = frozenset(services)
        self.federated = frozenset(federated)
        self.entries = tuple(entries)  # (type, value) as written, for explanations

    def match(self, p: Principal) -> int:
        """DIRECT, ACCOUNT (the caller's account is named) or NO_MATCH."""
        if self.any:
            return DIRECT
        if p.type == "AWSService":
            return DIRECT if p.service in self.services else NO_MATCH
        if p.arn in self.arns or (p.role_arn is not None and p.role_arn in self.arns):
            return DIRECT
        if p.account_id in self.accounts:
            return DIRECT if p.type == "Root" else ACCOUNT
        return NO_MATCH

    def excludes(self, p: Principal) -> bool:
        """NotPrincipal: True when the caller is exempt from the statement.

        As in IAM, every identity behind the request must be listed: the
        caller itself (user, role or session) *and* its account; the root user
        and AWS services are a single identity.
        """
        if self.any:
            return True
        if p.type == "AWSService":
            return p.service in self.services
        account_listed = p.account_id in self.accounts
        if p.type == "Root":
            return account_listed
        own = p.arn in self.arns or (p.role_arn is not None and p.role_arn in self.arns)
        return own and account_listed

    def describe(self) -> str:
        if self.any and not self.entries:
            return "*"
        return ", ".join(v for _, v in self.entries)


class ActionSpec:
    """A compiled ``Action``/``NotAction`` list (case-insensitive, with wildcards)."""

    __slots__ = ("all", "prefixes", "exact", "patterns", "written")

    def __init__(self, written: tuple[str, ...]):
        self.written = written
        self.all = False
        exact, prefixes, patterns = set(), [], []
        for a in written:
            folded = a.lower()
            if folded == "*":
                self.all = True
            elif folded.endswith(":*") and folded.count("*") == 1 and "?" not in folded:
                prefixes.append(folded[:-1])  # "kms:*" -> every action starting "kms:"
            elif "*" in a or "?" in a:
                patterns.append(glob_regex(folded))
            else:
                exact.add(folded)
        self.exact = frozenset(exact)
        self.prefixes = tuple(prefixes)
        self.patterns = tuple(patterns)

    def match(self, folded_action: str) -> bool:
        if self.all or folded_action in self.exact:
            return True
        if self.prefixes and folded_action.startswith(self.prefixes):
            return True
        for p in self.patterns:
            if p.fullmatch(folded_action) is not None:
                return True
        return False


class ResourceSpec:
    """A compiled ``Resource``/``NotResource`` list (case-sensitive, wildcards).

    With policy variables (Version 2012-10-17 only) an entry is resolved per
    request, and only in the resource portion of the ARN, after the fifth
    colon (IAM "Policy variables": "You can't use a variable to replace parts
    of the ARN before the fifth colon"). A variable without a value makes a
    Resource entry match nothing, and a NotResource statement not apply
    (the page: the statement is invalid).
    """

    __slots__ = ("all", "exact", "patterns", "written", "this_key", "templates")

    def __init__(self, written: tuple[str, ...], *, key_policy: bool, variables: bool = False):
        self.written = written
        self.this_key = key_policy
        self.all = "*" in written
        resolved, templates = [], []
        for r in written:
            head, tail = _resource_portion(r)
            if variables and "${" in tail:
                if needs_request(tail):
                    templates.append((r, head, tail))
                    continue
                r = head + substitute(tail, None)[0]  # only ${*}, ${?}, ${$}
            resolved.append(r)
        self.exact = frozenset(literal_text(r) for r in resolved if not _has_wildcard(r))
        self.patterns = tuple(glob_regex(r) for r in resolved if r != "*" and _has_wildcard(r))
        self.templates = tuple(templates)

    @property
    def depends_on_request(self) -> bool:
        """True when an entry holds a policy variable resolved from the request."""
        return bool(self.templates)

    def resolve(self, lookup) -> list[tuple[str, str | None]]:
        """Each templated entry as written and as this request resolves it (None: no value)."""
        out = []
        for written, head, tail in self.templates:
            text, ok = substitute(tail, lookup)
            out.append((written, head + literal_text(text) if ok else None))
        return out

    def match(self, resource: str, lookup=None) -> bool:
        """Does an entry cover ``resource``? Entries with variables need ``lookup``."""
        if self.all or resource in self.exact:
            return True
        for p in self.patterns:
            if p.fullmatch(resource) is not None:
                return True
        if self.templates and lookup is not None:
            for _, head, tail in self.templates:
                text, ok = substitute(tail, lookup)
                if ok and glob_regex(head + text).fullmatch(resource) is not None:
                    return True
        return False


def _resource_portion(resource: str) -> tuple[str, str]:
    """``arn:aws:kms:us-east-1:111122223333:`` and ``key/...``: where variables may be."""
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return resource, ""
    return ":".join(parts[:5]) + ":", parts[5]


def _has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


# --------------------------------------------------------------- evaluation
class StatementResult:
    """How one statement met one request: each element's verdict and why."""

    __slots__ = ("statement", "source", "principal", "action", "resource", "conditions",
                 "failed_condition", "failed_value", "applies")

    def __init__(self, statement, source, principal, action, resource, conditions,
                 failed_condition=None, failed_value=None):
        self.statement = statement
        self.source = source
        #: DIRECT / ACCOUNT / NO_MATCH, or None for identity policies (no Principal element)
        self.principal = principal
        self.action = action
        self.resource = resource
        #: True / False, or None when not evaluated (an earlier element did not match)
        self.conditions = conditions
        self.failed_condition: Condition | None = failed_condition
        self.failed_value = failed_value
        #: the statement covers this request (its Effect takes part in the decision)
        self.applies: bool = conditions is True

    @property
    def effect(self) -> str:
        return self.statement.effect

    def __repr__(self) -> str:
        return (f"<StatementResult {self.source} sid={self.statement.sid!r} "
                f"{self.statement.effect} applies={self.applies}>")


def evaluate_statement(stmt, ctx: RequestContext, source: str) -> StatementResult:
    """Match one compiled statement against ``ctx``."""
    # Principal
    if stmt.principal is None and stmt.not_principal is None:
        principal = None
    elif stmt.principal is not None:
        principal = stmt.principal.match(ctx.principal)
    else:
        principal = NO_MATCH if stmt.not_principal.excludes(ctx.principal) else DIRECT
    # Action
    if stmt.action is not None:
        action = stmt.action.match(ctx._action_folded)
    elif stmt.not_action is not None:
        action = not stmt.not_action.match(ctx._action_folded)
    else:
        action = False  # a statement without Action has no effect
    # Resource
    if stmt.resource is not None:
        spec = stmt.resource
        resource = spec.match(ctx.resource, ctx.lookup if spec.templates else None)
    elif stmt.not_resource is not None:
        spec = stmt.not_resource
        if not spec.templates:
            resource = not spec.match(ctx.resource)
        else:
            resource = not spec.match(ctx.resource, ctx.lookup) and all(
                r is not None for _, r in spec.resolve(ctx.lookup))  # else: the statement is invalid
    else:
        resource = False  # a statement without Resource has no effect
    if principal == NO_MATCH or not action or not resource:
        return StatementResult(stmt, source, principal, action, resource, None)
    if not stmt.conditions:
        return StatementResult(stmt, source, principal, action, resource, True)
    lookup = ctx.lookup
    for cond in stmt.conditions:
        if not cond.evaluate(lookup):
            return StatementResult(stmt, source, principal, action, resource, False,
                                   cond, lookup(cond.key_folded))
    return StatementResult(stmt, source, principal, action, resource, True)
