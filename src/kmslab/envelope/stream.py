"""Encrypt and decrypt file objects frame by frame, in constant memory.

Memory stays at about two frames (1 MiB each by default) whatever the
input size: a 1 GiB file needs no 1 GiB buffer. The signature, for the
signing suite, is computed as the bytes go by. Decryption writes a frame to
the destination only after its tag verified, but the signature can only be
checked at the end: as the SDK's specification says of streamed decryption,
what the destination received is not verified until ``decrypt_stream``
returns. On any :class:`DecryptionError`, discard it.

A non-framed message (which the SDK can write, and kmslab never does) has
one tag for the whole body, so its body is read into memory first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import BinaryIO

from .errors import MalformedMessageError, TruncatedMessageError
from .format import (
    _AAD_TAIL,
    _FINAL_HEAD,
    _SINGLE_HEAD,
    _U16,
    _U32,
    CONTENT_TYPE_NON_FRAMED,
    DEFAULT_FRAME_LENGTH,
    FINAL,
    FINAL_FRAME_LABEL,
    FINAL_MARKER,
    FRAME_LABEL,
    IV_LENGTH,
    MAX_NON_FRAMED_LENGTH,
    MAX_SEQUENCE_NUMBER,
    REGULAR,
    SINGLE,
    TAG_LENGTH,
    Frame,
    IncompleteHeader,
    frame_iv,
    frame_mismatch,
    parse_header,
)
from .message import open_frame, open_message, signed_footer, start_message, verify_signature
from .signing import new_digest
from .suite import DEFAULT_ALGORITHM, Algorithm

__all__ = ["encrypt_stream", "decrypt_stream"]


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
                   algorithm: Algorithm | int | str = DEFAULT_ALGORITHM,
                   frame_length: int = DEFAULT_FRAME_LENGTH, cache=None,
                   plaintext_length: int | None = None) -> int:
    """Encrypt everything ``source`` yields into ``destination``; returns bytes written.

    Same message as :func:`encrypt`. With a ``cache``, pass ``plaintext_length``
    so the cache can apply its ``max_bytes`` limit; without it the cache is
    bypassed (as the Encryption SDK does for streams of unknown length).
    """
    aead, message_id, header, signing_key = start_message(
        kms, key_ids, encryption_context, algorithm, frame_length, cache, plaintext_length)
    digest = new_digest() if signing_key is not None else None

    def write(data) -> None:
        destination.write(data)
        if digest is not None:
            digest.update(data)

    write(header)
    written = len(header)
    current, ahead = bytearray(frame_length), bytearray(frame_length)
    out = bytearray(_FINAL_HEAD.size + frame_length + TAG_LENGTH)
    out_view = memoryview(out)
    filled = _fill(source, memoryview(current))
    seq = 1
    while True:
        ahead_filled = _fill(source, memoryview(ahead)) if filled == frame_length else 0
        iv = frame_iv(seq)
        if ahead_filled == 0:  # `current` is the last chunk: the final frame
            _FINAL_HEAD.pack_into(out, 0, FINAL_MARKER, seq, iv, filled)
            end = _FINAL_HEAD.size + filled + TAG_LENGTH
            aead.encrypt_into(iv, memoryview(current)[:filled],
                              message_id + FINAL_FRAME_LABEL + _AAD_TAIL.pack(seq, filled),
                              out_view[_FINAL_HEAD.size:end])
            write(out_view[:end])
            written += end
            if digest is not None:
                footer = signed_footer(signing_key, digest)
                destination.write(footer)
                written += len(footer)
            return written
        if seq >= MAX_SEQUENCE_NUMBER:
            raise ValueError("input too large for this frame length; use larger frames")
        _U32.pack_into(out, 0, seq)
        out[4:4 + IV_LENGTH] = iv
        end = 4 + IV_LENGTH + frame_length + TAG_LENGTH
        aead.encrypt_into(iv, current, message_id + FRAME_LABEL + _AAD_TAIL.pack(seq, frame_length),
                          out_view[4 + IV_LENGTH:end])
        write(out_view[:end])
        written += end
        current, ahead, filled, seq = ahead, current, ahead_filled, seq + 1


def decrypt_stream(kms, source: BinaryIO, destination: BinaryIO,
                   encryption_context: Mapping[str, str] | None = None, *,
                   key_ids: Sequence[str] | None = None, cache=None) -> int:
    """Decrypt a message from ``source`` into ``destination``; returns plaintext bytes written.

    Checks as :func:`decrypt` does; each frame is written only after its tag
    verified, and the signature (signing suite) is checked after the last
    frame. The source must end right after the message.
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
    aead, materials = open_message(kms, header, encryption_context, key_ids, cache)
    digest = new_digest() if header.algorithm.signed else None

    def seen(data) -> None:
        if digest is not None:
            digest.update(data)

    seen(buffer[:header.length])
    if header.content_type == CONTENT_TYPE_NON_FRAMED:
        total = _decrypt_non_framed(aead, header, read, destination, seen)
    else:
        total = _decrypt_frames(aead, header, source, read, destination, seen)
    if digest is not None:
        (length,) = _U16.unpack(read(2, "its signature"))
        signature = read(length, "its signature")
        verify_signature(materials, signature, digest)
    if source.read(1):
        raise MalformedMessageError("unexpected bytes follow the message")
    return total


def _decrypt_frames(aead, header, source, read, destination, seen) -> int:
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
        seen(prefix)
        (marker,) = _U32.unpack(prefix)
        if marker == FINAL_MARKER:
            rest = read(_FINAL_HEAD.size - 4, "its final frame")
            seen(rest)
            found, iv, length = _FINAL_HEAD.unpack(bytes(prefix) + rest)[1:]
            if found != seq:
                raise frame_mismatch(seq, found)
            if length > frame_length:
                raise MalformedMessageError(f"the final frame claims {length} bytes, more than "
                                            f"the frame length {frame_length}")
            kind = FINAL
        else:
            if marker != seq:
                raise frame_mismatch(seq, marker)
            iv, length, kind = read(IV_LENGTH, f"frame {seq}"), frame_length, REGULAR
            seen(iv)
        if _fill(source, sealed_view[:length + TAG_LENGTH]) != length + TAG_LENGTH:
            raise TruncatedMessageError(f"the message ends inside frame {seq}")
        seen(sealed_view[:length + TAG_LENGTH])
        frame = Frame(seq, 0, 0, 0, length, kind)
        try:
            open_frame(aead, message_id, frame, iv, sealed_view[:length + TAG_LENGTH],
                       opened_view[:length])
        except Exception:
            opened_view[:length] = bytes(length)  # drop unverified plaintext
            raise
        destination.write(opened_view[:length])
        total += length
        if kind == FINAL:
            return total
        seq += 1
        if seq > MAX_SEQUENCE_NUMBER:
            raise MalformedMessageError("too many frames")


def _decrypt_non_framed(aead, header, read, destination, seen) -> int:
    head = read(_SINGLE_HEAD.size, "its body")
    seen(head)
    iv, length = _SINGLE_HEAD.unpack(head)
    if length > MAX_NON_FRAMED_LENGTH:
        raise MalformedMessageError(f"the body claims {length} bytes, more than AES-GCM allows")
    sealed = read(length + TAG_LENGTH, "its body")
    seen(sealed)
    opened = bytearray(length)
    open_frame(aead, header.message_id, Frame(1, 0, 0, 0, length, SINGLE), iv, sealed, opened)
    destination.write(opened)
    return length
