"""Import wrapping: how key material travels into KMS (GetParametersForImport, ImportKeyMaterial).

GetParametersForImport hands out the public half of an RSA *wrapping key*
(``WrappingKeySpec`` RSA_2048, RSA_3072 or RSA_4096) with an import token.
The owner of the material encrypts ("wraps") it under that public key with the
chosen ``WrappingAlgorithm`` and sends the result to ImportKeyMaterial, where
KMS unwraps it with the private half. :class:`WrappingKey` is KMS's side;
:func:`wrap_key_material` is the owner's side, step by step as AWS documents
it for OpenSSL users.

Wrapping algorithms and the byte layout of ``EncryptedKeyMaterial``:

``RSAES_OAEP_SHA_256`` / ``RSAES_OAEP_SHA_1``
    ``RSA-OAEP(public key, material)``: one RSA block (256/384/512 bytes),
    OAEP and MGF1 both with SHA-256 (or SHA-1), empty label. The material must
    fit in one block: at most ``key bytes - 2*hash bytes - 2`` (RSA_2048 with
    SHA-256: 190 bytes).

``RSA_AES_KEY_WRAP_SHA_256`` / ``RSA_AES_KEY_WRAP_SHA_1`` (PKCS #11 CKM_RSA_AES_KEY_WRAP)
    ``RSA-OAEP(public key, ephemeral AES-256 key) || AES-KWP(ephemeral key, material)``:
    the first RSA block carries a fresh 32-byte AES key, the rest is the
    material wrapped with AES key wrap with padding (RFC 5649). Any length of
    material fits. The OpenSSL recipe is::

        openssl rand -out aes-key.bin 32
        openssl pkeyutl -encrypt -in aes-key.bin -out EncryptedAesKey.bin \\
            -inkey WrappingPublicKey.der -keyform DER -pubin \\
            -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256
        openssl enc -id-aes256-wrap-pad -K "$(xxd -p < aes-key.bin | tr -d '\\n')" \\
            -iv A65959A6 -in PlaintextKeyMaterial.der -out KeyMaterialWrapped.bin
        cat EncryptedAesKey.bin KeyMaterialWrapped.bin > EncryptedKeyMaterial.bin

AWS's rules on which algorithm carries which material (GetParametersForImport
reference): RSA private keys need an ``RSA_AES_KEY_WRAP_*`` algorithm (they
never fit in one OAEP block); ``RSAES_OAEP_*`` with an RSA_2048 wrapping key
cannot carry ECC_NIST_P521 material; ``RSAES_PKCS1_V1_5`` is no longer
supported (since 10 October 2023); ``SM2`` / ``SM2PKE`` exist only in the
China Regions. :func:`check_wrapping_parameters` and
:func:`check_import_compatibility` apply these rules.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kmslab import errors
from kmslab.crypto.asymmetric import generate_rsa_private_key
from kmslab.crypto.handle import _CONSTRUCT, OpaqueHandle, require_export_token

__all__ = [
    "WrappingKey", "wrap_key_material", "check_wrapping_parameters", "check_import_compatibility",
    "WRAPPING_KEY_SPECS", "WRAPPING_ALGORITHMS", "EPHEMERAL_AES_KEY_BYTES", "max_oaep_material_bytes",
]

#: WrappingKeySpec values kmslab supports (SM2 is China-only)
WRAPPING_KEY_SPECS = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
#: WrappingAlgorithm values kmslab supports
WRAPPING_ALGORITHMS = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256",
                       "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256")
#: the model's AlgorithmSpec and WrappingKeySpec enums, all values
_ALGORITHM_ENUM = ("RSAES_PKCS1_V1_5", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256",
                   "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256", "SM2PKE")
_KEY_SPEC_ENUM = ("RSA_2048", "RSA_3072", "RSA_4096", "SM2")
#: length of the ephemeral AES key in the RSA_AES_KEY_WRAP_* algorithms (AES-256)
EPHEMERAL_AES_KEY_BYTES = 32

_RSA_KEY_SPECS = ("RSA_2048", "RSA_3072", "RSA_4096")


def _hash(wrapping_algorithm: str) -> hashes.HashAlgorithm:
    return hashes.SHA1() if wrapping_algorithm.endswith("SHA_1") else hashes.SHA256()


def _oaep(wrapping_algorithm: str) -> padding.OAEP:
    """RSAES-OAEP with the algorithm's hash for both OAEP and MGF1, empty label (PKCS #1 v2.2)."""
    return padding.OAEP(mgf=padding.MGF1(_hash(wrapping_algorithm)),
                        algorithm=_hash(wrapping_algorithm), label=None)


def max_oaep_material_bytes(wrapping_key_spec: str, wrapping_algorithm: str) -> int:
    """Largest material an RSAES_OAEP_* algorithm can carry: key bytes - 2*hash bytes - 2."""
    return WRAPPING_KEY_SPECS[wrapping_key_spec] // 8 - 2 * _hash(wrapping_algorithm).digest_size - 2


def check_wrapping_parameters(wrapping_algorithm: str, wrapping_key_spec: str) -> None:
    """GetParametersForImport: refuse wrapping algorithms and key specs kmslab does not offer.

    ``RSAES_PKCS1_V1_5`` -> ``ValidationException`` (AWS dropped it on
    10 October 2023); ``SM2`` / ``SM2PKE`` -> ``UnsupportedOperationException``
    (China Regions only); values outside the enums -> ``ValidationException``.
    """
    if wrapping_algorithm not in _ALGORITHM_ENUM:
        raise errors.ValidationException(
            f"1 validation error detected: Value '{wrapping_algorithm}' at 'wrappingAlgorithm' failed "
            f"to satisfy constraint: Member must satisfy enum value set: [{', '.join(_ALGORITHM_ENUM)}]")
    if wrapping_key_spec not in _KEY_SPEC_ENUM:
        raise errors.ValidationException(
            f"1 validation error detected: Value '{wrapping_key_spec}' at 'wrappingKeySpec' failed "
            f"to satisfy constraint: Member must satisfy enum value set: [{', '.join(_KEY_SPEC_ENUM)}]")
    if wrapping_algorithm == "RSAES_PKCS1_V1_5":
        raise errors.ValidationException(
            "The RSAES_PKCS1_V1_5 wrapping algorithm is not supported: as of October 10, 2023, KMS "
            "does not support it. Use RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256.")
    if "SM2" in (wrapping_algorithm, wrapping_key_spec) or wrapping_algorithm == "SM2PKE":
        raise errors.UnsupportedOperationException(
            "SM2 wrapping keys and the SM2PKE wrapping algorithm are offered only in the AWS China "
            "Regions, so kmslab does not simulate them. Use an RSA wrapping key.")


def check_import_compatibility(wrapping_algorithm: str, wrapping_key_spec: str, key_spec: str) -> None:
    """AWS's rules on which wrapping algorithm may carry which key spec's material.

    RSA private keys need RSA_AES_KEY_WRAP_*; an RSA_2048 wrapping key with
    RSAES_OAEP_* cannot carry ECC_NIST_P521 material. Raises
    ``ValidationException`` (AWS documents the rule, not the error code).
    """
    if not wrapping_algorithm.startswith("RSAES_OAEP_"):
        return
    if key_spec in _RSA_KEY_SPECS:
        raise errors.ValidationException(
            f"To import an RSA private key ({key_spec}), you must use an RSA_AES wrapping algorithm "
            f"(RSA_AES_KEY_WRAP_SHA_256 or RSA_AES_KEY_WRAP_SHA_1), not {wrapping_algorithm}.")
    if key_spec == "ECC_NIST_P521" and wrapping_key_spec == "RSA_2048":
        raise errors.ValidationException(
            f"You cannot use the {wrapping_algorithm} wrapping algorithm with the RSA_2048 wrapping key "
            "spec to wrap ECC_NIST_P521 key material. Use a longer wrapping key or an RSA_AES wrapping "
            "algorithm.")


class WrappingKey(OpaqueHandle):
    """KMS's side of an import: the RSA key pair behind one GetParametersForImport response."""

    __slots__ = ("_private_key", "_public_der")

    def __init__(self, spec: str, private_key, _construct: object = None):
        super().__init__(spec, _construct)
        self._private_key = private_key
        self._public_der = private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    @classmethod
    def generate(cls, wrapping_key_spec: str) -> WrappingKey:
        """A new RSA wrapping key pair of ``wrapping_key_spec`` (RSA_2048/3072/4096)."""
        if wrapping_key_spec not in WRAPPING_KEY_SPECS:
            check_wrapping_parameters("RSAES_OAEP_SHA_256", wrapping_key_spec)  # raises the AWS error
        return cls(wrapping_key_spec, generate_rsa_private_key(WRAPPING_KEY_SPECS[wrapping_key_spec]),
                   _CONSTRUCT)

    @classmethod
    def from_pkcs8(cls, wrapping_key_spec: str, der: bytes) -> WrappingKey:
        """Restore a wrapping key saved by :meth:`export_private_pkcs8` (lab snapshots)."""
        key = serialization.load_der_private_key(bytes(der), password=None)
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size != WRAPPING_KEY_SPECS[wrapping_key_spec]:
            raise ValueError(f"not an {wrapping_key_spec} private key")
        return cls(wrapping_key_spec, key, _CONSTRUCT)

    def export_private_pkcs8(self, token: object) -> bytes:
        """The private key as DER PKCS#8, for lab snapshots only (needs SNAPSHOT_EXPORT_TOKEN)."""
        require_export_token(token)
        return self._private_key.private_bytes(serialization.Encoding.DER,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption())

    def public_key_der(self) -> bytes:
        """The wrapping public key as DER SubjectPublicKeyInfo (GetParametersForImport ``PublicKey``)."""
        return self._public_der

    def fingerprint(self) -> str:
        """SHA-256 of the public key (64 hex chars), to bind an import token to this key."""
        return hashlib.sha256(self._public_der).hexdigest()

    def unwrap(self, wrapping_algorithm: str, encrypted_key_material: bytes) -> bytes:
        """ImportKeyMaterial: recover the plaintext material from ``EncryptedKeyMaterial``.

        Anything that does not unwrap under this key and algorithm raises
        ``InvalidCiphertextException`` without saying which step failed.
        """
        check_wrapping_parameters(wrapping_algorithm, self._spec)
        blob = bytes(encrypted_key_material)
        block = WRAPPING_KEY_SPECS[self._spec] // 8  # one RSA-OAEP block
        try:
            if wrapping_algorithm.startswith("RSAES_OAEP_"):
                if len(blob) != block:
                    raise ValueError("not one RSA block")
                return self._private_key.decrypt(blob, _oaep(wrapping_algorithm))
            encrypted_aes_key, wrapped_material = blob[:block], blob[block:]
            aes_key = self._private_key.decrypt(encrypted_aes_key, _oaep(wrapping_algorithm))
            return keywrap.aes_key_unwrap_with_padding(aes_key, wrapped_material)
        except (ValueError, keywrap.InvalidUnwrap):
            raise errors.InvalidCiphertextException(
                "The EncryptedKeyMaterial could not be decrypted with the wrapping key and wrapping "
                f"algorithm {wrapping_algorithm} of this import token.") from None


def wrap_key_material(public_key_der: bytes, wrapping_algorithm: str, key_material: bytes) -> bytes:
    """The key owner's side: wrap ``key_material`` for ImportKeyMaterial, as OpenSSL would.

    ``public_key_der`` is GetParametersForImport's ``PublicKey``;
    ``key_material`` is a raw symmetric or HMAC key, or an asymmetric private
    key as DER PKCS#8. Returns ``EncryptedKeyMaterial``.
    """
    if wrapping_algorithm not in WRAPPING_ALGORITHMS:
        check_wrapping_parameters(wrapping_algorithm, "RSA_2048")  # raises AWS's error for it
    key_material = bytes(key_material)
    # Step 1: load the wrapping public key (openssl ... -inkey WrappingPublicKey.der -keyform DER -pubin).
    public_key = serialization.load_der_public_key(bytes(public_key_der))
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError("the wrapping public key must be an RSA public key")
    oaep = _oaep(wrapping_algorithm)  # OAEP + MGF1 with SHA-256 (or SHA-1), empty label

    if wrapping_algorithm.startswith("RSAES_OAEP_"):
        # Step 2 (RSAES_OAEP_*): encrypt the material itself; it must fit in one RSA block.
        limit = public_key.key_size // 8 - 2 * _hash(wrapping_algorithm).digest_size - 2
        if len(key_material) > limit:
            raise ValueError(
                f"{len(key_material)} bytes of key material do not fit in one {wrapping_algorithm} "
                f"block of an RSA {public_key.key_size}-bit key (at most {limit} bytes); use "
                f"RSA_AES_KEY_WRAP_SHA_256 or a longer wrapping key")
        return public_key.encrypt(key_material, oaep)

    # Step 2 (RSA_AES_KEY_WRAP_*): a fresh AES-256 key (openssl rand -out aes-key.bin 32).
    aes_key = os.urandom(EPHEMERAL_AES_KEY_BYTES)
    # Step 3: encrypt the AES key with RSA-OAEP (openssl pkeyutl -encrypt ... rsa_padding_mode:oaep).
    encrypted_aes_key = public_key.encrypt(aes_key, oaep)
    # Step 4: wrap the material with the AES key, AES key wrap with padding, RFC 5649
    #         (openssl enc -id-aes256-wrap-pad -K <aes key hex> -iv A65959A6).
    wrapped_material = keywrap.aes_key_wrap_with_padding(aes_key, key_material)
    # Step 5: concatenate (cat EncryptedAesKey.bin KeyMaterialWrapped.bin > EncryptedKeyMaterial.bin).
    return encrypted_aes_key + wrapped_material
