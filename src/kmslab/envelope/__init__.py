"""Client-side envelope encryption with any boto3-shaped KMS client.

The simple path is two calls::

    message = kmslab.envelope.encrypt(kms, b"secret", [key_id], {"purpose": "demo"})
    plaintext = kmslab.envelope.decrypt(kms, message, {"purpose": "demo"})

KMS only ever sees a 32-byte data key (GenerateDataKey, plus Encrypt for
each extra key id, Decrypt to read): the data itself is encrypted locally
with AES-256-GCM, in frames, whatever its size. The design follows the AWS
Encryption SDK's default committing suite; the byte layout is written down
in :mod:`kmslab.envelope.format`, and :func:`parse` shows a message's parts.

This package uses only the KMS client's public operations, so ``kms`` may
be kmslab's client or a real ``boto3.client("kms")``.
"""

from .cache import DataKeyCache
from .errors import (ContextMismatchError, DecryptionError, EnvelopeError,
                     FrameAuthenticationError, HeaderAuthenticationError, KeyCommitmentError,
                     MalformedMessageError, NoDecryptableKeyError, TruncatedMessageError,
                     UnsupportedFormatError)
from .format import DEFAULT_FRAME_LENGTH
from .inspect import DataKeyInfo, FrameInfo, MessageInfo, parse
from .message import decrypt, encrypt
from .stream import decrypt_stream, encrypt_stream

__all__ = [
    "encrypt", "decrypt", "encrypt_stream", "decrypt_stream", "parse",
    "DataKeyCache", "MessageInfo", "DataKeyInfo", "FrameInfo", "DEFAULT_FRAME_LENGTH",
    "EnvelopeError", "DecryptionError", "ContextMismatchError", "NoDecryptableKeyError",
    "KeyCommitmentError", "HeaderAuthenticationError", "FrameAuthenticationError",
    "TruncatedMessageError", "UnsupportedFormatError", "MalformedMessageError",
]
