"""Symmetric encryption keys: backing key material and the ciphertext blob.

AWS KMS keeps, behind every symmetric encryption key, one or more 256-bit
backing keys (one per rotation); each is a *key material version* named by a
64-hex ``KeyMaterialId``. kmslab encrypts with AES-256-GCM under the current
version and writes a self-describing blob, so Decrypt needs no KeyId and keeps
working after rotation.

Ciphertext blob layout (format version 1), all integers big-endian::

    offset  size  field
    0       1     format version, 0x01
    1       1     n = length of the key ARN
    2       n     key ARN (ASCII), e.g. arn:aws:kms:us-east-1:111122223333:key/1234abcd-...
    2+n     32    key material id (the 64-hex KeyMaterialId as 32 raw bytes)
    34+n    12    GCM nonce (random, from the OS)
    46+n    m     AES-256-GCM ciphertext (m = plaintext length)
    46+n+m  16    GCM authentication tag

The header (the first 34+n bytes) and the encryption context are bound as
additional authenticated data, so changing any byte of the blob, or
decrypting with a different encryption context, fails authentication. The
context is canonicalised (sorted by key, length-prefixed UTF-8), so the order
of its pairs does not matter; AWS documents no limit on its size, and the
canonical form carries any (2-byte lengths, or 4-byte ones for a context
with more than 65,535 pairs or a longer key or value). ``parse_blob`` shows
the parts of a blob.

Unlike AWS, kmslab does not derive a fresh key per request from the backing
key and a nonce; random 96-bit GCM nonces under one backing key are safe far
beyond any lab's traffic (NIST SP 800-38D: up to 2**32 messages per key).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .. import errors
from .backing import SealingKey
from .handle import _CONSTRUCT, OpaqueHandle, require_export_token

__all__ = ["SymmetricMaterial", "BlobParts", "parse_blob", "encode_context", "invalid_ciphertext",
           "FORMAT_VERSION",
           "TAG_SIZE", "NONCE_SIZE"]

FORMAT_VERSION = 1
NONCE_SIZE = 12
TAG_SIZE = 16
MATERIAL_ID_SIZE = 32
_INVALID = ("The ciphertext is invalid: it is corrupted, incomplete, or was encrypted under a "
            "different encryption context.")


def invalid_ciphertext(explanation: str = _INVALID) -> errors.KMSError:
    """InvalidCiphertextException as AWS words it for a symmetric ciphertext: no message at all
    (nothing about what failed); kmslab's reason is in ``explanation``."""
    return errors.InvalidCiphertextException("", explanation=explanation)


def encode_context(context: Mapping[str, str] | None) -> bytes:
    """Canonical bytes of an encryption context (order-independent, injective).

    Pairs sorted by key, each key and value UTF-8 with a 2-byte length, after a
    2-byte pair count. A context that does not fit 2-byte counts starts with two
    zero bytes instead (a count no other context has: an empty context is no
    bytes at all) and uses 4-byte counts and lengths throughout.
    """
    if not context:
        return b""
    pairs = [(k.encode(), context[k].encode()) for k in sorted(context)]
    try:
        return _pack_context(">H", pairs)
    except struct.error:  # more than 65,535 pairs, or a key or value that long
        return b"\0\0" + _pack_context(">I", pairs)


def _pack_context(size: str, pairs: list[tuple[bytes, bytes]]) -> bytes:
    out = [struct.pack(size, len(pairs))]
    for kb, vb in pairs:
        out.append(struct.pack(size, len(kb)) + kb + struct.pack(size, len(vb)) + vb)
    return b"".join(out)


class SymmetricMaterial(OpaqueHandle, SealingKey):
    """One 256-bit AES-GCM backing key: the secret never leaves this object.

    Not printable, not picklable; ``seal`` and ``open`` (its
    :class:`~kmslab.crypto.backing.SealingKey` interface) are all it offers
    (plus the token-guarded export for lab snapshots).
    """

    __slots__ = ("_aead", "_key", "_prefixes")

    def __init__(self, key: bytes, _construct: object = None):
        super().__init__("SYMMETRIC_DEFAULT", _construct)
        self._key = bytes(key)
        self._aead = AESGCM(self._key)
        self._prefixes: dict[tuple[str, str], bytes] = {}

    @classmethod
    def generate(cls) -> SymmetricMaterial:
        """Fresh 256-bit material from the OS CSPRNG."""
        return cls(os.urandom(32), _CONSTRUCT)

    @classmethod
    def from_bytes(cls, raw: bytes) -> SymmetricMaterial:
        """Imported material: exactly 256 bits (IncorrectKeyMaterialException otherwise)."""
        if len(raw) != 32:
            raise errors.IncorrectKeyMaterialException(
                f"Symmetric key material must be 256 bits (32 bytes); got {len(raw)} bytes.")
        return cls(raw, _CONSTRUCT)

    def material_fingerprint(self) -> str:
        """A domain-separated SHA-256 of the material (never the plain hash of the key)."""
        digest = hashes.Hash(hashes.SHA256())
        digest.update(b"kmslab symmetric material fingerprint\x00" + self._key)
        return digest.finalize().hex()

    def header(self, key_arn: str, material_id: str) -> bytes:
        """The blob header for this key ARN and material id (cached)."""
        k = (key_arn, material_id)
        prefix = self._prefixes.get(k)
        if prefix is None:
            arn = key_arn.encode("ascii")
            prefix = bytes((FORMAT_VERSION, len(arn))) + arn + bytes.fromhex(material_id)
            self._prefixes[k] = prefix
        return prefix

    def seal(self, key_arn: str, material_id: str, plaintext: bytes,
             context: Mapping[str, str] | None = None) -> bytes:
        """Encrypt ``plaintext`` into a version-1 ciphertext blob."""
        header = self.header(key_arn, material_id)
        nonce = os.urandom(NONCE_SIZE)
        aad = header + encode_context(context) if context else header
        return header + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, parts: BlobParts, context: Mapping[str, str] | None = None) -> bytes:
        """Decrypt a parsed blob; any mismatch raises InvalidCiphertextException."""
        aad = parts.header + encode_context(context) if context else parts.header
        try:
            return self._aead.decrypt(parts.nonce, parts.ciphertext, aad)
        except InvalidTag:
            raise invalid_ciphertext() from None

    def export_raw(self, token: object) -> bytes:
        """The raw key, only for encrypted lab snapshots (needs the snapshot token)."""
        require_export_token(token)
        return self._key


class BlobParts(NamedTuple):
    """The parts of a ciphertext blob, for Decrypt and for learners (the key ARN's parts
    split out once: Decrypt looks the key up by them)."""

    version: int
    key_arn: str
    key_material_id: str
    nonce: bytes
    ciphertext: bytes  # GCM ciphertext followed by the tag
    header: bytes
    region: str
    account: str
    key_id: str

    def describe(self) -> dict:
        """A learner-friendly view (sizes and ids; nothing secret is in a blob)."""
        return {
            "format version": self.version,
            "key ARN": self.key_arn,
            "key material id": self.key_material_id,
            "nonce (bytes)": len(self.nonce),
            "encrypted data (bytes)": len(self.ciphertext) - TAG_SIZE,
            "GCM tag (bytes)": TAG_SIZE,
            "total (bytes)": len(self.header) + len(self.nonce) + len(self.ciphertext),
        }


def parse_blob(blob: bytes) -> BlobParts:
    """Split a symmetric ciphertext blob into its parts (InvalidCiphertextException if malformed)."""
    try:
        if blob[0] != FORMAT_VERSION:
            raise ValueError
        n = blob[1]
        end = 2 + n + MATERIAL_ID_SIZE
        if len(blob) < end + NONCE_SIZE + TAG_SIZE:
            raise ValueError
        arn = blob[2:2 + n].decode("ascii")
        scheme, _, _, region, account, resource = arn.split(":")
        if scheme != "arn":
            raise ValueError
        return BlobParts(FORMAT_VERSION, arn, blob[2 + n:end].hex(), blob[end:end + NONCE_SIZE],
                         blob[end + NONCE_SIZE:], blob[:end], region, account,
                         resource.rsplit("/", 1)[-1])
    except (ValueError, IndexError, UnicodeDecodeError):
        raise invalid_ciphertext() from None
