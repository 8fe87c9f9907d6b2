"""Passphrase sealing for lab snapshots: scrypt (memory-hard) + AES-256-GCM.

Sealed layout (format version 1), integers big-endian::

    offset  size  field
    0       16    magic  b"KMSLAB-SNAPSHOT\\n"
    16      2     format version (1)
    18      1     KDF: 1 = scrypt
    19      1     log2(N), scrypt cost (15: N = 32768, 32 MiB of memory)
    20      1     r (8)
    21      1     p (1)
    22      16    salt (OS randomness)
    38      12    GCM nonce (OS randomness)
    50      ...   AES-256-GCM ciphertext of the payload, then the 16-byte tag

The 50-byte header is authenticated as additional data, so changing any
byte anywhere (or using the wrong passphrase) is refused before anything is
read.
"""

from __future__ import annotations

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

__all__ = ["seal", "unseal", "SealError", "MAGIC", "FORMAT_VERSION", "peek_version"]

MAGIC = b"KMSLAB-SNAPSHOT\n"
FORMAT_VERSION = 1
_HEADER = struct.Struct(">16sHBBBB16s12s")
_KDF_SCRYPT = 1


class SealError(ValueError):
    """The sealed data cannot be opened (wrong passphrase, tampering, truncation, version)."""


def _key(passphrase: str | bytes, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    if isinstance(passphrase, str):
        passphrase = passphrase.encode("utf-8")
    if not passphrase:
        raise ValueError("a snapshot needs a non-empty passphrase")
    return Scrypt(salt=salt, length=32, n=2 ** log_n, r=r, p=p).derive(passphrase)


def seal(payload: bytes, passphrase: str | bytes, *, log_n: int = 15, r: int = 8, p: int = 1) -> bytes:
    """Encrypt and authenticate ``payload`` under a key derived from ``passphrase``."""
    salt, nonce = os.urandom(16), os.urandom(12)
    header = _HEADER.pack(MAGIC, FORMAT_VERSION, _KDF_SCRYPT, log_n, r, p, salt, nonce)
    return header + AESGCM(_key(passphrase, salt, log_n, r, p)).encrypt(nonce, payload, header)


def peek_version(sealed: bytes) -> int:
    """The format version in a sealed header (SealError if it is not a snapshot)."""
    if len(sealed) < _HEADER.size + 16 or not sealed.startswith(MAGIC):
        raise SealError("this is not a kmslab snapshot (bad magic or too short)")
    return _HEADER.unpack_from(sealed)[1]


def unseal(sealed: bytes, passphrase: str | bytes) -> bytes:
    """Open sealed data; SealError for a wrong passphrase, any change, or an unknown version."""
    version = peek_version(sealed)
    _, _, kdf, log_n, r, p, salt, nonce = _HEADER.unpack_from(sealed)
    if version != FORMAT_VERSION:
        raise SealError(
            f"snapshot format version {version} is not supported by this kmslab "
            f"(it reads version {FORMAT_VERSION}); "
            + ("upgrade kmslab to load it" if version > FORMAT_VERSION else
               "it was written by an older kmslab; re-create the lab from a seed file"))
    if kdf != _KDF_SCRYPT or not 10 <= log_n <= 22 or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise SealError("snapshot header has unsupported key-derivation parameters")
    header = sealed[:_HEADER.size]
    try:
        return AESGCM(_key(passphrase, salt, log_n, r, p)).decrypt(nonce, sealed[_HEADER.size:], header)
    except InvalidTag:
        raise SealError("wrong passphrase, or the snapshot was modified or truncated") from None
