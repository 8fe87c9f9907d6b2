"""Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases."""

from __future__ import annotations

from .. import arns, errors
from .key import Alias, Key
from .pipeline import Call, paginate
from .registry import operation

MAX_ALIASES_PER_KEY = 50


def _check_target(key_identifier: str) -> None:
    """TargetKeyId must be a key id or key ARN, never another alias."""
    if key_identifier.startswith("alias/") or ":alias/" in key_identifier:
        raise errors.ValidationException("Aliases must refer to keys. Not aliases")


def _key_type(key: Key) -> str:
    """UpdateAlias compares key types: symmetric, HMAC or asymmetric."""
    return {"SYMMETRIC": "symmetric", "HMAC": "HMAC"}.get(key.spec.family, "asymmetric")


@operation("CreateAlias", key_param="TargetKeyId")
def create_alias(call: Call, params: dict) -> dict:
    """CreateAlias: a friendly name for a key, unique in the account and Region."""
    svc = call.service
    name = params["AliasName"]
    arns.validate_alias_name(name)
    _check_target(params["TargetKeyId"])
    key = call.key
    if key.manager == "AWS":
        raise errors.UnsupportedOperationException(f"{key.arn} is an AWS managed key.")
    call.authorize(None, "kms:CreateAlias", alias=name)
    if name in svc.aliases:
        raise errors.AlreadyExistsException(
            f"An alias with the name {arns.alias_arn(svc.region, svc.account, name)} already exists")
    if len(key.aliases) >= MAX_ALIASES_PER_KEY:
        raise errors.LimitExceededException(
            f"A KMS key can have at most {MAX_ALIASES_PER_KEY} aliases.")
    svc.aliases[name] = Alias(name, arns.alias_arn(svc.region, svc.account, name), key.key_id,
                              call.now, call.now)
    key.aliases.add(name)
    key.revision += 1
    return {}


@operation("UpdateAlias", key_param="TargetKeyId")
def update_alias(call: Call, params: dict) -> dict:
    """UpdateAlias: point an alias at another key of the same type and usage."""
    svc = call.service
    name = params["AliasName"]
    if name.startswith(arns.RESERVED_ALIAS_PREFIX):
        raise errors.InvalidAliasNameException(
            f"Your alias name {name} begins with alias/aws/, which is reserved for AWS managed keys.")
    _check_target(params["TargetKeyId"])
    alias = svc.aliases.get(name)
    if alias is None:
        raise errors.NotFoundException(f"Alias {arns.alias_arn(svc.region, svc.account, name)} is not found.")
    new = call.key
    old = svc.keys[alias.target_key_id]
    call.authorize(old, "kms:UpdateAlias")
    call.authorize(None, "kms:UpdateAlias", alias=name)
    if new.state in ("PendingDeletion", "PendingReplicaDeletion"):
        raise errors.KMSInvalidStateException(f"{new.arn} is pending deletion.")
    if (_key_type(old), old.usage) != (_key_type(new), new.usage):
        raise errors.ValidationException(
            f"Alias {name} is currently associated with a key of type {old.spec.name} and usage "
            f"{old.usage}; the new target must have the same key type and usage.")
    if len(new.aliases) >= MAX_ALIASES_PER_KEY and new is not old:
        raise errors.LimitExceededException(f"A KMS key can have at most {MAX_ALIASES_PER_KEY} aliases.")
    old.aliases.discard(name)
    new.aliases.add(name)
    old.revision += 1
    new.revision += 1
    alias.target_key_id = new.key_id
    alias.updated = call.now
    return {}


@operation("DeleteAlias", key_param=None)
def delete_alias(call: Call, params: dict) -> dict:
    """DeleteAlias: remove an alias (the key is not affected)."""
    svc = call.service
    name = params["AliasName"]
    if name.startswith(arns.RESERVED_ALIAS_PREFIX):
        raise errors.InvalidAliasNameException(
            f"Your alias name {name} begins with alias/aws/, which is reserved for AWS managed keys.")
    alias = svc.aliases.get(name)
    if alias is None:
        raise errors.NotFoundException(f"Alias {arns.alias_arn(svc.region, svc.account, name)} is not found.")
    key = svc.keys[alias.target_key_id]
    call.key = key
    call.authorize(key, "kms:DeleteAlias")
    call.authorize(None, "kms:DeleteAlias", alias=name)
    del svc.aliases[name]
    key.aliases.discard(name)
    key.revision += 1
    return {}


#: Aliases AWS predefines in every account and Region for its services' AWS managed keys.
#: Until a service creates its key, ListAliases lists them without a TargetKeyId.
PREDEFINED_ALIASES = (
    "alias/aws/acm", "alias/aws/dynamodb", "alias/aws/ebs", "alias/aws/elasticfilesystem",
    "alias/aws/es", "alias/aws/glue", "alias/aws/kinesisvideo", "alias/aws/lambda",
    "alias/aws/rds", "alias/aws/redshift", "alias/aws/s3", "alias/aws/secretsmanager",
    "alias/aws/ssm", "alias/aws/xray",
)


@operation("ListAliases", key_param=None, iam_only=True, read_only=True)
def list_aliases(call: Call, params: dict) -> dict:
    """ListAliases: the account's aliases in this Region, or one key's (paged).

    As in AWS, the unfiltered list also holds the predefined ``alias/aws/...``
    aliases that no AWS managed key stands behind yet (no TargetKeyId).
    """
    svc = call.service
    key_identifier = params.get("KeyId")
    if key_identifier is not None:
        key = svc.resolve(key_identifier, cross_account=False)
        entries = [a.entry() for a in sorted(svc.aliases.values(), key=lambda a: a.name)
                   if a.target_key_id == key.key_id]
        return paginate(entries, params, "Aliases")
    entries = {a.name: a.entry() for a in svc.aliases.values()}
    for name in PREDEFINED_ALIASES:
        entries.setdefault(name, {"AliasName": name,
                                  "AliasArn": arns.alias_arn(svc.region, svc.account, name)})
    return paginate([entries[name] for name in sorted(entries)], params, "Aliases")
