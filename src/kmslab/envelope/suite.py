"""The algorithm suite: message key derivation and key commitment (HKDF-SHA512).

As in the AWS Encryption SDK's committing suites, one data key yields, per
message, an AES-256 key and a commitment value, both from HKDF-SHA512 with
the random message id as salt. One HKDF call gives 64 bytes: the first 32
are the message key, the last 32 the commitment (the SDK makes two calls
with two labels; one call is as sound and halves the cost per message). The commitment, stored in the header, pins
the message to one data key: a message cannot be crafted to decrypt to two
different plaintexts under two different data keys.
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import KeyCommitmentError
from .format import COMMITMENT_LENGTH, SUITE_ID_BYTES

__all__ = ["derive_message_key", "check_commitment"]

_INFO = SUITE_ID_BYTES + b"DERIVEKEY|COMMITKEY"


def derive_message_key(data_key: bytes, message_id: bytes) -> tuple[AESGCM, bytes]:
    """The message's AES-GCM key and its key commitment value."""
    okm = HKDF(hashes.SHA512(), 32 + COMMITMENT_LENGTH, salt=message_id,
               info=_INFO).derive(data_key)
    return AESGCM(okm[:32]), okm[32:]


def check_commitment(expected: bytes, actual: bytes) -> None:
    """Compare commitments in constant time; raise :class:`KeyCommitmentError` if they differ."""
    if not hmac.compare_digest(expected, actual):
        raise KeyCommitmentError(
            "the data key does not match the message's key commitment; "
            "nothing was decrypted")
