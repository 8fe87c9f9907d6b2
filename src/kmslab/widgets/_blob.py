"""The parts of a kmslab symmetric ciphertext blob, read from its documented layout.

Layout (format version 1; see the package documentation): version (1 byte),
ARN length n (1), key ARN (n), key material id (32), GCM nonce (12),
ciphertext (m), GCM tag (16). Only sizes and public identifiers are shown;
nothing here decrypts. A blob in another format (a real AWS KMS blob, for
instance) gives None: its layout is not public.
"""

from __future__ import annotations

__all__ = ["blob_parts"]

_MATERIAL_ID, _NONCE, _TAG = 32, 12, 16


def blob_parts(blob: bytes) -> list[tuple[str, int, str]] | None:
    """``[(part, size in bytes, what it is)]`` for a kmslab ciphertext blob, else None."""
    if len(blob) < 2 or blob[0] != 1:
        return None
    n = blob[1]
    end = 2 + n + _MATERIAL_ID
    if len(blob) < end + _NONCE + _TAG:
        return None
    try:
        arn = blob[2:2 + n].decode("ascii")
    except UnicodeDecodeError:
        return None
    if not arn.startswith("arn:") or arn.count(":") != 5:
        return None
    body = len(blob) - end - _NONCE - _TAG
    return [
        ("format version", 1, "1"),
        ("key ARN length", 1, str(n)),
        ("key ARN", n, arn),
        ("key material id", _MATERIAL_ID, blob[2 + n:end].hex()[:16] + "… (which backing key)"),
        ("nonce", _NONCE, "random, from the OS"),
        ("encrypted data key", body, "AES-256-GCM ciphertext"),
        ("tag", _TAG, "GCM authentication tag"),
    ]
