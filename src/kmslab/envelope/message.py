"""Encrypt and decrypt whole messages in memory (the simple path: two calls).

``encrypt`` asks KMS for a data key (GenerateDataKey, plus Encrypt for every
extra key id), derives this message's key, writes the header and the frames
into one preallocated buffer. ``decrypt`` reads the header, checks the
encryption context, asks KMS to decrypt one encrypted data key, checks the
key commitment and the header tag, then every frame's tag; it returns
plaintext only when all of it verified. The byte layout is in
:mod:`kmslab.envelope.format`.
"""

from __future__ import annotations

import os
import struct
from typing import Mapping, Sequence

from cryptography.exceptions import InvalidTag

from .errors import (ContextMismatchError, FrameAuthenticationError, HeaderAuthenticationError,
                     MalformedMessageError, TruncatedMessageError)
from .format import (DEFAULT_FRAME_LENGTH, FINAL_FRAME_OVERHEAD, FINAL_MARKER, HEADER_NONCE,
                     MAX_FRAME_LENGTH, MAX_SEQUENCE_NUMBER, MESSAGE_ID_LENGTH,
                     REGULAR_FRAME_OVERHEAD, TAG_LENGTH, Header, frame_aad, frame_nonce,
                     header_body, parse_header, serialize_context)
from .materials import decrypt_data_key, encryption_materials
from .suite import check_commitment, derive_message_key, extract

__all__ = ["encrypt", "decrypt"]

_U32 = struct.Struct(">I")
_FINAL_PREFIX = struct.Struct(">III")


def byte_view(data) -> memoryview:
    view = memoryview(data)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def _check_frame_length(frame_length: int) -> None:
    if not isinstance(frame_length, int) or not 1 <= frame_length <= MAX_FRAME_LENGTH:
        raise ValueError(f"frame_length must be an int from 1 to {MAX_FRAME_LENGTH}")


def start_message(kms, key_ids: Sequence[str], encryption_context: Mapping[str, str] | None,
                  frame_length: int, cache, plaintext_length: int | None):
    """Get materials and build the header: returns (aead, message id, header bytes)."""
    if isinstance(key_ids, str):
        raise TypeError("key_ids must be a list of key ids, e.g. [key_id], not a string")
    key_ids = list(key_ids)
    if not key_ids:
        raise ValueError("key_ids must name at least one KMS key")
    _check_frame_length(frame_length)
    context = dict(encryption_context or {})
    context_bytes = serialize_context(context)
    cache_key = (tuple(key_ids), context_bytes)
    materials = encryption_materials(kms, key_ids, context, cache, cache_key, plaintext_length)
    message_id = os.urandom(MESSAGE_ID_LENGTH)
    aead, commitment = derive_message_key(materials.prk, message_id)
    body = header_body(message_id, context_bytes, materials.edk_bytes, frame_length, commitment)
    return aead, message_id, body + aead.encrypt(HEADER_NONCE, b"", body)


def frame_split(plaintext_length: int, frame_length: int) -> tuple[int, int]:
    """(number of regular frames, final frame's content length) for a plaintext.

    The final frame holds the last 0..frame_length bytes: a plaintext that is an
    exact multiple of the frame length ends with a full final frame.
    """
    regular = (plaintext_length - 1) // frame_length if plaintext_length else 0
    return regular, plaintext_length - regular * frame_length


def encrypt(kms, plaintext: bytes, key_ids: Sequence[str],
            encryption_context: Mapping[str, str] | None = None, *,
            frame_length: int = DEFAULT_FRAME_LENGTH, cache=None) -> bytearray:
    """Encrypt ``plaintext`` under a fresh (or cached) data key; returns the message.

    The message is returned in the buffer it was written into (a bytearray,
    usable wherever bytes are), saving a copy of a large message.
    ``kms`` is any boto3-shaped KMS client. The data key comes from
    GenerateDataKey under ``key_ids[0]`` and is wrapped with Encrypt under each
    other key id: any one of them can decrypt. ``encryption_context`` is bound
    to the message (and sent to KMS). ``cache`` is a :class:`DataKeyCache`.
    KMS errors reach the caller unchanged.
    """
    view = byte_view(plaintext)
    size = len(view)
    aead, message_id, header = start_message(kms, key_ids, encryption_context, frame_length,
                                             cache, size)
    regular, final_length = frame_split(size, frame_length)
    if regular + 1 > MAX_SEQUENCE_NUMBER:
        raise ValueError("plaintext too large for this frame length; use larger frames")
    step = frame_length + REGULAR_FRAME_OVERHEAD
    out = bytearray(len(header) + regular * step + FINAL_FRAME_OVERHEAD + final_length)
    out[:len(header)] = header
    out_view = memoryview(out)
    pos, start = len(header), 0
    encrypt_into = aead.encrypt_into
    for seq in range(1, regular + 1):
        _U32.pack_into(out, pos, seq)
        encrypt_into(frame_nonce(seq), view[start:start + frame_length],
                     frame_aad(message_id, False, seq, frame_length),
                     out_view[pos + 4:pos + step])
        pos += step
        start += frame_length
    seq = regular + 1
    _FINAL_PREFIX.pack_into(out, pos, FINAL_MARKER, seq, final_length)
    encrypt_into(frame_nonce(seq), view[start:], frame_aad(message_id, True, seq, final_length),
                 out_view[pos + 12:])
    return out


def check_context(header: Header, expected: Mapping[str, str] | None) -> None:
    """Raise :class:`ContextMismatchError` unless ``expected`` equals the bound context."""
    if expected is None:
        return
    expected = dict(expected)
    bound = header.encryption_context
    if expected == bound:
        return
    missing = sorted(set(bound) - set(expected))
    extra = sorted(set(expected) - set(bound))
    different = sorted(k for k in set(bound) & set(expected) if bound[k] != expected[k])
    parts = [f"{label}: {', '.join(keys)}" for label, keys in
             (("keys in the message but not given", missing), ("keys given but not in the message", extra),
              ("keys with different values", different)) if keys]
    raise ContextMismatchError("the encryption context does not match the one bound in the "
                               "message (" + "; ".join(parts) + ")")


def open_message(kms, header: Header, encryption_context, key_ids, cache):
    """Check context, get the data key, check commitment and header tag: returns the AEAD."""
    check_context(header, encryption_context)
    if isinstance(key_ids, str):
        raise TypeError("key_ids must be a list of key ids, not a string")
    key_filter = tuple(key_ids) if key_ids is not None else None
    cache_key = (header.context_and_keys, key_filter)
    prk = cache.take_for_decrypt(cache_key) if cache is not None else None
    fresh = prk is None
    if fresh:
        prk = extract(decrypt_data_key(kms, header.encrypted_data_keys,
                                       header.encryption_context, key_filter))
    aead, commitment = derive_message_key(prk, header.message_id)
    check_commitment(header.commitment, commitment)
    try:
        aead.decrypt(HEADER_NONCE, header.tag, header.body)
    except InvalidTag:
        raise HeaderAuthenticationError("the header failed authentication: it was altered "
                                        "after encryption") from None
    if fresh and cache is not None:
        cache.put_for_decrypt(cache_key, prk)
    return aead


def frame_mismatch(expected: int, found: int) -> FrameAuthenticationError:
    return FrameAuthenticationError(
        f"expected frame {expected}, found frame {found}: frames are missing, "
        "reordered or duplicated")


def frame_failed(seq: int, final: bool) -> FrameAuthenticationError:
    kind = "final frame" if final else "frame"
    return FrameAuthenticationError(f"{kind} {seq} failed authentication: the message was "
                                    "altered (no plaintext was released)")


def frame_layout(view: memoryview, pos: int, frame_length: int) -> list[tuple[int, int, int, bool]]:
    """Walk the frames without decrypting: [(sequence, ciphertext offset, length, final)]."""
    frames, seq, size = [], 1, len(view)
    while True:
        if pos + 4 > size:
            raise TruncatedMessageError(f"the message ends after {seq - 1} frame(s) without a "
                                        "final frame: it was truncated")
        (marker,) = _U32.unpack_from(view, pos)
        if marker == FINAL_MARKER:
            if pos + 12 > size:
                raise TruncatedMessageError("the message ends inside its final frame")
            _, found, length = _FINAL_PREFIX.unpack_from(view, pos)
            if found != seq:
                raise frame_mismatch(seq, found)
            if length > frame_length:
                raise MalformedMessageError(f"the final frame claims {length} bytes, more than "
                                            f"the frame length {frame_length}")
            end = pos + 12 + length + TAG_LENGTH
            if end > size:
                raise TruncatedMessageError("the message ends inside its final frame")
            frames.append((seq, pos + 12, length, True))
            if end != size:
                raise MalformedMessageError(f"{size - end} unexpected bytes follow the final frame")
            return frames
        if marker != seq:
            raise frame_mismatch(seq, marker)
        end = pos + 4 + frame_length + TAG_LENGTH
        if end > size:
            raise TruncatedMessageError(f"the message ends inside frame {seq}")
        frames.append((seq, pos + 4, frame_length, False))
        pos, seq = end, seq + 1
        if seq > MAX_SEQUENCE_NUMBER:
            raise MalformedMessageError("too many frames")


def decrypt(kms, message: bytes, encryption_context: Mapping[str, str] | None = None, *,
            key_ids: Sequence[str] | None = None, cache=None) -> bytearray:
    """Decrypt a message made by :func:`encrypt`; returns the plaintext (a bytearray).

    ``encryption_context``, when given, must equal the context bound in the
    message exactly (else :class:`ContextMismatchError`, before any KMS call).
    ``key_ids``, when given, limits which KMS keys are asked to decrypt the
    data key (key ARNs, key ids or aliases). Every tag is verified before any
    plaintext is returned; failures raise a :class:`DecryptionError` leaf.
    """
    view = byte_view(message)
    header = parse_header(view)
    aead = open_message(kms, header, encryption_context, key_ids, cache)
    frames = frame_layout(view, header.length, header.frame_length)
    out = bytearray(sum(length for _, _, length, _ in frames))
    out_view = memoryview(out)
    message_id, written = header.message_id, 0
    decrypt_into = aead.decrypt_into
    for seq, offset, length, final in frames:
        try:
            decrypt_into(frame_nonce(seq), view[offset:offset + length + TAG_LENGTH],
                         frame_aad(message_id, final, seq, length),
                         out_view[written:written + length])
        except InvalidTag:
            out_view[:] = bytes(len(out))  # do not leave unverified plaintext behind
            raise frame_failed(seq, final) from None
        written += length
    return out
