"""Getting data keys from KMS: the only module that calls the KMS client.

Uses only boto3's public ``kms`` operations (GenerateDataKey, Encrypt,
Decrypt), so it works with kmslab's client and with ``boto3.client("kms")``.
It plays the parts of the AWS Encryption SDK's default cryptographic
materials manager and KMS keyring: for the signing suite it makes the
signing key and adds its public half to the encryption context *before*
asking KMS, so KMS binds the data key to it as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import MalformedMessageError, NoDecryptableKeyError
from .format import (
    DATA_KEY_LENGTH,
    PROVIDER_ID,
    EncryptedDataKey,
    Header,
    serialize_context,
    serialize_edks,
)
from .signing import PUBLIC_KEY_ENTRY, load_public_key, new_signing_key, public_key_entry
from .suite import Algorithm

__all__ = ["EncryptionMaterials", "DecryptionMaterials", "encryption_materials",
           "decryption_materials", "decrypt_data_key", "is_kms_error"]


@dataclass(frozen=True, slots=True)
class EncryptionMaterials:
    """A data key, ready for use, with its encrypted copies (one per key id).

    ``encryption_context`` is the full context (with ``aws-crypto-public-key``
    for the signing suite), ``context_bytes`` its serialization. Reused as a
    whole when cached, as the SDK's caching CMM reuses its materials.
    """

    algorithm: Algorithm
    data_key: bytes = field(repr=False)
    encryption_context: dict
    context_bytes: bytes = field(repr=False)
    encrypted_data_keys: tuple
    edk_bytes: bytes = field(repr=False)  # serialized once, reused by every message
    signing_key: object = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class DecryptionMaterials:
    """The data key of a message and, for the signing suite, its verification key."""

    data_key: bytes = field(repr=False)
    verification_key: Any = field(default=None, repr=False)


def is_kms_error(exc: BaseException) -> bool:
    """True for an error the KMS service returned (botocore ClientError or kmslab error)."""
    response = getattr(exc, "response", None)
    return isinstance(response, dict) and "Error" in response


def _context_kwargs(context: Mapping[str, str]) -> dict:
    return {"EncryptionContext": dict(context)} if context else {}


def encryption_materials(kms, key_ids: Sequence[str], context: Mapping[str, str],
                         algorithm: Algorithm, cache=None, cache_key=None,
                         plaintext_length: int | None = None) -> EncryptionMaterials:
    """GenerateDataKey under the first key, Encrypt the data key under the others."""
    if cache is not None:
        cached = cache.take_for_encrypt(cache_key, plaintext_length)
        if cached is not None:
            return cached
    signing_key = None
    if algorithm.signed:
        signing_key = new_signing_key()
        context = {**context, PUBLIC_KEY_ENTRY: public_key_entry(signing_key)}
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
    materials = EncryptionMaterials(algorithm, bytes(data_key), dict(context),
                                    serialize_context(context), tuple(edks),
                                    serialize_edks(edks), signing_key)
    if cache is not None:
        cache.put_for_encrypt(cache_key, materials, plaintext_length)
    return materials


def verification_key(header: Header):
    """The signing suite's public key from the context; refuse the entry anywhere else.

    The SDK's rule (default CMM, Decrypt Materials): a signed suite without
    ``aws-crypto-public-key``, or an unsigned one with it, is refused.
    """
    entry = header.encryption_context.get(PUBLIC_KEY_ENTRY)
    if header.algorithm.signed:
        if entry is None:
            raise MalformedMessageError(f"the signing suite needs the {PUBLIC_KEY_ENTRY} entry in "
                                        "the encryption context, and this message has none")
        return load_public_key(entry)
    if entry is not None:
        raise MalformedMessageError(f"the encryption context has a {PUBLIC_KEY_ENTRY} entry, but "
                                    f"the suite {header.algorithm.name} does not sign")
    return None


def decryption_materials(kms, header: Header,
                         key_ids: Sequence[str] | None) -> DecryptionMaterials:
    """The message's data key (KMS Decrypt) and, for the signing suite, its verification key."""
    public_key = verification_key(header)  # checked before any KMS call
    data_key = decrypt_data_key(kms, header.encrypted_data_keys, header.encryption_context,
                                key_ids)
    return DecryptionMaterials(bytes(data_key), public_key)


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
    """Decrypt the first ``aws-kms`` EDK KMS will decrypt; try the next one on any KMS error."""
    kwargs = _context_kwargs(context)
    attempts: list[tuple[str, Any]] = []  # (key ARN, the KMS error: is_kms_error)
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
        in_message = ", ".join(e.key_arn if e.provider_id == PROVIDER_ID
                               else f"{e.provider_id} (not a KMS key)" for e in edks)
        allowed = ", ".join(key_ids) if key_ids is not None else "any KMS key"
        raise NoDecryptableKeyError(
            "none of the message's encrypted data keys is under an allowed KMS key "
            f"(allowed: {allowed}; in the message: {in_message})")
    lines = "; ".join(f"{arn}: {exc.response['Error']['Code']}: {exc.response['Error'].get('Message', '')}"
                      for arn, exc in attempts)
    raise NoDecryptableKeyError(f"KMS decrypted none of the message's data keys ({lines})",
                                attempts) from attempts[-1][1]
