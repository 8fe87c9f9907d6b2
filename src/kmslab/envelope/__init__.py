"""Client-side envelope encryption with any boto3-shaped KMS client, in the AWS Encryption SDK's format.

The simple path is two calls::

    message = kmslab.envelope.encrypt(kms, b"secret", [key_id], {"purpose": "demo"})
    plaintext = kmslab.envelope.decrypt(kms, message, {"purpose": "demo"})

KMS only ever sees a 32-byte data key (GenerateDataKey, plus Encrypt for
each extra key id, Decrypt to read): the data itself is encrypted locally
with AES-256-GCM, in frames, whatever its size. Messages are AWS Encryption
SDK messages (format version 2): the SDK decrypts kmslab's messages with its
KMS master key provider or keyring, and kmslab decrypts the SDK's. The byte
layout is written down in :mod:`kmslab.envelope.format`, and :func:`parse`
shows a message's parts.

The default algorithm suite is the SDK's default,
``AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384``: key commitment and an
ECDSA P-384 signature, so that those who may decrypt cannot forge. Pass
``algorithm=Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY`` for the suite
without a signature (smaller and faster, for when readers and writers are
the same people).

This package uses only the KMS client's public operations, so ``kms`` may
be kmslab's client or a real ``boto3.client("kms")``.
"""

from .cache import DataKeyCache
from .errors import (
    ContextMismatchError,
    DecryptionError,
    EnvelopeError,
    FrameAuthenticationError,
    HeaderAuthenticationError,
    KeyCommitmentError,
    MalformedMessageError,
    NoDecryptableKeyError,
    SignatureVerificationError,
    TruncatedMessageError,
    UnsupportedFormatError,
)
from .format import DEFAULT_FRAME_LENGTH
from .inspect import DataKeyInfo, FrameInfo, MessageInfo, parse
from .message import decrypt, encrypt
from .signing import PUBLIC_KEY_ENTRY
from .stream import decrypt_stream, encrypt_stream
from .suite import DEFAULT_ALGORITHM, Algorithm

__all__ = [
    "encrypt", "decrypt", "encrypt_stream", "decrypt_stream", "parse",
    "Algorithm", "DEFAULT_ALGORITHM", "PUBLIC_KEY_ENTRY",
    "DataKeyCache", "MessageInfo", "DataKeyInfo", "FrameInfo", "DEFAULT_FRAME_LENGTH",
    "EnvelopeError", "DecryptionError", "ContextMismatchError", "NoDecryptableKeyError",
    "KeyCommitmentError", "HeaderAuthenticationError", "FrameAuthenticationError",
    "SignatureVerificationError", "TruncatedMessageError", "UnsupportedFormatError",
    "MalformedMessageError",
]
