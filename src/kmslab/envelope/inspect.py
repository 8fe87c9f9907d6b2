"""Look inside a message without decrypting it: ``parse(message) -> MessageInfo``.

Everything shown is what anyone holding the message can read anyway: the
header fields, which KMS keys wrapped the data key, the frame layout. No
plaintext, data key or message key is ever shown; the encrypted data keys
appear only as their lengths.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from .format import CONTENT_TYPE_FRAMED, MAGIC, SUITE_ID, SUITE_NAME, TAG_LENGTH, parse_header
from .message import byte_view, frame_layout

__all__ = ["parse", "MessageInfo", "DataKeyInfo", "FrameInfo"]


@dataclass(frozen=True, slots=True)
class DataKeyInfo:
    """One encrypted data key: the KMS key that wrapped it and the blob's size."""

    provider_id: str
    key_arn: str
    ciphertext_length: int


@dataclass(frozen=True, slots=True)
class FrameInfo:
    """One frame: where it sits in the message and how much plaintext it carries."""

    sequence_number: int
    final: bool
    offset: int
    plaintext_length: int
    encrypted_length: int


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """The parts of an envelope message, for display (see :mod:`kmslab.envelope.format`)."""

    format_version: int
    suite_id: int
    suite_name: str
    message_id: str
    encryption_context: dict
    encrypted_data_keys: tuple
    content_type: str
    frame_length: int
    key_commitment: str
    header_length: int
    frames: tuple
    message_length: int

    @property
    def plaintext_length(self) -> int:
        return sum(f.plaintext_length for f in self.frames)

    @property
    def overhead(self) -> int:
        """Bytes the message adds to the plaintext (header and framing)."""
        return self.message_length - self.plaintext_length

    def _repr_html_(self) -> str:
        esc = html.escape

        def table(header, rows):
            head = "".join(f"<th>{esc(str(h))}</th>" for h in header)
            body = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>"
                           for row in rows)
            return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

        fields = [
            ("magic", 4, MAGIC.decode()),
            ("format version", 1, self.format_version),
            ("suite", 2, f"0x{self.suite_id:04x} {self.suite_name}"),
            ("message id", 32, self.message_id),
            ("encryption context", "var", self.encryption_context or "(none)"),
            ("encrypted data keys", "var", len(self.encrypted_data_keys)),
            ("content type", 1, self.content_type),
            ("frame length", 4, f"{self.frame_length:,} bytes"),
            ("key commitment", 32, self.key_commitment),
            ("header tag", TAG_LENGTH, "AES-GCM tag over the header"),
        ]
        edks = [(i + 1, e.provider_id, e.key_arn, f"{e.ciphertext_length} bytes")
                for i, e in enumerate(self.encrypted_data_keys)]
        shown = list(self.frames)
        if len(shown) > 12:
            shown = shown[:6] + [None] + shown[-5:]
        frames = [("...", "", "", "", "") if f is None else
                  (f.sequence_number, "final" if f.final else "regular", f.offset,
                   f.plaintext_length, f.encrypted_length) for f in shown]
        return (
            f"<div><b>kmslab envelope message</b>: {self.message_length:,} bytes "
            f"({self.plaintext_length:,} plaintext + {self.overhead:,} overhead), "
            f"header {self.header_length:,} bytes, {len(self.frames)} frame(s)"
            + table(("field", "size", "value"), fields)
            + "<b>Encrypted data keys</b>" + table(("#", "provider", "KMS key ARN", "length"), edks)
            + "<b>Frames</b>" + table(("sequence", "kind", "offset", "plaintext bytes",
                                       "bytes in message"), frames)
            + "</div>")


def parse(message: bytes) -> MessageInfo:
    """Split a message into its header fields, encrypted data keys and frames.

    Needs no KMS and decrypts nothing, so it authenticates nothing either:
    it shows what the bytes claim. Raises the same format errors as decrypt
    (:class:`UnsupportedFormatError`, :class:`TruncatedMessageError`...).
    """
    view = byte_view(message)
    header = parse_header(view)
    layout = frame_layout(view, header.length, header.frame_length)
    frames = tuple(
        FrameInfo(seq, final, offset - (12 if final else 4), length,
                  (12 if final else 4) + length + TAG_LENGTH)
        for seq, offset, length, final in layout)
    return MessageInfo(
        format_version=header.version,
        suite_id=header.suite_id,
        suite_name=SUITE_NAME if header.suite_id == SUITE_ID else "unknown",
        message_id=header.message_id.hex(),
        encryption_context=dict(header.encryption_context),
        encrypted_data_keys=tuple(DataKeyInfo(e.provider_id, e.key_arn, len(e.ciphertext))
                                  for e in header.encrypted_data_keys),
        content_type="framed" if header.content_type == CONTENT_TYPE_FRAMED else str(header.content_type),
        frame_length=header.frame_length,
        key_commitment=header.commitment.hex(),
        header_length=header.length,
        frames=frames,
        message_length=len(view),
    )
