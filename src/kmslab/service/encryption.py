"""Encryption and data keys: Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
GenerateDataKeyWithoutPlaintext, GenerateRandom."""

from __future__ import annotations

import os

from .. import errors
from ..crypto.symmetric import BlobParts, parse_blob
from ..specs import RSA_OAEP_MAX_PLAINTEXT
from .key import Key
from .pipeline import Call
from .registry import operation
from .usage import (key_material, refuse_encryption_context, refuse_recipient,
                    require_algorithm, require_usage)

_SYMMETRIC = "SYMMETRIC_DEFAULT"
_DATA_KEY_BYTES = {"AES_256": 32, "AES_128": 16}


def require_symmetric(key: Key, operation: str) -> None:
    """Data-key operations need a symmetric encryption key (InvalidKeyUsageException)."""
    if key.spec.name != _SYMMETRIC:
        raise errors.InvalidKeyUsageException(
            f"{key.arn} key usage is {key.usage} and key spec is {key.spec.name}, which is not "
            f"valid for {operation}. Use a symmetric encryption KMS key.")


def _algorithm(key: Key, requested: str | None) -> str:
    """The EncryptionAlgorithm to use: SYMMETRIC_DEFAULT unless named; it must suit the key spec.

    An RSA key therefore needs an explicit RSAES_OAEP_* algorithm: the default
    gets AWS's "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."
    """
    return require_algorithm(key, "ENCRYPT_DECRYPT", requested or _SYMMETRIC)


def encrypt_with(key: Key, plaintext: bytes, context: dict | None, algorithm: str,
                 operation: str) -> tuple[bytes, str | None]:
    """Encrypt under a key's current material -> (ciphertext, KeyMaterialId or None).

    Symmetric keys write a ciphertext blob bound to the encryption context.
    RSA keys write plain RSAES-OAEP ciphertext (what the public key makes
    outside KMS too); they take no encryption context and at most
    ``RSA_OAEP_MAX_PLAINTEXT`` bytes (ValidationException).
    """
    if algorithm == _SYMMETRIC:
        version = key.current
        if version is None or version.material is None:  # imported material deleted
            raise errors.KMSInvalidStateException(f"{key.arn} is pending import.")
        return version.material.encrypt(key.arn, version.material_id, plaintext, context), \
            version.material_id
    refuse_encryption_context(key, context)
    limit = RSA_OAEP_MAX_PLAINTEXT[key.spec.name][algorithm]
    if len(plaintext) > limit:
        raise errors.ValidationException(
            f"Plaintext of {len(plaintext)} bytes is too long for {key.spec.name} with {algorithm}: "
            f"the limit is {limit} bytes.")
    return key_material(key).encrypt(algorithm, plaintext), None


def decrypt_blob(call: Call, blob: bytes, context: dict | None, key_identifier: str | None,
                 algorithm: str | None, action: str, operation: str):
    """The shared half of Decrypt and ReEncrypt: find, authorize and use the key.

    A symmetric ciphertext names its key; an RSA ciphertext does not, so
    decrypting one needs the KeyId and the RSAES_OAEP_* algorithm it was made
    with (AWS's rule). Returns (key, plaintext, algorithm, KeyMaterialId or None).
    """
    svc = call.service
    named = svc.resolve(key_identifier) if key_identifier is not None else None
    if named is not None and named.spec.name != _SYMMETRIC:
        key = named
        _note_source_key(call, key, operation)
        require_usage(key, "ENCRYPT_DECRYPT", operation)
        algorithm = _algorithm(key, algorithm)
        refuse_encryption_context(key, context)
        call.authorize(key, action)
        call.check_state(key, operation)
        return key, key_material(key).decrypt(algorithm, blob), algorithm, None
    if named is not None:
        _algorithm(named, algorithm)  # an RSAES algorithm with a symmetric key
    elif algorithm not in (None, _SYMMETRIC):
        raise errors.ValidationException(
            f"Specify the KeyId of the asymmetric KMS key to decrypt ciphertext encrypted with "
            f"{algorithm}; only symmetric ciphertext names its KMS key.")
    parts: BlobParts = parse_blob(blob)
    key = _key_for_blob(call, parts)
    _note_source_key(call, named if named is not None else key, operation)
    if named is not None and named is not key:
        raise errors.IncorrectKeyException(
            "The key ID in the request does not identify a KMS key that can perform this operation.")
    call.authorize(key, action)
    call.check_state(key, operation)
    version = key.version(parts.key_material_id)
    if version is None or version.material is None:
        raise errors.InvalidCiphertextException(
            "The ciphertext refers to key material that this KMS key does not have.")
    return key, version.material.decrypt(parts, context), _SYMMETRIC, version.material_id


def _note_source_key(call: Call, key: Key, operation: str) -> None:
    """The key a ciphertext is decrypted with, known as soon as it is found: the audit
    record names it (``resources``) even when the request then fails."""
    if operation == "Decrypt":
        call.key = key
    elif key not in call.extra_keys:
        call.extra_keys.append(key)


def _key_for_blob(call: Call, parts: BlobParts) -> Key:
    """The key a ciphertext names; multi-Region keys decrypt in any related Region."""
    svc = call.service
    key_id = parts.key_id
    if parts.region != svc.region and key_id.startswith("mrk-"):
        owner = call.lab.kms_service(parts.account, svc.region, create=False)
    else:
        owner = call.lab.kms_service(parts.account, parts.region, create=False)
    key = owner.keys.get(key_id) if owner is not None else None
    if key is None or parts.region != svc.region and not key_id.startswith("mrk-"):
        # The header is authenticated, so a blob naming a key that does not exist
        # (deleted, or tampered with) is simply an invalid ciphertext.
        raise errors.InvalidCiphertextException(
            "The ciphertext refers to a KMS key that does not exist, or not in this Region.")
    return key


@operation("Encrypt", cross_account=True, crypto=True, dry_run=True, read_only=True)
def encrypt(call: Call, params: dict) -> dict:
    """Encrypt: up to 4,096 bytes under a KMS key (symmetric or RSA)."""
    key = call.key
    require_usage(key, "ENCRYPT_DECRYPT", "Encrypt")
    algorithm = _algorithm(key, params.get("EncryptionAlgorithm"))
    blob, material_id = encrypt_with(key, params["Plaintext"], params.get("EncryptionContext"),
                                     algorithm, "Encrypt")
    if material_id:  # not in Encrypt's response shape, but CloudTrail logs it
        call.material_id = material_id
    return {"CiphertextBlob": blob, "KeyId": key.arn, "EncryptionAlgorithm": algorithm}


@operation("Decrypt", cross_account=True, crypto=True, dry_run=True, read_only=True,
           resolve_key=False)
def decrypt(call: Call, params: dict) -> dict:
    """Decrypt: the key comes from the ciphertext; KeyId, if given, must name it."""
    refuse_recipient(params, "Decrypt")
    blob = params.get("CiphertextBlob")
    if blob is None:
        if params.get("DryRun") and "IGNORE_CIPHERTEXT" in (params.get("DryRunModifiers") or ()):
            key = call.service.resolve(params["KeyId"]) if params.get("KeyId") else None
            if key is None:
                raise errors.ValidationException("KeyId is required when the ciphertext is ignored.")
            call.key = key
            call.authorize(key)
            call.check_state(key)
            return {"KeyId": key.arn}
        raise errors.ValidationException(
            "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy "
            "constraint: Member must not be null")
    key, plaintext, algorithm, material_id = decrypt_blob(
        call, blob, params.get("EncryptionContext"), params.get("KeyId"),
        params.get("EncryptionAlgorithm"), "kms:Decrypt", "Decrypt")
    call.key = key
    out = {"KeyId": key.arn, "Plaintext": plaintext, "EncryptionAlgorithm": algorithm}
    if material_id:
        out["KeyMaterialId"] = call.material_id = material_id
    return out


@operation("ReEncrypt", key_param="DestinationKeyId", action="kms:ReEncryptTo",
           cross_account=True, crypto=True, dry_run=True, read_only=True)
def re_encrypt(call: Call, params: dict) -> dict:
    """ReEncrypt: decrypt and encrypt again inside KMS; the plaintext never leaves.

    Works between any two ENCRYPT_DECRYPT keys, symmetric or RSA, in both
    directions; an RSA side needs its RSAES_OAEP_* algorithm (and the source
    RSA key its SourceKeyId), and an RSA destination the RSA plaintext limit.
    """
    dest = call.key
    require_usage(dest, "ENCRYPT_DECRYPT", "ReEncrypt")
    dest_alg = _algorithm(dest, params.get("DestinationEncryptionAlgorithm"))
    if dest_alg != _SYMMETRIC:
        refuse_encryption_context(dest, params.get("DestinationEncryptionContext"),
                                  "DestinationEncryptionContext")
    src, plaintext, src_alg, src_material = decrypt_blob(
        call, params["CiphertextBlob"], params.get("SourceEncryptionContext"),
        params.get("SourceKeyId"), params.get("SourceEncryptionAlgorithm"), "kms:ReEncryptFrom",
        "ReEncrypt")
    blob, dest_material = encrypt_with(dest, plaintext, params.get("DestinationEncryptionContext"),
                                       dest_alg, "ReEncrypt")
    out = {"CiphertextBlob": blob, "SourceKeyId": src.arn, "KeyId": dest.arn,
           "SourceEncryptionAlgorithm": src_alg, "DestinationEncryptionAlgorithm": dest_alg}
    if src_material:
        out["SourceKeyMaterialId"] = src_material
    if dest_material:
        out["DestinationKeyMaterialId"] = dest_material
        call.material_id = (dest_material, src_material)
    return out


def _data_key_length(params: dict) -> int:
    spec, n = params.get("KeySpec"), params.get("NumberOfBytes")
    if spec is None and n is None:
        raise errors.ValidationException("Please specify either number of bytes or key spec.")
    if spec is not None and n is not None:
        raise errors.ValidationException(
            "Please specify either number of bytes or key spec, not both.")
    return _DATA_KEY_BYTES[spec] if spec is not None else n


def _generate_data_key(call: Call, params: dict, operation: str) -> dict:
    refuse_recipient(params, operation)
    key = call.key
    require_usage(key, "ENCRYPT_DECRYPT", operation)
    require_symmetric(key, operation)
    n = _data_key_length(params)
    plaintext = os.urandom(n)
    blob, material_id = encrypt_with(key, plaintext, params.get("EncryptionContext"), _SYMMETRIC,
                                     operation)
    call.material_id = material_id
    return {"CiphertextBlob": blob, "Plaintext": plaintext, "KeyId": key.arn,
            "KeyMaterialId": material_id}


@operation("GenerateDataKey", cross_account=True, crypto=True, dry_run=True, read_only=True)
def generate_data_key(call: Call, params: dict) -> dict:
    """GenerateDataKey: a fresh data key, in plaintext and encrypted under the KMS key."""
    return _generate_data_key(call, params, "GenerateDataKey")


@operation("GenerateDataKeyWithoutPlaintext", cross_account=True, crypto=True, dry_run=True,
           read_only=True)
def generate_data_key_without_plaintext(call: Call, params: dict) -> dict:
    """GenerateDataKeyWithoutPlaintext: only the encrypted copy of a fresh data key."""
    out = _generate_data_key(call, params, "GenerateDataKeyWithoutPlaintext")
    del out["Plaintext"]
    return out


@operation("GenerateRandom", key_param=None, iam_only=True, read_only=True)
def generate_random(call: Call, params: dict) -> dict:
    """GenerateRandom: 1-1,024 random bytes from the OS CSPRNG."""
    refuse_recipient(params, "GenerateRandom")
    n = params.get("NumberOfBytes")
    if n is None:
        raise errors.ValidationException(
            "1 validation error detected: Value null at 'numberOfBytes' failed to satisfy "
            "constraint: Member must not be null")
    if params.get("CustomKeyStoreId"):
        call.lab.custom_key_stores.check_generate_random(call, params["CustomKeyStoreId"])
    return {"Plaintext": os.urandom(n)}
