"""IAM and STS state: users, roles, inline policies, access keys, role sessions.

Modelled on IAM's API (CreateUser, CreateRole, PutUserPolicy, PutRolePolicy,
CreateAccessKey) and STS AssumeRole: unique ids ``AIDA...`` (users),
``AROA...`` (roles), ``AKIA...`` (access keys) and ``ASIA...`` (temporary
credentials); creation dates from the lab clock. Access key secrets and
session tokens come from ``os.urandom``, never from the lab's seed.

``revision`` grows on every change, so the KMS authorizer can cache decisions
and drop them when an identity policy changes.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from .. import errors
from ..identity import Principal
from ..policy import Policy, RequestContext, decide, parse_policy, request_keys

__all__ = ["IAM", "IAMUser", "IAMRole", "AccessKey", "ADMINISTRATOR_ACCESS"]

#: the identity policy the lab gives each account's ``admin`` user (AWS's AdministratorAccess)
ADMINISTRATOR_ACCESS = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"}]}, indent=2)

#: IAM quota: access keys per user
MAX_ACCESS_KEYS_PER_USER = 2
_NAME = re.compile(r"[\w+=,.@-]{1,64}")
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")


def _no_such_entity(message: str) -> errors.KMSError:
    return errors.NoSuchEntity(message)


@dataclass(eq=False)
class IAMUser:
    """An IAM user: ``arn:aws:iam::<acct>:user/<name>``, unique id ``AIDA...``."""

    name: str
    account_id: str
    user_id: str
    arn: str
    created: datetime
    path: str = "/"
    policies: dict[str, Policy] = field(default_factory=dict)

    @property
    def principal(self) -> Principal:
        """The caller identity requests made as this user carry."""
        return Principal(self.arn, self.account_id, "IAMUser", self.name, self.user_id)

    def shape(self) -> dict:
        """IAM's ``User`` structure (GetUser, CreateUser, ListUsers)."""
        return {"Path": self.path, "UserName": self.name, "UserId": self.user_id,
                "Arn": self.arn, "CreateDate": self.created}

    def __repr__(self) -> str:
        return f"<IAMUser {self.arn}>"


@dataclass(eq=False)
class IAMRole:
    """An IAM role: ``arn:aws:iam::<acct>:role/<name>``, unique id ``AROA...``, a trust policy."""

    name: str
    account_id: str
    role_id: str
    arn: str
    created: datetime
    trust_policy: Policy  # compiled for evaluation (the role is its Resource)
    trust_document: str = ""  # the trust policy as written (GetRole shows it)
    path: str = "/"
    description: str = ""
    max_session_duration: int = 3600
    policies: dict[str, Policy] = field(default_factory=dict)

    def session(self, session_name: str, *, issued: datetime | None = None,
                access_key_id: str | None = None) -> Principal:
        """The AssumedRole principal ``arn:aws:sts::<acct>:assumed-role/<role>/<session>``."""
        return Principal(f"arn:aws:sts::{self.account_id}:assumed-role/{self.name}/{session_name}",
                         self.account_id, "AssumedRole", session_name,
                         f"{self.role_id}:{session_name}", access_key_id, role_arn=self.arn,
                         session_name=session_name, session_issued=issued)

    def shape(self) -> dict:
        """IAM's ``Role`` structure (the trust policy as a parsed document, as boto3 shows it)."""
        out = {"Path": self.path, "RoleName": self.name, "RoleId": self.role_id, "Arn": self.arn,
               "CreateDate": self.created,
               "AssumeRolePolicyDocument": json.loads(self.trust_document),
               "MaxSessionDuration": self.max_session_duration}
        if self.description:
            out["Description"] = self.description
        return out

    def __repr__(self) -> str:
        return f"<IAMRole {self.arn}>"


@dataclass(eq=False)
class AccessKey:
    """Long-term (``AKIA``) or temporary (``ASIA``) credentials; the secret never shows in repr."""

    access_key_id: str
    secret: str = field(repr=False)
    principal: Principal = field(repr=False)
    created: datetime
    user_name: str | None = None
    status: str = "Active"
    session_token: str | None = field(default=None, repr=False)
    expiration: datetime | None = None

    def metadata(self) -> dict:
        """IAM's ``AccessKeyMetadata`` (ListAccessKeys)."""
        return {"UserName": self.user_name, "AccessKeyId": self.access_key_id,
                "Status": self.status, "CreateDate": self.created}


def _secret(n: int) -> str:
    return base64.b64encode(os.urandom(n)).decode()


def _evaluable_trust_policy(text: str) -> str:
    """Trust policies have no Resource element: the role itself is the resource."""
    try:
        doc = json.loads(text)
        statements = doc.get("Statement") if isinstance(doc, dict) else None
        items = statements if isinstance(statements, list) else [statements]
        for st in items:
            if isinstance(st, dict) and "Resource" not in st and "NotResource" not in st:
                st["Resource"] = "*"
        return json.dumps(doc)
    except (ValueError, AttributeError):
        return text  # parse_policy reports the error


class IAM:
    """Every account's IAM users and roles, and the credentials issued to them."""

    def __init__(self, ids, clock):
        self._ids = ids
        self._clock = clock
        self.accounts: set[str] = set()
        self.users: dict[str, IAMUser] = {}      # ARN -> user
        self.roles: dict[str, IAMRole] = {}      # ARN -> role
        self.access_keys: dict[str, AccessKey] = {}
        self.revision = 0

    def __repr__(self) -> str:
        return f"<IAM {len(self.users)} users, {len(self.roles)} roles>"

    def _changed(self) -> None:
        self.revision += 1

    def _unique_id(self, prefix: str) -> str:
        return prefix + self._ids.hex(9).upper()[:17]

    # ------------------------------------------------------------ lookups
    def user(self, account_id: str, name: str) -> IAMUser:
        user = self.users.get(f"arn:aws:iam::{account_id}:user/{name}")
        if user is None:
            user = next((u for u in self.users.values()
                         if u.account_id == account_id and u.name == name), None)
        if user is None:
            raise _no_such_entity(f"The user with name {name} cannot be found.")
        return user

    def role(self, account_id: str, name: str) -> IAMRole:
        role = next((r for r in self.roles.values()
                     if r.account_id == account_id and r.name == name), None)
        if role is None:
            raise _no_such_entity(f"The role with name {name} cannot be found.")
        return role

    def principal_exists(self, arn: str) -> bool:
        """Whether a policy may name ``arn`` (KMS rejects principals that do not exist)."""
        m = re.fullmatch(r"arn:aws:(iam|sts)::(\d{12}):(.*)", arn)
        if not m or m.group(2) not in self.accounts:
            return False
        service, account, rest = m.groups()
        if rest == "root" or rest.startswith("federated-user/"):
            return True
        if service == "iam" and rest.startswith("user/"):
            return arn in self.users
        if service == "iam" and rest.startswith("role/"):
            return arn in self.roles
        if service == "sts" and rest.startswith("assumed-role/"):
            role = rest.split("/")[1]
            return any(r.account_id == account and r.name == role for r in self.roles.values())
        return False

    def _global_keys(self, caller: Principal, resource_account: str) -> dict:
        """The global keys of an IAM or STS request (IAM's endpoint is in us-east-1, over TLS)."""
        return request_keys(caller, now=self._clock.now(), resource_account=resource_account)

    def policies_for(self, principal: Principal) -> tuple[Policy, ...]:
        """The identity policies that apply to a caller (its user's, or its role's)."""
        if principal.type == "IAMUser":
            user = self.users.get(principal.arn)
            return tuple(user.policies.values()) if user else ()
        if principal.type == "AssumedRole" and principal.role_arn:
            role = self.roles.get(principal.role_arn)
            return tuple(role.policies.values()) if role else ()
        return ()

    def authorize(self, caller: Principal, action: str, resource: str) -> None:
        """IAM's own permission check for IAM actions (``iam:CreateUser``...): AccessDenied."""
        ctx = RequestContext(action, caller, resource, caller.account_id,
                             conditions=self._global_keys(caller, caller.account_id))
        decision = decide(ctx, key_policy=None, identity_policies=self.policies_for(caller),
                          key_policy_applies=False)
        if not decision.allowed:
            exc = errors.AccessDenied(decision.access_denied_message())
            exc.explanation = decision
            raise exc

    # ------------------------------------------------------------ users
    def create_user(self, account_id: str, name: str, *, path: str = "/") -> IAMUser:
        """CreateUser: EntityAlreadyExists if the name is taken in the account."""
        if not _NAME.fullmatch(name):
            raise errors.ValidationError(
                f"1 validation error detected: Value '{name}' at 'userName' failed to satisfy "
                "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+")
        arn = f"arn:aws:iam::{account_id}:user{path}{name}"
        if any(u.account_id == account_id and u.name == name for u in self.users.values()):
            raise errors.EntityAlreadyExists(f"User with name {name} already exists.")
        self.accounts.add(account_id)
        user = IAMUser(name, account_id, self._unique_id("AIDA"), arn, self._clock.now(), path)
        self.users[arn] = user
        self._changed()
        return user

    def delete_user(self, account_id: str, name: str) -> None:
        """DeleteUser: DeleteConflict while the user has policies or access keys."""
        user = self.user(account_id, name)
        if user.policies:
            raise errors.DeleteConflict("Cannot delete entity, must delete policies first.")
        if any(k.user_name == name and k.principal.account_id == account_id
               for k in self.access_keys.values()):
            raise errors.DeleteConflict("Cannot delete entity, must delete access keys first.")
        del self.users[user.arn]
        self._changed()

    # ------------------------------------------------------------ roles
    def create_role(self, account_id: str, name: str, trust_policy: str, *, path: str = "/",
                    description: str = "", max_session_duration: int = 3600) -> IAMRole:
        """CreateRole with its trust policy (who may call sts:AssumeRole)."""
        if not _NAME.fullmatch(name):
            raise errors.ValidationError(f"The role name {name!r} is not valid.")
        if any(r.account_id == account_id and r.name == name for r in self.roles.values()):
            raise errors.EntityAlreadyExists(f"Role with name {name} already exists.")
        trust = self.parse_trust_policy(trust_policy)
        self.accounts.add(account_id)
        arn = f"arn:aws:iam::{account_id}:role{path}{name}"
        role = IAMRole(name, account_id, self._unique_id("AROA"), arn, self._clock.now(), trust,
                       trust_policy, path, description, max_session_duration)
        self.roles[arn] = role
        self._changed()
        return role

    def parse_trust_policy(self, text: str) -> Policy:
        """A role's trust policy: a resource policy on the role; principals must exist."""
        try:
            return parse_policy(_evaluable_trust_policy(text), kind="key",
                                principal_exists=self.principal_exists, name="trust policy")
        except errors.KMSError as exc:
            raise errors.MalformedPolicyDocument(exc.message) from None

    # ------------------------------------------------------------ inline policies
    def put_policy(self, entity: IAMUser | IAMRole, policy_name: str, document: str) -> Policy:
        """PutUserPolicy / PutRolePolicy: add or replace an inline identity policy."""
        if not _NAME.fullmatch(policy_name):
            raise errors.ValidationError(f"The policy name {policy_name!r} is not valid.")
        try:
            policy = parse_policy(document, kind="identity", name=policy_name)
        except errors.KMSError as exc:
            raise errors.MalformedPolicyDocument(exc.message) from None
        entity.policies[policy_name] = policy
        self._changed()
        return policy

    def delete_policy(self, entity: IAMUser | IAMRole, policy_name: str) -> None:
        kind = "user" if isinstance(entity, IAMUser) else "role"
        if policy_name not in entity.policies:
            raise _no_such_entity(f"The {kind} policy with name {policy_name} cannot be found.")
        del entity.policies[policy_name]
        self._changed()

    # ------------------------------------------------------------ credentials
    def create_access_key(self, user: IAMUser) -> AccessKey:
        """CreateAccessKey: ``AKIA...`` id and a 40-character secret (at most 2 per user)."""
        mine = [k for k in self.access_keys.values()
                if k.user_name == user.name and k.principal.account_id == user.account_id]
        if len(mine) >= MAX_ACCESS_KEYS_PER_USER:
            raise errors.LimitExceeded(
                f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS_PER_USER}")
        key_id = "AKIA" + self._ids.hex(8).upper()
        key = AccessKey(key_id, _secret(30), replace(user.principal, access_key_id=key_id),
                        self._clock.now(), user.name)
        self.access_keys[key_id] = key
        return key

    def delete_access_key(self, user: IAMUser, access_key_id: str) -> None:
        key = self.access_keys.get(access_key_id)
        if key is None or key.user_name != user.name or key.principal.account_id != user.account_id:
            raise _no_such_entity(f"The Access Key with id {access_key_id} cannot be found.")
        del self.access_keys[access_key_id]

    def assume_role(self, caller: Principal, role_arn: str, session_name: str, *,
                    duration_seconds: int = 3600) -> AccessKey:
        """STS AssumeRole: the trust policy (and, across accounts or for the account
        principal, the caller's IAM policy) must allow ``sts:AssumeRole``."""
        if not _SESSION_NAME.fullmatch(session_name or ""):
            raise errors.ValidationError(
                f"1 validation error detected: Value '{session_name}' at 'roleSessionName' failed "
                "to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*")
        role = self.roles.get(role_arn)
        if role is None:
            raise errors.AccessDenied(
                f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: "
                f"{role_arn}")
        if not 900 <= duration_seconds <= role.max_session_duration:
            raise errors.ValidationError(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                if duration_seconds > 900 else
                f"1 validation error detected: Value '{duration_seconds}' at 'durationSeconds' "
                "failed to satisfy constraint: Member must have value greater than or equal to 900")
        decision = self.explain_assume_role(caller, role)
        if not decision.allowed:
            exc = errors.AccessDenied(
                f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: "
                f"{role.arn}")
            exc.explanation = decision
            raise exc
        now = self._clock.now()
        key_id = "ASIA" + self._ids.hex(8).upper()
        key = AccessKey(key_id, _secret(30), role.session(session_name, issued=now,
                                                          access_key_id=key_id),
                        now, None, session_token=_secret(264),
                        expiration=now + timedelta(seconds=duration_seconds))
        self.access_keys[key_id] = key
        return key

    def explain_assume_role(self, caller: Principal, role: IAMRole):
        """The decision on ``sts:AssumeRole``: trust policy plus the caller's IAM policies."""
        ctx = RequestContext("sts:AssumeRole", caller, role.arn, role.account_id,
                             conditions=self._global_keys(caller, role.account_id))
        return decide(ctx, key_policy=role.trust_policy,
                      identity_policies=self.policies_for(caller))

    def resolve_access_key(self, access_key_id: str) -> tuple[Principal, str]:
        """The principal and secret behind an access key id (what SigV4 verification needs)."""
        key = self.access_keys.get(access_key_id)
        if key is None or key.status != "Active":
            raise errors.UnrecognizedClientException(
                "The security token included in the request is invalid.")
        if key.expiration is not None and self._clock.now() >= key.expiration:
            raise errors.ExpiredTokenException(
                "The security token included in the request is expired")
        return key.principal, key.secret

    def authenticate(self, access_key_id: str, session_token: str | None) -> tuple[Principal, str]:
        """The principal and secret for a signed request's credentials, as AWS checks them.

        Temporary (``ASIA``) credentials need their session token
        (``X-Amz-Security-Token``); long-term keys must come without one. A
        missing, wrong or unexpected token is ``UnrecognizedClientException``,
        AWS's answer for JSON services such as KMS.
        """
        principal, secret = self.resolve_access_key(access_key_id)
        expected = self.access_keys[access_key_id].session_token
        if expected is None and session_token is None:
            return principal, secret
        if expected is None or session_token is None or not hmac.compare_digest(
                expected.encode(), session_token.encode("utf-8", "replace")):
            raise errors.UnrecognizedClientException(
                "The security token included in the request is invalid.")
        return principal, secret
