"""The algorithm suite: message key derivation and key commitment (HKDF-SHA512).

As in the AWS Encryption SDK's committing suites, one data key yields, per
message, an AES-256 key and a commitment value from HKDF-SHA512, made unique
per message by the random message id. Here the message id goes into HKDF's
``info`` (the SDK uses it as the salt), so HKDF's extract step depends on the
data key alone and is done once per data key; each message then costs one
HKDF-Expand. One expand gives 64 bytes: the first 32 are the message key,
the last 32 the commitment. The commitment, stored in the header, pins the
message to one data key: a message cannot be crafted to decrypt to two
different plaintexts under two different data keys.
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from .errors import KeyCommitmentError
from .format import COMMITMENT_LENGTH, SUITE_ID_BYTES

__all__ = ["extract", "derive_message_key", "check_commitment", "INFO_LABEL"]

#: HKDF info = INFO_LABEL + message id
INFO_LABEL = SUITE_ID_BYTES + b"DERIVEKEY|COMMITKEY"
_SHA512 = hashes.SHA512()


def extract(data_key: bytes) -> bytes:
    """HKDF-Extract(salt = none, IKM = data key): the pseudorandom key reused per message."""
    return HKDF.extract(_SHA512, None, data_key)


def derive_message_key(prk: bytes, message_id: bytes) -> tuple[AESGCM, bytes]:
    """HKDF-Expand(prk, info = label + message id, 64): the message's AES-GCM key and
    its key commitment value."""
    okm = HKDFExpand(_SHA512, 32 + COMMITMENT_LENGTH, info=INFO_LABEL + message_id).derive(prk)
    return AESGCM(okm[:32]), okm[32:]


def check_commitment(expected: bytes, actual: bytes) -> None:
    """Compare commitments in constant time; raise :class:`KeyCommitmentError` if they differ."""
    if not hmac.compare_digest(expected, actual):
        raise KeyCommitmentError(
            "the data key does not match the message's key commitment; "
            "nothing was decrypted")
