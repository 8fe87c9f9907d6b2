"""Certificates the simulated world needs: a CloudHSM cluster's self-signed issuing CA.

(Certificates a learner builds on purpose, signed by KMS keys, live in
:mod:`kmslab.pki`.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["self_signed_ca_certificate"]


def self_signed_ca_certificate(common_name: str, now: datetime, *, organization: str = "Example Corp",
                               valid_days: int = 3650) -> str:
    """A self-signed CA certificate (ECDSA P-256, SHA-256) as PEM; its private key is dropped."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
