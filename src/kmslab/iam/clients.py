"""boto3-shaped IAM and STS clients over the lab's IAM (a subset: what KMS lessons need).

Method and parameter names, response shapes and error codes are boto3's
(``iam.create_user(UserName="alice")["User"]["Arn"]``; ``NoSuchEntity``,
``EntityAlreadyExists``, ``MalformedPolicyDocument``, ``AccessDenied``).
Each IAM call is itself authorized: the caller's identity policies must allow
the ``iam:`` action, as in AWS.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .. import errors
from ..identity import Principal

if TYPE_CHECKING:  # pragma: no cover
    from ..lab import Lab

__all__ = ["IAMClient", "STSClient"]


def _metadata(lab: Lab) -> dict:
    with lab.lock:
        request_id = lab.ids.request_id()
    return {"RequestId": request_id, "HTTPStatusCode": 200,
            "HTTPHeaders": {"x-amzn-requestid": request_id}, "RetryAttempts": 0}


def _document(value: str | dict) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class _Client:
    _service = ""

    def __init__(self, lab: Lab, caller: Principal):
        self._lab = lab
        self._caller = caller

    @property
    def exceptions(self):
        """The client's error classes as boto3 names them (``NoSuchEntityException``...)."""
        from ..operations.model import client_exceptions
        return client_exceptions(self._service)

    @property
    def caller(self) -> Principal:
        """Who this client acts as."""
        return self._caller

    def _reply(self, body: dict | None = None) -> dict:
        out = dict(body or {})
        out["ResponseMetadata"] = _metadata(self._lab)
        return out

    def _call(self, operation: str, fn):
        try:
            with self._lab.lock:
                return fn()
        except errors.KMSError as err:
            err.operation_name = operation
            raise


class IAMClient(_Client):
    """``lab.client("iam")``: users, roles, inline policies and access keys."""

    _service = "iam"

    def __repr__(self) -> str:
        return f"<kmslab IAM client as {self._caller.arn}>"

    @property
    def _account(self) -> str:
        return self._caller.account_id

    def _check(self, action: str, kind: str, name: str) -> None:
        self._lab.iam.authorize(self._caller, f"iam:{action}",
                                f"arn:aws:iam::{self._account}:{kind}/{name}")

    # ------------------------------------------------------------ users
    def create_user(self, *, UserName: str, Path: str = "/") -> dict:
        """CreateUser: a new IAM user in the caller's account -> ``{"User": {...}}``."""
        def run():
            self._check("CreateUser", "user", UserName)
            return self._reply({"User": self._lab.iam.create_user(self._account, UserName,
                                                                  path=Path).shape()})
        return self._call("CreateUser", run)

    def get_user(self, *, UserName: str | None = None) -> dict:
        """GetUser: the named user, or the calling user when no name is given."""
        def run():
            name = UserName or self._caller.name
            self._check("GetUser", "user", name)
            return self._reply({"User": self._lab.iam.user(self._account, name).shape()})
        return self._call("GetUser", run)

    def list_users(self) -> dict:
        """ListUsers: every user of the caller's account."""
        def run():
            self._check("ListUsers", "user", "*")
            users = [u.shape() for u in self._lab.iam.users.values()
                     if u.account_id == self._account]
            return self._reply({"Users": sorted(users, key=lambda u: u["UserName"]),
                                "IsTruncated": False})
        return self._call("ListUsers", run)

    def delete_user(self, *, UserName: str) -> dict:
        """DeleteUser: DeleteConflict while it has inline policies or access keys."""
        def run():
            self._check("DeleteUser", "user", UserName)
            self._lab.iam.delete_user(self._account, UserName)
            return self._reply()
        return self._call("DeleteUser", run)

    # ------------------------------------------------------------ roles
    def create_role(self, *, RoleName: str, AssumeRolePolicyDocument: str, Path: str = "/",
                    Description: str = "", MaxSessionDuration: int = 3600) -> dict:
        """CreateRole: a role with its trust policy -> ``{"Role": {...}}``."""
        def run():
            self._check("CreateRole", "role", RoleName)
            role = self._lab.iam.create_role(self._account, RoleName,
                                             _document(AssumeRolePolicyDocument), path=Path,
                                             description=Description,
                                             max_session_duration=MaxSessionDuration)
            return self._reply({"Role": role.shape()})
        return self._call("CreateRole", run)

    def get_role(self, *, RoleName: str) -> dict:
        """GetRole: the role, its trust policy as a document."""
        def run():
            self._check("GetRole", "role", RoleName)
            return self._reply({"Role": self._lab.iam.role(self._account, RoleName).shape()})
        return self._call("GetRole", run)

    # ------------------------------------------------------------ inline policies
    def put_user_policy(self, *, UserName: str, PolicyName: str, PolicyDocument: str) -> dict:
        """PutUserPolicy: add or replace an inline identity policy of a user."""
        def run():
            self._check("PutUserPolicy", "user", UserName)
            user = self._lab.iam.user(self._account, UserName)
            self._lab.iam.put_policy(user, PolicyName, _document(PolicyDocument))
            return self._reply()
        return self._call("PutUserPolicy", run)

    def put_role_policy(self, *, RoleName: str, PolicyName: str, PolicyDocument: str) -> dict:
        """PutRolePolicy: add or replace an inline identity policy of a role."""
        def run():
            self._check("PutRolePolicy", "role", RoleName)
            role = self._lab.iam.role(self._account, RoleName)
            self._lab.iam.put_policy(role, PolicyName, _document(PolicyDocument))
            return self._reply()
        return self._call("PutRolePolicy", run)

    def get_user_policy(self, *, UserName: str, PolicyName: str) -> dict:
        """GetUserPolicy: one inline policy (the document parsed, as boto3 returns it)."""
        def run():
            self._check("GetUserPolicy", "user", UserName)
            user = self._lab.iam.user(self._account, UserName)
            policy = user.policies.get(PolicyName)
            if policy is None:
                raise errors.NoSuchEntity(
                    f"The user policy with name {PolicyName} cannot be found.")
            return self._reply({"UserName": UserName, "PolicyName": PolicyName,
                                "PolicyDocument": json.loads(policy.text)})
        return self._call("GetUserPolicy", run)

    def get_role_policy(self, *, RoleName: str, PolicyName: str) -> dict:
        """GetRolePolicy: one inline policy of a role."""
        def run():
            self._check("GetRolePolicy", "role", RoleName)
            role = self._lab.iam.role(self._account, RoleName)
            policy = role.policies.get(PolicyName)
            if policy is None:
                raise errors.NoSuchEntity(
                    f"The role policy with name {PolicyName} cannot be found.")
            return self._reply({"RoleName": RoleName, "PolicyName": PolicyName,
                                "PolicyDocument": json.loads(policy.text)})
        return self._call("GetRolePolicy", run)

    def delete_user_policy(self, *, UserName: str, PolicyName: str) -> dict:
        """DeleteUserPolicy: remove an inline policy."""
        def run():
            self._check("DeleteUserPolicy", "user", UserName)
            self._lab.iam.delete_policy(self._lab.iam.user(self._account, UserName), PolicyName)
            return self._reply()
        return self._call("DeleteUserPolicy", run)

    def delete_role_policy(self, *, RoleName: str, PolicyName: str) -> dict:
        """DeleteRolePolicy: remove an inline policy of a role."""
        def run():
            self._check("DeleteRolePolicy", "role", RoleName)
            self._lab.iam.delete_policy(self._lab.iam.role(self._account, RoleName), PolicyName)
            return self._reply()
        return self._call("DeleteRolePolicy", run)

    def list_user_policies(self, *, UserName: str) -> dict:
        """ListUserPolicies: the names of a user's inline policies."""
        def run():
            self._check("ListUserPolicies", "user", UserName)
            user = self._lab.iam.user(self._account, UserName)
            return self._reply({"PolicyNames": sorted(user.policies), "IsTruncated": False})
        return self._call("ListUserPolicies", run)

    # ------------------------------------------------------------ access keys
    def create_access_key(self, *, UserName: str | None = None) -> dict:
        """CreateAccessKey: ``AccessKeyId`` and ``SecretAccessKey`` (shown only here)."""
        def run():
            name = UserName or self._caller.name
            self._check("CreateAccessKey", "user", name)
            key = self._lab.iam.create_access_key(self._lab.iam.user(self._account, name))
            return self._reply({"AccessKey": {"UserName": name, "AccessKeyId": key.access_key_id,
                                              "Status": key.status,
                                              "SecretAccessKey": key.secret,
                                              "CreateDate": key.created}})
        return self._call("CreateAccessKey", run)

    def list_access_keys(self, *, UserName: str | None = None) -> dict:
        """ListAccessKeys: ids and status, never secrets."""
        def run():
            name = UserName or self._caller.name
            self._check("ListAccessKeys", "user", name)
            user = self._lab.iam.user(self._account, name)
            keys = [k.metadata() for k in self._lab.iam.access_keys.values()
                    if k.user_name == user.name and k.principal.account_id == user.account_id]
            return self._reply({"AccessKeyMetadata": keys, "IsTruncated": False})
        return self._call("ListAccessKeys", run)

    def delete_access_key(self, *, AccessKeyId: str, UserName: str | None = None) -> dict:
        """DeleteAccessKey: the key stops working at once."""
        def run():
            name = UserName or self._caller.name
            self._check("DeleteAccessKey", "user", name)
            self._lab.iam.delete_access_key(self._lab.iam.user(self._account, name), AccessKeyId)
            return self._reply()
        return self._call("DeleteAccessKey", run)


class STSClient(_Client):
    """``lab.client("sts")``: GetCallerIdentity and AssumeRole."""

    _service = "sts"

    def __repr__(self) -> str:
        return f"<kmslab STS client as {self._caller.arn}>"

    def get_caller_identity(self) -> dict:
        """GetCallerIdentity: ``UserId``, ``Account``, ``Arn`` (needs no permission)."""
        p = self._caller
        return self._reply({"UserId": p.principal_id or p.account_id, "Account": p.account_id,
                            "Arn": p.arn})

    def assume_role(self, *, RoleArn: str, RoleSessionName: str,
                    DurationSeconds: int = 3600) -> dict:
        """AssumeRole: temporary ``ASIA...`` credentials for a role session.

        The role's trust policy must allow the caller ``sts:AssumeRole`` (and
        when it names only the caller's account, or the role is in another
        account, the caller's own IAM policy must allow it too).
        """
        def run():
            key = self._lab.iam.assume_role(self._caller, RoleArn, RoleSessionName,
                                            duration_seconds=DurationSeconds)
            p = key.principal
            return self._reply({
                "Credentials": {"AccessKeyId": key.access_key_id,
                                "SecretAccessKey": key.secret,
                                "SessionToken": key.session_token,
                                "Expiration": key.expiration},
                "AssumedRoleUser": {"AssumedRoleId": p.principal_id, "Arn": p.arn}})
        return self._call("AssumeRole", run)
