"""Look inside a message without decrypting it: ``parse(message) -> MessageInfo``.

Everything shown is what anyone holding the message can read anyway: the
header fields, which KMS keys wrapped the data key, the frame layout, the
signature's size. No plaintext, data key or message key is ever shown; the
encrypted data keys appear only as their lengths.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from .format import CONTENT_TYPE_FRAMED, REGULAR, TAG_LENGTH, body_layout, parse_header, read_footer
from .message import byte_view
from .signing import PUBLIC_KEY_ENTRY

__all__ = ["parse", "MessageInfo", "DataKeyInfo", "FrameInfo"]


@dataclass(frozen=True, slots=True)
class DataKeyInfo:
    """One encrypted data key: who wrapped it (for ``aws-kms``, the KMS key ARN) and its size.

    ``ciphertext`` is the encrypted data key itself (the ``CiphertextBlob`` KMS
    returned): not secret, but not shown either.
    """

    provider_id: str
    key_arn: str
    ciphertext_length: int
    ciphertext: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class FrameInfo:
    """One frame: where it sits in the message and how much plaintext it carries.

    ``kind`` is ``"regular"``, ``"final"`` or ``"single"`` (a non-framed body).
    """

    sequence_number: int
    final: bool
    offset: int
    plaintext_length: int
    encrypted_length: int
    kind: str = "regular"


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """The parts of an AWS Encryption SDK message, for display (see :mod:`kmslab.envelope.format`)."""

    format_version: int
    suite_id: int
    suite_name: str
    signed: bool
    message_id: str
    encryption_context: dict
    encrypted_data_keys: tuple
    content_type: str
    frame_length: int
    key_commitment: str
    header_length: int
    frames: tuple
    signature_length: int
    message_length: int

    @property
    def plaintext_length(self) -> int:
        """Plaintext bytes in the whole message: the frames' contents added up."""
        return sum(f.plaintext_length for f in self.frames)

    @property
    def footer_length(self) -> int:
        """Bytes of the footer: signature length (2) and signature; 0 without a signature."""
        return 2 + self.signature_length if self.signed else 0

    @property
    def overhead(self) -> int:
        """Bytes the message adds to the plaintext (header, framing, signature)."""
        return self.message_length - self.plaintext_length

    def _repr_html_(self) -> str:
        esc = html.escape

        def table(header, rows):
            head = "".join(f"<th>{esc(str(h))}</th>" for h in header)
            body = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>"
                           for row in rows)
            return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

        context = ", ".join(f"{k}={v}" for k, v in self.encryption_context.items()) or "(none)"
        fields = [
            ("version", 1, self.format_version),
            ("algorithm suite id", 2, f"0x{self.suite_id:04x} {self.suite_name}"),
            ("message id", 32, self.message_id),
            ("AAD (encryption context)", "2 + var", context),
            ("encrypted data keys", "2 + var", len(self.encrypted_data_keys)),
            ("content type", 1, self.content_type),
            ("frame length", 4, f"{self.frame_length:,} bytes"),
            ("algorithm suite data: key commitment", 32, self.key_commitment),
            ("header auth tag", TAG_LENGTH, "AES-GCM tag over the header"),
        ]
        edks = [(i + 1, e.provider_id, e.key_arn, f"{e.ciphertext_length} bytes")
                for i, e in enumerate(self.encrypted_data_keys)]
        shown = list(self.frames)
        if len(shown) > 12:
            shown = shown[:6] + [None] + shown[-5:]
        frames = [("...", "", "", "", "") if f is None else
                  (f.sequence_number, f.kind, f.offset, f.plaintext_length, f.encrypted_length)
                  for f in shown]
        footer = (f"ECDSA P-384 signature ({self.signature_length} bytes, DER) of SHA-384 over "
                  f"the header and body; public key in the context's {PUBLIC_KEY_ENTRY}"
                  if self.signed else "none: this suite does not sign")
        return (
            f"<div><b>AWS Encryption SDK message</b>: {self.message_length:,} bytes "
            f"({self.plaintext_length:,} plaintext + {self.overhead:,} overhead), "
            f"header {self.header_length:,} bytes, {len(self.frames)} frame(s), "
            f"footer {self.footer_length} bytes"
            + table(("field", "bytes", "value"), fields)
            + "<b>Encrypted data keys</b>" + table(("#", "provider", "provider info (KMS key ARN)",
                                                    "length"), edks)
            + "<b>Frames</b>" + table(("sequence", "kind", "offset", "plaintext bytes",
                                       "bytes in message"), frames)
            + f"<b>Footer</b>: {esc(footer)}"
            + "</div>")


def parse(message: bytes) -> MessageInfo:
    """Split a message into its header fields, encrypted data keys, frames and footer.

    Works on any AWS Encryption SDK message of format version 2 (kmslab's or
    the SDK's). Needs no KMS and decrypts nothing, so it authenticates
    nothing either: it shows what the bytes claim. Raises the same format
    errors as decrypt (:class:`UnsupportedFormatError`, :class:`TruncatedMessageError`...).
    """
    view = byte_view(message)
    header = parse_header(view)
    layout, body_end = body_layout(view, header)
    signature = read_footer(view, body_end, header.algorithm)
    frames = tuple(FrameInfo(f.sequence_number, f.kind != REGULAR, f.start, f.length,
                             f.end - f.start, f.kind) for f in layout)
    return MessageInfo(
        format_version=header.version,
        suite_id=header.suite_id,
        suite_name=header.algorithm.name,
        signed=header.algorithm.signed,
        message_id=header.message_id.hex(),
        encryption_context=dict(header.encryption_context),
        encrypted_data_keys=tuple(DataKeyInfo(e.provider_id, e.key_arn, len(e.ciphertext),
                                              e.ciphertext)
                                  for e in header.encrypted_data_keys),
        content_type="framed" if header.content_type == CONTENT_TYPE_FRAMED else "non-framed",
        frame_length=header.frame_length,
        key_commitment=header.commitment.hex(),
        header_length=header.length,
        frames=frames,
        signature_length=len(signature) if signature is not None else 0,
        message_length=len(view),
    )
