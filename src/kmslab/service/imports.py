"""Importing key material (BYOK): GetParametersForImport, ImportKeyMaterial,
DeleteImportedKeyMaterial, and the expiry of imported material.

The flow, as in AWS KMS::

    CreateKey(Origin=EXTERNAL)            -> KeyState PendingImport, no material
    GetParametersForImport(KeyId, WrappingAlgorithm, WrappingKeySpec)
                                          -> PublicKey (RSA wrapping key), ImportToken,
                                             ParametersValidTo = now + 24 hours
    wrap the material with PublicKey      -> EncryptedKeyMaterial (kmslab.byok does this)
    ImportKeyMaterial(KeyId, ImportToken, EncryptedKeyMaterial, ExpirationModel, ValidTo)
                                          -> KeyState Enabled

Rules modelled:

* Only keys with Origin EXTERNAL take imported material
  (UnsupportedOperationException otherwise, footnote 9 of the key-state table).
* The import token is bound to the key, the wrapping key pair and the
  wrapping algorithm, and lives 24 hours: a token of another key is
  InvalidImportTokenException, an old one ExpiredImportTokenException.
  Material that does not unwrap is InvalidCiphertextException.
* ``ExpirationModel`` KEY_MATERIAL_EXPIRES (the default) needs ``ValidTo``,
  in the future and at most 365 days ahead; KEY_MATERIAL_DOES_NOT_EXPIRE
  forbids it (ValidationException).
* Re-import must be the same material (IncorrectKeyMaterialException
  otherwise), compared by fingerprint. Since 2025, symmetric encryption
  keys also take *new* material (``ImportType`` NEW_KEY_MATERIAL): it waits
  in PENDING_ROTATION until RotateKeyOnDemand makes it current. A multi-Region
  key takes new material on its primary; each replica then imports the same
  material (EXISTING_KEY_MATERIAL), and RotateKeyOnDemand on the primary
  makes it current everywhere.
* ``KeyMaterialId`` of imported material is computed from the key id and the
  material (an HMAC-SHA256 keyed with the key id over the material's
  fingerprint), so re-importing the same material gives the same id and the
  old ciphertexts that name it decrypt again; the same material in two keys
  gets two ids.
* Expiry and DeleteImportedKeyMaterial delete the material at once (no
  waiting period) and put the key in PendingImport (a key pending deletion
  keeps its state). Expiry is recorded as the CloudTrail service event
  ``DeleteExpiredKeyMaterial`` and emitted as "KMS Imported Key Material
  Expiration". While expiring material is present the lab's metric
  ``AWS/KMS SecondsUntilKeyMaterialExpiration`` (dimension KeyId) counts down.
* Deleting material that waits in PENDING_ROTATION removes it without
  touching the key state (it never encrypted anything).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from .. import errors
from ..crypto.wrapping import (
    WRAPPING_KEY_SPECS,
    WrappingKey,
    check_import_compatibility,
    check_wrapping_parameters,
)
from . import states
from .key import Key, KeyMaterialVersion
from .multiregion import is_replica, related_keys
from .pipeline import Call
from .registry import operation

if TYPE_CHECKING:  # pragma: no cover
    from .environment import Environment

__all__ = ["IMPORT_TOKEN_LIFETIME", "MAX_VALID_TO", "imported_material_id", "expire_material",
           "EXPIRY_METRIC", "METRIC_NAMESPACE"]

#: how long a public key and import token from GetParametersForImport can be used
IMPORT_TOKEN_LIFETIME = timedelta(hours=24)
#: ValidTo may be at most this far ahead of the ImportKeyMaterial request
MAX_VALID_TO = timedelta(days=365)
METRIC_NAMESPACE = "AWS/KMS"
EXPIRY_METRIC = "SecondsUntilKeyMaterialExpiration"
_MAX_LIVE_TOKENS = 16  # per key; older ones are forgotten (they would expire anyway)


@dataclass(slots=True, eq=False)
class ImportParameters:
    """What an ImportToken stands for, kept server-side: key, wrapping key pair, algorithm."""

    token: bytes
    key_arn: str
    wrapping_key: WrappingKey
    wrapping_algorithm: str
    valid_to: datetime

    def __repr__(self) -> str:
        return (f"<ImportParameters {self.wrapping_key.spec} {self.wrapping_algorithm} "
                f"until {self.valid_to:%Y-%m-%d %H:%M}>")


def imported_material_id(key_id: str, material_fingerprint: str) -> str:
    """KeyMaterialId of imported material: HMAC-SHA256(key id, material fingerprint), 64 hex."""
    return hmac.new(key_id.encode(), bytes.fromhex(material_fingerprint), hashlib.sha256).hexdigest()


def _require_external(key: Key) -> None:
    """Footnote 9: only keys created for imported material (Origin EXTERNAL)."""
    if key.origin != "EXTERNAL":
        raise errors.UnsupportedOperationException(
            f"{key.arn} origin is {key.origin} which is not valid for this operation.")


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# ------------------------------------------------------------------ GetParametersForImport
def _prepare_wrapping_key(request) -> None:
    """Before the lab's lock: the RSA wrapping key (an RSA_4096 one takes up to a second or two)."""
    spec = request.params.get("WrappingKeySpec")
    if type(spec) is str and spec in WRAPPING_KEY_SPECS:
        request.prepared = WrappingKey.generate(spec)


@operation("GetParametersForImport", prepare=_prepare_wrapping_key)
def get_parameters_for_import(call: Call, params: dict) -> dict:
    """GetParametersForImport: an RSA wrapping public key and an import token, valid 24 hours."""
    key = call.key
    _require_external(key)
    algorithm, spec = params["WrappingAlgorithm"], params["WrappingKeySpec"]
    check_wrapping_parameters(algorithm, spec)
    now = call.now
    key.import_parameters[:] = [p for p in key.import_parameters if p.valid_to > now]
    if len(key.import_parameters) >= _MAX_LIVE_TOKENS:
        del key.import_parameters[:len(key.import_parameters) - _MAX_LIVE_TOKENS + 1]
    wrapping_key = call.request.prepared
    if wrapping_key is None:
        wrapping_key = WrappingKey.generate(spec)
    record = ImportParameters(call.env.ids.token(64), key.arn, wrapping_key, algorithm,
                              now + IMPORT_TOKEN_LIFETIME)
    key.import_parameters.append(record)
    return {"KeyId": key.arn, "ImportToken": record.token,
            "PublicKey": record.wrapping_key.public_key_der(), "ParametersValidTo": record.valid_to}


def _find_token(key: Key, token: bytes, now: datetime) -> ImportParameters:
    token = bytes(token)
    for record in key.import_parameters:
        if len(record.token) == len(token) and hmac.compare_digest(record.token, token):
            if now >= record.valid_to:
                raise errors.ExpiredImportTokenException(
                    "The import token is expired. Use GetParametersForImport to get a new public "
                    "key and import token.")
            return record
    raise errors.InvalidImportTokenException(
        f"The import token is invalid or was not issued for {key.arn}. Use a public key and import "
        f"token from the same GetParametersForImport response for this KMS key.")


# ------------------------------------------------------------------ ImportKeyMaterial
def _expiration(params: dict, now: datetime) -> tuple[str, datetime | None]:
    model = params.get("ExpirationModel", "KEY_MATERIAL_EXPIRES")
    valid_to = params.get("ValidTo")
    if model == "KEY_MATERIAL_DOES_NOT_EXPIRE":
        if valid_to is not None:
            raise errors.ValidationException(
                "ValidTo is not valid when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.")
        return model, None
    if valid_to is None:  # AWS's words
        raise errors.ValidationException(
            "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES")
    valid_to = _utc(valid_to)
    if valid_to <= now:
        raise errors.ValidationException("ValidTo must be a date and time in the future.")
    if valid_to > now + MAX_VALID_TO:
        raise errors.ValidationException(
            "ValidTo must be no more than 365 days from the date of the request.")
    return model, valid_to


def _material_for(key: Key, raw: bytes):
    """The crypto handle for imported bytes of the key's spec (IncorrectKeyMaterialException)."""
    spec = key.spec.name
    if spec == "SYMMETRIC_DEFAULT":
        from ..crypto.symmetric import SymmetricMaterial
        return SymmetricMaterial.from_bytes(raw)
    if spec.startswith("HMAC_"):
        from ..crypto.mac import HmacMaterial
        return HmacMaterial.from_bytes(spec, raw)
    from ..crypto.asymmetric import AsymmetricMaterial
    return AsymmetricMaterial.from_pkcs8(spec, raw)


def _symmetric_only_parameters(key: Key, params: dict) -> None:
    if key.symmetric_encryption:
        return
    for name in ("ImportType", "KeyMaterialId", "KeyMaterialDescription"):
        if params.get(name) is not None:
            raise errors.ValidationException(
                f"{name} is valid only for symmetric encryption KMS keys; {key.arn} key spec is "
                f"{key.spec.name}.")


def _primary_version(env: Environment, key: Key, material_id: str) -> KeyMaterialVersion | None:
    """A replica's share of its primary's material: the primary's version ``material_id``."""
    if not is_replica(key):
        return None
    primary = next((k for k in related_keys(env, key) if k is not key and not is_replica(k)), None)
    return primary.version(material_id) if primary is not None else None


def _target_version(env: Environment, key: Key, params: dict, fingerprint: str, material_id: str,
                    now: datetime) -> KeyMaterialVersion:
    """Which version the import fills: a re-import of known material, or new material.

    Multi-Region keys (API Reference, ImportKeyMaterial): new material is
    imported into the primary (NEW_KEY_MATERIAL), then the same material into
    each replica (EXISTING_KEY_MATERIAL), where it takes the primary's state.
    """
    import_type = params.get("ImportType") or ("EXISTING_KEY_MATERIAL" if key.versions
                                               else "NEW_KEY_MATERIAL")
    known = next((v for v in key.versions
                  if v.fingerprint is not None and hmac.compare_digest(v.fingerprint, fingerprint.encode())),
                 None)
    if import_type == "EXISTING_KEY_MATERIAL":
        shared = _primary_version(env, key, material_id) if known is None else None
        if not key.versions and shared is None:
            raise errors.ValidationException(
                f"{key.arn} has no key material to re-import; use ImportType NEW_KEY_MATERIAL.")
        wanted = params.get("KeyMaterialId")
        if wanted is not None and key.version(wanted) is None and shared is None:
            raise errors.IncorrectKeyMaterialException(
                f"Key material {wanted} is not associated with {key.arn}.")
        if (known is None and shared is None) or (wanted is not None and wanted != material_id):
            raise errors.IncorrectKeyMaterialException(
                "The key material is not the key material that was previously imported into this "
                "KMS key. You can re-import only the same key material.")
        if known is not None:
            return known
        assert shared is not None  # refused above when neither is known
        return KeyMaterialVersion(material_id, None, now, state=shared.state)
    # NEW_KEY_MATERIAL
    if params.get("KeyMaterialId") is not None:
        raise errors.ValidationException(
            "You cannot specify a KeyMaterialId with ImportType NEW_KEY_MATERIAL.")
    if not key.versions:
        return KeyMaterialVersion(material_id, None, now, state="CURRENT")
    if not key.symmetric_encryption:
        raise errors.IncorrectKeyMaterialException(
            f"{key.arn} already has key material. Only symmetric encryption keys accept new key "
            f"material; re-import the same key material.")
    if is_replica(key):
        raise errors.UnsupportedOperationException(
            f"{key.arn} is a multi-Region replica key: you cannot import new key material into "
            f"it directly. Import it into the primary key with ImportType NEW_KEY_MATERIAL, then "
            f"the same key material into each replica key with ImportType EXISTING_KEY_MATERIAL.")
    if known is not None:
        raise errors.IncorrectKeyMaterialException(
            f"This key material is already associated with {key.arn} (KeyMaterialId "
            f"{known.material_id}); import it with ImportType EXISTING_KEY_MATERIAL.")
    if any(v.state == "PENDING_ROTATION" for v in key.versions):
        raise errors.KMSInvalidStateException(
            f"{key.arn} already has key material in PENDING_ROTATION state. Rotate it "
            f"(RotateKeyOnDemand) or delete it before importing other new key material.")
    return KeyMaterialVersion(material_id, None, now, state="PENDING_ROTATION")


@operation("ImportKeyMaterial")
def import_key_material(call: Call, params: dict) -> dict:
    """ImportKeyMaterial: unwrap, check and install the material; PendingImport -> Enabled."""
    key = call.key
    env = call.env
    now = call.now
    _require_external(key)
    _symmetric_only_parameters(key, params)
    model, valid_to = _expiration(params, now)
    record = _find_token(key, params["ImportToken"], now)
    check_import_compatibility(record.wrapping_algorithm, record.wrapping_key.spec, key.spec.name)
    raw = record.wrapping_key.unwrap(record.wrapping_algorithm, params["EncryptedKeyMaterial"])
    material = _material_for(key, raw)
    del raw
    fingerprint = material.material_fingerprint()
    material_id = imported_material_id(key.key_id, fingerprint)
    version = _target_version(env, key, params, fingerprint, material_id, now)
    if version not in key.versions:
        key.versions.append(version)
    version.material = material
    version.fingerprint = fingerprint.encode()
    version.import_state = "IMPORTED"
    version.expiration_model = model
    version.valid_to = valid_to
    if params.get("KeyMaterialDescription") is not None:
        version.description = params["KeyMaterialDescription"]
    elif key.symmetric_encryption and version.description is None:
        version.description = ""
    _schedule_expiry(env, key, version)
    if key.state == "PendingImport":
        complete = all(v.import_state == "IMPORTED" for v in key.versions)
        states.transition(key, "ImportKeyMaterial" if complete
                          else "ImportKeyMaterial, other material still missing")
    return {"KeyId": key.arn, "KeyMaterialId": material_id}


# ------------------------------------------------------------------ expiry and deletion
def _schedule_expiry(env: Environment, key: Key, version: KeyMaterialVersion) -> None:
    label = f"expire {version.material_id}"
    event = key.scheduled.pop(label, None)
    if event is not None:
        event.cancel()
    if version.valid_to is None:
        return
    key.scheduled[label] = env.clock.schedule(
        version.valid_to, partial(expire_material, env, key, version), label=f"{label} of {key.key_id}")
    metrics = env.metrics
    if metrics is not None:
        metrics.gauge(METRIC_NAMESPACE, EXPIRY_METRIC, {"KeyId": key.key_id}, "Seconds",
                      partial(_seconds_until_expiry, key))


def _seconds_until_expiry(key: Key, when: datetime) -> float | None:
    """The metric's value: seconds until the earliest imported material expires (None: no data)."""
    if key.state == "Deleted":
        return None
    valid_to = key.valid_to
    return None if valid_to is None else max(0.0, (valid_to - when).total_seconds())


def _delete_material(key: Key, version: KeyMaterialVersion) -> None:
    event = key.scheduled.pop(f"expire {version.material_id}", None)
    if event is not None:
        event.cancel()
    if version.state == "PENDING_ROTATION":
        key.versions.remove(version)  # never used: forgetting it changes nothing else
        return
    version.material = None  # its ciphertexts fail until the same material is imported again
    version.import_state = "PENDING_IMPORT"
    version.valid_to = None
    states.transition(key, "key material deleted or expired")


def expire_material(env: Environment, key: Key, version: KeyMaterialVersion) -> None:
    """The clock passed ValidTo: KMS deletes the material (CloudTrail DeleteExpiredKeyMaterial)."""
    key.scheduled.pop(f"expire {version.material_id}", None)
    if key.state == "Deleted" or version.import_state != "IMPORTED" or version not in key.versions:
        return
    _delete_material(key, version)
    env.audit.record_service_event(
        "DeleteExpiredKeyMaterial", account=key.account, region=key.region, key_arn=key.arn,
        details={"keyId": key.key_id, "keyMaterialId": version.material_id})
    env.events.emit("KMS Imported Key Material Expiration", account=key.account, region=key.region,
                    resources=[key.arn], detail={"key-id": key.key_id})


@operation("DeleteImportedKeyMaterial")
def delete_imported_key_material(call: Call, params: dict) -> dict:
    """DeleteImportedKeyMaterial: delete the material now; the key goes PendingImport."""
    key = call.key
    _require_external(key)
    wanted = params.get("KeyMaterialId")
    if wanted is not None:
        version = key.version(wanted)
        if version is None:
            raise errors.NotFoundException(f"Key material {wanted} is not associated with {key.arn}.")
    else:
        version = key.current
    if version is None:  # never imported: nothing to delete
        return {"KeyId": key.arn, "KeyMaterialId": ""}
    if version.import_state == "IMPORTED":
        _delete_material(key, version)
    return {"KeyId": key.arn, "KeyMaterialId": version.material_id}
