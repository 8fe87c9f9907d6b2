"""A KMS key as the service holds it: metadata, state, and its key material versions.

The key record never hands out material: versions hold opaque handles from
``kmslab.crypto``, and :meth:`Key.metadata` builds DescribeKey's
``KeyMetadata`` from the rest.

Two rules are enforced by the record itself, so no handler can forget them:

* its ``state`` changes only through :func:`kmslab.service.states.transition`
  (assigning ``key.state`` raises AttributeError);
* its ``revision`` (the key of the authorizer's decision cache) moves by itself
  whenever something a decision reads changes: the policy, the tags, the
  aliases, the grants (through :meth:`Key.add_grant`, :meth:`Key.add_alias`...),
  the multi-Region configuration, the state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..specs import KeySpecInfo

__all__ = ["Key", "KeyMaterialVersion", "Alias"]

#: Key attributes an authorization decision reads (besides what never changes: spec, usage,
#: origin, account): assigning one moves the key's revision
_DECISION_INPUTS = frozenset({"state", "policy", "tags", "grants", "aliases",
                              "multi_region_config"})


def _has_slot(obj, name: str) -> bool:
    """Is the slot ``name`` of ``obj`` set? (False while the dataclass __init__ runs.)"""
    try:
        object.__getattribute__(obj, name)
    except AttributeError:
        return False
    return True


@dataclass(slots=True, eq=False)
class KeyMaterialVersion:
    """One backing key of a KMS key (AWS: an HSM backing key, named by KeyMaterialId)."""

    material_id: str
    material: Any  # crypto handle, or None while pending import / after deletion
    created: datetime
    rotation_type: str | None = None  # AUTOMATIC / ON_DEMAND; None for the first material
    state: str = "CURRENT"  # CURRENT, NON_CURRENT, PENDING_ROTATION
    # imported material only
    import_state: str | None = None  # IMPORTED / PENDING_IMPORT
    expiration_model: str | None = None
    valid_to: datetime | None = None
    description: str | None = None
    fingerprint: bytes | None = None  # identifies the material for re-import checks
    rotation_date: datetime | None = None

    def __repr__(self) -> str:
        return (f"KeyMaterialVersion({self.material_id[:12]}..., state={self.state}, "
                f"created={self.created:%Y-%m-%d})")


@dataclass(slots=True, eq=False)
class Alias:
    name: str
    arn: str
    target_key_id: str
    created: datetime
    updated: datetime

    def entry(self) -> dict:
        return {"AliasName": self.name, "AliasArn": self.arn, "TargetKeyId": self.target_key_id,
                "CreationDate": self.created, "LastUpdatedDate": self.updated}


@dataclass(slots=True, eq=False)
class Key:
    """A KMS key in one account and Region."""

    key_id: str
    arn: str
    account: str
    region: str
    created: datetime
    spec: KeySpecInfo
    usage: str
    origin: str = "AWS_KMS"
    manager: str = "CUSTOMER"
    description: str = ""
    state: str = "Enabled"
    policy: str = ""
    policy_doc: Any = None  # parsed policy, for the authorizer
    tags: dict[str, str] = field(default_factory=dict)
    versions: list[KeyMaterialVersion] = field(default_factory=list)
    deletion_date: datetime | None = None
    pending_window_days: int | None = None
    multi_region: bool = False
    multi_region_config: dict | None = None
    custom_key_store_id: str | None = None
    cloudhsm_cluster_id: str | None = None
    xks_key_id: str | None = None
    rotation_enabled: bool = False
    rotation_period_days: int | None = None
    next_rotation: datetime | None = None
    rotation_status_before_deletion: bool | None = None
    on_demand_rotations: int = 0
    on_demand_started: datetime | None = None
    grants: dict = field(default_factory=dict)
    aliases: set = field(default_factory=set)
    scheduled: dict = field(default_factory=dict)  # name -> clock ScheduledEvent
    import_parameters: list = field(default_factory=list)  # live GetParametersForImport results
    revision: int = 0  # moves on every change an authorization decision reads (cache key)

    # ------------------------------------------------------------ guarded attributes
    def __setattr__(self, name: str, value) -> None:
        if name in _DECISION_INPUTS:
            if name == "state" and _has_slot(self, "state"):
                raise AttributeError(
                    "a key's state changes only through kmslab.service.states.transition(key, "
                    "event), which follows the key-state machine")
            object.__setattr__(self, name, value)
            if name != "state" and _has_slot(self, "revision"):
                object.__setattr__(self, "revision", self.revision + 1)
            return
        object.__setattr__(self, name, value)

    def changed(self) -> None:
        """Something an authorization decision reads changed in place: drop cached decisions."""
        self.revision += 1

    def add_grant(self, grant) -> None:
        """Attach a grant (CreateGrant); the key's revision moves, so cached decisions expire."""
        self.grants[grant.grant_id] = grant
        self.revision += 1

    def remove_grant(self, grant_id: str) -> None:
        """Detach a grant (RetireGrant, RevokeGrant); the revision moves."""
        del self.grants[grant_id]
        self.revision += 1

    def add_alias(self, name: str) -> None:
        """Record an alias pointing at this key (CreateAlias, UpdateAlias); the revision moves."""
        self.aliases.add(name)
        self.revision += 1

    def remove_alias(self, name: str) -> None:
        """Forget an alias (DeleteAlias, UpdateAlias to another key); the revision moves."""
        self.aliases.discard(name)
        self.revision += 1

    # ------------------------------------------------------------ material
    @property
    def current(self) -> KeyMaterialVersion | None:
        for v in reversed(self.versions):
            if v.state == "CURRENT":
                return v
        return None

    def version(self, material_id: str) -> KeyMaterialVersion | None:
        for v in self.versions:
            if v.material_id == material_id:
                return v
        return None

    @property
    def symmetric_encryption(self) -> bool:
        return self.spec.name == "SYMMETRIC_DEFAULT"

    @property
    def enabled(self) -> bool:
        return self.state == "Enabled"

    @property
    def valid_to(self) -> datetime | None:
        dates = [v.valid_to for v in self.versions if v.valid_to and v.import_state == "IMPORTED"]
        return min(dates) if dates else None

    # ------------------------------------------------------------ DescribeKey
    def metadata(self) -> dict:
        """DescribeKey's KeyMetadata, field for field as AWS reports it."""
        md: dict[str, Any] = {
            "AWSAccountId": self.account,
            "KeyId": self.key_id,
            "Arn": self.arn,
            "CreationDate": self.created,
            "Enabled": self.state == "Enabled",
            "Description": self.description,
            "KeyUsage": self.usage,
            "KeyState": self.state,
        }
        if self.deletion_date and self.state in ("PendingDeletion", "PendingReplicaDeletion"):
            md["DeletionDate"] = self.deletion_date
        if self.origin == "EXTERNAL":
            valid_to = self.valid_to
            if valid_to:
                md["ValidTo"] = valid_to
        md["Origin"] = self.origin
        if self.custom_key_store_id:
            md["CustomKeyStoreId"] = self.custom_key_store_id
        if self.cloudhsm_cluster_id:
            md["CloudHsmClusterId"] = self.cloudhsm_cluster_id
        if self.origin == "EXTERNAL" and self._expiration_model():
            md["ExpirationModel"] = self._expiration_model()
        md["KeyManager"] = self.manager
        if self.spec.legacy:
            md["CustomerMasterKeySpec"] = self.spec.name
        md["KeySpec"] = self.spec.name
        md.update(self.spec.algorithms(self.usage))
        md["MultiRegion"] = self.multi_region
        if self.multi_region and self.multi_region_config:
            md["MultiRegionConfiguration"] = self.multi_region_config
        if self.state == "PendingReplicaDeletion" and self.pending_window_days:
            md["PendingDeletionWindowInDays"] = self.pending_window_days
        if self.xks_key_id:
            md["XksKeyConfiguration"] = {"Id": self.xks_key_id}
        current = self.current
        if self.symmetric_encryption and current is not None and self.origin in ("AWS_KMS", "EXTERNAL") \
                and current.import_state != "PENDING_IMPORT":
            md["CurrentKeyMaterialId"] = current.material_id
        return md

    def _expiration_model(self) -> str | None:
        """ExpirationModel of the imported material the key has now: none once it is deleted
        (DescribeKey after DeleteImportedKeyMaterial has no ExpirationModel in AWS's answer)."""
        models = [v.expiration_model for v in self.versions
                  if v.expiration_model and v.import_state == "IMPORTED"]
        if "KEY_MATERIAL_EXPIRES" in models:
            return "KEY_MATERIAL_EXPIRES"
        return models[-1] if models else None

    def __repr__(self) -> str:
        return f"<Key {self.key_id} {self.spec.name} {self.usage} {self.state}>"
