"""Encrypt and decrypt file objects frame by frame, in constant memory.

Memory stays at about two frames (1 MiB each by default) whatever the
input size: a 1 GiB file needs no 1 GiB buffer. Decryption writes a frame
to the destination only after its tag verified. Because frames are released
as they verify, a truncated or tampered stream is detected after the frames
before the damage were written: on any :class:`DecryptionError`, discard what
the destination received.
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Mapping, Sequence

from cryptography.exceptions import InvalidTag

from .errors import MalformedMessageError, TruncatedMessageError
from .format import (DEFAULT_FRAME_LENGTH, FINAL_MARKER, MAX_SEQUENCE_NUMBER, TAG_LENGTH,
                     IncompleteHeader, frame_aad, frame_nonce, parse_header)
from .message import frame_failed, frame_mismatch, open_message, start_message

__all__ = ["encrypt_stream", "decrypt_stream"]

_U32 = struct.Struct(">I")
_FINAL_PREFIX = struct.Struct(">III")


def _fill(source: BinaryIO, view: memoryview) -> int:
    """Read into ``view`` until it is full or the source ends; returns the bytes read."""
    filled, size = 0, len(view)
    readinto = getattr(source, "readinto", None)
    while filled < size:
        if readinto is not None:
            n = readinto(view[filled:])
        else:
            chunk = source.read(size - filled)
            n = len(chunk)
            view[filled:filled + n] = chunk
        if not n:
            break
        filled += n
    return filled


def encrypt_stream(kms, source: BinaryIO, destination: BinaryIO, key_ids: Sequence[str],
                   encryption_context: Mapping[str, str] | None = None, *,
                   frame_length: int = DEFAULT_FRAME_LENGTH, cache=None,
                   plaintext_length: int | None = None) -> int:
    """Encrypt everything ``source`` yields into ``destination``; returns bytes written.

    Same message as :func:`encrypt`. With a ``cache``, pass ``plaintext_length``
    so the cache can apply its ``max_bytes`` limit; without it the cache is
    bypassed (as the Encryption SDK does for streams of unknown length).
    """
    aead, message_id, header = start_message(kms, key_ids, encryption_context, frame_length,
                                             cache, plaintext_length)
    destination.write(header)
    written = len(header)
    current, ahead = bytearray(frame_length), bytearray(frame_length)
    out = bytearray(12 + frame_length + TAG_LENGTH)
    out_view = memoryview(out)
    filled = _fill(source, memoryview(current))
    seq = 1
    while True:
        ahead_filled = _fill(source, memoryview(ahead)) if filled == frame_length else 0
        if ahead_filled == 0:  # `current` is the last chunk: the final frame
            _FINAL_PREFIX.pack_into(out, 0, FINAL_MARKER, seq, filled)
            aead.encrypt_into(frame_nonce(seq), memoryview(current)[:filled],
                              frame_aad(message_id, True, seq, filled),
                              out_view[12:12 + filled + TAG_LENGTH])
            destination.write(out_view[:12 + filled + TAG_LENGTH])
            return written + 12 + filled + TAG_LENGTH
        if seq >= MAX_SEQUENCE_NUMBER:
            raise ValueError("input too large for this frame length; use larger frames")
        _U32.pack_into(out, 0, seq)
        aead.encrypt_into(frame_nonce(seq), current, frame_aad(message_id, False, seq, frame_length),
                          out_view[4:4 + frame_length + TAG_LENGTH])
        destination.write(out_view[:4 + frame_length + TAG_LENGTH])
        written += 4 + frame_length + TAG_LENGTH
        current, ahead, filled, seq = ahead, current, ahead_filled, seq + 1


def decrypt_stream(kms, source: BinaryIO, destination: BinaryIO,
                   encryption_context: Mapping[str, str] | None = None, *,
                   key_ids: Sequence[str] | None = None, cache=None) -> int:
    """Decrypt a message from ``source`` into ``destination``; returns plaintext bytes written.

    Checks as :func:`decrypt` does; each frame is written only after its tag
    verified. The source must end right after the final frame.
    """
    def read(n: int, where: str) -> bytes:
        chunk = bytearray(n)
        if _fill(source, memoryview(chunk)) != n:
            raise TruncatedMessageError(f"the message ends inside {where}")
        return bytes(chunk)

    buffer = b""
    while True:  # read exactly the header: grow the buffer by what the parser asks for
        try:
            header = parse_header(buffer)
            break
        except IncompleteHeader as short:
            buffer += read(short.needed - len(buffer), "its header")
    aead = open_message(kms, header, encryption_context, key_ids, cache)
    frame_length, message_id = header.frame_length, header.message_id
    sealed = bytearray(frame_length + TAG_LENGTH)
    opened = bytearray(frame_length)
    sealed_view, opened_view = memoryview(sealed), memoryview(opened)
    seq, total = 1, 0
    while True:
        prefix = bytearray(4)
        if _fill(source, memoryview(prefix)) != 4:
            raise TruncatedMessageError(f"the message ends after {seq - 1} frame(s) without a "
                                        "final frame: it was truncated")
        (marker,) = _U32.unpack(prefix)
        final = marker == FINAL_MARKER
        if final:
            found, length = struct.unpack(">II", read(8, "its final frame"))
            if found != seq:
                raise frame_mismatch(seq, found)
            if length > frame_length:
                raise MalformedMessageError(f"the final frame claims {length} bytes, more than "
                                            f"the frame length {frame_length}")
        else:
            if marker != seq:
                raise frame_mismatch(seq, marker)
            length = frame_length
        if _fill(source, sealed_view[:length + TAG_LENGTH]) != length + TAG_LENGTH:
            raise TruncatedMessageError(f"the message ends inside frame {seq}")
        try:
            aead.decrypt_into(frame_nonce(seq), sealed_view[:length + TAG_LENGTH],
                              frame_aad(message_id, final, seq, length), opened_view[:length])
        except InvalidTag:
            opened_view[:length] = bytes(length)  # drop unverified plaintext
            raise frame_failed(seq, final) from None
        destination.write(opened_view[:length])
        total += length
        if final:
            if source.read(1):
                raise MalformedMessageError("unexpected bytes follow the final frame")
            return total
        seq += 1
        if seq > MAX_SEQUENCE_NUMBER:
            raise MalformedMessageError("too many frames")
