"""Certificates whose issuers keep their private keys in KMS: a small PKI on kmslab keys.

A certificate authority signs certificates; when its private key lives in
KMS it never leaves: the CA asks KMS to ``Sign`` the SHA-2 digest of each
certificate's *to-be-signed* part (``MessageType="DIGEST"``) and assembles the
certificate around the returned signature. Works with a kmslab client or a
real boto3 KMS client alike.

    >>> root = pki.KmsCertificateAuthority(kms, root_key_id, "Example Root CA")
    >>> root_cert = root.self_signed(days=3650)
    >>> inter = pki.KmsCertificateAuthority(kms, inter_key_id, "Example Issuing CA")
    >>> inter_cert = root.issue_ca(inter, days=1825)
    >>> leaf = inter.issue(leaf_public_key, "www.example.com", dns_names=["www.example.com"])
    >>> pki.verify_chain(leaf, [inter_cert], root_cert, "www.example.com", at=lab.clock.now())

How the signature gets in (cryptography has no API for an external signer):
``cryptography.x509.CertificateBuilder`` builds and DER-encodes the
certificate, signed once with a *throwaway* key of the same algorithm, so
that the to-be-signed bytes (``tbs_certificate_bytes``) name the right
signature algorithm. Those exact bytes are hashed and signed by KMS, and the
final certificate is ``SEQUENCE { tbsCertificate, signatureAlgorithm,
BIT STRING signature }`` (RFC 5280 section 4.1): the two first parts are
copied byte for byte from the throwaway certificate, only the signature is
new. The three DER headers involved are written by :func:`_der`; everything
else is cryptography's encoding, and cryptography parses and verifies the
result (``verify_directly_issued_by`` and ``x509.verification``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["KmsCertificateAuthority", "KmsSigner", "sign_certificate", "verify_chain",
           "describe_certificate", "name"]

_SignatureHash = hashes.SHA256 | hashes.SHA384 | hashes.SHA512
_HASHES: dict[str, Callable[[], _SignatureHash]] = {
    "256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def name(common_name: str, organization: str | None = "Example Corp") -> x509.Name:
    """An X.509 distinguished name: CN (and O)."""
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attrs)


@dataclass
class KmsSigner:
    """An asymmetric SIGN_VERIFY KMS key used as a certificate signing key."""

    kms: Any  # a boto3-shaped KMS client
    key_id: str
    # None: the key's first X.509-compatible algorithm, chosen in __post_init__
    signing_algorithm: str = None  # type: ignore[assignment]

    def __post_init__(self):
        out = self.kms.get_public_key(KeyId=self.key_id)
        if out.get("KeyUsage") != "SIGN_VERIFY":
            raise ValueError(f"{self.key_id} is not a signing key (KeyUsage {out.get('KeyUsage')})")
        self.public_key = serialization.load_der_public_key(out["PublicKey"])
        self.key_arn = out["KeyId"]
        supported = out.get("SigningAlgorithms") or []
        if self.signing_algorithm is None:
            preferred = [a for a in supported if a.startswith(("ECDSA_", "RSASSA_PKCS1_V1_5_"))]
            if not preferred:
                raise ValueError(f"{self.key_id} has no X.509-compatible signing algorithm here "
                                 f"({', '.join(supported)}); use an RSA or NIST ECC key")
            self.signing_algorithm = preferred[0]
        elif self.signing_algorithm not in supported:
            raise ValueError(f"{self.signing_algorithm} is not one of {supported}")

    @property
    def hash_algorithm(self) -> _SignatureHash:
        """The hash the signing algorithm uses (SHA-256, -384 or -512), as ``cryptography`` names it."""
        return _HASHES[self.signing_algorithm[-3:]]()

    def sign_digest(self, digest: bytes) -> bytes:
        """KMS Sign with MessageType DIGEST: the private key never leaves KMS."""
        return self.kms.sign(KeyId=self.key_id, Message=digest, MessageType="DIGEST",
                             SigningAlgorithm=self.signing_algorithm)["Signature"]


@functools.cache
def _throwaway_rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _throwaway_key(signer: KmsSigner):
    """A key of the signer's algorithm, only to make cryptography encode the TBS bytes."""
    if signer.signing_algorithm.startswith("ECDSA_"):
        return ec.generate_private_key(ec.SECP256R1())
    return _throwaway_rsa()


def _der(tag: int, content: bytes) -> bytes:
    """One DER TLV (definite length) - the only encoding this module writes itself."""
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def _tlv_end(data: bytes, offset: int) -> int:
    """Where the DER element starting at ``offset`` ends."""
    first = data[offset + 1]
    if first < 0x80:
        return offset + 2 + first
    k = first & 0x7F
    return offset + 2 + k + int.from_bytes(data[offset + 2:offset + 2 + k], "big")


def sign_certificate(builder: x509.CertificateBuilder, signer: KmsSigner) -> x509.Certificate:
    """Finish ``builder`` with a signature made by KMS (see the module docstring)."""
    algorithm = signer.signing_algorithm
    pad: padding.PSS | padding.PKCS1v15 | None = None
    if algorithm.startswith("RSASSA_PSS_"):
        pad = padding.PSS(mgf=padding.MGF1(signer.hash_algorithm),
                          salt_length=padding.PSS.DIGEST_LENGTH)
    elif algorithm.startswith("RSASSA_PKCS1_V1_5_"):
        pad = padding.PKCS1v15()
    draft = builder.sign(_throwaway_key(signer), signer.hash_algorithm, rsa_padding=pad)
    tbs = draft.tbs_certificate_bytes
    der = draft.public_bytes(serialization.Encoding.DER)
    start = der.index(tbs)  # right after the outer SEQUENCE header
    alg_start = start + len(tbs)
    alg_id = der[alg_start:_tlv_end(der, alg_start)]
    digest = hashes.Hash(signer.hash_algorithm)
    digest.update(tbs)
    signature = signer.sign_digest(digest.finalize())
    final = _der(0x30, tbs + alg_id + _der(0x03, b"\x00" + signature))
    return x509.load_der_x509_certificate(final)


class KmsCertificateAuthority:
    """A certificate authority whose signing key is a KMS key."""

    def __init__(self, kms, key_id: str, common_name: str, *, organization: str = "Example Corp",
                 signing_algorithm: str | None = None):
        self.signer = KmsSigner(kms, key_id, signing_algorithm)  # type: ignore[arg-type]
        self.name = name(common_name, organization)
        self.certificate: x509.Certificate | None = None
        self._kms = kms

    def __repr__(self) -> str:
        return f"<KmsCertificateAuthority {self.name.rfc4514_string()} key {self.signer.key_arn}>"

    @property
    def public_key(self):
        """The CA's public key (its KMS key's public half), which verifies what the CA signs."""
        return self.signer.public_key

    def _now(self, at: datetime | None) -> datetime:
        if at is not None:
            return at
        lab = getattr(self._kms, "lab", None)
        return lab.clock.now() if lab is not None else datetime.now(UTC)

    def _builder(self, subject: x509.Name, public_key, days: int, at: datetime | None,
                 serial: int | None) -> x509.CertificateBuilder:
        now = self._now(at)
        return (x509.CertificateBuilder()
                .subject_name(subject).issuer_name(self.name).public_key(public_key)
                .serial_number(serial or x509.random_serial_number())
                .not_valid_before(now - timedelta(minutes=5))
                .not_valid_after(now + timedelta(days=days))
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.public_key),
                               critical=False))

    @staticmethod
    def _ca_extensions(builder, path_length: int | None):
        return (builder
                .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, key_cert_sign=True, crl_sign=True,
                                             encipher_only=False, decipher_only=False), critical=True))

    def self_signed(self, *, days: int = 3650, path_length: int | None = 1,
                    at: datetime | None = None, serial: int | None = None) -> x509.Certificate:
        """The root CA's self-signed certificate (the trust anchor)."""
        builder = self._ca_extensions(self._builder(self.name, self.public_key, days, at, serial),
                                      path_length)
        self.certificate = sign_certificate(builder, self.signer)
        return self.certificate

    def issue_ca(self, subordinate: KmsCertificateAuthority, *, days: int = 1825,
                 path_length: int | None = 0, at: datetime | None = None,
                 serial: int | None = None) -> x509.Certificate:
        """Certify a subordinate (intermediate) CA whose key is another KMS key."""
        builder = self._ca_extensions(
            self._builder(subordinate.name, subordinate.public_key, days, at, serial), path_length)
        subordinate.certificate = sign_certificate(builder, self.signer)
        return subordinate.certificate

    def issue(self, public_key, common_name: str, *, dns_names: Sequence[str] = (), days: int = 397,
              at: datetime | None = None, serial: int | None = None,
              organization: str = "Example Corp") -> x509.Certificate:
        """An end-entity (leaf) certificate for ``public_key`` (a TLS server certificate)."""
        if isinstance(public_key, bytes):
            public_key = serialization.load_der_public_key(public_key)
        builder = self._builder(name(common_name, organization), public_key, days, at, serial)
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                        critical=True)
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False,
            key_encipherment=isinstance(public_key, rsa.RSAPublicKey), data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False,
            decipher_only=False), critical=True)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                        critical=False)
        if dns_names:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(d) for d in dns_names]), critical=False)
        return sign_certificate(builder, self.signer)


def verify_chain(leaf: x509.Certificate, intermediates: list[x509.Certificate],
                 root: x509.Certificate, dns_name: str, *, at: datetime) -> list[x509.Certificate]:
    """Verify leaf -> intermediates -> root with cryptography's RFC 5280 path validation.

    Returns the validated chain (leaf first); raises
    ``cryptography.x509.verification.VerificationError`` if it does not hold.
    """
    from cryptography.x509 import verification
    store = verification.Store([root])
    verifier = (verification.PolicyBuilder().store(store).time(at)
                .build_server_verifier(x509.DNSName(dns_name)))
    return verifier.verify(leaf, intermediates)


def describe_certificate(cert: x509.Certificate) -> dict:
    """A learner's view of a certificate (deterministic fields only; no serial, no dates)."""
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = basic.ca
    except x509.ExtensionNotFound:
        is_ca = False
    pub = cert.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        key = f"RSA {pub.key_size}"
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        key = f"EC {pub.curve.name}"
    else:
        key = type(pub).__name__
    return {"subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(),
            "is CA": is_ca, "public key": key,
            "signature algorithm": cert.signature_algorithm_oid._name,
            "self-signed": cert.subject == cert.issuer}
