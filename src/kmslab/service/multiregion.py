"""Multi-Region keys: ReplicateKey, UpdatePrimaryRegion, and keeping related keys in sync.

Related multi-Region keys share a key id (``mrk-...``), key material (every
version), key spec, usage, origin and rotation settings, so a ciphertext made
in one Region decrypts with the related key in another. Each key keeps its
own policy, description, tags, aliases, grants and enabled state. KMS copies
the shared properties from the primary (CloudTrail ``SynchronizeMultiRegionKey``
service events); a primary with replicas waits in ``PendingReplicaDeletion``
until its last replica is deleted.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from .. import arns, errors
from . import states
from .environment import KEY_QUOTA
from .key import Key
from .pipeline import Call
from .policies import policy_for_new_key
from .registry import Outcome, operation
from .tags import tags_for_new_key

if TYPE_CHECKING:  # pragma: no cover
    from .environment import Environment

__all__ = ["related_keys", "synchronize", "is_replica", "waits_for_replicas", "on_key_deleted",
           "REPLICA_CREATION_TIME", "PRIMARY_UPDATE_TIME"]

#: ReplicateKey: the replica is Creating for "a few seconds"
REPLICA_CREATION_TIME = timedelta(seconds=10)
#: UpdatePrimaryRegion: both keys are Updating for a few seconds
PRIMARY_UPDATE_TIME = timedelta(seconds=10)
_SHARED_ROTATION = ("rotation_enabled", "rotation_period_days", "next_rotation")


def _key_type(key: Key) -> str | None:
    """MultiRegionKeyType: PRIMARY or REPLICA (None for a single-Region key)."""
    if not key.multi_region or not key.multi_region_config:
        return None
    return key.multi_region_config.get("MultiRegionKeyType")


def is_replica(key: Key) -> bool:
    """A multi-Region replica key (rotation and other shared properties come from its primary)."""
    return _key_type(key) == "REPLICA"


def related_keys(env: Environment, key: Key) -> list[Key]:
    """Every live key sharing ``key``'s id in its account (primary and replicas), by Region."""
    out = []
    for region in env.regions:
        svc = env.kms_service(key.account, region, create=False)
        other = svc.keys.get(key.key_id) if svc is not None else None
        if other is not None:
            out.append(other)
    return out


def _primary(keys: list[Key]) -> Key | None:
    return next((k for k in keys if _key_type(k) == "PRIMARY"), None)


def _refresh_configuration(env: Environment, key: Key) -> None:
    """Rewrite MultiRegionConfiguration in every related key (DescribeKey shows the same set)."""
    keys = related_keys(env, key)
    primary = _primary(keys)
    if primary is None:
        return
    replicas = [{"Arn": k.arn, "Region": k.region} for k in keys if k is not primary]
    for k in keys:
        k.multi_region_config = {
            "MultiRegionKeyType": "PRIMARY" if k is primary else "REPLICA",
            "PrimaryKey": {"Arn": primary.arn, "Region": primary.region},
            "ReplicaKeys": [dict(r) for r in replicas],
        }


def synchronize(env: Environment, primary: Key) -> None:
    """Copy the shared properties (material versions, rotation settings) to every replica.

    Called after anything changes them on the primary (replication, rotation).
    Each replica gets its own version records pointing at the same material,
    so deleting a replica never destroys the primary's material. Imported key
    material is imported into each key on its own: only the state of the
    versions a replica has (CURRENT, NON_CURRENT) follows the primary.
    """
    imported = primary.origin == "EXTERNAL"
    synchronized = False
    for replica in related_keys(env, primary):
        if replica is primary:
            continue
        known = {v.material_id: v for v in replica.versions}
        changed = False
        for v in primary.versions:
            mine = known.get(v.material_id)
            if mine is None:
                if not imported:  # imported material is imported into each replica
                    replica.versions.append(replace(v))
                    changed = True
            elif mine.state != v.state or (not imported and mine.material is not v.material):
                mine.state = v.state
                if not imported:
                    mine.material = v.material
                changed = True
        for name in _SHARED_ROTATION:
            if getattr(replica, name) != getattr(primary, name):
                setattr(replica, name, getattr(primary, name))
                changed = True
        synchronized = synchronized or changed
    if synchronized:
        _record_synchronization(env, primary)


def _record_synchronization(env: Environment, primary: Key) -> None:
    """CloudTrail's SynchronizeMultiRegionKey entry (ct-synchronize-multi-region-key): an
    AwsApiCall KMS makes itself, in the primary key's Region, naming the primary key only."""
    env.audit.record_internal_call("SynchronizeMultiRegionKey", account=primary.account,
                                   region=primary.region, key_arn=primary.arn)


def _replica_ready(env: Environment, replica: Key) -> None:
    """Scheduled action: the replica leaves Creating (Enabled, or PendingImport if imported)."""
    if replica.state == "Creating":
        states.transition(replica, "replica created, imported key material"
                          if replica.origin == "EXTERNAL" else "replica created")


def _primary_update_done(env: Environment, old: Key, new: Key) -> None:
    """Scheduled action: UpdatePrimaryRegion completes; the keys leave Updating (both were
    Enabled: the key-state table lets UpdatePrimaryRegion act on Enabled keys only)."""
    new.multi_region_config = {**(new.multi_region_config or {}), "MultiRegionKeyType": "PRIMARY"}
    old.multi_region_config = {**(old.multi_region_config or {}), "MultiRegionKeyType": "REPLICA"}
    for key in (old, new):
        if key.state == "Updating":
            states.transition(key, "primary Region updated")
    _refresh_configuration(env, new)
    synchronize(env, new)


def waits_for_replicas(env: Environment, key: Key, days: int) -> bool:
    """ScheduleKeyDeletion on a primary with replicas: PendingReplicaDeletion, no date yet."""
    if _key_type(key) != "PRIMARY":
        return False
    if len(related_keys(env, key)) < 2:
        return False
    key.rotation_status_before_deletion = key.rotation_enabled
    states.transition(key, "ScheduleKeyDeletion of a primary key with replicas")
    key.deletion_date = None
    key.pending_window_days = days
    return True


def on_key_deleted(env: Environment, key: Key) -> None:
    """A related key was deleted: update the others; a waiting primary starts its window."""
    survivors = related_keys(env, key)
    if not survivors:
        return
    _refresh_configuration(env, survivors[0])
    primary = _primary(survivors)
    if primary is not None and len(survivors) == 1 and primary.state == "PendingReplicaDeletion":
        from .lifecycle import schedule_deletion
        assert primary.pending_window_days is not None  # kept since its deletion was scheduled
        schedule_deletion(env, primary, primary.pending_window_days, env.clock.now(),
                          event="last replica deleted")


# ----------------------------------------------------------------- operations

@operation("ReplicateKey")
def replicate_key(call: Call, params: dict) -> Outcome:
    """ReplicateKey: a replica of a multi-Region primary key in another Region."""
    env = call.env
    primary = call.key
    if not primary.multi_region:
        raise errors.UnsupportedOperationException(
            f"{primary.arn} is not a multi-Region key. Only multi-Region primary keys can be "
            f"replicated.")
    if _key_type(primary) != "PRIMARY":
        raise errors.UnsupportedOperationException(
            f"{primary.arn} is a replica key. Only a multi-Region primary key can be replicated.")
    region = params["ReplicaRegion"]
    if region not in arns.REGIONS:
        raise errors.ValidationException(
            f"1 validation error detected: Value '{region}' at 'replicaRegion' failed to satisfy "
            f"constraint: Member must be a valid AWS Region in the partition of the primary key")
    if region == primary.region:
        raise errors.ValidationException(
            f"The replica Region {region} is the Region of the primary key.")
    target = env.kms_service(primary.account, region)
    if primary.key_id in target.keys:
        raise errors.AlreadyExistsException(
            f"Replica key {arns.key_arn(region, primary.account, primary.key_id)} already exists.")
    if target.key_count() >= KEY_QUOTA:
        raise errors.LimitExceededException(
            f"You have reached the limit of {KEY_QUOTA} customer managed keys in {region}.")
    call.authorize(None, "kms:CreateKey")
    tags = tags_for_new_key(call, params)
    arn = arns.key_arn(region, primary.account, primary.key_id)
    policy_text, policy_doc = policy_for_new_key(call, params, primary.account, arn)
    replica = Key(key_id=primary.key_id, arn=arn, account=primary.account, region=region,
                  created=call.now, spec=primary.spec, usage=primary.usage, origin=primary.origin,
                  description=params.get("Description", ""), state=states.initial("ReplicateKey"),
                  policy=policy_text,
                  policy_doc=policy_doc, tags=tags, multi_region=True,
                  multi_region_config={"MultiRegionKeyType": "REPLICA"})
    if primary.origin != "EXTERNAL":  # imported material must be imported into each replica
        replica.versions = [replace(v) for v in primary.versions]
    for name in _SHARED_ROTATION:
        setattr(replica, name, getattr(primary, name))
    target.keys[replica.key_id] = replica
    _refresh_configuration(env, primary)
    replica.scheduled["creating"] = env.clock.schedule(
        call.now + REPLICA_CREATION_TIME, partial(_replica_ready, env, replica),
        label=f"replica {replica.arn} ready")
    _record_synchronization(env, primary)
    out = {"ReplicaKeyMetadata": replica.metadata(), "ReplicaPolicy": policy_text}
    if tags:  # AWS's response has no ReplicaTags when the replica has no tags
        out["ReplicaTags"] = [{"TagKey": k, "TagValue": v} for k, v in tags.items()]
    return Outcome(out)  # ct-replicate-key: the primary key is the record's one resource


@operation("UpdatePrimaryRegion")
def update_primary_region(call: Call, params: dict) -> Outcome:
    """UpdatePrimaryRegion: the replica in PrimaryRegion becomes the primary (both Updating)."""
    env = call.env
    old = call.key
    if not old.multi_region:
        raise errors.UnsupportedOperationException(
            f"{old.arn} is not a multi-Region key.")
    if _key_type(old) != "PRIMARY":
        raise errors.UnsupportedOperationException(
            f"{old.arn} is not the primary key. Call UpdatePrimaryRegion on the primary key.")
    region = params["PrimaryRegion"]
    if region == old.region:
        raise errors.ValidationException(f"{old.arn} is already the primary key in {region}.")
    svc = env.kms_service(old.account, region, create=False) if region in arns.REGIONS else None
    new = svc.keys.get(old.key_id) if svc is not None else None
    if new is None:
        raise errors.NotFoundException(
            f"Key '{arns.key_arn(region, old.account, old.key_id)}' does not exist")
    call.check_state(new, "UpdatePrimaryRegion")
    states.transition(old, "UpdatePrimaryRegion")
    states.transition(new, "UpdatePrimaryRegion")
    old.scheduled["updating"] = env.clock.schedule(
        call.now + PRIMARY_UPDATE_TIME, partial(_primary_update_done, env, old, new),
        label=f"primary of {old.key_id} -> {region}")
    # ct-update-primary-region: one record in each Region, each naming its own key
    return Outcome({}, logged_in=(new,))
