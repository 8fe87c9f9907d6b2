"""The signing suite's signature: ECDSA P-384 over SHA-384 of the header and body.

As the AWS Encryption SDK does it (its default CMM and message footer,
https://docs.aws.amazon.com/encryption-sdk/latest/developer-guide/message-format.html#footer-structure):

* every message (or every cached data key) gets a fresh P-384 key pair;
* the public key goes into the encryption context under the reserved name
  ``aws-crypto-public-key``, as the base64 of its compressed point. So it is
  sent to KMS with the data key and bound to the message by the header tag;
* the private key signs SHA-384 of every header and body byte, and is then
  dropped; the DER signature is the footer. The SDKs write it at a fixed
  103 bytes (using the other of the two valid values of ``s`` when the
  first encodes shorter or longer); any valid DER length verifies.

Why sign when AES-GCM already authenticates? Anyone who may call KMS Decrypt
on the data key can also encrypt new frames under it: with the unsigned
suite, every reader could forge a message. The signature restricts writing
to whoever held the private key when the message was made.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)

from .errors import MalformedMessageError, SignatureVerificationError

__all__ = ["PUBLIC_KEY_ENTRY", "SIGNATURE_LENGTH", "new_signing_key", "public_key_entry",
           "load_public_key", "new_digest", "sign", "verify"]

#: The encryption context entry holding the signing suite's public key.
PUBLIC_KEY_ENTRY = "aws-crypto-public-key"
#: Signature length the SDKs write for ECDSA P-384 (DER).
SIGNATURE_LENGTH = 103
#: The order n of the P-384 group (FIPS 186-4, D.1.2.4): (r, s) and (r, n - s) both verify.
_P384_ORDER = int("ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf"
                  "581a0db248b0a77aecec196accc52973", 16)
_CURVE = ec.SECP384R1()
_ECDSA = ec.ECDSA(Prehashed(hashes.SHA384()))


def new_signing_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-384 private key (OS randomness, inside ``cryptography``)."""
    return ec.generate_private_key(_CURVE)


def public_key_entry(private_key: ec.EllipticCurvePrivateKey) -> str:
    """The ``aws-crypto-public-key`` value: base64 of the compressed public point."""
    point = private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                  serialization.PublicFormat.CompressedPoint)
    return base64.b64encode(point).decode("ascii")


def load_public_key(entry: str) -> ec.EllipticCurvePublicKey:
    """The verification key named by an ``aws-crypto-public-key`` value."""
    try:
        point = base64.b64decode(entry.encode("ascii"), validate=True)
        return ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, point)
    except (ValueError, UnicodeEncodeError, binascii.Error):
        raise MalformedMessageError(f"the {PUBLIC_KEY_ENTRY} entry of the encryption context is "
                                    "not a base64 P-384 public key") from None


def new_digest() -> hashes.Hash:
    """A SHA-384 hash to feed every header and body byte into."""
    return hashes.Hash(hashes.SHA384())


def sign(private_key: ec.EllipticCurvePrivateKey, digest: bytes) -> bytes:
    """The footer's signature of a SHA-384 digest: DER, 103 bytes as the SDKs write it."""
    while True:
        signature = private_key.sign(digest, _ECDSA)
        if len(signature) == SIGNATURE_LENGTH:
            return signature
        r, s = decode_dss_signature(signature)
        signature = encode_dss_signature(r, _P384_ORDER - s)
        if len(signature) == SIGNATURE_LENGTH:
            return signature


def verify(public_key: ec.EllipticCurvePublicKey, signature: bytes, digest: bytes) -> None:
    """Raise :class:`SignatureVerificationError` unless ``signature`` signs ``digest``."""
    try:
        public_key.verify(signature, digest, _ECDSA)
    except InvalidSignature:
        raise SignatureVerificationError(
            "the message's signature does not verify: the message was altered, or made by "
            "someone able to decrypt its data key but not holding its signing key") from None
