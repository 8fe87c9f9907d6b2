"""Authorize a KMS request: key policy, IAM policies and grants together.

:func:`decide` implements AWS KMS's documented logic (policy-evaluation,
key-policy-default, key-policy-modifying-external-accounts, grants):

1. an explicit ``Deny`` that applies, in the key policy or in an IAM policy of
   the caller, denies; nothing overrides it, not even a grant;
2. the key policy allows the caller directly (its user/role ARN, a role for
   its sessions, ``"*"`` with conditions, the account root for the root user
   itself, a service principal) -> allow; a key in *another* account also
   needs the caller's own IAM policy to allow it (cross-account access takes
   both the key policy and an IAM policy in the caller's account, even when
   the key policy names the external user or role itself);
3. the key policy allows the caller's *account* (``arn:aws:iam::<acct>:root``
   or ``<acct>``) and an IAM policy of the caller allows the action on the
   key -> allow; without that key policy statement IAM allows have no effect;
4. a grant on the key names the caller as grantee, lists the operation, and
   its constraints hold for the request's encryption context -> allow;
5. otherwise the request is implicitly denied.

IAM-only permissions (CreateKey, ListKeys, ListAliases, GenerateRandom,
custom key store operations, the alias half of Create/Update/DeleteAlias) are
decided by IAM policies alone (``key_policy_applies=False``); the account's
root user has them unless an IAM policy denies.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from .. import errors
from ..identity import Principal
from ..operations import EC_GRANT_OPERATIONS
from .document import Policy, Statement
from .evaluate import ACCOUNT, DIRECT, NO_MATCH, RequestContext, StatementResult, evaluate_statement

__all__ = ["decide", "Decision", "GrantLike", "GrantResult", "would_lock_out",
           "LOCKOUT_MESSAGE", "EC_GRANT_OPERATIONS"]

#: AWS KMS's MalformedPolicyDocumentException message for the lockout safety check
LOCKOUT_MESSAGE = "The new key policy will not allow you to update the key policy in the future."



class GrantLike(Protocol):
    """What :func:`decide` reads from a grant (the service's grant record fits)."""

    grant_id: str
    name: str | None
    key_arn: str
    grantee_principal: str
    retiring_principal: str | None
    operations: Sequence[str]
    constraints: Mapping | None  # {"EncryptionContextEquals": {...}} / Subset / SourceArn
    issuing_account: str


class GrantResult:
    """How one grant met the request."""

    __slots__ = ("grant", "grantee", "operation", "key", "constraints", "detail")

    def __init__(self, grant, grantee, operation, key, constraints, detail):
        self.grant = grant
        self.grantee = grantee          # DIRECT / ACCOUNT / NO_MATCH
        self.operation = operation      # bool
        self.key = key                  # bool
        self.constraints = constraints  # bool or None (not evaluated)
        self.detail = detail

    @property
    def applies(self) -> bool:
        return self.grantee != NO_MATCH and self.operation and self.key and bool(self.constraints)

    @property
    def source(self) -> str:
        return f"grant {self.grant.grant_id}"

    effect = "Allow"


def _evaluate_grant(grant, ctx: RequestContext, identity_allows: bool) -> GrantResult:
    p = ctx.principal
    service = getattr(grant, "grantee_service_principal", None)
    grantee_arn = grant.grantee_principal
    if p.type == "AWSService":
        grantee = DIRECT if p.service and p.service in (service, grantee_arn) else NO_MATCH
    elif grantee_arn and grantee_arn in (p.arn, p.role_arn):
        grantee = DIRECT   # the caller itself; the root user's ARN is its account's root ARN
    elif grantee_arn == f"arn:aws:iam::{p.account_id}:root":
        grantee = ACCOUNT  # another principal of the grantee account: its IAM policies decide
    else:
        grantee = NO_MATCH
    operation = ctx.operation in grant.operations
    key = grant.key_arn == ctx.resource
    if grantee == NO_MATCH:
        detail = f"grantee {grantee_arn or service} is not the caller"
    elif grantee == ACCOUNT and not identity_allows:
        grantee = NO_MATCH
        detail = (f"grantee is the account {p.account_id}, and no IAM policy of the caller "
                  f"allows {ctx.action}")
    elif not operation:
        detail = f"{ctx.operation} is not among the grant operations {list(grant.operations)}"
    elif not key:
        detail = "the grant is for another KMS key"
    else:
        constraints, detail = _constraints_hold(grant.constraints, ctx)
        return GrantResult(grant, grantee, operation, key, constraints, detail)
    return GrantResult(grant, grantee, operation, key, None, detail)


def _constraints_hold(constraints: Mapping | None, ctx: RequestContext) -> tuple[bool, str]:
    if not constraints:
        return True, "grants this operation"
    request_ec = dict(ctx.encryption_context or {})
    source_arn = constraints.get("SourceArn")
    if source_arn is not None and ctx.lookup("aws:sourcearn") != source_arn:
        return False, (f"SourceArn constraint {source_arn} does not match the request's "
                       f"aws:SourceArn {ctx.lookup('aws:sourcearn')!r}")
    if ctx.operation not in EC_GRANT_OPERATIONS:
        return True, "grants this operation (encryption context constraints do not apply to it)"
    # "in a grant constraint, the key in each key-value pair is not case sensitive, but the
    # value is case sensitive" (API Reference, GrantConstraints)
    folded = {k.lower(): v for k, v in request_ec.items()}
    equals = constraints.get("EncryptionContextEquals")
    if equals is not None and {k.lower(): v for k, v in equals.items()} != folded:
        return False, (f"EncryptionContextEquals {dict(equals)} is not exactly the request's "
                       f"encryption context {request_ec}")
    subset = constraints.get("EncryptionContextSubset")
    if subset is not None:
        missing = {k: v for k, v in subset.items() if folded.get(k.lower()) != v}
        if missing:
            return False, (f"EncryptionContextSubset requires {missing}, missing from the "
                           f"request's encryption context {request_ec}")
    return True, "grants this operation and its constraints hold"


# ------------------------------------------------------------------ Decision
class Decision:
    """The outcome of :func:`decide`, with every statement and grant it considered."""

    __slots__ = ("ctx", "allowed", "outcome", "decided_by", "steps", "reason", "policy_type")

    def __init__(self, ctx, outcome, decided_by, steps, reason, policy_type):
        self.ctx: RequestContext = ctx
        self.outcome: str = outcome
        self.allowed: bool = outcome == "Allow"
        #: the statement result(s) or grant result that decided
        self.decided_by: tuple = tuple(decided_by)
        #: every StatementResult / GrantResult considered, in evaluation order
        self.steps: tuple = tuple(steps)
        #: one sentence saying why, for learners
        self.reason: str = reason
        #: for denials: "resource-based" or "identity-based" (which policy type to fix)
        self.policy_type: str | None = policy_type

    def __bool__(self) -> bool:
        return self.allowed

    def __repr__(self) -> str:
        return f"<Decision {self.outcome} {self.ctx.action} by {self.ctx.principal.arn}>"

    # -------------------------------------------------------------- messages
    def access_denied_message(self) -> str:
        """AccessDeniedException's message, in AWS's wording."""
        if self.allowed:
            raise ValueError("the request is allowed; there is no AccessDenied message")
        c = self.ctx
        head = (f"User: {c.principal.arn} is not authorized to perform: {c.action} "
                f"on resource: {c.resource}")
        if self.outcome == "ExplicitDeny":
            return f"{head} with an explicit deny in {_article(self.policy_type)} {self.policy_type} policy"
        return f"{head} because no {self.policy_type} policy allows the {c.action} action"

    def error(self, operation: str | None = None) -> errors.KMSError:
        """An AccessDeniedException carrying this decision as its ``explanation``."""
        exc = errors.AccessDeniedException(self.access_denied_message(), operation)
        exc.explanation = self
        return exc

    # ----------------------------------------------------------- explanation
    def records(self) -> list[dict]:
        """One flat row per statement and grant considered (for a DataFrame)."""
        rows = []
        decisive = {id(s) for s in self.decided_by}
        for step in self.steps:
            if isinstance(step, GrantResult):
                g = step.grant
                rows.append({
                    "source": step.source, "sid": g.name or None, "effect": "Allow",
                    "principal_match": _LEVEL_TEXT[step.grantee], "action_match": step.operation,
                    "resource_match": step.key, "condition_match": step.constraints,
                    "detail": step.detail, "decisive": id(step) in decisive})
                continue
            st: Statement = step.statement
            rows.append({
                "source": step.source, "sid": st.sid, "effect": st.effect,
                "principal_match": _LEVEL_TEXT[step.principal], "action_match": step.action,
                "resource_match": step.resource, "condition_match": step.conditions,
                "detail": _explain(step, self.ctx), "decisive": id(step) in decisive})
        return rows

    def text(self) -> str:
        """A readable explanation: the request, the verdict, why, and every step."""
        c = self.ctx
        lines = [f"{c.action} by {c.principal.arn}",
                 f"  on {c.resource}" + (" (cross-account)" if c.cross_account else ""),
                 f"Decision: {self.outcome}",
                 f"Why: {self.reason}"]
        if not self.allowed:
            lines.append(f"AWS says: {self.access_denied_message()}")
        if self.steps:
            lines.append("Considered:")
        decisive = {id(s) for s in self.decided_by}
        for step in self.steps:
            mark = "=>" if id(step) in decisive else "  "
            if isinstance(step, GrantResult):
                label = f"{step.source}" + (f' ("{step.grant.name}")' if step.grant.name else "")
                verdict = "applies" if step.applies else "does not apply"
                lines.append(f" {mark} {label} [Allow]: {verdict}: {step.detail}")
            else:
                verdict = "applies" if step.applies else "does not apply"
                lines.append(f" {mark} {step.source}, {step.statement.label} "
                             f"[{step.statement.effect}]: {verdict}: {_explain(step, c)}")
        lines.append("Request context:")
        lines += [f"  {name} = {value}" for name, value in self.context()]
        return "\n".join(lines)

    def context(self) -> list[tuple[str, str]]:
        """The request context the decision evaluated: (key, value as text), sorted by key."""
        keys = self.ctx.context_keys()
        return [(name, _context_value(keys[name])) for name in sorted(keys, key=str.lower)]

    def __str__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        color = "#1a7f37" if self.allowed else "#cf222e"
        head = (f"<p><b style='color:{color}'>{html.escape(self.outcome)}</b> "
                f"<code>{html.escape(self.ctx.action)}</code> by "
                f"<code>{html.escape(self.ctx.principal.arn)}</code><br>"
                f"{html.escape(self.reason)}</p>")
        cols = ["source", "sid", "effect", "principal_match", "action_match", "resource_match",
                "condition_match", "detail"]
        rows = []
        for r in self.records():
            style = " style='font-weight:bold'" if r["decisive"] else ""
            cells = "".join(f"<td>{html.escape(str(r[k]))}</td>" for k in cols)
            rows.append(f"<tr{style}>{cells}</tr>")
        table = ("<table><tr>" + "".join(f"<th>{k}</th>" for k in cols) + "</tr>"
                 + "".join(rows) + "</table>")
        pairs = self.context()
        context = "".join(f"<tr><td><code>{html.escape(k)}</code></td><td>{html.escape(v)}</td></tr>"
                          for k, v in pairs)
        details = (f"<details><summary>Request context ({len(pairs)} keys)</summary>"
                   f"<table>{context}</table></details>")
        return head + table + details


def _context_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_context_value(v) for v in value) + "]"
    return str(value)


def _article(policy_type: str | None) -> str:
    return "an" if policy_type and policy_type[0] in "aeiou" else "a"


_LEVEL_TEXT = {DIRECT: "caller", ACCOUNT: "caller's account", NO_MATCH: "no", None: "n/a"}


def _explain(r: StatementResult, ctx: RequestContext) -> str:
    st = r.statement
    if r.principal == NO_MATCH:
        return f"principal {st.principals_text()} does not cover {ctx.principal.arn}"
    if not r.action:
        return f"{ctx.action} does not match {st.actions_text()}"
    if not r.resource:
        spec = st.resource or st.not_resource  # a statement has one of them (the parser says so)
        written = ", ".join(spec.written)
        resolved = spec.resolve(ctx.lookup) if spec.templates else []
        if resolved:
            written += " (" + ", ".join(
                f"{text} for this request" if text is not None else
                f"{entry} has a policy variable without a value" for entry, text in resolved) + ")"
        if st.resource is None:
            if any(text is None for _, text in resolved):
                return f"NotResource {written}: the statement does not apply"
            return f"{ctx.resource} is excluded by NotResource {written}"
        return f"{ctx.resource} does not match {written}"
    if r.conditions is False:
        cond = r.failed_condition
        assert cond is not None  # a statement whose conditions failed names the one that did
        value = r.failed_value
        shown = _context_value(value) if isinstance(value, (bool, datetime)) else repr(value)
        have = f"the request has no {cond.key}" if value is None or value == [] else \
            f"the request has {cond.key} = {shown}"
        return f"condition {cond.describe()} is false: {have}"
    if r.principal == ACCOUNT:
        return (f"names the caller's account {ctx.principal.account_id}: IAM policies in that "
                "account can allow the request")
    suffix = " (all conditions hold)" if st.conditions else ""
    return f"covers this request{suffix}"


# ------------------------------------------------------------------- decide
def decide(ctx: RequestContext, *, key_policy: Policy | None, identity_policies: Sequence[Policy],
           grants: Sequence[GrantLike] = (), key_policy_applies: bool = True) -> Decision:
    """Authorize ``ctx`` as AWS KMS does; see the module docstring for the rules.

    ``identity_policies`` are the caller's IAM policies (user, group or role
    policies, already resolved by the caller). ``grants`` are the grants on
    the key (the service passes the key's grants, and those named by grant
    tokens). For IAM-only permissions pass ``key_policy_applies=False``.
    """
    p = ctx.principal
    steps: list = []
    key_denies: list = []
    direct: list = []     # key policy Allow statements naming the caller itself
    account: list = []    # key policy Allow statements naming the caller's account
    if key_policy_applies and key_policy is not None:
        for st in key_policy.statements:
            r = evaluate_statement(st, ctx, "key policy")
            steps.append(r)
            if r.applies:
                if st.effect == "Deny":
                    key_denies.append(r)
                elif r.principal == DIRECT:
                    direct.append(r)
                else:
                    account.append(r)
    identity_denies: list = []
    identity_allows: list = []
    for pol in identity_policies:
        source = f"IAM policy {pol.name} of {p.policy_arn}" if pol.name else f"IAM policy of {p.policy_arn}"
        for st in pol.statements:
            r = evaluate_statement(st, ctx, source)
            steps.append(r)
            if r.applies:
                (identity_denies if st.effect == "Deny" else identity_allows).append(r)

    # 1. explicit deny anywhere wins
    if key_denies or identity_denies:
        where = "the key policy" if key_denies else "an IAM policy of the caller"
        return Decision(ctx, "ExplicitDeny", key_denies + identity_denies, steps,
                        f"an explicit Deny in {where} applies; a Deny overrides every Allow "
                        "and every grant",
                        "resource-based" if key_denies else "identity-based")

    is_root = p.type == "Root"

    # IAM-only permissions: identity policies alone
    if not key_policy_applies:
        if identity_allows:
            return Decision(ctx, "Allow", identity_allows, steps,
                            f"an IAM policy of the caller allows {ctx.action} (an IAM-only "
                            "permission: no key policy is involved)", None)
        if is_root and ctx.key_account in (None, p.account_id):
            return Decision(ctx, "Allow", (), steps,
                            "the account's root user has every IAM permission in its own account "
                            f"(and {ctx.action} is an IAM-only permission)", None)
        return Decision(ctx, "ImplicitDeny", (), steps,
                        f"{ctx.action} is an IAM-only permission and no IAM policy of the caller "
                        "allows it", "identity-based")

    # the caller's own account vouches for it: an IAM allow, or root/service identities
    identity_ok = bool(identity_allows) or is_root or p.type == "AWSService"

    if not ctx.cross_account:
        if direct:
            return Decision(ctx, "Allow", direct[:1], steps,
                            f"the key policy allows the caller {ctx.action} directly", None)
        if account and identity_allows:
            return Decision(ctx, "Allow", account[:1] + identity_allows[:1], steps,
                            "the key policy allows the caller's account, and an IAM policy of the "
                            f"caller allows {ctx.action} on this key", None)
    elif (direct or account) and identity_ok:
        by = (direct or account)[:1] + identity_allows[:1]
        return Decision(ctx, "Allow", by, steps,
                        f"cross-account: the key policy of account {ctx.key_account} allows the "
                        f"caller (or its account {p.account_id}), and the caller's own IAM policy "
                        f"allows {ctx.action}", None)

    # 4. grants
    for g in grants:
        gr = _evaluate_grant(g, ctx, bool(identity_allows))
        steps.append(gr)
        if gr.applies:
            return Decision(ctx, "Allow", (gr,), steps,
                            f"grant {g.grant_id} gives the caller {ctx.operation} on this key", None)

    # 5. implicit deny: say which half is missing
    if ctx.cross_account and (direct or account):
        reason = (f"cross-account: the key policy allows the caller's account, but no IAM "
                  f"policy in account {p.account_id} allows {ctx.action} on this key")
        policy_type = "identity-based"
    elif account and not identity_allows:
        reason = ("the key policy allows the caller's account, so IAM policies could allow the "
                  f"request, but no IAM policy of the caller allows {ctx.action} on this key")
        policy_type = "identity-based"
    elif identity_allows:
        reason = ("an IAM policy of the caller allows the request, but IAM policies take effect "
                  "only when the key policy allows the caller's account "
                  f"(arn:aws:iam::{ctx.key_account}:root), and it does not")
        policy_type = "resource-based"
    else:
        reason = (f"no statement of the key policy allows {ctx.action} for the caller"
                  + (", and no grant does either" if grants else ""))
        policy_type = "resource-based"
    return Decision(ctx, "ImplicitDeny", (), steps, reason, policy_type)


def would_lock_out(policy: Policy, principal: Principal, identity_policies: Sequence[Policy],
                   key_arn: str, key_account: str | None = None, *, region: str = "us-east-1",
                   conditions: Mapping | None = None) -> bool:
    """The lockout safety check of CreateKey/PutKeyPolicy.

    True when ``principal`` could not call PutKeyPolicy on the key once
    ``policy`` is attached; the service then raises
    ``MalformedPolicyDocumentException(LOCKOUT_MESSAGE)`` unless the request
    set ``BypassPolicyLockoutSafetyCheck``.
    """
    ctx = RequestContext("kms:PutKeyPolicy", principal, key_arn, key_account, region,
                         conditions=dict(conditions or {}))
    return not decide(ctx, key_policy=policy, identity_policies=identity_policies).allowed
