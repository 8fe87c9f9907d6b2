"""The key policies AWS KMS writes for you (key-policy-default).

* :func:`default_key_policy`: what CreateKey attaches when the request has no
  ``Policy``: one statement giving the account principal ``kms:*``, which
  lets the account's IAM policies control access to the key.
* :func:`console_key_policy` and the statement builders: what the console's
  Create key wizard writes: the same statement plus *key administrators*,
  *key users* (actions depend on the key type) and, for symmetric encryption
  keys, *Allow attachment of persistent resources* (grants for integrated
  services only).

GetKeyPolicy returns AWS's pretty-printed form (two-space indent,
``"Key" : value``), which :func:`aws_json` reproduces.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence

__all__ = [
    "default_key_policy", "console_key_policy", "aws_json", "root_statement",
    "key_administrators_statement", "key_users_statement", "persistent_resources_statement",
    "KEY_ADMINISTRATOR_ACTIONS", "KEY_USER_ACTIONS",
]

#: the console's key administrators statement. It names no cryptographic operation, but
#: kms:Put* (PutKeyPolicy) and kms:Create* (CreateGrant) let an administrator give itself
#: any permission, as AWS's documentation of the default key policy warns.
KEY_ADMINISTRATOR_ACTIONS = (
    "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
    "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
    "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
)

#: the console's key users statement, by KeyUsage (asymmetric ENCRYPT_DECRYPT differs)
KEY_USER_ACTIONS = {
    "SYMMETRIC": ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                  "kms:DescribeKey"),
    "ENCRYPT_DECRYPT": ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:DescribeKey",
                        "kms:GetPublicKey"),
    "SIGN_VERIFY": ("kms:Sign", "kms:Verify", "kms:GetPublicKey", "kms:DescribeKey"),
    "GENERATE_VERIFY_MAC": ("kms:GenerateMac", "kms:VerifyMac", "kms:DescribeKey"),
    "KEY_AGREEMENT": ("kms:DeriveSharedSecret", "kms:GetPublicKey", "kms:DescribeKey"),
    "ENCAPSULATE_DECAPSULATE": ("kms:Decapsulate", "kms:GetPublicKey", "kms:DescribeKey"),
}


def aws_json(document: dict) -> str:
    """Serialize a policy the way GetKeyPolicy shows AWS-written policies.

    Two-space indent, ``" : "`` between key and value, and lists opened
    on the same line (``[ {`` ... ``} ]``), as AWS KMS prints them.
    """
    return _dump(document, 0)


def _dump(value, level: int) -> str:
    pad = "  " * level
    inner = "  " * (level + 1)
    if isinstance(value, dict):
        if not value:
            return "{ }"
        items = [f"{inner}{json.dumps(k)} : {_dump(v, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value:
            return "[ ]"
        return "[ " + ", ".join(_dump(v, level) for v in value) + " ]"
    return json.dumps(value)


def root_statement(account_id: str, *, sid: str = "Enable IAM User Permissions") -> dict:
    """Allow the account principal ``kms:*``: IAM policies of the account then take effect."""
    return {"Sid": sid, "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "kms:*", "Resource": "*"}


@functools.lru_cache(maxsize=64)
def default_key_policy(account_id: str) -> str:
    """The key policy CreateKey attaches when the request has no ``Policy`` (Id ``key-default-1``)."""
    return aws_json({"Version": "2012-10-17", "Id": "key-default-1",
                     "Statement": [root_statement(account_id)]})


def _principals(arns: Iterable[str]):
    arns = list(arns)
    return {"AWS": arns[0] if len(arns) == 1 else arns}


def key_administrators_statement(administrators: Sequence[str], *, origin: str = "AWS_KMS",
                                 multi_region: bool = False,
                                 allow_deletion: bool = True) -> dict:
    """The console's "Allow access for Key Administrators" statement.

    ``origin="EXTERNAL"`` adds ``kms:ImportKeyMaterial``; multi-Region keys add
    ``kms:ReplicateKey`` and ``kms:UpdatePrimaryRegion``; ``allow_deletion=False``
    drops ``kms:ScheduleKeyDeletion`` (the console's "Allow key administrators to
    delete this key" box).
    """
    actions = [a for a in KEY_ADMINISTRATOR_ACTIONS
               if allow_deletion or a != "kms:ScheduleKeyDeletion"]
    if origin == "EXTERNAL":
        actions.append("kms:ImportKeyMaterial")
    if multi_region:
        actions += ["kms:ReplicateKey", "kms:UpdatePrimaryRegion"]
    return {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
            "Principal": _principals(administrators), "Action": actions, "Resource": "*"}


def key_users_statement(users: Sequence[str], *, key_spec: str = "SYMMETRIC_DEFAULT",
                        key_usage: str = "ENCRYPT_DECRYPT") -> dict:
    """The console's "Allow use of the key" statement for this key type."""
    kind = "SYMMETRIC" if key_spec == "SYMMETRIC_DEFAULT" else key_usage
    return {"Sid": "Allow use of the key", "Effect": "Allow", "Principal": _principals(users),
            "Action": list(KEY_USER_ACTIONS[kind]), "Resource": "*"}


def persistent_resources_statement(users: Sequence[str]) -> dict:
    """Let key users create grants only for integrated AWS services (EBS, RDS...)."""
    return {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
            "Principal": _principals(users),
            "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}


def console_key_policy(account_id: str, *, administrators: Sequence[str] = (),
                       users: Sequence[str] = (), key_spec: str = "SYMMETRIC_DEFAULT",
                       key_usage: str = "ENCRYPT_DECRYPT", origin: str = "AWS_KMS",
                       multi_region: bool = False, allow_admin_deletion: bool = True) -> str:
    """The key policy the console's Create key wizard writes (Id ``key-consolepolicy-3``)."""
    statements = [root_statement(account_id)]
    if administrators:
        statements.append(key_administrators_statement(
            administrators, origin=origin, multi_region=multi_region,
            allow_deletion=allow_admin_deletion))
    if users:
        statements.append(key_users_statement(users, key_spec=key_spec, key_usage=key_usage))
        if key_spec == "SYMMETRIC_DEFAULT":
            statements.append(persistent_resources_statement(users))
    return aws_json({"Version": "2012-10-17", "Id": "key-consolepolicy-3",
                     "Statement": statements})
