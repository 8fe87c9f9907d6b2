"""Encryption and data keys: Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
GenerateDataKeyWithoutPlaintext, GenerateRandom.

The pipeline has found the keys (Decrypt's and ReEncrypt's source key from the
ciphertext when it is a symmetric blob), authorized them, and checked their
state, usage and algorithm against the operation table before a handler
here runs; the ``_check_*`` functions are the requests' own rules, checked
before a DryRun stops.
"""

from __future__ import annotations

import os

from .. import errors
from ..crypto.backing import AsymmetricEncryptionKey, SealingKey
from ..crypto.symmetric import invalid_ciphertext
from ..specs import RSA_OAEP_MAX_PLAINTEXT, SYMMETRIC_DEFAULT
from .key import Key
from .pipeline import Call
from .registry import Outcome, operation
from .usage import backing_key, refuse_encryption_context, refuse_recipient

_DATA_KEY_BYTES = {"AES_256": 32, "AES_128": 16}


def check_rsa_plaintext(key: Key, algorithm: str, size: int) -> None:
    """RSAES-OAEP takes at most ``RSA_OAEP_MAX_PLAINTEXT`` bytes (ValidationException)."""
    limit = RSA_OAEP_MAX_PLAINTEXT[key.spec.name][algorithm]
    if size > limit:  # AWS's words
        raise errors.ValidationException(
            f"Algorithm {algorithm} and key spec {key.spec.name} cannot encrypt data larger than "
            f"{limit} bytes.", explanation=f"The plaintext has {size} bytes.")


def encrypt_with(key: Key, plaintext: bytes, context: dict | None,
                 algorithm: str) -> tuple[bytes, str | None]:
    """Encrypt under a key's current material -> (ciphertext, KeyMaterialId or None).

    Symmetric keys seal a ciphertext blob bound to the encryption context. RSA
    keys write plain RSAES-OAEP ciphertext (what the public key makes outside
    KMS too); they take no encryption context and at most
    ``RSA_OAEP_MAX_PLAINTEXT`` bytes (ValidationException).
    """
    if algorithm == SYMMETRIC_DEFAULT:
        version = key.current
        material = version.material if version is not None else None
        if not isinstance(material, SealingKey):
            material = backing_key(key, SealingKey)  # raises the error that says why
        assert version is not None
        return material.seal(key.arn, version.material_id, plaintext, context), version.material_id
    refuse_encryption_context(key, context)
    check_rsa_plaintext(key, algorithm, len(plaintext))
    return backing_key(key, AsymmetricEncryptionKey).encrypt(algorithm, plaintext), None


def decrypt_ciphertext(call: Call, key: Key, ciphertext: bytes, context: dict | None,
                       algorithm: str | None) -> tuple[bytes, str | None, str | None]:
    """The shared half of Decrypt and ReEncrypt: decrypt with the key the pipeline found
    -> (plaintext, algorithm, KeyMaterialId or None).

    A symmetric blob names its key material version (parsed by the pipeline:
    ``call.ciphertext``); an RSA ciphertext is decrypted with the algorithm
    named in the request.
    """
    if not key.symmetric_encryption:
        return backing_key(key, AsymmetricEncryptionKey).decrypt(algorithm, ciphertext), \
            algorithm, None
    parts = call.ciphertext
    version = key.version(parts.key_material_id)
    if version is None or version.material is None:
        raise invalid_ciphertext(
            "The ciphertext refers to key material that this KMS key does not have.")
    material = version.material
    if not isinstance(material, SealingKey):
        raise invalid_ciphertext("The ciphertext refers to key material that cannot decrypt it.")
    return material.open(parts, context), SYMMETRIC_DEFAULT, version.material_id


# ------------------------------------------------------------------ Encrypt
def _check_encrypt(call: Call, params: dict) -> None:
    key = call.key
    if not key.symmetric_encryption:
        refuse_encryption_context(key, params.get("EncryptionContext"))
        check_rsa_plaintext(key, params["EncryptionAlgorithm"], len(params["Plaintext"]))


@operation("Encrypt", check=_check_encrypt)
def encrypt(call: Call, params: dict) -> Outcome:
    """Encrypt: up to 4,096 bytes under a KMS key (symmetric or RSA)."""
    key = call.key
    algorithm = params.get("EncryptionAlgorithm") or SYMMETRIC_DEFAULT
    blob, material_id = encrypt_with(key, params["Plaintext"], params.get("EncryptionContext"),
                                     algorithm)
    # KeyMaterialId is not in Encrypt's response shape, but CloudTrail logs it
    return Outcome({"CiphertextBlob": blob, "KeyId": key.arn, "EncryptionAlgorithm": algorithm},
                   material_id=material_id)


# ------------------------------------------------------------------ Decrypt
def _check_decrypt(call: Call, params: dict) -> None:
    refuse_recipient(params, "Decrypt")
    key = call.key
    if not key.symmetric_encryption:
        refuse_encryption_context(key, params.get("EncryptionContext"))


@operation("Decrypt", check=_check_decrypt)
def decrypt(call: Call, params: dict) -> Outcome:
    """Decrypt: the key comes from the ciphertext (the pipeline found it); KeyId, if given,
    must name it."""
    key = call.key
    plaintext, algorithm, material_id = decrypt_ciphertext(
        call, key, params["CiphertextBlob"], params.get("EncryptionContext"),
        params.get("EncryptionAlgorithm"))
    out = {"KeyId": key.arn, "Plaintext": plaintext, "EncryptionAlgorithm": algorithm}
    if material_id:
        out["KeyMaterialId"] = material_id
    return Outcome(out, material_id=material_id)


# ------------------------------------------------------------------ ReEncrypt
def _check_re_encrypt(call: Call, params: dict) -> None:
    dest = call.key
    if not dest.symmetric_encryption:
        refuse_encryption_context(dest, params.get("DestinationEncryptionContext"),
                                  "DestinationEncryptionContext")
    source = call.extra_keys[0]
    if not source.symmetric_encryption:
        refuse_encryption_context(source, params.get("SourceEncryptionContext"),
                                  "SourceEncryptionContext")


@operation("ReEncrypt", check=_check_re_encrypt)
def re_encrypt(call: Call, params: dict) -> Outcome:
    """ReEncrypt: decrypt and encrypt again inside KMS; the plaintext never leaves.

    Works between any two ENCRYPT_DECRYPT keys, symmetric or RSA, in both
    directions; an RSA side needs its RSAES_OAEP_* algorithm (and the source
    RSA key its SourceKeyId), and an RSA destination the RSA plaintext limit.
    """
    dest, src = call.key, call.extra_keys[0]
    dest_alg = params.get("DestinationEncryptionAlgorithm") or SYMMETRIC_DEFAULT
    plaintext, src_alg, src_material = decrypt_ciphertext(
        call, src, params["CiphertextBlob"], params.get("SourceEncryptionContext"),
        params.get("SourceEncryptionAlgorithm"))
    blob, dest_material = encrypt_with(dest, plaintext, params.get("DestinationEncryptionContext"),
                                       dest_alg)
    out = {"CiphertextBlob": blob, "SourceKeyId": src.arn, "KeyId": dest.arn,
           "SourceEncryptionAlgorithm": src_alg, "DestinationEncryptionAlgorithm": dest_alg}
    if src_material:
        out["SourceKeyMaterialId"] = src_material
    if dest_material:
        out["DestinationKeyMaterialId"] = dest_material
    return Outcome(out, material_id=(dest_material, src_material) if dest_material else None)


# ------------------------------------------------------------------ data keys
def _data_key_length(params: dict) -> int:
    spec, n = params.get("KeySpec"), params.get("NumberOfBytes")
    if spec is None and n is None:
        raise errors.ValidationException("Please specify either number of bytes or key spec.")
    if spec is not None and n is not None:
        raise errors.ValidationException(
            "Please specify either number of bytes or key spec, not both.")
    if spec is not None:
        return _DATA_KEY_BYTES[spec]
    assert n is not None  # refused above
    return n


def _check_data_key(call: Call, params: dict) -> None:
    refuse_recipient(params, call.op.name)
    _data_key_length(params)


def _generate_data_key(call: Call, params: dict) -> tuple[dict, str | None]:
    key = call.key
    plaintext = os.urandom(_data_key_length(params))
    blob, material_id = encrypt_with(key, plaintext, params.get("EncryptionContext"), SYMMETRIC_DEFAULT)
    return {"CiphertextBlob": blob, "Plaintext": plaintext, "KeyId": key.arn,
            "KeyMaterialId": material_id}, material_id


@operation("GenerateDataKey", check=_check_data_key)
def generate_data_key(call: Call, params: dict) -> Outcome:
    """GenerateDataKey: a fresh data key, in plaintext and encrypted under the KMS key."""
    out, material_id = _generate_data_key(call, params)
    return Outcome(out, material_id=material_id)


@operation("GenerateDataKeyWithoutPlaintext", check=_check_data_key)
def generate_data_key_without_plaintext(call: Call, params: dict) -> Outcome:
    """GenerateDataKeyWithoutPlaintext: only the encrypted copy of a fresh data key."""
    out, material_id = _generate_data_key(call, params)
    del out["Plaintext"]
    return Outcome(out, material_id=material_id)


# ------------------------------------------------------------------ GenerateRandom
@operation("GenerateRandom")
def generate_random(call: Call, params: dict) -> dict:
    """GenerateRandom: 1-1,024 random bytes from the OS CSPRNG."""
    refuse_recipient(params, "GenerateRandom")
    n = params.get("NumberOfBytes")
    if n is None:  # AWS's words (the model does not mark NumberOfBytes required)
        raise errors.ValidationException("NumberOfBytes is required.")
    if params.get("CustomKeyStoreId"):
        call.env.custom_key_stores.check_generate_random(call, params["CustomKeyStoreId"])
    return {"Plaintext": os.urandom(n)}
