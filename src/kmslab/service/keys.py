"""Key lifecycle: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey,
ScheduleKeyDeletion, CancelKeyDeletion, UpdateKeyDescription."""

from __future__ import annotations

from .. import arns, errors
from ..crypto.factory import generate_material
from ..specs import KEY_SPECS
from . import lifecycle, states
from .environment import KEY_QUOTA  # noqa: F401 - read as keys.KEY_QUOTA
from .key import Key, KeyMaterialVersion
from .pipeline import Call, paginate
from .policies import policy_for_new_key
from .registry import Outcome, operation
from .tags import tags_for_new_key

DEFAULT_PENDING_WINDOW = 30


def _pick_spec(params: dict):
    spec_name = params.get("KeySpec")
    legacy = params.get("CustomerMasterKeySpec")
    if spec_name and legacy:
        raise errors.ValidationException(
            "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. "
            "CustomerMasterKeySpec parameter is deprecated. Use KeySpec instead.")
    spec = KEY_SPECS[spec_name or legacy or "SYMMETRIC_DEFAULT"]
    if spec.unsupported:
        raise errors.UnsupportedOperationException(spec.unsupported)
    usage = params.get("KeyUsage")
    if usage is None:
        # AWS's default is ENCRYPT_DECRYPT for every spec; KeyUsage is "required"
        # for any spec that cannot encrypt (ECC, Ed25519, ML-DSA, ML-KEM, HMAC)
        usage = "ENCRYPT_DECRYPT"
        if usage not in spec.usages:  # AWS's words
            raise errors.ValidationException(
                "You must specify a KeyUsage value for all KMS keys except for symmetric "
                "encryption keys.",
                explanation=f"The default, ENCRYPT_DECRYPT, is not compatible with key spec "
                            f"{spec.name}; valid values are {', '.join(spec.usages)}.")
    if usage not in spec.usages:
        raise errors.ValidationException(
            f"KeyUsage {usage} is not compatible with KeySpec {spec.name}.")
    return spec, usage


@operation("CreateKey")
def create_key(call: Call, params: dict) -> Outcome:
    """CreateKey: a new customer managed key (Origin AWS_KMS or EXTERNAL).

    KeySpec and KeyUsage are fixed for life: one key never both encrypts and
    signs. KeyUsage defaults to ENCRYPT_DECRYPT, so it must be given for every
    spec that cannot encrypt; a pair the spec table does not allow is a
    ValidationException, and specs without a vetted implementation (SM2,
    ML_KEM_512) an UnsupportedOperationException saying why.

    Key material is generated here, from the OS CSPRNG. RSA key pairs (a prime
    search: RSA_4096 takes 0.1 to 1.5 s) are generated in a worker thread
    that starts now: CreateKey returns at once, DescribeKey, aliases, tags and
    policies never wait, and the first operation that needs the key (Sign,
    Decrypt, GetPublicKey...) waits for the rest of the generation. OpenSSL
    releases the GIL meanwhile, so a notebook keeps running.
    """
    svc = call.service
    spec, usage = _pick_spec(params)
    origin = params.get("Origin", "AWS_KMS")
    multi_region = bool(params.get("MultiRegion", False))
    if origin in ("AWS_CLOUDHSM", "EXTERNAL_KEY_STORE") or params.get("CustomKeyStoreId"):
        return call.env.custom_key_stores.create_key(call, params, spec, usage)
    if params.get("XksKeyId"):
        raise errors.ValidationException("XksKeyId is valid only for keys in an external key store.")
    tags = tags_for_new_key(call, params)
    quota = call.env.key_quota
    if len(svc.keys) >= quota and svc.key_count() >= quota:  # count only near the quota
        raise errors.LimitExceededException(
            f"You have reached the limit of {quota} customer managed keys in this account "
            f"and Region.")
    key_id = call.env.ids.key_id(multi_region)
    arn = arns.key_arn(svc.region, svc.account, key_id)
    policy_text, policy_doc = policy_for_new_key(call, params, svc.account, arn)
    born = "CreateKey with Origin EXTERNAL" if origin == "EXTERNAL" else "CreateKey"
    key = Key(key_id=key_id, arn=arn, account=svc.account, region=svc.region, created=call.now,
              spec=spec, usage=usage, origin=origin, description=params.get("Description", ""),
              state=states.initial(born), policy=policy_text, policy_doc=policy_doc, tags=tags,
              multi_region=multi_region)
    if origin != "EXTERNAL":
        key.versions.append(KeyMaterialVersion(
            call.env.ids.key_material_id(), generate_material(spec.name), call.now))
    if multi_region:
        key.multi_region_config = {
            "MultiRegionKeyType": "PRIMARY",
            "PrimaryKey": {"Arn": arn, "Region": svc.region},
            "ReplicaKeys": [],
        }
    svc.keys[key_id] = key
    return Outcome({"KeyMetadata": key.metadata()}, key=key)


@operation("DescribeKey")
def describe_key(call: Call, params: dict) -> dict:
    """DescribeKey: the key's metadata (an AWS managed key for a predefined alias is made
    first: see the pipeline's key resolution)."""
    return {"KeyMetadata": call.key.metadata()}


@operation("ListKeys")
def list_keys(call: Call, params: dict) -> dict:
    """ListKeys: every key in the caller's account and Region (paged)."""
    svc = call.service
    entries = [{"KeyId": k.key_id, "KeyArn": k.arn} for k in svc.keys.values()
               if k.key_id not in svc.hidden_keys]
    return paginate(call, entries, "Keys")


@operation("EnableKey")
def enable_key(call: Call, params: dict) -> dict:
    """EnableKey: Disabled -> Enabled (an Unavailable key: when its key store reconnects)."""
    key = call.key
    if key.state == "Unavailable":
        call.env.custom_key_stores.remember_state(key, "Enabled")
    was = key.state
    if states.transition(key, "EnableKey") != was:
        from .rotation import catch_up
        catch_up(call.env, key)  # a rotation that fell due while the key was disabled
    return {}


@operation("DisableKey")
def disable_key(call: Call, params: dict) -> dict:
    """DisableKey: Enabled -> Disabled (an Unavailable key: when its key store reconnects)."""
    key = call.key
    if key.state == "Unavailable":
        call.env.custom_key_stores.remember_state(key, "Disabled")
    states.transition(key, "DisableKey")
    return {}


@operation("ScheduleKeyDeletion")
def schedule_key_deletion(call: Call, params: dict) -> dict:
    """ScheduleKeyDeletion: PendingDeletion for 7-30 days (default 30), then deleted."""
    key = call.key
    days = params.get("PendingWindowInDays", DEFAULT_PENDING_WINDOW)
    if not 7 <= days <= 30:
        bound = "greater than or equal to 7" if days < 7 else "less than or equal to 30"
        raise errors.ValidationException(
            f"1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to "
            f"satisfy constraint: Member must have value {bound}")
    if key.manager == "AWS":
        raise errors.UnsupportedOperationException(
            f"{key.arn} is an AWS managed key and cannot be scheduled for deletion.")
    from . import multiregion
    if multiregion.waits_for_replicas(call.env, key, days):  # no date until replicas go
        return {"KeyId": key.arn, "KeyState": key.state, "PendingWindowInDays": days}
    lifecycle.schedule_deletion(call.env, key, days, call.now)
    return {"KeyId": key.arn, "DeletionDate": key.deletion_date, "KeyState": key.state,
            "PendingWindowInDays": days}


@operation("CancelKeyDeletion")
def cancel_key_deletion(call: Call, params: dict) -> dict:
    """CancelKeyDeletion: back to Disabled (not Enabled, as in AWS); KeyId is the key ARN."""
    lifecycle.cancel_deletion(call.env, call.key)
    return {"KeyId": call.key.arn}


@operation("UpdateKeyDescription")
def update_key_description(call: Call, params: dict) -> dict:
    """UpdateKeyDescription: replace the description."""
    call.key.description = params["Description"]
    return {}
