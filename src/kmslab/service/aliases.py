"""Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases.

Alias names follow AWS's rules (:func:`kmslab.arns.validate_alias_name`,
checked with the request: the operation table's ``alias`` column). Each alias
operation also needs its permission on the alias itself, in IAM policies
(API Reference: "kms:CreateAlias on the alias (IAM policy)").
"""

from __future__ import annotations

from .. import arns, errors
from .key import Alias, Key
from .managed import PREDEFINED_ALIASES
from .pipeline import Call, paginate
from .registry import operation

__all__ = ["MAX_ALIASES_PER_KEY", "PREDEFINED_ALIASES"]

MAX_ALIASES_PER_KEY = 50


def _key_type(key: Key) -> str:
    """UpdateAlias compares key types: symmetric, HMAC or asymmetric."""
    return {"SYMMETRIC": "symmetric", "HMAC": "HMAC"}.get(key.spec.family, "asymmetric")


def _alias(call: Call, name: str) -> Alias:
    svc = call.service
    alias = svc.aliases.get(name)
    if alias is None:
        raise errors.NotFoundException(f"Alias {arns.alias_arn(svc.region, svc.account, name)} is not found.")
    return alias


@operation("CreateAlias")
def create_alias(call: Call, params: dict) -> dict:
    """CreateAlias: a friendly name for a key, unique in the account and Region."""
    svc = call.service
    name = params["AliasName"]
    key = call.key
    if key.manager == "AWS":
        raise errors.UnsupportedOperationException(f"{key.arn} is an AWS managed key.")
    call.authorize(None, call.op.action, alias=name)
    if name in svc.aliases:
        raise errors.AlreadyExistsException(
            f"An alias with the name {arns.alias_arn(svc.region, svc.account, name)} already exists")
    if len(key.aliases) >= MAX_ALIASES_PER_KEY:
        raise errors.LimitExceededException(
            f"A KMS key can have at most {MAX_ALIASES_PER_KEY} aliases.")
    svc.aliases[name] = Alias(name, arns.alias_arn(svc.region, svc.account, name), key.key_id,
                              call.now, call.now)
    key.add_alias(name)
    return {}


@operation("UpdateAlias")
def update_alias(call: Call, params: dict) -> dict:
    """UpdateAlias: point an alias at another key of the same type and usage."""
    svc = call.service
    name = params["AliasName"]
    alias = _alias(call, name)
    new = call.key
    old = svc.keys[alias.target_key_id]
    call.authorize(old, call.op.action)
    call.authorize(None, call.op.action, alias=name)
    if new.state in ("PendingDeletion", "PendingReplicaDeletion"):
        raise errors.KMSInvalidStateException(f"{new.arn} is pending deletion.")
    if (_key_type(old), old.usage) != (_key_type(new), new.usage):
        raise errors.ValidationException(
            f"Alias {name} is currently associated with a key of type {old.spec.name} and usage "
            f"{old.usage}; the new target must have the same key type and usage.")
    if len(new.aliases) >= MAX_ALIASES_PER_KEY and new is not old:
        raise errors.LimitExceededException(f"A KMS key can have at most {MAX_ALIASES_PER_KEY} aliases.")
    old.remove_alias(name)
    new.add_alias(name)
    alias.target_key_id = new.key_id
    alias.updated = call.now
    return {}


def _alias_key(call: Call, params: dict) -> Key:
    """DeleteAlias names no key: the alias does."""
    return call.service.keys[_alias(call, params["AliasName"]).target_key_id]


@operation("DeleteAlias", locate=_alias_key)
def delete_alias(call: Call, params: dict) -> dict:
    """DeleteAlias: remove an alias (the key is not affected)."""
    svc = call.service
    name = params["AliasName"]
    call.authorize(None, call.op.action, alias=name)
    del svc.aliases[name]
    call.key.remove_alias(name)
    return {}


@operation("ListAliases")
def list_aliases(call: Call, params: dict) -> dict:
    """ListAliases: the account's aliases in this Region, or one key's (paged).

    As in AWS, the unfiltered list also holds the predefined ``alias/aws/...``
    aliases that no AWS managed key stands behind yet (no TargetKeyId).
    """
    svc = call.service
    key = call.key  # the KeyId filter, if any (key id or key ARN)
    if key is not None:
        entries = [a.entry() for a in sorted(svc.aliases.values(), key=lambda a: a.name)
                   if a.target_key_id == key.key_id]
        return paginate(call, entries, "Aliases")
    entries = {a.name: a.entry() for a in svc.aliases.values()}
    for name in PREDEFINED_ALIASES:
        entries.setdefault(name, {"AliasName": name,
                                  "AliasArn": arns.alias_arn(svc.region, svc.account, name)})
    return paginate(call, [entries[name] for name in sorted(entries)], "Aliases")
