"""The authorization seam of the pipeline (step 3): key policy + IAM policies + grants.

:class:`PolicyAuthorizer` (the lab's default) turns each request into a
:class:`~kmslab.policy.RequestContext` and asks :func:`kmslab.policy.decide`,
raising the decision's ``AccessDeniedException`` (with ``.explanation``) on
a deny. Which condition keys a request carries, and from which parameter, is
each operation's ``conditions`` in the operation table
(:mod:`kmslab.operations.table`), computed here; :func:`request_context` adds
the global keys every request carries (:func:`kmslab.policy.request_keys`:
``aws:SecureTransport``, ``aws:ViaAWSService``, ``aws:CurrentTime``,
``aws:ResourceAccount``, ``aws:SourceIp``...), ``kms:ViaService`` and the
key's own ``kms:KeySpec``/``kms:ResourceAliases``/``aws:ResourceTag/*``...

Decisions are cached only when they cannot depend on the request: no
statement of the key policy or of the caller's IAM policies has a
Condition or a policy variable in its Resource, and no grant on the key
has constraints. The cache key holds the key's ``revision`` (bumped by
PutKeyPolicy, grants, aliases, tags) and the IAM ``revision``, so any
change invalidates it.

``OpenAuthorizer`` allows everything (useful to isolate a lesson from
permissions, and the reference the authorization benchmark compares with).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import arns, errors, operations
from ..identity import Principal
from ..policy import (
    LOCKOUT_MESSAGE,
    Decision,
    Policy,
    RequestContext,
    decide,
    parse_policy,
    request_keys,
    would_lock_out,
)
from ..policy.global_keys import service_principal
from ..specs import SYMMETRIC_DEFAULT
from .key import Key

if TYPE_CHECKING:  # pragma: no cover
    from ..operations import KeySlot
    from .environment import Environment

__all__ = ["OpenAuthorizer", "PolicyAuthorizer", "request_context", "explain"]



# ----------------------------------------------------------------- condition values
# Which condition keys a request carries, and from which member, is each operation's
# ``conditions`` in the operation table (kmslab.operations.table); the values that are
# not a member's value are computed here, by name.

def _grant_constraint_type(params: dict) -> list[str] | None:
    constraints = params.get("Constraints") or {}
    kinds = [k for k in ("EncryptionContextEquals", "EncryptionContextSubset") if k in constraints]
    return kinds or None


def _request_tags(params: dict) -> dict[str, Any]:
    tags = params.get("Tags") or []
    out: dict[str, Any] = {f"aws:RequestTag/{t['TagKey']}": t["TagValue"] for t in tags}
    if tags:
        out["aws:TagKeys"] = [t["TagKey"] for t in tags]
    return out


def _requested_key_spec(params: dict) -> str:
    return params.get("KeySpec") or params.get("CustomerMasterKeySpec") or SYMMETRIC_DEFAULT


def _requested_key_usage(params: dict) -> str:
    from ..specs import KEY_SPECS
    spec = KEY_SPECS.get(_requested_key_spec(params))
    return params.get("KeyUsage") or (spec.default_usage if spec else None) or "ENCRYPT_DECRYPT"


def _requested_alias(params: dict, key_param: str | None) -> str | None:
    ident = params.get(key_param) if key_param else None
    if isinstance(ident, str) and (ident.startswith("alias/") or ":alias/" in ident):
        return "alias/" + ident.split(":alias/", 1)[-1].removeprefix("alias/")
    return None


#: ("derived", name) condition sources of the operation table -> fn(params, request, key_param,
#: destination) returning the value (None: the key is absent) or, for request tags, a dict
_DERIVED: dict[str, Callable] = {
    "requested_key_spec": lambda p, via, kp, dest: _requested_key_spec(p),
    "requested_key_usage": lambda p, via, kp, dest: _requested_key_usage(p),
    "requested_multi_region_key_type": lambda p, via, kp, dest:
        "PRIMARY" if p.get("MultiRegion") else None,
    "grant_constraint_type": lambda p, via, kp, dest: _grant_constraint_type(p),
    # kms:GrantIsForAWSResource: true only when an integrated service calls on the caller's behalf
    "grant_is_for_aws_resource": lambda p, via, kp, dest: via is not None,
    "request_tags": lambda p, via, kp, dest: _request_tags(p),
    "request_alias": lambda p, via, kp, dest: _requested_alias(p, kp),
    "reencrypt_on_same_key": lambda p, via, kp, dest: _same_key(p, dest),
}


def _condition_values(slot_conditions, params: dict, via_service: str | None,
                      key_param: str | None, destination) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, source in slot_conditions.items():
        kind = source[0]
        if kind == "param":
            value = params.get(source[1], source[2])
        elif kind == "const":
            value = source[1]
        else:
            value = _DERIVED[source[1]](params, via_service, key_param, destination)
            if isinstance(value, dict):  # several keys at once (aws:RequestTag/*)
                out.update(value)
                continue
        if value is not None:
            out[name] = value
    return out


def _encryption_context(slot: KeySlot | None, params: dict) -> dict | None:
    """The encryption context conditions and grant constraints read (the slot's member)."""
    member = slot.context if slot is not None else None
    if member == "Constraints":
        constraints = params.get("Constraints") or {}
        return constraints.get("EncryptionContextEquals") or constraints.get("EncryptionContextSubset")
    return params.get(member) if member else None


def _same_key(params: dict, dest: Key) -> bool | None:
    """kms:ReEncryptOnSameKey: does the ciphertext name the destination key?"""
    if dest is None:
        return None
    from ..crypto.symmetric import parse_blob
    blob = params.get("CiphertextBlob")
    if not blob:
        return None
    try:
        return parse_blob(blob).key_id == dest.key_id
    except errors.KMSError:
        return None


def request_context(caller: Principal, op_name: str, action: str, key: Key | None,
                    params: dict, *, region: str, now, via_service: str | None = None,
                    source_ip: str | None = None, user_agent: str | None = None,
                    key_param: str | None = None, resource: str | None = None,
                    destination: Key | None = None) -> RequestContext:
    """The RequestContext of one request: the engine's view of it.

    ``resource`` is the ARN authorized when there is no key (an alias ARN,
    or the key ARN the lockout check asks about); ``destination`` is
    ReEncrypt's destination key (for kms:ReEncryptOnSameKey).
    """
    if key is not None:
        resource, key_account = key.arn, key.account
    else:
        resource, key_account = resource or "*", caller.account_id
    conditions = request_keys(caller, now=now, resource_account=key_account,
                              user_agent=user_agent, source_ip=source_ip, via_service=via_service)
    if via_service:
        conditions["kms:ViaService"] = via_service
    op = operations.specs().get(op_name)
    slot = op.slot(action) if op is not None else None
    if op is not None:
        conditions.update(_condition_values(slot.conditions if slot is not None else op.conditions,
                                            params, via_service, slot.param if slot else key_param,
                                            destination))
    if key is not None:
        conditions.update({"kms:KeySpec": key.spec.name, "kms:KeyUsage": key.usage,
                           "kms:KeyOrigin": key.origin, "kms:MultiRegion": key.multi_region})
        if key.multi_region and key.multi_region_config:
            conditions["kms:MultiRegionKeyType"] = key.multi_region_config["MultiRegionKeyType"]
        if key.aliases and len(key.aliases) <= 50:
            conditions["kms:ResourceAliases"] = sorted(key.aliases)
        for k, v in key.tags.items():
            conditions[f"aws:ResourceTag/{k}"] = v
    grant_operation = action.split(":", 1)[1] if action.startswith("kms:") else None
    return RequestContext(action, caller, resource, key_account, region,
                          encryption_context=_encryption_context(slot, params) if op is not None
                          else params.get("EncryptionContext"),
                          conditions=conditions, grant_operation=grant_operation)


# --------------------------------------------------------------- authorizers
class OpenAuthorizer:
    """Allows every request; validates key policies as JSON objects only."""

    def authorize(self, call, key, action: str, conditions: dict[str, Any]) -> None:
        return None

    def check_key_policy(self, call, text: str, key_arn: str, bypass_lockout: bool):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise errors.MalformedPolicyDocumentException(
                f"The new key policy is not a valid JSON document: {exc}") from None
        if not isinstance(doc, dict) or "Statement" not in doc:
            raise errors.MalformedPolicyDocumentException(
                "The new key policy must be a JSON object with a Statement element.")
        return doc


def _depends_on_request(policies) -> bool:
    return any(st.depends_on_request for pol in policies for st in pol.statements)


class PolicyAuthorizer:
    """AWS KMS authorization: key policy, the caller's IAM policies and the key's grants."""

    #: cached allow decisions before the cache is emptied
    CACHE_LIMIT = 50_000

    def __init__(self, env):
        self.env = env
        self._allowed: set[tuple] = set()
        self._static_keys: dict[str, tuple[int, bool]] = {}
        self._static_callers: dict[str, tuple[int, bool]] = {}

    def __repr__(self) -> str:
        return f"<PolicyAuthorizer {len(self._allowed)} cached decisions>"

    # ------------------------------------------------------------ the seam
    def authorize(self, call, key, action: str, hints: dict[str, Any]) -> None:
        """Raise AccessDeniedException unless the request is allowed.

        ``key`` None with a key operation: the handler authorizes once it knows
        the key (Decrypt reads it from the ciphertext). ``hints["alias"]``: the
        IAM-only alias half of Create/Update/DeleteAlias, on the alias ARN.
        ``hints["grants"]``: consider only these grants (RetireGrant: the grant
        being retired).
        """
        op = call.op
        alias = hints.get("alias")
        only_grants = hints.get("grants")
        if key is None and not op.iam_only and alias is None:
            return
        request = call.request
        params = request.params
        tokens = params.get("GrantTokens")
        token_grants = self.token_grants(tokens) if tokens else ()
        caller = call.caller
        iam = self.env.iam
        cache_key = None
        if key is not None and alias is None and not token_grants and only_grants is None:
            cache_key = (caller.arn, action, key.arn, key.revision, iam.revision)
            if cache_key in self._allowed:
                return
        resource = None
        if alias is not None:
            svc = call.service
            resource = arns.alias_arn(svc.region, svc.account, alias)
        ctx = request_context(caller, op.name, action, key, params, region=call.service.region,
                              now=call.now, via_service=request.via_service,
                              source_ip=request.source_ip, user_agent=request.user_agent,
                              key_param=op.key_param, resource=resource,
                              destination=call.key if op.name == "ReEncrypt" else None)
        decision = self.decide(ctx, key, token_grants, only_grants=only_grants)
        if not decision.allowed:
            raise decision.error(op.name)
        if cache_key is not None and self._static(caller, key):
            if len(self._allowed) >= self.CACHE_LIMIT:
                self._allowed.clear()
            self._allowed.add(cache_key)

    def decide(self, ctx: RequestContext, key: Key | None, token_grants=(), *,
               only_grants=None) -> Decision:
        """The decision for ``ctx`` with the key's policy and grants and the caller's IAM."""
        identity = self.env.iam.policies_for(ctx.principal)
        if key is None:
            return decide(ctx, key_policy=None, identity_policies=identity,
                          key_policy_applies=False)
        return decide(ctx, key_policy=self.key_policy(key), identity_policies=identity,
                      grants=self.effective_grants(key, token_grants) if only_grants is None
                      else list(only_grants))

    # ------------------------------------------------------------ inputs
    def key_policy(self, key: Key) -> Policy:
        """The key's parsed policy (parsed once, kept on the key)."""
        doc = key.policy_doc
        if not isinstance(doc, Policy) or (doc.text is not key.policy and doc.text != key.policy):
            doc = key.policy_doc = parse_policy(key.policy)
        return doc

    def effective_grants(self, key: Key, token_grants=()) -> list:
        """Grants in effect now, plus those named by the request's grant tokens."""
        now = self.env.clock.now()
        grants = [g for g in key.grants.values() if g.effective_at <= now]
        grants += [g for g in token_grants if g.key_arn == key.arn and g not in grants
                   and g.grant_id in key.grants]
        return grants

    def token_grants(self, tokens) -> tuple:
        """The grants named by GrantTokens; InvalidGrantTokenException for an unknown token."""
        found = []
        for token in tokens:
            grant = self.env.grant_tokens.get(token)
            if grant is None:
                raise errors.InvalidGrantTokenException("The grant token is not valid.")
            found.append(grant)
        return tuple(found)

    def _static(self, caller: Principal, key: Key) -> bool:
        """True when no involved statement or grant depends on the request."""
        memo = self._static_keys.get(key.arn)
        if memo is None or memo[0] != key.revision:
            static = not _depends_on_request([self.key_policy(key)]) and not any(
                g.constraints for g in key.grants.values())
            memo = self._static_keys[key.arn] = (key.revision, static)
        if not memo[1]:
            return False
        iam = self.env.iam
        memo = self._static_callers.get(caller.arn)
        if memo is None or memo[0] != iam.revision:
            memo = self._static_callers[caller.arn] = (
                iam.revision, not _depends_on_request(iam.policies_for(caller)))
        return memo[1]

    # ------------------------------------------------------------ key policies
    def check_key_policy(self, call, text: str, key_arn: str, bypass_lockout: bool) -> Policy:
        """CreateKey/PutKeyPolicy validation: grammar, principals that exist, lockout check."""
        policy = parse_policy(text, principal_exists=self.env.iam.principal_exists)
        caller = call.caller
        if not bypass_lockout and caller.type != "AWSService":
            svc = call.service
            request = call.request
            # the caller's next PutKeyPolicy, as it would arrive: same transport, no bypass
            future = request_context(caller, "PutKeyPolicy", "kms:PutKeyPolicy", None, {},
                                     region=svc.region, now=call.now,
                                     via_service=request.via_service, source_ip=request.source_ip,
                                     user_agent=request.user_agent, resource=key_arn)
            if would_lock_out(policy, caller, self.env.iam.policies_for(caller), key_arn,
                              svc.account, region=svc.region, conditions=future.conditions):
                raise errors.MalformedPolicyDocumentException(LOCKOUT_MESSAGE)
        return policy


def explain(env: Environment, caller: Principal, action: str, key, context=None, *, region: str,
            service=None, via_service: str | None = None, source_ip: str | None = None,
            user_agent: str | None = None, grant_tokens=(), conditions=None) -> Decision:
    """Would ``caller`` be allowed ``action`` on ``key``? The Decision the authorizer would reach
    (``lab.explain``); makes no request and changes nothing.

    ``key`` is a Key, an identifier the ``service`` (the caller's KMS in ``region``) resolves,
    or None/``"*"`` for IAM-only actions; ``context`` the encryption context, placed where the
    action's operation carries it; ``via_service`` a service calling for the caller, which is
    then the source and user agent unless given; ``conditions`` extra condition keys.
    """
    origin = service_principal(via_service) if via_service else None
    source_ip = source_ip or origin or "127.0.0.1"
    user_agent = user_agent or origin or "kmslab"
    if not action.startswith("kms:"):
        action = "kms:" + action
    op_name = action[4:]
    params: dict = {}
    try:  # the operation and key the action is checked for (kms:ReEncryptFrom: ReEncrypt's source)
        spec, slot = operations.slot_for_action(action)
        op_name = spec.name
    except KeyError:  # an action of no single operation (kms:ReEncrypt*...)
        slot = None
    if context:
        params["EncryptionContext"] = dict(context)
        member = slot.context if slot is not None else None
        if member == "Constraints":
            params["Constraints"] = {"EncryptionContextSubset": dict(context)}
        elif member:
            params[member] = dict(context)
    resolved = None
    if isinstance(key, Key):
        resolved = key
    elif key not in (None, "*"):
        resolved = service.resolve(key)
        if isinstance(key, str) and (key.startswith("alias/") or ":alias/" in key):
            params["KeyId"] = key
    ctx = request_context(caller, op_name, action, resolved, params, region=region,
                          now=env.clock.now(), via_service=via_service, source_ip=source_ip,
                          user_agent=user_agent, key_param="KeyId")
    if conditions:
        ctx.conditions = {**(ctx.conditions or {}), **conditions}
    authorizer = env.authorizer
    if not isinstance(authorizer, PolicyAuthorizer):
        authorizer = PolicyAuthorizer(env)
    tokens = authorizer.token_grants(grant_tokens) if grant_tokens else ()
    return authorizer.decide(ctx, resolved, tokens)
