"""HMAC KMS key material (GenerateMac, VerifyMac, ImportKeyMaterial for HMAC keys).

HMAC KMS keys are symmetric keys with KeyUsage GENERATE_VERIFY_MAC whose tags
are standard RFC 2104 HMACs: a tag made by GenerateMac equals the HMAC any
library computes with the same key. Each key spec allows exactly one MAC
algorithm (HMAC_256 <-> HMAC_SHA_256...).

Key lengths (AWS "Key spec reference" and "Requirements for imported key
material"): KMS generates a key as long as the hash output (HMAC_224: 224
bits ... HMAC_512: 512 bits); imported material may be from the hash output
length up to the hash's block size (HMAC_224/256: 28/32..64 bytes,
HMAC_384/512: 48/64..128 bytes).
"""

from __future__ import annotations

import hashlib
import hmac as _hmac
import os
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

from kmslab import errors, specs
from kmslab.crypto.backing import MacKey
from kmslab.crypto.handle import _CONSTRUCT, OpaqueHandle, require_export_token

__all__ = ["HmacMaterial", "HMAC_KEY_BYTES", "HMAC_IMPORT_KEY_BYTES", "MAX_MESSAGE_BYTES"]

#: largest Message GenerateMac and VerifyMac accept (the model's PlaintextType)
MAX_MESSAGE_BYTES = 4096

#: length of the key KMS generates for each HMAC key spec, in bytes
HMAC_KEY_BYTES = {"HMAC_224": 28, "HMAC_256": 32, "HMAC_384": 48, "HMAC_512": 64}

#: inclusive byte-length range AWS accepts for imported material of each HMAC key spec
HMAC_IMPORT_KEY_BYTES = {"HMAC_224": (28, 64), "HMAC_256": (32, 64),
                         "HMAC_384": (48, 128), "HMAC_512": (64, 128)}

_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"HMAC_SHA_224": hashes.SHA224, "HMAC_SHA_256": hashes.SHA256,
           "HMAC_SHA_384": hashes.SHA384, "HMAC_SHA_512": hashes.SHA512}


def _hmac_spec(spec: str) -> str:
    if spec not in HMAC_KEY_BYTES:
        raise ValueError(f"{spec!r} is not an HMAC key spec: {tuple(HMAC_KEY_BYTES)}")
    return spec


class HmacMaterial(OpaqueHandle, MacKey):
    """The secret key of one HMAC KMS key; it never shows or hands out the key.

    Build one with :meth:`generate` (CreateKey) or :meth:`from_bytes`
    (ImportKeyMaterial). ``repr`` names the key spec only; pickling is refused.
    """

    __slots__ = ("_key",)

    def __init__(self, spec: str, key: bytes, _construct: object = None):
        super().__init__(spec, _construct)
        self._key = key

    @classmethod
    def generate(cls, spec: str) -> HmacMaterial:
        """A new key of the spec's length from the OS CSPRNG (CreateKey with Origin AWS_KMS)."""
        spec = _hmac_spec(spec)
        return cls(spec, os.urandom(HMAC_KEY_BYTES[spec]), _CONSTRUCT)

    @classmethod
    def from_bytes(cls, spec: str, raw: bytes) -> HmacMaterial:
        """Imported material (ImportKeyMaterial): a raw binary key of the length the spec allows.

        A key of another length raises ``IncorrectKeyMaterialException``.
        """
        spec = _hmac_spec(spec)
        raw = bytes(raw)
        low, high = HMAC_IMPORT_KEY_BYTES[spec]
        if not low <= len(raw) <= high:
            raise errors.IncorrectKeyMaterialException(
                f"Key material for an {spec} KMS key must be {low} to {high} bytes "
                f"({low * 8} to {high * 8} bits) of raw binary data; got {len(raw)} bytes.")
        return cls(spec, raw, _CONSTRUCT)

    def export_raw(self, token: object) -> bytes:
        """The raw key bytes, for lab snapshots only (needs SNAPSHOT_EXPORT_TOKEN)."""
        require_export_token(token)
        return self._key

    def material_fingerprint(self) -> str:
        """A SHA-256 fingerprint of the key (64 hex chars): equal iff the same material.

        Lets the service tell a re-import of the same material (allowed) from
        different material (``IncorrectKeyMaterialException``). The hash is
        domain-separated, so it is never the plain hash of the key.
        """
        return hashlib.sha256(b"kmslab hmac key material\x00" + self._key).hexdigest()

    @property
    def algorithm(self) -> str:
        """The one MacAlgorithmSpec this key spec allows (HMAC_256 -> HMAC_SHA_256)."""
        return specs.key_spec(self._spec).usages["GENERATE_VERIFY_MAC"][0]

    def _mac(self, algorithm: str, message: bytes) -> bytes:
        if algorithm != self.algorithm:
            raise errors.InvalidKeyUsageException(
                f"Algorithm {algorithm} is incompatible with key spec {self._spec}.")
        message = bytes(message)
        if not 1 <= len(message) <= MAX_MESSAGE_BYTES:
            raise errors.ValidationException(
                "1 validation error detected: Value at 'message' failed to satisfy constraint: "
                f"Member must have length between 1 and {MAX_MESSAGE_BYTES}")
        mac = crypto_hmac.HMAC(self._key, _HASHES[algorithm]())
        mac.update(message)
        return mac.finalize()

    def generate_mac(self, algorithm: str, message: bytes) -> bytes:
        """GenerateMac: the RFC 2104 HMAC of ``message`` (1..4,096 bytes) under this key."""
        return self._mac(algorithm, message)

    def verify_mac(self, algorithm: str, message: bytes, mac: bytes) -> bool:
        """VerifyMac: True if ``mac`` is the HMAC of ``message`` (compared in constant time).

        The service turns False into ``KMSInvalidMacException``.
        """
        return _hmac.compare_digest(self._mac(algorithm, message), bytes(mac))
