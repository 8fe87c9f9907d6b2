"""Getting data keys from KMS: the only module that calls the KMS client.

Uses only boto3's public ``kms`` operations (GenerateDataKey, Encrypt,
Decrypt), so it works with kmslab's client and with ``boto3.client("kms")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from .errors import MalformedMessageError, NoDecryptableKeyError
from .format import DATA_KEY_LENGTH, PROVIDER_ID, EncryptedDataKey, serialize_edks
from .suite import extract

__all__ = ["EncryptionMaterials", "encryption_materials", "decrypt_data_key", "is_kms_error"]


@dataclass(frozen=True, slots=True)
class EncryptionMaterials:
    """A data key, ready for use, with its encrypted copies (one per key id).

    ``prk`` is HKDF-Extract of the plaintext data key (see :mod:`.suite`); the
    data key itself is not kept.
    """

    prk: bytes = field(repr=False)
    encrypted_data_keys: tuple
    edk_bytes: bytes = field(repr=False)  # serialized once, reused by every message


def is_kms_error(exc: BaseException) -> bool:
    """True for an error the KMS service returned (botocore ClientError or kmslab error)."""
    response = getattr(exc, "response", None)
    return isinstance(response, dict) and "Error" in response


def _context_kwargs(context: Mapping[str, str]) -> dict:
    return {"EncryptionContext": dict(context)} if context else {}


def encryption_materials(kms, key_ids: Sequence[str], context: Mapping[str, str],
                         cache=None, cache_key=None, plaintext_length: int | None = None
                         ) -> EncryptionMaterials:
    """GenerateDataKey under the first key, Encrypt the data key under the others."""
    if cache is not None:
        cached = cache.take_for_encrypt(cache_key, plaintext_length)
        if cached is not None:
            return cached
    kwargs = _context_kwargs(context)
    response = kms.generate_data_key(KeyId=key_ids[0], KeySpec="AES_256", **kwargs)
    data_key = response["Plaintext"]
    if len(data_key) != DATA_KEY_LENGTH:
        raise ValueError(f"GenerateDataKey returned a {len(data_key)}-byte data key, "
                         f"expected {DATA_KEY_LENGTH}")
    edks = [EncryptedDataKey(response["KeyId"], response["CiphertextBlob"])]
    for key_id in key_ids[1:]:
        wrapped = kms.encrypt(KeyId=key_id, Plaintext=data_key, **kwargs)
        edks.append(EncryptedDataKey(wrapped["KeyId"], wrapped["CiphertextBlob"]))
    materials = EncryptionMaterials(extract(data_key), tuple(edks), serialize_edks(edks))
    if cache is not None:
        cache.put_for_encrypt(cache_key, materials, plaintext_length)
    return materials


def _allowed(edk: EncryptedDataKey, key_ids: Sequence[str] | None) -> list[str]:
    """The KeyId values to send to Decrypt for this EDK (empty: skip it).

    A key ARN or a bare key id selects the EDKs wrapped by that key; an alias
    (name or ARN) cannot be resolved locally, so it is sent to KMS as the
    KeyId and KMS refuses if it names another key.
    """
    if key_ids is None:
        return [edk.key_arn]
    out = []
    for key_id in key_ids:
        if key_id.startswith("alias/") or ":alias/" in key_id:
            out.append(key_id)
        elif key_id == edk.key_arn or edk.key_arn.endswith(":key/" + key_id):
            out.append(edk.key_arn)
    return out


def decrypt_data_key(kms, edks: Sequence[EncryptedDataKey], context: Mapping[str, str],
                     key_ids: Sequence[str] | None = None) -> bytes:
    """Decrypt the first EDK KMS will decrypt; try the next one on any KMS error."""
    kwargs = _context_kwargs(context)
    attempts: list[tuple[str, BaseException]] = []
    for edk in edks:
        if edk.provider_id != PROVIDER_ID:
            continue
        for key_id in _allowed(edk, key_ids):
            try:
                response = kms.decrypt(CiphertextBlob=edk.ciphertext, KeyId=key_id, **kwargs)
            except Exception as exc:
                if not is_kms_error(exc):
                    raise
                attempts.append((edk.key_arn, exc))
                continue
            data_key = response["Plaintext"]
            if len(data_key) != DATA_KEY_LENGTH:
                raise MalformedMessageError("an encrypted data key decrypted to "
                                            f"{len(data_key)} bytes, not {DATA_KEY_LENGTH}")
            return data_key
    if not attempts:
        allowed = ", ".join(key_ids or [])
        raise NoDecryptableKeyError(
            "none of the message's encrypted data keys is under an allowed key "
            f"(allowed: {allowed}; in the message: "
            f"{', '.join(e.key_arn for e in edks)})")
    lines = "; ".join(f"{arn}: {exc.response['Error']['Code']}: {exc.response['Error'].get('Message', '')}"
                      for arn, exc in attempts)
    raise NoDecryptableKeyError(f"KMS decrypted none of the message's data keys ({lines})",
                                attempts) from attempts[-1][1]
