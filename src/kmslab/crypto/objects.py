"""Objects sealed under a data key, as an integrated service (Amazon S3) does with SSE-KMS.

* An object is AES-256-GCM encrypted under its data key with a fresh 96-bit
  nonce from the OS; the object's name (its ARN) is bound as additional
  authenticated data, so stored bytes moved to another name do not open.
* With an S3 Bucket Key, each object gets its own key derived from the
  bucket key with HKDF-SHA256: a 32-byte random salt per object, and the
  object's key name in the HKDF info.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["seal_object", "open_object", "derive_object_key", "new_object_salt", "NONCE_LENGTH"]

NONCE_LENGTH = 12
_SALT_LENGTH = 32


def seal_object(data_key: bytes, body: bytes, name: str) -> tuple[bytes, bytes]:
    """Encrypt ``body`` under ``data_key``, bound to ``name``: ``(nonce, ciphertext)``."""
    nonce = os.urandom(NONCE_LENGTH)
    return nonce, AESGCM(data_key).encrypt(nonce, body, name.encode())


def open_object(data_key: bytes, nonce: bytes, ciphertext: bytes, name: str) -> bytes:
    """Decrypt what :func:`seal_object` made (``cryptography``'s InvalidTag if anything differs)."""
    return AESGCM(data_key).decrypt(nonce, ciphertext, name.encode())


def new_object_salt() -> bytes:
    """A fresh random HKDF salt for one object's derived key."""
    return os.urandom(_SALT_LENGTH)


def derive_object_key(bucket_key: bytes, salt: bytes, object_key: str) -> bytes:
    """A unique 32-byte per-object key derived from the bucket key (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                info=b"kmslab s3 object key\x00" + object_key.encode()).derive(bucket_key)
