"""Key rotation: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus,
RotateKeyOnDemand, ListKeyRotations, and the automatic rotations KMS performs.

Rotation gives a symmetric encryption key a new *key material version*
(a new 64-hex ``KeyMaterialId``): Encrypt uses the CURRENT material, every
older version stays NON_CURRENT and keeps decrypting the ciphertexts made
under it, until the key is deleted. The key id, ARN, policy, grants and
aliases do not change.

AWS's rules, as modelled here:

* Automatic rotation: symmetric encryption keys with Origin AWS_KMS only;
  ``RotationPeriodInDays`` 90..2,560 (default 365); the first rotation is
  enable date + period, then every period. Enabling again (for example with a
  new period) re-bases the schedule on the new enable date. It happens on the
  lab clock when ``NextRotationDate`` passes, in time order with deletions and
  expiries, however far the clock is advanced in one step.
* A Disabled key is not rotated and its rotation status cannot be changed
  (DisabledException). On EnableKey, if a rotation fell due while disabled,
  KMS rotates at once and the schedule restarts from that day; otherwise the
  old schedule resumes.
* While PendingDeletion the status reads false and cannot be changed;
  CancelKeyDeletion brings the earlier status back (the key is then Disabled,
  so the rule above applies when it is enabled).
* On-demand rotation (RotateKeyOnDemand): at most 25 per key, regardless of
  automatic rotation, without moving the automatic schedule;
  ConflictException while one is in progress or when an automatic rotation
  is due within 20 minutes. For imported symmetric keys, new material must
  already be imported (ImportType NEW_KEY_MATERIAL, state PENDING_ROTATION);
  the rotation makes it CURRENT.
* Asymmetric, HMAC and custom-key-store keys cannot be rotated
  (UnsupportedOperationException): rotate them manually by pointing an alias
  at a new key (UpdateAlias).

On-demand rotation is asynchronous in AWS. In the lab it completes after
``lab.on_demand_rotation_delay`` of simulated time (default: zero, so the new
material is current as soon as RotateKeyOnDemand returns). Set it, for
example, to ``timedelta(minutes=1)`` to watch ``OnDemandRotationStartDate``
in GetKeyRotationStatus and get ConflictException for a second request
while the first is in progress; the rotation then completes when the clock
passes the delay.

Every rotation is recorded as a CloudTrail service event ``RotateKey``
(eventType AwsServiceEvent, ``serviceEventDetails`` rotationType, keyOrigin,
previousKeyMaterialId, currentKeyMaterialId and keyId) and emitted as the EventBridge event
"KMS CMK Rotation" (key-id, key-origin, rotation-type,
previous-key-material-id, current-key-material-id).
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from .. import errors
from ..crypto.factory import generate_material
from .key import Key, KeyMaterialVersion
from .multiregion import is_replica, related_keys, synchronize
from .pipeline import Call, paginate
from .registry import operation

if TYPE_CHECKING:  # pragma: no cover
    from .environment import Environment

__all__ = ["DEFAULT_ROTATION_PERIOD_DAYS", "MIN_ROTATION_PERIOD_DAYS", "MAX_ROTATION_PERIOD_DAYS",
           "ON_DEMAND_ROTATION_LIMIT", "CONFLICT_WINDOW", "AWS_MANAGED_ROTATION_DAYS",
           "rotate", "catch_up", "schedule_automatic_rotation", "rotation_history",
           "start_aws_managed_rotation"]

DEFAULT_ROTATION_PERIOD_DAYS = 365
MIN_ROTATION_PERIOD_DAYS = 90
MAX_ROTATION_PERIOD_DAYS = 2560
#: RotateKeyOnDemand quota per key (not adjustable; 10 when the API launched in 2024)
ON_DEMAND_ROTATION_LIMIT = 25
#: RotateKeyOnDemand is refused when an automatic rotation is due this soon
CONFLICT_WINDOW = timedelta(minutes=20)
#: AWS managed keys rotate every year (every three years before May 2022)
AWS_MANAGED_ROTATION_DAYS = 365


# ------------------------------------------------------------------ rules
def _unsupported_reason(key: Key) -> str | None:
    """Why a key's material can never be rotated by KMS (asymmetric, HMAC, key stores)."""
    if key.custom_key_store_id:
        return f"{key.arn} is in a custom key store, which does not support key rotation."
    if not key.symmetric_encryption:
        return (f"{key.arn} key spec is {key.spec.name} and key usage is {key.usage}, which is not "
                f"valid for this operation. Only symmetric encryption KMS keys can be rotated.")
    return None


def _require_not_replica(key: Key) -> None:
    """Rotation of a multi-Region key is set and done on its primary, then synchronized."""
    if is_replica(key):
        raise errors.UnsupportedOperationException(
            f"{key.arn} is a multi-Region replica key. Rotation is managed on the primary key "
            f"and synchronized to its replicas.")


def _require_replicas_imported(env: Environment, primary: Key, material_id: str) -> None:
    """A multi-Region primary with imported material rotates on demand only once every replica
    has the new material (API Reference, ImportKeyMaterial: "You must do this for every replica
    Region key before you can perform the RotateKeyOnDemand operation on the primary Region key")."""
    for replica in related_keys(env, primary):
        if replica is primary:
            continue
        version = replica.version(material_id)
        if version is None or version.import_state != "IMPORTED":
            raise errors.KMSInvalidStateException(
                f"{replica.arn} does not have key material {material_id}. Import the same key "
                f"material into every replica key (ImportType EXISTING_KEY_MATERIAL) before you "
                f"rotate the primary key on demand.")


def _require_automatic_rotation_allowed(key: Key) -> None:
    """EnableKeyRotation / DisableKeyRotation: AWS_KMS-origin symmetric customer managed keys."""
    _require_not_replica(key)
    reason = _unsupported_reason(key)
    if reason:
        raise errors.UnsupportedOperationException(reason)
    if key.origin == "EXTERNAL":  # footnote 6 of AWS's key-state table
        raise errors.UnsupportedOperationException(
            f"{key.arn} origin is EXTERNAL which is not valid for this operation.")
    if key.manager == "AWS":
        raise errors.UnsupportedOperationException(
            f"{key.arn} is an AWS managed key; KMS rotates its key material every year and its "
            f"rotation status cannot be changed.")


def _period(params: dict) -> int:
    days = params.get("RotationPeriodInDays", DEFAULT_ROTATION_PERIOD_DAYS)
    if not MIN_ROTATION_PERIOD_DAYS <= days <= MAX_ROTATION_PERIOD_DAYS:
        bound = (f"greater than or equal to {MIN_ROTATION_PERIOD_DAYS}" if days < MIN_ROTATION_PERIOD_DAYS
                 else f"less than or equal to {MAX_ROTATION_PERIOD_DAYS}")
        raise errors.ValidationException(
            f"1 validation error detected: Value '{days}' at 'rotationPeriodInDays' failed to "
            f"satisfy constraint: Member must have value {bound}")
    return days


# ------------------------------------------------------------------ the rotation itself
def rotate(env: Environment, key: Key, rotation_type: str) -> KeyMaterialVersion:
    """Make new key material current (AUTOMATIC or ON_DEMAND); the old one turns NON_CURRENT.

    AWS_KMS keys get fresh material; imported keys promote the material that
    waits in PENDING_ROTATION. Records the CloudTrail ``RotateKey`` service
    event and emits "KMS CMK Rotation".
    """
    now = env.clock.now()
    previous = key.current
    if key.origin == "EXTERNAL":
        new = next(v for v in key.versions if v.state == "PENDING_ROTATION")
        key.versions.remove(new)
        key.versions.append(new)  # versions stay in the order they became current
    else:
        new = KeyMaterialVersion(env.ids.key_material_id(), generate_material(key.spec.name), now)
        key.versions.append(new)
    if previous is not None:
        previous.state = "NON_CURRENT"
    new.state = "CURRENT"
    new.rotation_type = rotation_type
    new.rotation_date = now
    env.audit.record_service_event(
        "RotateKey", account=key.account, region=key.region, key_arn=key.arn,
        details={"rotationType": rotation_type, "keyOrigin": key.origin,
                 "previousKeyMaterialId": previous.material_id if previous else None,
                 "currentKeyMaterialId": new.material_id, "keyId": key.key_id})
    env.events.emit("KMS CMK Rotation", account=key.account, region=key.region,
                    resources=[key.arn],
                    detail={"key-id": key.key_id, "key-origin": key.origin,
                            "rotation-type": rotation_type,
                            "previous-key-material-id": previous.material_id if previous else None,
                            "current-key-material-id": new.material_id})
    if key.multi_region:
        synchronize(env, key)  # replicas get every material version of the primary
    return new


def schedule_automatic_rotation(env: Environment, key: Key) -> None:
    """Put the key's next automatic rotation on the lab clock (replacing any earlier one)."""
    event = key.scheduled.pop("rotation", None)
    if event is not None:
        event.cancel()
    if key.rotation_enabled and key.next_rotation is not None:
        key.scheduled["rotation"] = env.clock.schedule(
            key.next_rotation, partial(_automatic_rotation_due, env, key),
            label=f"rotate {key.key_id}")


def _automatic_rotation_due(env: Environment, key: Key) -> None:
    """The clock reached NextRotationDate: rotate an Enabled key, then plan the next one.

    A Disabled or PendingDeletion key is skipped; its NextRotationDate stays
    in the past so that :func:`catch_up` rotates it when it is enabled again.
    """
    key.scheduled.pop("rotation", None)
    if key.state != "Enabled" or not key.rotation_enabled:
        return
    due = key.next_rotation
    assert due is not None and key.rotation_period_days is not None  # set while rotation is on
    rotate(env, key, "AUTOMATIC")
    key.next_rotation = due + timedelta(days=key.rotation_period_days)
    schedule_automatic_rotation(env, key)


def catch_up(env: Environment, key: Key) -> None:
    """EnableKey: a rotation that fell due while the key was disabled happens now.

    The schedule then restarts from today ("rotates it immediately, and every
    period thereafter"); if nothing fell due, the old schedule simply resumes.
    """
    if not key.rotation_enabled or key.next_rotation is None or is_replica(key):
        return
    now = env.clock.now()
    if key.next_rotation <= now:
        assert key.rotation_period_days is not None  # set while rotation is on
        rotate(env, key, "AUTOMATIC")
        key.next_rotation = now + timedelta(days=key.rotation_period_days)
    schedule_automatic_rotation(env, key)


def start_aws_managed_rotation(env: Environment, key: Key) -> None:
    """AWS managed keys (KeyManager AWS): rotation always on, every year from creation."""
    key.rotation_enabled = True
    key.rotation_period_days = AWS_MANAGED_ROTATION_DAYS
    key.next_rotation = key.created + timedelta(days=AWS_MANAGED_ROTATION_DAYS)
    schedule_automatic_rotation(env, key)


def _complete_on_demand(env: Environment, key: Key) -> None:
    key.scheduled.pop("on-demand", None)
    key.on_demand_started = None
    if key.state == "Deleted":
        return
    rotate(env, key, "ON_DEMAND")


def rotation_history(key: Key, include_all: bool = False) -> list[dict]:
    """ListKeyRotations entries for a key (oldest first)."""
    imported = key.origin == "EXTERNAL"
    out = []
    for v in key.versions:
        if not include_all and (v.rotation_type is None or v.state == "PENDING_ROTATION"):
            continue
        entry: dict = {"KeyId": key.key_id, "KeyMaterialId": v.material_id}
        if imported:
            if v.description is not None:
                entry["KeyMaterialDescription"] = v.description
            entry["ImportState"] = v.import_state
        entry["KeyMaterialState"] = v.state
        if imported and v.expiration_model:
            entry["ExpirationModel"] = v.expiration_model
            if v.expiration_model == "KEY_MATERIAL_EXPIRES" and v.valid_to is not None:
                entry["ValidTo"] = v.valid_to
        if v.rotation_type is not None and v.state != "PENDING_ROTATION":
            entry["RotationDate"] = v.rotation_date
            entry["RotationType"] = v.rotation_type
        out.append(entry)
    return out


# ------------------------------------------------------------------ operations
@operation("EnableKeyRotation")
def enable_key_rotation(call: Call, params: dict) -> dict:
    """EnableKeyRotation: rotate every RotationPeriodInDays (90..2,560, default 365) from today."""
    key = call.key
    days = _period(params)
    _require_automatic_rotation_allowed(key)
    key.rotation_enabled = True
    key.rotation_period_days = days
    key.next_rotation = call.now + timedelta(days=days)
    schedule_automatic_rotation(call.env, key)
    if key.multi_region:
        synchronize(call.env, key)
    return {}


@operation("DisableKeyRotation")
def disable_key_rotation(call: Call, params: dict) -> dict:
    """DisableKeyRotation: no more automatic rotations (on-demand rotation still works)."""
    key = call.key
    _require_automatic_rotation_allowed(key)
    key.rotation_enabled = False
    key.next_rotation = None
    schedule_automatic_rotation(call.env, key)
    if key.multi_region:
        synchronize(call.env, key)
    return {}


@operation("GetKeyRotationStatus")
def get_key_rotation_status(call: Call, params: dict) -> dict:
    """GetKeyRotationStatus: enabled?, period, next date, and an on-demand rotation in progress.

    Keys that cannot rotate automatically (asymmetric, HMAC, imported,
    custom key store) read false; a key pending deletion reads false too.
    """
    key = call.key
    out: dict = {"KeyRotationEnabled": False, "KeyId": key.arn}
    if key.manager == "AWS":
        out.update(KeyRotationEnabled=True, RotationPeriodInDays=AWS_MANAGED_ROTATION_DAYS)
        if key.next_rotation:
            out["NextRotationDate"] = key.next_rotation
    elif key.rotation_enabled and key.state not in ("PendingDeletion", "PendingReplicaDeletion"):
        out.update(KeyRotationEnabled=True, RotationPeriodInDays=key.rotation_period_days,
                   NextRotationDate=key.next_rotation)
    if key.on_demand_started is not None:
        out["OnDemandRotationStartDate"] = key.on_demand_started
    return out


@operation("RotateKeyOnDemand")
def rotate_key_on_demand(call: Call, params: dict) -> dict:
    """RotateKeyOnDemand: new current material now (at most 25 times per key)."""
    key = call.key
    env = call.env
    _require_not_replica(key)
    reason = _unsupported_reason(key)
    if reason:
        raise errors.UnsupportedOperationException(reason)
    if key.manager == "AWS":
        raise errors.UnsupportedOperationException(
            f"{key.arn} is an AWS managed key; you cannot rotate its key material on demand.")
    if key.origin == "EXTERNAL":
        if key.state == "PendingImport":
            raise errors.KMSInvalidStateException(f"{key.arn} is pending import.")
        pending = [v for v in key.versions if v.state == "PENDING_ROTATION"]
        if not pending or pending[0].import_state != "IMPORTED":
            raise errors.KMSInvalidStateException(
                f"{key.arn} has no imported key material in PENDING_ROTATION state. Import new key "
                f"material with ImportType NEW_KEY_MATERIAL before you rotate on demand.")
        if key.multi_region:
            _require_replicas_imported(env, key, pending[0].material_id)
    if key.on_demand_started is not None:
        raise errors.ConflictException(
            f"An on-demand rotation of {key.arn} is already in progress.")
    if key.rotation_enabled and key.next_rotation is not None \
            and key.next_rotation - call.now <= CONFLICT_WINDOW:
        raise errors.ConflictException(
            f"An automatic rotation of {key.arn} is in progress or scheduled to begin within the "
            f"next 20 minutes.")
    if key.on_demand_rotations >= ON_DEMAND_ROTATION_LIMIT:
        raise errors.LimitExceededException(
            f"{key.arn} has reached the limit of {ON_DEMAND_ROTATION_LIMIT} on-demand rotations.")
    key.on_demand_rotations += 1
    delay = env.on_demand_rotation_delay
    if delay <= timedelta(0):
        rotate(env, key, "ON_DEMAND")
    else:
        key.on_demand_started = call.now
        key.scheduled["on-demand"] = env.clock.schedule(
            call.now + delay, partial(_complete_on_demand, env, key),
            label=f"on-demand rotation {key.key_id}")
    # the key id, not its ARN: the API Reference's and the AWS CLI's example answers, and the
    # CloudTrail entry's responseElements (ct-rotatekeyondemand)
    return {"KeyId": key.key_id}


@operation("ListKeyRotations")
def list_key_rotations(call: Call, params: dict) -> dict:
    """ListKeyRotations: the key's rotations (ROTATIONS_ONLY) or all its materials (ALL_KEY_MATERIAL)."""
    key = call.key
    reason = _unsupported_reason(key)
    if reason:
        raise errors.UnsupportedOperationException(reason)
    include_all = params.get("IncludeKeyMaterial", "ROTATIONS_ONLY") == "ALL_KEY_MATERIAL"
    return paginate(call, rotation_history(key, include_all), "Rotations")

