"""A key's deletion: the waiting period, its cancellation, and the end of the key.

ScheduleKeyDeletion puts a key in PendingDeletion for 7-30 days; the lab's
clock deletes it when the window ends (the CloudTrail service event
``DeleteKey``, the EventBridge event "KMS CMK Deletion"): the key record, its
aliases and every version of its key material are gone, so its ciphertexts
can never be decrypted again. CancelKeyDeletion brings it back Disabled.
Every change of state goes through :func:`kmslab.service.states.transition`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from . import states
from .key import Key

if TYPE_CHECKING:  # pragma: no cover
    from .environment import Environment

__all__ = ["schedule_deletion", "cancel_deletion", "delete_key"]


def schedule_deletion(env: Environment, key: Key, days: int, now: datetime, *,
                      event: str = "ScheduleKeyDeletion") -> None:
    """PendingDeletion now (``event``: ScheduleKeyDeletion, or a waiting primary's last
    replica deleted), deleted when the ``days`` of the window end."""
    if event == "ScheduleKeyDeletion":
        key.rotation_status_before_deletion = key.rotation_enabled
    states.transition(key, event)
    key.deletion_date = now + timedelta(days=days)
    key.pending_window_days = days
    key.scheduled["deletion"] = env.clock.schedule(
        key.deletion_date, partial(delete_key, env, key), label=f"delete {key.key_id}")


def cancel_deletion(env: Environment, key: Key) -> None:
    """CancelKeyDeletion's effect: the key comes back Disabled (not Enabled, as in AWS)."""
    event = key.scheduled.pop("deletion", None)
    if event is not None:
        event.cancel()
    states.transition(key, "CancelKeyDeletion")
    key.deletion_date = None
    key.pending_window_days = None


def delete_key(env: Environment, key: Key) -> None:
    """The end of the waiting period: the key and all its material are destroyed."""
    svc = env.kms_service(key.account, key.region)
    if svc.keys.get(key.key_id) is not key:
        return
    del svc.keys[key.key_id]
    if key.custom_key_store_id:
        env.custom_key_stores.on_key_deleted(key)
    for name in list(key.aliases):
        svc.aliases.pop(name, None)
        key.remove_alias(name)
    if key.multi_region:
        from . import multiregion
        multiregion.on_key_deleted(env, key)
    for version in key.versions:
        version.material = None  # destroyed: its ciphertexts can never be decrypted
    for event in key.scheduled.values():
        event.cancel()
    key.scheduled.clear()
    states.transition(key, "waiting period ends")
    # ct-delete-key: a service event naming the key in resources, no serviceEventDetails
    env.audit.record_service_event("DeleteKey", account=key.account, region=key.region,
                                   key_arn=key.arn)
    env.events.emit("KMS CMK Deletion", account=key.account, region=key.region,
                    resources=[key.arn], detail={"key-id": key.key_id})
