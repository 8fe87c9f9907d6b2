"""Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.

A grant lets a grantee principal use a key for some operations, optionally
only with a given encryption context (``EncryptionContextEquals`` or
``EncryptionContextSubset``). Grants only allow: an explicit Deny in a
policy still wins. The PolicyAuthorizer passes each key's grants to
``kmslab.policy.decide`` on every request.

Eventual consistency: AWS says a new grant takes effect "usually in less
than five minutes"; until then only its grant token makes it usable. The lab
models this with ``lab.grant_delay`` (default 0: a grant is in effect at
once, so code that skips tokens still works, as it usually does on AWS).
Set e.g. ``lab.grant_delay = timedelta(minutes=2)`` to see why tokens exist:
without one the grantee is denied until the clock passes the delay.
Grant tokens are opaque random strings, usable at once, interchangeable for
the same grant.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from .. import errors
from ..operations import GRANT_OPERATIONS
from .key import Key
from .pipeline import Call, paginate
from .registry import Outcome, operation

__all__ = ["Grant", "MAX_GRANTS_PER_KEY", "grant_operations_for"]

#: AWS KMS quota: grants per KMS key
MAX_GRANTS_PER_KEY = 50_000
_GRANT_ID = re.compile(r"[0-9a-f]{64}")
_PRINCIPAL_ARN = re.compile(r"arn:aws:(iam|sts)::\d{12}:(root|user/.+|role/.+|assumed-role/.+/.+|"
                            r"federated-user/.+)")


def grant_operations_for(key: Key) -> frozenset[str]:
    """The grant operations valid for this key: those whose operation the key can serve, by
    the operation table's usage and key spec (symmetric keys have no GetPublicKey,
    asymmetric encryption keys no GenerateDataKey*, an HMAC key only GenerateMac and
    VerifyMac; DescribeKey, CreateGrant and RetireGrant suit every key)."""
    ops = set()
    for grant_op, (_, row) in GRANT_OPERATIONS.items():
        usage, spec = row.get("usage"), row.get("key_spec")
        if usage is not None and usage != key.usage:
            continue
        if spec == "SYMMETRIC_DEFAULT" and not key.symmetric_encryption:
            continue
        if spec == "asymmetric" and not key.spec.asymmetric:
            continue
        ops.add(grant_op)
    return frozenset(ops)


@dataclass(eq=False)
class Grant:
    """One grant on a key (what ListGrants shows, and what the authorizer evaluates)."""

    grant_id: str
    name: str | None
    key_arn: str
    grantee_principal: str | None
    retiring_principal: str | None
    operations: tuple[str, ...]
    constraints: dict | None
    issuing_account: str
    created: datetime
    effective_at: datetime
    grantee_service_principal: str | None = None
    retiring_service_principal: str | None = None

    def entry(self) -> dict:
        """ListGrants' GrantListEntry (KeyId is the key ARN, as AWS returns it)."""
        out: dict[str, Any] = {"KeyId": self.key_arn, "GrantId": self.grant_id}
        if self.name:
            out["Name"] = self.name
        out["CreationDate"] = self.created
        if self.grantee_principal:
            out["GranteePrincipal"] = self.grantee_principal
        if self.grantee_service_principal:
            out["GranteeServicePrincipal"] = self.grantee_service_principal
        if self.retiring_principal:
            out["RetiringPrincipal"] = self.retiring_principal
        if self.retiring_service_principal:
            out["RetiringServicePrincipal"] = self.retiring_service_principal
        out["IssuingAccount"] = f"arn:aws:iam::{self.issuing_account}:root"
        out["Operations"] = list(self.operations)
        if self.constraints:
            out["Constraints"] = self.constraints
        return out

    def same_request(self, params: dict) -> bool:
        """CreateGrant idempotence: same Name and the same parameters."""
        return (self.grantee_principal == params.get("GranteePrincipal")
                and self.grantee_service_principal == params.get("GranteeServicePrincipal")
                and self.retiring_principal == params.get("RetiringPrincipal")
                and self.retiring_service_principal == params.get("RetiringServicePrincipal")
                and sorted(self.operations) == sorted(params["Operations"])
                and (self.constraints or None) == (params.get("Constraints") or None))

    def __repr__(self) -> str:
        return (f"<Grant {self.grant_id[:12]}... {self.grantee_principal or self.grantee_service_principal} "
                f"{list(self.operations)}>")


def _check_principal(arn: str | None, what: str, call: Call) -> None:
    if arn is None:
        return
    if not _PRINCIPAL_ARN.fullmatch(arn) or not call.env.iam.principal_exists(arn):
        raise errors.InvalidArnException(f"{what} {arn} is not a valid principal.")


def _validate(call: Call, key: Key, params: dict) -> dict | None:
    ops = params["Operations"]
    if not ops:
        raise errors.ValidationException("Grants must contain at least one operation.")
    if set(ops) == {"CreateGrant"}:
        raise errors.ValidationException("Grants must not contain only the CreateGrant operation.")
    invalid = sorted(set(ops) - grant_operations_for(key))
    if invalid:
        raise errors.ValidationException(
            f"Grant operations {invalid} are not valid for a KMS key with key spec "
            f"{key.spec.name} and key usage {key.usage}.")
    grantee, service = params.get("GranteePrincipal"), params.get("GranteeServicePrincipal")
    if (grantee is None) == (service is None):
        raise errors.ValidationException(
            "You must specify either GranteePrincipal or GranteeServicePrincipal, but not both.")
    _check_principal(grantee, "GranteePrincipal", call)
    retiring, retiring_service = params.get("RetiringPrincipal"), params.get("RetiringServicePrincipal")
    if retiring is not None and retiring_service is not None:
        raise errors.ValidationException(
            "You can specify either RetiringPrincipal or RetiringServicePrincipal, but not both.")
    if service is not None and retiring is None and retiring_service is None:
        raise errors.ValidationException(
            "A grant for a GranteeServicePrincipal must have a RetiringPrincipal or a "
            "RetiringServicePrincipal.")
    _check_principal(retiring, "RetiringPrincipal", call)
    constraints = params.get("Constraints") or None
    if constraints:
        kinds = [k for k in ("EncryptionContextEquals", "EncryptionContextSubset") if k in constraints]
        if len(kinds) > 1:
            raise errors.ValidationException(
                "A grant constraint can have EncryptionContextEquals or EncryptionContextSubset, "
                "not both.")
        if kinds and not key.symmetric_encryption:
            raise errors.ValidationException(
                "Encryption context grant constraints are valid only for symmetric encryption "
                "KMS keys.")
        for kind in kinds:
            _check_constraint_context(kind, constraints[kind])
    if service is not None and not (constraints or {}).get("SourceArn"):
        raise errors.ValidationException(
            "A grant for a GranteeServicePrincipal must have a SourceArn constraint.")
    return constraints


#: CreateGrant's Constraints text: "Each constraint value can include up to 8 encryption
#: context pairs. The encryption context value in each constraint cannot exceed 384 characters."
MAX_CONSTRAINT_PAIRS = 8
MAX_CONSTRAINT_VALUE = 384


def _check_constraint_context(kind: str, context: dict) -> None:
    """An encryption context grant constraint within AWS's documented limits (ValidationException)."""
    if len(context) > MAX_CONSTRAINT_PAIRS:
        raise errors.ValidationException(
            f"The {kind} grant constraint has {len(context)} encryption context pairs; each "
            f"constraint can include up to {MAX_CONSTRAINT_PAIRS}.")
    for name, value in context.items():
        if len(value) > MAX_CONSTRAINT_VALUE:
            raise errors.ValidationException(
                f"The value of {name!r} in the {kind} grant constraint has {len(value)} "
                f"characters; an encryption context value in a constraint cannot exceed "
                f"{MAX_CONSTRAINT_VALUE}.")


def _new_token(call: Call, grant: Grant) -> str:
    token = secrets.token_urlsafe(96)
    call.env.grant_tokens[token] = grant
    return token


def _same_grant(key: Key, params: dict) -> Grant | None:
    """CreateGrant is idempotent: a grant with the same Name and parameters is returned again."""
    name = params.get("Name")
    if name is None:
        return None
    return next((g for g in key.grants.values() if g.name == name and g.same_request(params)),
                None)


def _check_create_grant(call: Call, params: dict) -> None:
    key = call.key
    _validate(call, key, params)
    if _same_grant(key, params) is None and len(key.grants) >= MAX_GRANTS_PER_KEY:
        raise errors.LimitExceededException(
            f"The request was rejected because the key {key.arn} has reached the limit of "
            f"{MAX_GRANTS_PER_KEY} grants.")


@operation("CreateGrant", check=_check_create_grant)
def create_grant(call: Call, params: dict) -> dict:
    """CreateGrant: a grant on the key; returns GrantId and a grant token usable at once."""
    key = call.key
    same = _same_grant(key, params)
    if same is not None:
        return {"GrantToken": _new_token(call, same), "GrantId": same.grant_id}
    env = call.env
    grant = Grant(env.ids.hex(32), params.get("Name"), key.arn, params.get("GranteePrincipal"),
                  params.get("RetiringPrincipal"), tuple(params["Operations"]),
                  params.get("Constraints") or None, call.caller.account_id, call.now,
                  call.now + env.grant_delay, params.get("GranteeServicePrincipal"),
                  params.get("RetiringServicePrincipal"))
    key.add_grant(grant)
    if grant.effective_at > call.now:
        key.scheduled[f"grant {grant.grant_id}"] = env.clock.schedule(
            grant.effective_at, partial(_grant_in_effect, key),
            label=f"grant {grant.grant_id[:12]} in effect")
    return {"GrantToken": _new_token(call, grant), "GrantId": grant.grant_id}


def _grant_in_effect(key: Key) -> None:
    """Scheduled when a grant's propagation delay ends: cached decisions are stale."""
    key.changed()


@operation("ListGrants")
def list_grants(call: Call, params: dict) -> dict:
    """ListGrants: the key's grants, filtered by GrantId or GranteePrincipal (paged)."""
    grant_id = params.get("GrantId")
    if grant_id is not None and not _GRANT_ID.fullmatch(grant_id):
        raise errors.InvalidGrantIdException(f"Invalid grant ID {grant_id}")
    grants = list(call.key.grants.values())  # creation order
    if grant_id is not None:
        grants = [g for g in grants if g.grant_id == grant_id]
    for field, attr in (("GranteePrincipal", "grantee_principal"),
                        ("GranteeServicePrincipal", "grantee_service_principal")):
        if params.get(field) is not None:
            grants = [g for g in grants if getattr(g, attr) == params[field]]
    return paginate(call, [g.entry() for g in grants], "Grants")


@operation("ListRetirableGrants")
def list_retirable_grants(call: Call, params: dict) -> dict:
    """ListRetirableGrants: grants in this account and Region with this retiring principal."""
    principal = params.get("RetiringPrincipal")
    service = params.get("RetiringServicePrincipal")
    if (principal is None) == (service is None):
        raise errors.ValidationException(
            "You must specify either RetiringPrincipal or RetiringServicePrincipal, but not both.")
    if principal is not None and not _PRINCIPAL_ARN.fullmatch(principal):
        raise errors.InvalidArnException(f"RetiringPrincipal {principal} is not a valid ARN.")
    grants = [g for key in call.service.keys.values() for g in key.grants.values()
              if (principal is not None and g.retiring_principal == principal)
              or (service is not None and g.retiring_service_principal == service)]
    return paginate(call, [g.entry() for g in grants], "Grants")


def _find_grant(call: Call, params: dict) -> tuple[Key, Grant]:
    token = params.get("GrantToken")
    if token is not None:
        grant = call.env.grant_tokens.get(token)
        if grant is None:
            raise errors.InvalidGrantTokenException("The grant token is not valid.")
        key = _key_of(call, grant.key_arn)
        if key is None or grant.grant_id not in key.grants:
            raise errors.NotFoundException(f"Grant {grant.grant_id} does not exist.")
        return key, grant
    key_id, grant_id = params.get("KeyId"), params.get("GrantId")
    if key_id is None or grant_id is None:
        raise errors.ValidationException(
            "Either GrantToken, or both KeyId and GrantId, must be specified.")
    if not _GRANT_ID.fullmatch(grant_id):
        raise errors.InvalidGrantIdException(f"Invalid grant ID {grant_id}")
    key = call.resolve(key_id)
    grant = key.grants.get(grant_id)
    if grant is None:
        raise errors.NotFoundException(f"Grant ID {grant_id} not found for key {key.arn}.")
    return key, grant


def _key_of(call: Call, key_arn: str) -> Key | None:
    parts = key_arn.split(":")
    svc = call.env.kms_service(parts[4], parts[3], create=False)
    return svc.keys.get(parts[5].split("/", 1)[1]) if svc is not None else None


def _may_retire(call: Call, grant: Grant) -> bool:
    """RetireGrant: the retiring principal, the grantee when the grant includes
    RetireGrant, or the issuing account (its root, or an IAM allow of kms:RetireGrant)."""
    p = call.caller
    me = {p.arn, p.role_arn} - {None}  # an account as retiring principal: its root user's ARN
    if grant.retiring_principal in me:
        return True
    if grant.grantee_principal in me and "RetireGrant" in grant.operations:
        return True
    return p.account_id == grant.issuing_account and p.type == "Root"


def _drop(key: Key, grant: Grant) -> None:
    key.remove_grant(grant.grant_id)
    event = key.scheduled.pop(f"grant {grant.grant_id}", None)
    if event is not None:
        event.cancel()


def _grant_key(call: Call, params: dict) -> Key:
    """RetireGrant names a grant (by token, or KeyId and GrantId): its key is the grant's."""
    return _find_grant(call, params)[0]


def _check_retire(call: Call, params: dict) -> None:
    """Permission to retire "is determined primarily by the grant" (:func:`_may_retire`);
    otherwise the policies decide, where only this grant's own RetireGrant counts."""
    key, grant = _find_grant(call, params)
    if not _may_retire(call, grant):
        call.authorize(key, grants=(grant,))


@operation("RetireGrant", locate=_grant_key, check=_check_retire)
def retire_grant(call: Call, params: dict) -> Outcome:
    """RetireGrant: by token, or KeyId (key ARN) + GrantId; see :func:`_may_retire`."""
    key, grant = _find_grant(call, params)
    _drop(key, grant)
    # ct-retire-grant: the grant id, never the token (a bearer credential)
    return Outcome({}, logged={"grantId": grant.grant_id})


def _revoked_grant(call: Call, params: dict) -> Grant:
    key = call.key
    grant_id = params["GrantId"]
    if not _GRANT_ID.fullmatch(grant_id):
        raise errors.InvalidGrantIdException(f"Invalid grant ID {grant_id}")
    grant = key.grants.get(grant_id)
    if grant is None:
        raise errors.NotFoundException(f"Grant ID {grant_id} not found for key {key.arn}.")
    return grant


@operation("RevokeGrant", check=_revoked_grant)
def revoke_grant(call: Call, params: dict) -> dict:
    """RevokeGrant: delete a grant (needs kms:RevokeGrant on the key)."""
    _drop(call.key, _revoked_grant(call, params))
    return {}
