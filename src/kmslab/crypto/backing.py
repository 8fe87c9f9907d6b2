"""Backing keys: one small interface per key usage.

Behind every KMS key is key material, a *backing key*. Whatever holds it (kmslab
itself, a CloudHSM cluster, an external key manager behind an XKS proxy), a
backing key offers exactly the operations of its key usage, and nothing else:

==============================  ===============================================
interface                       key usage (and key spec)
==============================  ===============================================
:class:`SealingKey`             ENCRYPT_DECRYPT, SYMMETRIC_DEFAULT: seal and open
                                a ciphertext blob, the encryption context as AAD
:class:`AsymmetricEncryptionKey`  ENCRYPT_DECRYPT, RSA: encrypt and decrypt
:class:`SigningKey`             SIGN_VERIFY: sign and verify
:class:`MacKey`                 GENERATE_VERIFY_MAC: generate and verify a MAC
:class:`KeyAgreementKey`        KEY_AGREEMENT: derive a shared secret
:class:`KemKey`                 ENCAPSULATE_DECAPSULATE: encapsulate, decapsulate
==============================  ===============================================

A class declares the interfaces it implements by subclassing them (an
implementation that misses a method fails when the class is defined), and the
service asks for the interface of the operation (:func:`interface_for`), so a
key of another usage is refused with a KMS error, never used by accident.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["BackingKey", "SealingKey", "AsymmetricEncryptionKey", "SigningKey", "MacKey",
           "KeyAgreementKey", "KemKey", "PublicKeyHolder", "interface_for"]


class BackingKey:
    """Base of the interfaces: subclasses list the methods an implementation must define."""

    __slots__ = ()
    _required: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("_interface"):
            return
        missing = [name for base in cls.__mro__ if issubclass(base, BackingKey)
                   for name in base.__dict__.get("_required", ())
                   if getattr(cls, name, None) is getattr(base, name, None)]
        if missing:
            raise TypeError(f"{cls.__name__} does not implement {sorted(set(missing))} of its "
                            f"backing-key interfaces")


class SealingKey(BackingKey):
    """A symmetric encryption backing key: seals plaintext into a ciphertext blob and opens it.

    The blob names the KMS key and the key material (see
    :mod:`kmslab.crypto.symmetric`); the encryption context is bound as
    additional authenticated data, so opening needs exactly the same context.
    """

    __slots__ = ()
    _interface = True
    _required: tuple[str, ...] = ("seal", "open")

    def seal(self, key_arn: str, material_id: str, plaintext: bytes,
             context: Mapping[str, str] | None = None) -> bytes:
        """A ciphertext blob of ``plaintext`` under this material, bound to ``context``."""
        raise NotImplementedError

    def open(self, parts, context: Mapping[str, str] | None = None) -> bytes:
        """The plaintext of a parsed blob (InvalidCiphertextException on any mismatch)."""
        raise NotImplementedError


class PublicKeyHolder(BackingKey):
    """An asymmetric backing key: its public half may be handed out (GetPublicKey)."""

    __slots__ = ()
    _interface = True
    _required: tuple[str, ...] = ("public_key_der",)

    def public_key_der(self) -> bytes:
        """The public key, DER-encoded SubjectPublicKeyInfo (what GetPublicKey returns)."""
        raise NotImplementedError


class AsymmetricEncryptionKey(PublicKeyHolder):
    """An RSA encryption backing key: RSAES-OAEP encrypt and decrypt."""

    __slots__ = ()
    _interface = True
    _required: tuple[str, ...] = ("encrypt", "decrypt")

    def encrypt(self, algorithm: str, plaintext: bytes) -> bytes:
        """RSAES-OAEP ciphertext of ``plaintext`` with ``algorithm`` (RSAES_OAEP_SHA_1/256)."""
        raise NotImplementedError

    def decrypt(self, algorithm: str, ciphertext: bytes) -> bytes:
        """The plaintext of an RSAES-OAEP ``ciphertext`` (InvalidCiphertextException otherwise)."""
        raise NotImplementedError


class SigningKey(PublicKeyHolder):
    """A signing backing key: sign a message or digest, verify a signature."""

    __slots__ = ()
    _interface = True
    _required: tuple[str, ...] = ("sign", "verify")

    def sign(self, algorithm: str, message: bytes, message_type: str = "RAW") -> bytes:
        """A signature of ``message`` (RAW, or a DIGEST that is never hashed again, or EXTERNAL_MU)."""
        raise NotImplementedError

    def verify(self, algorithm: str, message: bytes, message_type: str, signature: bytes) -> bool:
        """Whether ``signature`` is valid for ``message`` (the service raises on False, as Verify does)."""
        raise NotImplementedError


class MacKey(BackingKey):
    """An HMAC backing key: generate a MAC, verify one in constant time."""

    __slots__ = ()
    _interface = True
    _required: tuple[str, ...] = ("generate_mac", "verify_mac")

    def generate_mac(self, algorithm: str, message: bytes) -> bytes:
        """The HMAC of ``message`` with ``algorithm`` (HMAC_SHA_224 ... HMAC_SHA_512)."""
        raise NotImplementedError

    def verify_mac(self, algorithm: str, message: bytes, mac: bytes) -> bool:
        """Whether ``mac`` is the HMAC of ``message``, compared in constant time."""
        raise NotImplementedError


class KeyAgreementKey(PublicKeyHolder):
    """A key agreement backing key: the raw ECDH secret with a peer's public key."""

    __slots__ = ()
    _interface = True
    _required: tuple[str, ...] = ("derive_shared_secret",)

    def derive_shared_secret(self, algorithm: str, peer_public_key_der: bytes) -> bytes:
        """The raw ECDH shared secret with the peer's DER public key (ECDH only)."""
        raise NotImplementedError


class KemKey(PublicKeyHolder):
    """A key encapsulation backing key (ML-KEM): encapsulate and decapsulate a shared secret."""

    __slots__ = ()
    _interface = True
    _required: tuple[str, ...] = ("encapsulate", "decapsulate")

    def encapsulate(self, algorithm: str):
        """A fresh shared secret and its ML-KEM ciphertext: ``(shared_secret, ciphertext)``."""
        raise NotImplementedError

    def decapsulate(self, algorithm: str, ciphertext: bytes) -> bytes:
        """The shared secret an ML-KEM ``ciphertext`` encapsulates."""
        raise NotImplementedError


_BY_USAGE = {"SIGN_VERIFY": SigningKey, "GENERATE_VERIFY_MAC": MacKey,
             "KEY_AGREEMENT": KeyAgreementKey, "ENCAPSULATE_DECAPSULATE": KemKey}


def interface_for(usage: str, symmetric: bool) -> type[BackingKey]:
    """The interface a backing key of this KeyUsage offers (ENCRYPT_DECRYPT: by key spec)."""
    if usage == "ENCRYPT_DECRYPT":
        return SealingKey if symmetric else AsymmetricEncryptionKey
    return _BY_USAGE[usage]
