"""The algorithm suites: which ones exist, and how a data key becomes a message key.

The AWS Encryption SDK's message format version 2 has two algorithm suites,
both with key commitment (its "Algorithms reference",
https://docs.aws.amazon.com/encryption-sdk/latest/developer-guide/algorithms-reference.html):

==========  ================================================  =============================
id          name                                              signature
==========  ================================================  =============================
``05 78``   ``AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384``  ECDSA P-384 with SHA-384
            (the SDK's default, and kmslab's)
``04 78``   ``AES_256_GCM_HKDF_SHA512_COMMIT_KEY``              none
==========  ================================================  =============================

Both encrypt with AES-256-GCM (12-byte IVs, 16-byte tags) under a key
derived per message, and commit to the data key. Per message, with the
message id as the HKDF salt and the 32-byte data key as input key material:

* message key  = HKDF-SHA512(salt = message id, info = suite id (2 bytes) + ``"DERIVEKEY"``, 32 bytes)
* commitment   = HKDF-SHA512(salt = message id, info = ``"COMMITKEY"``, 32 bytes)

Both share one HKDF-Extract (same salt and key), done once here. The
commitment, stored in the header, pins the message to one data key: a
message cannot be crafted to decrypt to two different plaintexts under two
different data keys.
"""

from __future__ import annotations

import hmac
from enum import IntEnum

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from .errors import KeyCommitmentError

__all__ = ["Algorithm", "DEFAULT_ALGORITHM", "as_algorithm", "derive_message_key",
           "check_commitment"]

_SHA512 = hashes.SHA512()
KEY_LABEL = b"DERIVEKEY"
COMMIT_LABEL = b"COMMITKEY"
KEY_LENGTH = 32
COMMITMENT_LENGTH = 32


class Algorithm(IntEnum):
    """The AWS Encryption SDK's committing algorithm suites, by the SDK's names and ids."""

    AES_256_GCM_HKDF_SHA512_COMMIT_KEY = 0x0478
    AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384 = 0x0578

    @property
    def signed(self) -> bool:
        """True for the suite that signs every message (ECDSA P-384)."""
        return self is Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384

    @property
    def id_bytes(self) -> bytes:
        """The suite id as the two bytes a message header carries."""
        return self.value.to_bytes(2, "big")

    def __repr__(self) -> str:
        return f"<Algorithm.{self.name}: 0x{self.value:04x}>"


#: The AWS Encryption SDK's default, and kmslab's: key commitment and a signature.
DEFAULT_ALGORITHM = Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384


def as_algorithm(value) -> Algorithm:
    """An :class:`Algorithm` from itself, its id (``0x0478``) or its name."""
    try:
        if isinstance(value, str):
            return Algorithm[value]
        return Algorithm(value)
    except (KeyError, ValueError):
        names = ", ".join(a.name for a in Algorithm)
        raise ValueError(f"unknown algorithm suite {value!r}; choose one of {names}") from None


_INFO_CACHE = {a: a.id_bytes + KEY_LABEL for a in Algorithm}


def derive_message_key(data_key: bytes, algorithm: Algorithm,
                       message_id: bytes) -> tuple[AESGCM, bytes]:
    """The message's AES-256-GCM key and its 32-byte key commitment (HKDF-SHA512)."""
    prk = HKDF.extract(_SHA512, message_id, data_key)
    key = HKDFExpand(_SHA512, KEY_LENGTH, info=_INFO_CACHE[algorithm]).derive(prk)
    commitment = HKDFExpand(_SHA512, COMMITMENT_LENGTH, info=COMMIT_LABEL).derive(prk)
    return AESGCM(key), commitment


def check_commitment(expected: bytes, actual: bytes) -> None:
    """Compare commitments in constant time; raise :class:`KeyCommitmentError` if they differ."""
    if not hmac.compare_digest(expected, actual):
        raise KeyCommitmentError(
            "the data key does not match the message's key commitment; "
            "nothing was decrypted")
