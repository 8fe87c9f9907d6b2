"""Encrypt and decrypt whole messages in memory (the simple path: two calls).

``encrypt`` gets a data key from KMS (GenerateDataKey, plus Encrypt for
every extra key id), derives this message's key, writes the header and the
frames into one preallocated buffer, and, for the signing suite, signs it.
``decrypt`` reads the header, checks the encryption context, asks KMS to
decrypt one encrypted data key, checks the key commitment and the header
tag, every frame's tag, then the signature; it returns plaintext only when
all of it verified. The byte layout is in :mod:`kmslab.envelope.format`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import (
    ContextMismatchError,
    FrameAuthenticationError,
    HeaderAuthenticationError,
    SignatureVerificationError,
)
from .format import (
    _AAD_TAIL,
    _FINAL_HEAD,
    _U16,
    _U32,
    DEFAULT_FRAME_LENGTH,
    FINAL,
    FINAL_FRAME_LABEL,
    FINAL_FRAME_OVERHEAD,
    FINAL_MARKER,
    FRAME_LABEL,
    HEADER_IV,
    IV_LENGTH,
    MAX_FRAME_LENGTH,
    MAX_SEQUENCE_NUMBER,
    MESSAGE_ID_LENGTH,
    REGULAR,
    REGULAR_FRAME_OVERHEAD,
    SINGLE,
    SINGLE_BLOCK_LABEL,
    TAG_LENGTH,
    Frame,
    Header,
    body_layout,
    check_reserved_context,
    frame_aad,
    frame_iv,
    header_body,
    parse_header,
    read_footer,
    serialize_context,
)
from .materials import DecryptionMaterials, decryption_materials, encryption_materials
from .signing import PUBLIC_KEY_ENTRY, SIGNATURE_LENGTH, new_digest, sign, verify
from .suite import DEFAULT_ALGORITHM, Algorithm, as_algorithm, check_commitment, derive_message_key

__all__ = ["encrypt", "decrypt"]


def byte_view(data) -> memoryview:
    """A flat, one-byte-per-item memoryview of any bytes-like object (no copy)."""
    view = memoryview(data)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def _check_frame_length(frame_length: int) -> None:
    if not isinstance(frame_length, int) or not 1 <= frame_length <= MAX_FRAME_LENGTH:
        raise ValueError(f"frame_length must be an int from 1 to {MAX_FRAME_LENGTH}")


class Sealer(NamedTuple):
    """What writing one message needs once its header is built."""

    aead: AESGCM
    message_id: bytes
    header: bytes
    signing_key: object  # None for the unsigned suite


def start_message(kms, key_ids: Sequence[str], encryption_context: Mapping[str, str] | None,
                  algorithm, frame_length: int, cache, plaintext_length: int | None) -> Sealer:
    """Check the arguments, get materials (KMS or cache) and build the header."""
    if isinstance(key_ids, str):
        raise TypeError("key_ids must be a list of key ids, e.g. [key_id], not a string")
    key_ids = list(key_ids)
    if not key_ids:
        raise ValueError("key_ids must name at least one KMS key")
    _check_frame_length(frame_length)
    algorithm = as_algorithm(algorithm)
    context = dict(encryption_context or {})
    check_reserved_context(context)
    cache_key = (algorithm, tuple(key_ids), serialize_context(context))
    materials = encryption_materials(kms, key_ids, context, algorithm, cache, cache_key,
                                     plaintext_length)
    message_id = os.urandom(MESSAGE_ID_LENGTH)
    aead, commitment = derive_message_key(materials.data_key, algorithm, message_id)
    body = header_body(algorithm, message_id, materials.context_bytes, materials.edk_bytes,
                       frame_length, commitment)
    return Sealer(aead, message_id, body + aead.encrypt(HEADER_IV, b"", body),
                  materials.signing_key)


def frame_split(plaintext_length: int, frame_length: int) -> tuple[int, int]:
    """(number of regular frames, final frame's content length) for a plaintext.

    The final frame holds the last 0..frame_length bytes: a plaintext that is an
    exact multiple of the frame length ends with a full final frame (the
    format allows an empty final frame too, and readers accept both).
    """
    regular = (plaintext_length - 1) // frame_length if plaintext_length else 0
    return regular, plaintext_length - regular * frame_length


def signed_footer(signing_key, digest) -> bytes:
    """The footer: signature length (2) and the signature of the finished digest."""
    signature = sign(signing_key, digest.finalize())
    return _U16.pack(len(signature)) + signature


def encrypt(kms, plaintext: bytes, key_ids: Sequence[str],
            encryption_context: Mapping[str, str] | None = None, *,
            algorithm: Algorithm | int | str = DEFAULT_ALGORITHM,
            frame_length: int = DEFAULT_FRAME_LENGTH, cache=None) -> bytearray:
    """Encrypt ``plaintext`` under a fresh (or cached) data key; returns the message.

    The message is an AWS Encryption SDK message (format version 2), returned
    in the buffer it was written into (a bytearray, usable wherever bytes are).
    ``kms`` is any boto3-shaped KMS client. The data key comes from
    GenerateDataKey under ``key_ids[0]`` and is wrapped with Encrypt under
    each other key id: any one of them can decrypt. ``encryption_context`` is
    bound to the message (and sent to KMS); keys starting ``aws-crypto-`` are
    reserved. ``algorithm`` is the suite: the signed
    ``AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384`` (default, as in the SDK)
    or ``AES_256_GCM_HKDF_SHA512_COMMIT_KEY`` (no signature: faster, but
    anyone who can decrypt could also forge). ``cache`` is a
    :class:`DataKeyCache`. KMS errors reach the caller unchanged.
    """
    view = byte_view(plaintext)
    size = len(view)
    aead, message_id, header, signing_key = start_message(
        kms, key_ids, encryption_context, algorithm, frame_length, cache, size)
    regular, final_length = frame_split(size, frame_length)
    if regular + 1 > MAX_SEQUENCE_NUMBER:
        raise ValueError("plaintext too large for this frame length; use larger frames")
    step = frame_length + REGULAR_FRAME_OVERHEAD
    body_end = len(header) + regular * step + FINAL_FRAME_OVERHEAD + final_length
    footer = 2 + SIGNATURE_LENGTH if signing_key is not None else 0
    out = bytearray(body_end + footer)
    out[:len(header)] = header
    out_view = memoryview(out)
    pos, start = len(header), 0
    encrypt_into = aead.encrypt_into
    aad_prefix = message_id + FRAME_LABEL
    for seq in range(1, regular + 1):
        iv = frame_iv(seq)
        _U32.pack_into(out, pos, seq)
        _U32.pack_into(out, pos + 12, seq)  # the IV: 8 zero bytes (already) + sequence number
        encrypt_into(iv, view[start:start + frame_length],
                     aad_prefix + _AAD_TAIL.pack(seq, frame_length),
                     out_view[pos + 4 + IV_LENGTH:pos + step])
        pos += step
        start += frame_length
    seq = regular + 1
    iv = frame_iv(seq)
    _FINAL_HEAD.pack_into(out, pos, FINAL_MARKER, seq, iv, final_length)
    encrypt_into(iv, view[start:], message_id + FINAL_FRAME_LABEL + _AAD_TAIL.pack(seq, final_length),
                 out_view[pos + _FINAL_HEAD.size:body_end])
    if signing_key is not None:
        digest = new_digest()
        digest.update(out_view[:body_end])
        out_view[body_end:] = signed_footer(signing_key, digest)
    return out


def check_context(header: Header, expected: Mapping[str, str] | None) -> None:
    """Raise :class:`ContextMismatchError` unless ``expected`` equals the bound context.

    The signing suite's ``aws-crypto-public-key`` entry is the library's, not
    the caller's: it is compared only when ``expected`` names it.
    """
    if expected is None:
        return
    expected = dict(expected)
    bound = header.encryption_context
    if PUBLIC_KEY_ENTRY in bound and PUBLIC_KEY_ENTRY not in expected:
        bound = {k: v for k, v in bound.items() if k != PUBLIC_KEY_ENTRY}
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


def open_message(kms, header: Header, encryption_context, key_ids,
                 cache) -> tuple[AESGCM, DecryptionMaterials]:
    """Check the context, get the data key, check commitment and header tag."""
    check_context(header, encryption_context)
    if isinstance(key_ids, str):
        raise TypeError("key_ids must be a list of key ids, not a string")
    key_filter = tuple(key_ids) if key_ids is not None else None
    cache_key = (header.context_and_keys, key_filter)
    materials = cache.take_for_decrypt(cache_key) if cache is not None else None
    fresh = materials is None
    if materials is None:
        materials = decryption_materials(kms, header, key_filter)
    aead, commitment = derive_message_key(materials.data_key, header.algorithm, header.message_id)
    check_commitment(header.commitment, commitment)
    try:
        aead.decrypt(HEADER_IV, header.tag, header.body)
    except InvalidTag:
        raise HeaderAuthenticationError("the header failed authentication: it was altered "
                                        "after encryption") from None
    if fresh and cache is not None:
        cache.put_for_decrypt(cache_key, materials)
    return aead, materials


def open_frame(aead: AESGCM, message_id: bytes, frame: Frame, iv, sealed, out) -> None:
    """Decrypt one frame's content and tag (``sealed``) into ``out``, or raise."""
    seq = frame.sequence_number
    if iv != frame_iv(seq):
        raise bad_iv(frame)
    try:
        aead.decrypt_into(iv, sealed, frame_aad(message_id, frame.kind, seq, frame.length), out)
    except InvalidTag:
        raise frame_failed(frame) from None


def bad_iv(frame: Frame) -> FrameAuthenticationError:
    """The error for a frame whose IV is not the one the format prescribes."""
    return FrameAuthenticationError(
        f"{_frame_name(frame)} has an IV other than the one the format prescribes "
        "(8 zero bytes and the sequence number): the message was altered")


def frame_failed(frame: Frame) -> FrameAuthenticationError:
    """The error for a frame whose GCM tag does not verify (no plaintext is released)."""
    return FrameAuthenticationError(f"{_frame_name(frame)} failed authentication: the message "
                                    "was altered (no plaintext was released)")


def _frame_name(frame: Frame) -> str:
    if frame.kind == REGULAR:
        return f"frame {frame.sequence_number}"
    if frame.kind == FINAL:
        return f"final frame {frame.sequence_number}"
    return "the non-framed body"


def verify_signature(materials: DecryptionMaterials, signature: bytes, digest) -> None:
    """Check the footer's ECDSA P-384 signature over the digest of the header and body."""
    verify(materials.verification_key, signature, digest.finalize())


def decrypt(kms, message: bytes, encryption_context: Mapping[str, str] | None = None, *,
            key_ids: Sequence[str] | None = None, cache=None) -> bytearray:
    """Decrypt an AWS Encryption SDK message (from kmslab or the SDK); returns the plaintext.

    Both committing suites are read; the suite is named in the message.
    ``encryption_context``, when given, must equal the context bound in the
    message exactly (else :class:`ContextMismatchError`, before any KMS call);
    the signing suite's own ``aws-crypto-public-key`` entry need not be given.
    ``key_ids``, when given, limits which KMS keys are asked to decrypt the
    data key (key ARNs, key ids or aliases). Every tag and the signature are
    verified before any plaintext is returned (a bytearray); failures raise a
    :class:`DecryptionError` leaf.
    """
    view = byte_view(message)
    header = parse_header(view)
    aead, materials = open_message(kms, header, encryption_context, key_ids, cache)
    frames, body_end = body_layout(view, header)
    signature = read_footer(view, body_end, header.algorithm)
    out = bytearray(sum(frame.length for frame in frames))
    out_view = memoryview(out)
    labels = {REGULAR: header.message_id + FRAME_LABEL, FINAL: header.message_id + FINAL_FRAME_LABEL,
              SINGLE: header.message_id + SINGLE_BLOCK_LABEL}
    decrypt_into, written = aead.decrypt_into, 0
    try:
        for frame in frames:  # open_frame, unrolled: this loop runs once per frame
            seq, _, iv_at, content, length, kind = frame
            iv = frame_iv(seq)
            if view[iv_at:iv_at + IV_LENGTH] != iv:
                raise bad_iv(frame)
            try:
                decrypt_into(iv, view[content:content + length + TAG_LENGTH],
                             labels[kind] + _AAD_TAIL.pack(seq, length),
                             out_view[written:written + length])
            except InvalidTag:
                raise frame_failed(frame) from None
            written += length
        if signature is not None:
            digest = new_digest()
            digest.update(view[:body_end])
            verify_signature(materials, signature, digest)
    except (FrameAuthenticationError, SignatureVerificationError):
        out_view[:] = bytes(len(out))  # do not leave unverified plaintext behind
        raise
    return out

