"""Asymmetric KMS key material: RSA, ECC, Ed25519, ML-DSA and ML-KEM.

One :class:`AsymmetricMaterial` holds the private key of one asymmetric KMS
key and performs every operation AWS KMS offers on it:

==========================  =================================================
AWS operation               method
==========================  =================================================
GetPublicKey                :meth:`AsymmetricMaterial.public_key_der`
Sign / Verify               :meth:`~AsymmetricMaterial.sign` / :meth:`~AsymmetricMaterial.verify`
Encrypt / Decrypt (RSA)     :meth:`~AsymmetricMaterial.encrypt` / :meth:`~AsymmetricMaterial.decrypt`
DeriveSharedSecret (ECDH)   :meth:`~AsymmetricMaterial.derive_shared_secret`
Encapsulate / Decapsulate   :meth:`~AsymmetricMaterial.encapsulate` / :meth:`~AsymmetricMaterial.decapsulate`
ImportKeyMaterial           :meth:`AsymmetricMaterial.from_pkcs8`
GenerateDataKeyPair         :func:`generate_data_key_pair`
==========================  =================================================

The rules are AWS's (Sign and Verify API reference, "Key spec reference"):

* ``MessageType=RAW``: the message (1..4,096 bytes) is hashed with the
  algorithm's hash, as the standard signing algorithm does.
* ``MessageType=DIGEST``: the message *is* the hash; its length must equal the
  algorithm's hash length (``ValidationException``), and it is signed as is
  (``Prehashed``), so ``Sign(RAW, m)`` and ``Sign(DIGEST, sha(m))`` make
  signatures that verify against the same message.
* ``MessageType=EXTERNAL_MU``: ML-DSA only, a 64-byte mu (FIPS 204 §6.2)
  computed outside; ML-DSA refuses ``DIGEST``. RAW ML-DSA is pure ML-DSA with
  an empty context string, which is why a signature over an external mu
  equals one over the RAW message.
* RSASSA-PSS uses MGF1 with the same hash and a salt as long as the digest;
  RSAES-OAEP uses the same hash for OAEP and MGF1 and an empty label.
* ECDSA signatures are DER-encoded (RFC 3279); Ed25519 signatures are 64 bytes.
* ``ED25519_SHA_512`` needs RAW. ``ED25519_PH_SHA_512`` (HashEdDSA) needs a
  64-byte SHA-512 DIGEST; the ``cryptography`` library has no Ed25519ph, so
  kmslab refuses it with ``UnsupportedOperationException`` after checking the
  message as AWS would.
* DeriveSharedSecret returns the raw ECDH shared secret (no KDF), as AWS does.
* Decapsulate raises ``InvalidCiphertextException`` only for a ciphertext of
  the wrong length; any other ciphertext yields a pseudo-random secret
  (ML-KEM implicit rejection, FIPS 203).

An algorithm the key spec does not offer raises ``InvalidKeyUsageException``.
Whether the key's *KeyUsage* allows the operation (an RSA key is either
ENCRYPT_DECRYPT or SIGN_VERIFY) is key metadata and checked by the service.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, mlkem, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from kmslab import errors, specs
from kmslab.crypto.backing import AsymmetricEncryptionKey, KemKey, KeyAgreementKey, SigningKey
from kmslab.crypto.handle import _CONSTRUCT, OpaqueHandle, require_export_token

__all__ = [
    "AsymmetricMaterial", "Encapsulation", "generate_data_key_pair", "ASYMMETRIC_SPECS",
    "MESSAGE_TYPES", "MAX_MESSAGE_BYTES", "ML_DSA_MU_BYTES", "ML_KEM_CIPHERTEXT_BYTES",
    "BACKGROUND_SPECS", "generate_rsa_private_key", "background_generations",
]

#: largest Message Sign/Verify accept (the model's PlaintextType)
MAX_MESSAGE_BYTES = 4096
#: MessageType values (the model's MessageType enum)
MESSAGE_TYPES = ("RAW", "DIGEST", "EXTERNAL_MU")
#: length of an ML-DSA external mu (FIPS 204 §6.2)
ML_DSA_MU_BYTES = 64
#: SharedSecretCiphertextBlob length per ML-KEM key spec (FIPS 203 Table 3)
ML_KEM_CIPHERTEXT_BYTES = {"ML_KEM_768": 1088, "ML_KEM_1024": 1568}

_RSA_BITS = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
_EC_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "ECC_NIST_P256": ec.SECP256R1, "ECC_NIST_P384": ec.SECP384R1,
    "ECC_NIST_P521": ec.SECP521R1, "ECC_SECG_P256K1": ec.SECP256K1,
}
# private key classes with a generate() classmethod
_ML_DSA: dict[str, Any] = {"ML_DSA_44": mldsa.MLDSA44PrivateKey, "ML_DSA_65": mldsa.MLDSA65PrivateKey,
           "ML_DSA_87": mldsa.MLDSA87PrivateKey}
_ML_KEM: dict[str, Any] = {"ML_KEM_768": mlkem.MLKEM768PrivateKey, "ML_KEM_1024": mlkem.MLKEM1024PrivateKey}
_EDWARDS: dict[str, Any] = {"ECC_NIST_EDWARDS25519": ed25519.Ed25519PrivateKey}

#: every asymmetric KeySpec kmslab can hold material for
ASYMMETRIC_SPECS = tuple(_RSA_BITS) + tuple(_EC_CURVES) + tuple(_EDWARDS) + tuple(_ML_DSA) + tuple(_ML_KEM)

#: specs whose key generation is slow enough (a prime search: RSA-4096 takes 0.1 to
#: 1.5 s) to run in a worker thread, see :meth:`AsymmetricMaterial.generate_in_background`
BACKGROUND_SPECS = tuple(_RSA_BITS)

_keygen_pool: ThreadPoolExecutor | None = None
_keygen_pool_lock = threading.Lock()


def _keygen_executor() -> ThreadPoolExecutor:
    """Two worker threads for slow key generation (OpenSSL releases the GIL meanwhile).

    Every RSA prime search runs here, whoever asks (CreateKey, GenerateDataKeyPair,
    GetParametersForImport), so however many arrive at once they use at most two
    cores and queue for them in order. On Linux the workers run at a lower CPU
    priority (nice +10): a quick call from someone else (ListKeys, Encrypt) gets a
    core at once instead of sharing it with a prime search.
    """
    global _keygen_pool
    with _keygen_pool_lock:
        if _keygen_pool is None:
            _keygen_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kmslab-keygen",
                                              initializer=_lower_priority)
        return _keygen_pool


_background_generations = 0  # not finished yet; guarded by _keygen_pool_lock


def _count_background_generation(future: Future) -> None:
    global _background_generations
    with _keygen_pool_lock:
        _background_generations += 1
    future.add_done_callback(_background_generation_done)


def _background_generation_done(_future: Future) -> None:
    global _background_generations
    with _keygen_pool_lock:
        _background_generations -= 1


def background_generations() -> int:
    """How many keys :meth:`AsymmetricMaterial.generate_in_background` is still generating."""
    return _background_generations


def _lower_priority() -> None:
    """Lower the calling thread's CPU priority where threads have their own (Linux)."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except OSError:  # pragma: no cover - not allowed here: the priority stays as it was
            pass


def generate_rsa_private_key(bits: int) -> rsa.RSAPrivateKey:
    """A new RSA private key (e = 65537), made by the keygen workers; the caller waits for it."""
    return _keygen_executor().submit(_rsa_private_key, bits).result()


def _rsa_private_key(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _new_private_key(spec: str):
    """A new private key for ``spec``; an RSA one is made by the keygen workers."""
    if spec in _RSA_BITS:
        return generate_rsa_private_key(_RSA_BITS[spec])
    return _generate_private_key(spec)

# the hash each algorithm name ends with (SHAKE_256 for ML-DSA is internal to it)
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "SHA_1": hashes.SHA1, "SHA_256": hashes.SHA256, "SHA_384": hashes.SHA384,
    "SHA_512": hashes.SHA512}


def _algorithm_hash(algorithm: str) -> hashes.HashAlgorithm:
    """The hash an algorithm name names: RSASSA_PSS_SHA_384 -> SHA384()."""
    for suffix, hash_class in _HASHES.items():
        if algorithm.endswith(suffix):
            return hash_class()
    raise AssertionError(f"{algorithm} names no hash")  # only called for hashed algorithms


class Encapsulation(NamedTuple):
    """What Encapsulate returns: SharedSecretCiphertextBlob and SharedSecret."""

    ciphertext: bytes
    shared_secret: bytes

    def __repr__(self) -> str:  # the shared secret is secret
        return f"Encapsulation(ciphertext=<{len(self.ciphertext)} bytes>, shared_secret=<hidden>)"


def _asymmetric_spec(spec: str) -> str:
    info = specs.KEY_SPECS.get(spec)
    if info is not None and info.unsupported:
        raise errors.UnsupportedOperationException(info.unsupported)
    if spec not in ASYMMETRIC_SPECS:
        raise ValueError(f"{spec!r} is not an asymmetric key spec kmslab supports: {ASYMMETRIC_SPECS}")
    return spec


def _generate_private_key(spec: str):
    if spec in _RSA_BITS:
        return _rsa_private_key(_RSA_BITS[spec])
    if spec in _EC_CURVES:
        return ec.generate_private_key(_EC_CURVES[spec]())
    return {**_EDWARDS, **_ML_DSA, **_ML_KEM}[spec].generate()


def _spec_of_private_key(key) -> str | None:
    """The KeySpec a loaded private key belongs to, or None if no spec fits."""
    if isinstance(key, rsa.RSAPrivateKey):
        return next((s for s, bits in _RSA_BITS.items() if bits == key.key_size), None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return next((s for s, curve in _EC_CURVES.items() if isinstance(key.curve, curve)), None)
    for spec, key_class in {**_EDWARDS, **_ML_DSA, **_ML_KEM}.items():
        if isinstance(key, key_class):
            return spec
    return None


def _describe_private_key(key) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return f"an RSA {key.key_size}-bit private key"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"an elliptic curve private key on {key.curve.name}"
    return f"a {type(key).__name__.removesuffix('PrivateKey')} private key"


def _is_private_key_info(der: bytes) -> bool:
    """True if ``der`` is shaped like PKCS#8 PrivateKeyInfo (RFC 5208), not PKCS#1 or SEC1.

    PrivateKeyInfo ::= SEQUENCE { version INTEGER, privateKeyAlgorithm
    AlgorithmIdentifier (a SEQUENCE), privateKey OCTET STRING, ... }. PKCS#1
    RSAPrivateKey has an INTEGER after the version and SEC1 ECPrivateKey an
    OCTET STRING, so the tag after the version tells the formats apart.
    """
    if len(der) < 8 or der[0] != 0x30:
        return False
    position = 2 + (der[1] & 0x7F if der[1] & 0x80 else 0)  # skip SEQUENCE tag and length
    return (der[position:position + 3] in (b"\x02\x01\x00", b"\x02\x01\x01")
            and der[position + 3:position + 4] == b"\x30")


def _private_pkcs8(key) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _public_spki(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


class AsymmetricMaterial(OpaqueHandle, AsymmetricEncryptionKey, SigningKey, KeyAgreementKey,
                         KemKey):
    """The private key of one asymmetric KMS key; it never shows or hands out the key.

    Build one with :meth:`generate` (CreateKey) or :meth:`from_pkcs8`
    (ImportKeyMaterial). ``repr`` names the key spec only; pickling is refused.
    One class serves every asymmetric key spec, so it declares every asymmetric
    backing-key interface; each method refuses an algorithm its spec and usage
    do not offer.
    """

    __slots__ = ("_key", "_pending", "_public", "_public_object")

    def __init__(self, spec: str, private_key, _construct: object = None):
        super().__init__(spec, _construct)
        # ``private_key`` is a cryptography private key, or a Future of one while a
        # worker thread is still generating it (generate_in_background)
        pending = isinstance(private_key, Future)
        self._key = None if pending else private_key
        self._pending: Any = private_key if pending else None
        self._public: bytes | None = None
        self._public_object = None

    @property
    def _private_key(self):
        """The private key; waits for a background generation to finish on first use."""
        key = self._key
        if key is None:
            key = self._key = self._pending.result()
        return key

    @property
    def _public_key(self):
        """The public key object (built once: Verify, Encrypt and Encapsulate use it per call)."""
        public = self._public_object
        if public is None:
            public = self._public_object = self._private_key.public_key()
        return public

    @property
    def _public_der(self) -> bytes:
        public = self._public
        if public is None:
            public = self._public = _public_spki(self._public_key)
        return public

    def is_ready(self) -> bool:
        """True once the key exists (False only while a background generation is running)."""
        return self._key is not None or self._pending.done()

    def wait(self) -> None:
        """Block until a background generation has finished (at once if there is none).

        Raises nothing: a generation that failed fails the first use of the key.
        """
        if self._key is None:
            futures_wait((self._pending,))

    # -- construction ----------------------------------------------------------------

    @classmethod
    def generate(cls, spec: str) -> AsymmetricMaterial:
        """New key material for ``spec`` from the OS CSPRNG (CreateKey with Origin AWS_KMS)."""
        spec = _asymmetric_spec(spec)
        return cls(spec, _generate_private_key(spec), _CONSTRUCT)

    @classmethod
    def generate_in_background(cls, spec: str) -> AsymmetricMaterial:
        """New key material generated in a worker thread; the first use waits for it.

        CreateKey stays honest (a real key from the OS CSPRNG, generated at
        once) without making the caller wait for an RSA prime search: the
        handle is returned immediately and every operation that needs the key
        (sign, decrypt, the public key...) blocks until it exists. OpenSSL
        releases the GIL while it searches, so a notebook keeps running.
        """
        spec = _asymmetric_spec(spec)
        future = _keygen_executor().submit(_generate_private_key, spec)
        _count_background_generation(future)
        return cls(spec, future, _CONSTRUCT)

    @classmethod
    def from_pkcs8(cls, spec: str, der: bytes) -> AsymmetricMaterial:
        """Imported material (ImportKeyMaterial): a DER PKCS#8 private key of exactly ``spec``.

        AWS accepts asymmetric material only as the private key, DER-encoded
        PKCS#8 (it derives the public key itself). Anything else, or a private
        key of another spec, raises ``IncorrectKeyMaterialException``.
        """
        spec = _asymmetric_spec(spec)
        der = bytes(der)
        if not _is_private_key_info(der):
            raise errors.IncorrectKeyMaterialException(
                f"The key material is not a DER-encoded PKCS#8 private key. Import the private key "
                f"of a {spec} key pair in PKCS#8 format, DER-encoded (for example "
                f"openssl pkcs8 -topk8 -outform DER -nocrypt).")
        try:
            key = serialization.load_der_private_key(der, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise errors.IncorrectKeyMaterialException(
                "The key material is not a valid unencrypted PKCS#8 private key.") from None
        found = _spec_of_private_key(key)
        if found != spec:
            raise errors.IncorrectKeyMaterialException(
                f"The key material is {_describe_private_key(key)}"
                + (f" (key spec {found})" if found else "")
                + f", which does not match the KMS key's key spec {spec}.")
        return cls(spec, key, _CONSTRUCT)

    def export_private_pkcs8(self, token: object) -> bytes:
        """The private key as DER PKCS#8, for lab snapshots only (needs SNAPSHOT_EXPORT_TOKEN)."""
        require_export_token(token)
        return _private_pkcs8(self._private_key)

    # -- public facts ----------------------------------------------------------------

    def public_key_der(self) -> bytes:
        """The public key as DER SubjectPublicKeyInfo, exactly what GetPublicKey returns."""
        return self._public_der

    def material_fingerprint(self) -> str:
        """SHA-256 of the public key (64 hex chars): equal iff the same key pair.

        Lets the service tell a re-import of the same material (allowed) from
        different material (``IncorrectKeyMaterialException``).
        """
        return hashlib.sha256(self._public_der).hexdigest()

    @property
    def family(self) -> str:
        """RSA, ECC, EDWARDS, ML_DSA or ML_KEM (from the key spec table)."""
        return specs.key_spec(self._spec).family

    def algorithms(self, usage: str) -> tuple[str, ...]:
        """The algorithms this key spec offers for a KeyUsage (empty if none)."""
        return tuple(specs.key_spec(self._spec).usages.get(usage, ()))

    def _require_algorithm(self, usage: str, algorithm: str) -> None:
        if algorithm not in self.algorithms(usage):
            raise errors.InvalidKeyUsageException(
                f"Algorithm {algorithm} is incompatible with key spec {self._spec}.")

    # -- Sign / Verify ---------------------------------------------------------------

    def _signing_input(self, algorithm: str, message: bytes, message_type: str) -> bytes:
        """Validate Message and MessageType as Sign and Verify do; return the message bytes."""
        self._require_algorithm("SIGN_VERIFY", algorithm)
        message = bytes(message)
        if message_type not in MESSAGE_TYPES:
            raise errors.ValidationException(
                f"1 validation error detected: Value '{message_type}' at 'messageType' failed to "
                f"satisfy constraint: Member must satisfy enum value set: [{', '.join(MESSAGE_TYPES)}]")
        if not 1 <= len(message) <= MAX_MESSAGE_BYTES:
            raise errors.ValidationException(
                "1 validation error detected: Value at 'message' failed to satisfy constraint: "
                f"Member must have length between 1 and {MAX_MESSAGE_BYTES}")
        family = self.family
        if message_type == "EXTERNAL_MU":
            if family != "ML_DSA":
                raise errors.ValidationException(
                    f"Message type EXTERNAL_MU is incompatible with key spec {self._spec}.")
            if len(message) != ML_DSA_MU_BYTES:
                raise errors.ValidationException(
                    f"Message type EXTERNAL_MU requires a {ML_DSA_MU_BYTES}-byte message (mu); "
                    f"got {len(message)} bytes.")
        elif message_type == "DIGEST":
            if family == "ML_DSA":
                raise errors.ValidationException(
                    f"Message type DIGEST is incompatible with key spec {self._spec}.")
            if algorithm == "ED25519_SHA_512":
                raise errors.ValidationException(
                    "Message type DIGEST is incompatible with signing algorithm ED25519_SHA_512.")
            expected = _algorithm_hash(algorithm).digest_size
            if len(message) != expected:
                raise errors.ValidationException(  # AWS's words
                    f"Digest is invalid length for algorithm {algorithm}.",
                    explanation=f"A {expected}-byte digest is required; the message has "
                                f"{len(message)} bytes.")
        elif algorithm == "ED25519_PH_SHA_512":
            raise errors.ValidationException(
                "Message type RAW is incompatible with signing algorithm ED25519_PH_SHA_512.")
        if algorithm == "ED25519_PH_SHA_512":
            raise errors.UnsupportedOperationException(
                "ED25519_PH_SHA_512 (HashEdDSA, Ed25519ph) has no vetted implementation in the "
                "cryptography library, so kmslab does not simulate it. Use ED25519_SHA_512 with "
                "MessageType RAW.")
        return message

    def _rsa_padding(self, algorithm: str) -> padding.AsymmetricPadding:
        if algorithm.startswith("RSASSA_PSS_"):
            digest = _algorithm_hash(algorithm)
            return padding.PSS(mgf=padding.MGF1(_algorithm_hash(algorithm)), salt_length=digest.digest_size)
        return padding.PKCS1v15()

    def _hash_mode(self, algorithm: str, message_type: str):
        digest = _algorithm_hash(algorithm)
        return Prehashed(digest) if message_type == "DIGEST" else digest

    def sign(self, algorithm: str, message: bytes, message_type: str = "RAW") -> bytes:
        """Sign: the signature over ``message`` (RAW), its digest (DIGEST) or an ML-DSA mu.

        ``algorithm`` is a SigningAlgorithmSpec; RSA signatures are PKCS #1,
        ECDSA signatures DER, Ed25519 64 bytes, ML-DSA per FIPS 204.
        """
        message = self._signing_input(algorithm, message, message_type)
        key, family = self._private_key, self.family
        if family == "RSA":
            return key.sign(message, self._rsa_padding(algorithm), self._hash_mode(algorithm, message_type))
        if family == "ECC":
            return key.sign(message, ec.ECDSA(self._hash_mode(algorithm, message_type)))
        if family == "EDWARDS":
            return key.sign(message)
        if message_type == "EXTERNAL_MU":
            return key.sign_mu(message)
        return key.sign(message)  # pure ML-DSA, empty context

    def verify(self, algorithm: str, message: bytes, message_type: str, signature: bytes) -> bool:
        """Verify: True if ``signature`` is valid; the service turns False into KMSInvalidSignatureException.

        Verify may use a different MessageType than Sign did (RAW message vs
        its DIGEST, RAW vs EXTERNAL_MU): the signature is over the same thing.
        """
        message = self._signing_input(algorithm, message, message_type)
        public_key, family, signature = self._public_key, self.family, bytes(signature)
        try:
            if family == "RSA":
                public_key.verify(signature, message, self._rsa_padding(algorithm),
                                  self._hash_mode(algorithm, message_type))
            elif family == "ECC":
                public_key.verify(signature, message, ec.ECDSA(self._hash_mode(algorithm, message_type)))
            elif family == "EDWARDS":
                public_key.verify(signature, message)
            elif message_type == "EXTERNAL_MU":
                public_key.verify_mu(signature, message)
            else:
                public_key.verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True

    # -- Encrypt / Decrypt (RSA) -----------------------------------------------------

    def _oaep(self, algorithm: str) -> padding.OAEP:
        return padding.OAEP(mgf=padding.MGF1(_algorithm_hash(algorithm)),
                            algorithm=_algorithm_hash(algorithm), label=None)

    def max_plaintext_bytes(self, algorithm: str) -> int:
        """Largest plaintext Encrypt accepts for this RSA key spec and algorithm."""
        self._require_algorithm("ENCRYPT_DECRYPT", algorithm)
        return specs.RSA_OAEP_MAX_PLAINTEXT[self._spec][algorithm]

    def encrypt(self, algorithm: str, plaintext: bytes) -> bytes:
        """Encrypt with RSAES_OAEP_SHA_1 or RSAES_OAEP_SHA_256 (what the public key does outside too)."""
        limit = self.max_plaintext_bytes(algorithm)
        plaintext = bytes(plaintext)
        if not 1 <= len(plaintext) <= limit:
            raise errors.ValidationException(
                f"Algorithm {algorithm} and key spec {self._spec} cannot encrypt data larger than "
                f"{limit} bytes.", explanation=f"The plaintext has {len(plaintext)} bytes.")
        return self._public_key.encrypt(plaintext, self._oaep(algorithm))

    def decrypt(self, algorithm: str, ciphertext: bytes) -> bytes:
        """Decrypt RSA-OAEP ciphertext made here or outside with the public key.

        Any failure (wrong algorithm used to encrypt, other key, tampering,
        wrong length) is ``InvalidCiphertextException``, saying nothing more.
        """
        self._require_algorithm("ENCRYPT_DECRYPT", algorithm)
        try:
            return self._private_key.decrypt(bytes(ciphertext), self._oaep(algorithm))
        except ValueError:
            raise errors.InvalidCiphertextException(
                "The ciphertext is invalid for this KMS key and encryption algorithm.") from None

    # -- DeriveSharedSecret (ECDH) ---------------------------------------------------

    def derive_shared_secret(self, algorithm: str, peer_public_key_der: bytes) -> bytes:
        """DeriveSharedSecret: the raw ECDH shared secret with a peer's DER public key (no KDF).

        The peer key must be an EC SubjectPublicKeyInfo on this key's curve,
        else ``ValidationException``. Apply your own KDF to the result.
        """
        self._require_algorithm("KEY_AGREEMENT", algorithm)
        try:
            peer = serialization.load_der_public_key(bytes(peer_public_key_der))
        except (ValueError, UnsupportedAlgorithm):
            raise errors.ValidationException(
                "PublicKey is not a valid DER-encoded X.509 SubjectPublicKeyInfo (SPKI) public key.") from None
        curve = self._private_key.curve.name
        if not isinstance(peer, ec.EllipticCurvePublicKey) or peer.curve.name != curve:
            found = peer.curve.name if isinstance(peer, ec.EllipticCurvePublicKey) else type(peer).__name__
            raise errors.ValidationException(
                f"The PublicKey ({found}) is not on the curve of key spec {self._spec} ({curve}); "
                f"ECDH needs both keys on the same curve.")
        return self._private_key.exchange(ec.ECDH(), peer)

    # -- Encapsulate / Decapsulate (ML-KEM) ------------------------------------------

    def encapsulate(self, algorithm: str) -> Encapsulation:
        """Encapsulate: a fresh 32-byte shared secret and its ciphertext, from the public key."""
        self._require_algorithm("ENCAPSULATE_DECAPSULATE", algorithm)
        shared_secret, ciphertext = self._public_key.encapsulate()
        return Encapsulation(ciphertext, shared_secret)

    def decapsulate(self, algorithm: str, ciphertext: bytes) -> bytes:
        """Decapsulate: the shared secret in ``ciphertext``.

        Only a ciphertext of the wrong length is ``InvalidCiphertextException``;
        a tampered or foreign one returns an unrelated pseudo-random secret
        (implicit rejection), so both sides must confirm they agree.
        """
        self._require_algorithm("ENCAPSULATE_DECAPSULATE", algorithm)
        ciphertext = bytes(ciphertext)
        expected = ML_KEM_CIPHERTEXT_BYTES[self._spec]
        if len(ciphertext) != expected:
            raise errors.InvalidCiphertextException(
                f"An {self._spec} ciphertext is {expected} bytes long; got {len(ciphertext)} bytes.")
        return self._private_key.decapsulate(ciphertext)


def generate_data_key_pair(spec: str) -> tuple[bytes, bytes]:
    """GenerateDataKeyPair: a new key pair as (private DER PKCS#8, public DER SPKI).

    ``spec`` is a DataKeyPairSpec; kmslab supports ``specs.DATA_KEY_PAIR_SPECS``
    (SM2 and ML_KEM_512 raise ``UnsupportedOperationException``). The caller
    encrypts the private half under a symmetric KMS key.
    """
    _asymmetric_spec(spec)
    if spec not in specs.DATA_KEY_PAIR_SPECS:
        raise ValueError(f"{spec!r} is not a DataKeyPairSpec")
    private_key = _new_private_key(spec)
    return _private_pkcs8(private_key), _public_spki(private_key.public_key())
