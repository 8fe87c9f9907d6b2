"""Envelope errors: one root, specific leaves (as the AWS Encryption SDK does).

Errors from the KMS client itself (``ThrottlingException``, ``DisabledException``,
``AccessDeniedException``...) are not wrapped when encrypting: they reach the
caller exactly as the client raised them. When decrypting, a KMS refusal for
one encrypted data key only means "try the next one"; if none can be
decrypted, :class:`NoDecryptableKeyError` lists what KMS said for each.
"""

from __future__ import annotations

__all__ = [
    "EnvelopeError",
    "UnsupportedFormatError",
    "MalformedMessageError",
    "DecryptionError",
    "ContextMismatchError",
    "NoDecryptableKeyError",
    "KeyCommitmentError",
    "HeaderAuthenticationError",
    "FrameAuthenticationError",
    "TruncatedMessageError",
    "SignatureVerificationError",
]


class EnvelopeError(Exception):
    """Root of every error raised by :mod:`kmslab.envelope`."""


class UnsupportedFormatError(EnvelopeError):
    """The bytes are not a message in a format version or suite this library reads."""


class MalformedMessageError(EnvelopeError):
    """The message's structure is inconsistent (bad lengths, trailing bytes...)."""


class DecryptionError(EnvelopeError):
    """The message cannot be decrypted; nothing of its plaintext was released."""


class ContextMismatchError(DecryptionError):
    """The encryption context given to decrypt differs from the one bound in the message."""


class NoDecryptableKeyError(DecryptionError):
    """No encrypted data key in the message could be decrypted with KMS.

    ``attempts`` lists ``(key_arn, error)`` for every data key that was tried;
    ``error`` is the exception the KMS client raised.
    """

    def __init__(self, message: str, attempts: list[tuple[str, BaseException]] | None = None):
        super().__init__(message)
        self.attempts = list(attempts or [])


class KeyCommitmentError(DecryptionError):
    """The data key does not match the key commitment stored in the header."""


class HeaderAuthenticationError(DecryptionError):
    """The header's authentication tag does not verify: the header was altered."""


class FrameAuthenticationError(DecryptionError):
    """A frame failed authentication, or frames are missing, reordered or duplicated."""


class TruncatedMessageError(DecryptionError):
    """The message ends before its final frame or its signature: it was cut short."""


class SignatureVerificationError(DecryptionError):
    """The ECDSA signature in the footer does not verify (signing suite only).

    Every frame decrypted, so the message was made with the right data key,
    but not by the holder of the signing key whose public half the header
    names: it was altered or forged by someone able to decrypt the data key.
    """
