"""The global condition keys AWS puts in a request context.

AWS gathers every request into a *request context* before any policy is
evaluated (IAM User Guide, "AWS global condition context keys"). Some global
keys are always in it; others only in some requests. A key that is not in
the context is *absent*: not false, not empty. That is what ``Null`` and the
``...IfExists`` operators test, and why ``BoolIfExists
{"aws:SecureTransport": "false"}`` (AWS's "HTTPS only" deny) denies nothing
in KMS, whose endpoints accept only TLS.

Which keys a request carries, and when (each key's "Availability" on that page):

* always: ``aws:CurrentTime``, ``aws:EpochTime``; ``aws:SecureTransport`` (``true`` for
  every KMS request: TLS only); ``aws:UserAgent``; ``aws:ResourceAccount`` (the account
  that owns the resource); ``aws:ViaAWSService``: ``true`` when a service (the lab's S3)
  calls KMS with the principal's credentials, ``false`` when the principal calls
  directly or a service acts as itself;
* ``aws:SourceIp``: always, except through a VPC endpoint;
* ``aws:CalledVia``, ``aws:CalledViaFirst``, ``aws:CalledViaLast``: only via a service
  that supports them (Athena, CloudFormation, DynamoDB, KMS), never for direct calls;
* ``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalType``, ``aws:userid``:
  every signed request (AWS service principals carry ``aws:PrincipalServiceName``
  instead); ``aws:PrincipalIsAWSService``: every signed request;
* ``aws:username``: IAM users only (not the root user, not role sessions);
* ``aws:TokenIssueTime``: temporary credentials only (role sessions);
* ``aws:MultiFactorAuthPresent``: temporary credentials only: role sessions, and the
  temporary credentials a service uses when it calls on an IAM user's behalf; never
  for long-term access keys;
* ``aws:MultiFactorAuthAge``: only when the session was authenticated with MFA.

``aws:RequestedRegion`` (always) is added by the request context itself from
its Region. Names are written as AWS writes them; condition key names are
case-insensitive, so the engine folds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..identity import Principal

__all__ = ["principal_keys", "request_keys", "service_principal", "CALLED_VIA_SERVICES"]

#: aws:PrincipalType by CloudTrail identity type
_PRINCIPAL_TYPE = {"Root": "Account", "IAMUser": "User", "AssumedRole": "AssumedRole",
                   "FederatedUser": "FederatedUser"}

#: services that set aws:CalledVia when they call with a principal's credentials
#: (IAM User Guide, aws:CalledVia, "CalledVia services"); others set only aws:ViaAWSService
CALLED_VIA_SERVICES = frozenset({"athena.amazonaws.com", "cloudformation.amazonaws.com",
                                 "dynamodb.amazonaws.com", "kms.amazonaws.com"})


def _principal_keys(p: Principal) -> dict[str, Any]:
    if p.type == "AWSService":
        keys: dict[str, Any] = {"aws:PrincipalIsAWSService": "true"}
        if p.service:
            keys["aws:PrincipalServiceName"] = p.service
        return keys
    keys = {"aws:PrincipalIsAWSService": "false",
            "aws:PrincipalArn": p.policy_arn,
            "aws:PrincipalAccount": p.account_id,
            "aws:PrincipalType": _PRINCIPAL_TYPE.get(p.type, p.type),
            "aws:userid": p.account_id if p.type == "Root" else (p.principal_id or p.arn)}
    if p.type == "IAMUser" and p.name:
        keys["aws:username"] = p.name
    if p.type == "AssumedRole":  # temporary credentials from STS
        keys["aws:MultiFactorAuthPresent"] = p.mfa_authenticated_at is not None
        if p.session_issued is not None:
            keys["aws:TokenIssueTime"] = p.session_issued
    return keys


#: id(principal) -> (principal, keys, case-folded keys); holding the principal keeps its id unique
_CACHE: dict[int, tuple[Principal, Mapping[str, Any], Mapping[str, Any]]] = {}
_CACHE_LIMIT = 4096


def _cached(p: Principal) -> tuple[Principal, Mapping[str, Any], Mapping[str, Any]]:
    hit = _CACHE.get(id(p))
    if hit is None or hit[0] is not p:
        keys = _principal_keys(p)
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        hit = _CACHE[id(p)] = (p, keys, {k.lower(): v for k, v in keys.items()})
    return hit


def principal_keys(p: Principal) -> Mapping[str, Any]:
    """Who is calling: the global keys that depend on the principal alone (read-only)."""
    return _cached(p)[1]


def folded_principal_keys(p: Principal) -> Mapping[str, Any]:
    """:func:`principal_keys` by case-folded name, as the engine looks keys up (read-only)."""
    return _cached(p)[2]


def service_principal(via_service: str) -> str:
    """``s3.us-east-1.amazonaws.com`` (kms:ViaService) -> ``s3.amazonaws.com``."""
    name, _, rest = via_service.partition(".")
    return f"{name}.amazonaws.com" if rest.endswith("amazonaws.com") else via_service


def request_keys(p: Principal, *, now: datetime, resource_account: str | None,
                 user_agent: str | None = None, source_ip: str | None = None,
                 via_service: str | None = None, secure_transport: bool = True
                 ) -> dict[str, Any]:
    """The global keys of one request that do not come from the principal alone.

    ``via_service`` is the kms:ViaService name of a service calling with the
    principal's credentials (``s3.us-east-1.amazonaws.com``), None for a
    direct call. The principal's own keys come from :func:`principal_keys`.
    """
    keys: dict[str, Any] = {"aws:CurrentTime": now, "aws:EpochTime": int(now.timestamp()),
                            "aws:SecureTransport": secure_transport,
                            "aws:ViaAWSService": via_service is not None}
    if user_agent is not None:
        keys["aws:UserAgent"] = user_agent
    if resource_account is not None:
        keys["aws:ResourceAccount"] = resource_account
    if source_ip:
        keys["aws:SourceIp"] = source_ip
    if via_service is not None:
        service = service_principal(via_service)
        if service in CALLED_VIA_SERVICES:
            keys.update({"aws:CalledVia": [service], "aws:CalledViaFirst": service,
                         "aws:CalledViaLast": service})
        if p.type == "IAMUser":  # the service calls with temporary credentials for the user
            keys["aws:MultiFactorAuthPresent"] = False
    if p.type == "AssumedRole" and p.mfa_authenticated_at is not None:
        keys["aws:MultiFactorAuthAge"] = max(0, int((now - p.mfa_authenticated_at).total_seconds()))
    return keys
