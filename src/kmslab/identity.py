"""Who is calling: the principal every request carries (CloudTrail's userIdentity)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["Principal", "account_root", "aws_service"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An IAM identity as KMS sees it.

    ``type`` follows CloudTrail: ``Root``, ``IAMUser``, ``AssumedRole``,
    ``AWSService``. For an assumed role, ``arn`` is the session ARN
    (``arn:aws:sts::<acct>:assumed-role/<role>/<session>``) and ``role_arn``
    the role's IAM ARN, which is what policies name.
    """

    arn: str
    account_id: str
    type: str = "IAMUser"
    name: str = ""
    principal_id: str = ""
    access_key_id: str | None = None
    role_arn: str | None = None
    session_name: str | None = None
    service: str | None = None  # for AWSService principals, e.g. "s3.amazonaws.com"
    session_issued: datetime | None = None  # when STS issued an assumed-role session
    mfa_authenticated_at: datetime | None = None  # when the session's MFA code was checked

    @property
    def policy_arn(self) -> str:
        """The ARN key policies and grants name: the role ARN for role sessions."""
        return self.role_arn or self.arn

    def implicit_access_key_id(self) -> str | None:
        """The access key a lab client made for an IAM user (``lab.client(as_=...)``) signs
        with: every real call is signed with some access key, and CloudTrail logs it
        (``userIdentity.accessKeyId``). Derived from the user's unique id, so the same user
        always shows the same key; a client built from a key of CreateAccessKey shows that one."""
        if self.type == "IAMUser" and self.principal_id.startswith("AIDA"):
            return "AKIA" + self.principal_id[4:20]
        return None

    def user_identity(self) -> dict:
        """CloudTrail's ``userIdentity`` for this principal."""
        if self.type == "AWSService":
            return {"type": "AWSService", "invokedBy": self.service or "AWS Internal"}
        ident: dict[str, Any] = {"type": self.type, "principalId": self.principal_id, "arn": self.arn,
                 "accountId": self.account_id}
        access_key_id = self.access_key_id or self.implicit_access_key_id()
        if access_key_id:
            ident["accessKeyId"] = access_key_id
        if self.type == "IAMUser":
            ident["userName"] = self.name
        if self.type == "AssumedRole" and self.role_arn:
            attributes = {}
            if self.session_issued is not None:
                attributes["creationDate"] = self.session_issued.strftime("%Y-%m-%dT%H:%M:%SZ")
            attributes["mfaAuthenticated"] = (
                "false" if self.mfa_authenticated_at is None else "true")
            ident["sessionContext"] = {
                "sessionIssuer": {
                    "type": "Role", "principalId": self.principal_id.split(":")[0],
                    "arn": self.role_arn, "accountId": self.account_id,
                    "userName": self.role_arn.rsplit("/", 1)[-1]},
                "webIdFederationData": {},
                "attributes": attributes}
        return ident


def account_root(account_id: str) -> Principal:
    """The account's root user (``arn:aws:iam::<acct>:root``)."""
    return Principal(f"arn:aws:iam::{account_id}:root", account_id, "Root", "root", account_id)


def aws_service(service: str, account_id: str) -> Principal:
    """An AWS service acting for itself (rotation, deletion, integrated services)."""
    return Principal(f"arn:aws:iam::{account_id}:root", account_id, "AWSService", service,
                     service=service)
