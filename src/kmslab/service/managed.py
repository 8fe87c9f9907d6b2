"""AWS managed keys: the keys KMS creates for an integrated service in your account.

An AWS managed key (``alias/aws/<service>``, ``KeyManager: AWS``) is created
the first time a service needs it. You can see it, read its policy and audit
its use, but not change its policy, rotation, aliases or deletion: its key
policy lets every principal in the account use it *only through that service*
(``kms:ViaService`` + ``kms:CallerAccount``) and lets the account read its
metadata. Its key material rotates every year (every three years before May
2022), and that cannot be turned off.

Every account and Region has the predefined aliases (:data:`PREDEFINED_ALIASES`)
before any key stands behind them: ListAliases lists them without a
TargetKeyId, and DescribeKey of one creates its key ("Amazon Web Services
services use DescribeKey to create Amazon Web Services managed keys from a
predefined Amazon Web Services alias with no key ID", API Reference).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from .. import arns
from ..crypto.factory import generate_material
from ..policy.defaults import aws_json
from ..specs import KEY_SPECS
from . import states
from .key import Alias, Key, KeyMaterialVersion

if TYPE_CHECKING:  # pragma: no cover
    from .environment import Environment

__all__ = ["aws_managed_key", "aws_managed_key_policy", "predefined_aws_managed_key",
           "DESCRIPTIONS", "ROTATION_DAYS", "PREDEFINED_ALIASES"]

ROTATION_DAYS = 365

#: Aliases AWS predefines in every account and Region for its services' AWS managed keys.
#: Until a service creates its key, ListAliases lists them without a TargetKeyId.
PREDEFINED_ALIASES = (
    "alias/aws/acm", "alias/aws/dynamodb", "alias/aws/ebs", "alias/aws/elasticfilesystem",
    "alias/aws/es", "alias/aws/glue", "alias/aws/kinesisvideo", "alias/aws/lambda",
    "alias/aws/rds", "alias/aws/redshift", "alias/aws/s3", "alias/aws/secretsmanager",
    "alias/aws/ssm", "alias/aws/xray",
)

#: the description AWS gives each service's managed key
DESCRIPTIONS = {
    "s3": "Default key that protects my S3 objects when no other key is defined",
    "ebs": "Default key that protects my EBS volumes when no other key is defined",
    "lambda": "Default key that protects my Lambda functions when no other key is defined",
    "secretsmanager": "Default key that protects my Secrets Manager data when no other key is defined",
}

_USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                "kms:DescribeKey"]


def aws_managed_key_policy(account: str, region: str, service: str) -> str:
    """The key policy of ``alias/aws/<service>`` (as AWS writes it for S3, ``auto-s3-2``)."""
    return aws_json({
        "Version": "2012-10-17",
        "Id": f"auto-{service}-2",
        "Statement": [
            {"Sid": f"Allow access through {service.upper() if service == 's3' else service} "
                    f"for all principals in the account that are authorized to use "
                    f"{service.upper() if service == 's3' else service}",
             "Effect": "Allow",
             "Principal": {"AWS": "*"},
             "Action": list(_USE_ACTIONS),
             "Resource": "*",
             "Condition": {"StringEquals": {
                 "kms:CallerAccount": account,
                 "kms:ViaService": f"{service}.{region}.amazonaws.com"}}},
            {"Sid": "Allow direct access to key metadata to the account",
             "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
             "Action": ["kms:Describe*", "kms:Get*", "kms:List*"],
             "Resource": "*"},
        ]})


def aws_managed_key(env: Environment, account: str, region: str, service: str) -> Key:
    """``alias/aws/<service>`` in the account and Region, created on first use."""
    svc = env.kms_service(account, region)
    alias_name = f"alias/aws/{service}"
    alias = svc.aliases.get(alias_name)
    if alias is not None:
        return svc.keys[alias.target_key_id]
    now = env.clock.now()
    key_id = env.ids.key_id(False)
    arn = arns.key_arn(region, account, key_id)
    policy = aws_managed_key_policy(account, region, service)
    key = Key(key_id=key_id, arn=arn, account=account, region=region, created=now,
              spec=KEY_SPECS["SYMMETRIC_DEFAULT"], usage="ENCRYPT_DECRYPT", manager="AWS",
              description=DESCRIPTIONS.get(service, f"Default key for {service}"),
              state=states.initial("CreateKey"), policy=policy, policy_doc=None)
    key.versions.append(KeyMaterialVersion(env.ids.key_material_id(),
                                           generate_material("SYMMETRIC_DEFAULT"), now))
    svc.keys[key_id] = key
    svc.aliases[alias_name] = Alias(alias_name, arns.alias_arn(region, account, alias_name), key_id,
                                    now, now)
    key.add_alias(alias_name)
    _start_yearly_rotation(env, key)
    return key


def predefined_aws_managed_key(env: Environment, account: str, region: str, alias_name: str) -> Key | None:
    """The AWS managed key behind a predefined alias, created now if it has none yet
    (DescribeKey of ``alias/aws/ebs`` in a fresh account); None for any other alias name."""
    if alias_name not in PREDEFINED_ALIASES:
        return None
    return aws_managed_key(env, account, region, alias_name.removeprefix("alias/aws/"))


def _start_yearly_rotation(env: Environment, key: Key) -> None:
    try:
        from .rotation import start_aws_managed_rotation
    except ImportError:  # rotation not in this build: record the schedule only
        key.rotation_enabled = True
        key.rotation_period_days = ROTATION_DAYS
        key.next_rotation = key.created + timedelta(days=ROTATION_DAYS)
        return
    start_aws_managed_rotation(env, key)
