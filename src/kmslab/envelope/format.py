"""The AWS Encryption SDK message format, version 2, byte by byte.

``kmslab.envelope`` writes and reads the AWS Encryption SDK's own messages:
what it encrypts, the SDK decrypts (in any of its languages), and what the
SDK encrypts with a KMS key, kmslab decrypts. The references are the SDK's
*Message format reference*
(https://docs.aws.amazon.com/encryption-sdk/latest/developer-guide/message-format.html),
its *Body AAD reference* (``body-aad-reference.html``), its *Algorithms
reference* (``algorithms-reference.html``) and the specification
(https://github.com/awslabs/aws-encryption-sdk-specification, ``data-format/``).

Version 2 is the format of the committing suites (see :mod:`.suite`). A
message is a header, a body and, for the signing suite, a footer. Integers
are unsigned and big-endian.

Header
======

======================  =====  =============================================================
field                   bytes  meaning
======================  =====  =============================================================
version                 1      ``02``: message format version 2
algorithm suite id      2      ``05 78``: AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384 (signed);
                               ``04 78``: AES_256_GCM_HKDF_SHA512_COMMIT_KEY (no signature)
message id              32     random per message; the HKDF salt, so every message gets its
                               own AES key even when a data key is reused (caching)
AAD length              2      bytes in the next field; 0 for an empty encryption context,
                               and then the field is absent
AAD                     var    the encryption context: pair count (2), then per pair sorted
                               by the key's UTF-8 bytes: key length (2), key, value length
                               (2), value (UTF-8). The signing suite adds
                               ``aws-crypto-public-key``. Readable by anyone: never secret
EDK count               2      number of encrypted data keys (EDKs, at least 1); then for each:
  provider id length    2
  provider id           var    ``aws-kms``
  provider info length  2
  provider info         var    the ARN of the KMS key that wrapped the data key
  EDK length            2
  EDK                   var    the ``CiphertextBlob`` of GenerateDataKey (first key) or
                               Encrypt (the others)
content type            1      ``02``: framed (``01``, non-framed, is read, never written)
frame length            4      plaintext bytes in every regular frame (0 if non-framed)
algorithm suite data    32     the key commitment, checked in constant time before anything
                               is decrypted
header auth tag         16     AES-GCM tag under the message key, IV = 12 zero bytes, empty
                               plaintext, AAD = every header byte above
======================  =====  =============================================================

The message key and the key commitment come from the data key by
HKDF-SHA512 with the message id as salt (see :mod:`.suite`). KMS sees the
same encryption context (with the public key, for the signing suite) on
GenerateDataKey, Encrypt and Decrypt, so KMS checks it too.

Body (framed)
=============

======================  ============  ================================================
field                   bytes         meaning
======================  ============  ================================================
regular frame
  sequence number       4             1, 2, 3... in order
  IV                    12            8 zero bytes + the sequence number (4)
  encrypted content     frame length  AES-256-GCM of exactly frame length bytes
  tag                   16            GCM tag
final frame                           always present, even for an empty plaintext
  sequence number end   4             ``FF FF FF FF``
  sequence number       4             the next number in order
  IV                    12            8 zero bytes + the sequence number
  content length        4             0 .. frame length
  encrypted content     var
  tag                   16
======================  ============  ================================================

Every frame's AAD is the message id (32) + ``"AWSKMSEncryptionClient Frame"``
(``"... Final Frame"`` for the final frame, ``"... Single Block"`` for
non-framed content) + the sequence number (4) + the plaintext length (8).
So a frame moved, repeated, dropped, taken from another message or relabelled
as final fails its tag, and a message without its final frame is known to be
cut short. A non-framed body is IV (12), content length (8), content, tag (16).

Footer (signing suite only)
===========================

signature length (2), then the DER ECDSA P-384 signature of SHA-384 over
every header and body byte (103 bytes as the SDKs write it; see :mod:`.signing`).

kmslab's default frame length is 1 MiB: few frames, so little framing
overhead, and about two frames of memory when streaming. The SDK's default
is 4,096 bytes. kmslab writes and reads frame lengths from 1 byte to 1 GiB,
the SDK up to 2 GiB - 1.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import NamedTuple

from .errors import (
    FrameAuthenticationError,
    MalformedMessageError,
    TruncatedMessageError,
    UnsupportedFormatError,
)
from .signing import PUBLIC_KEY_ENTRY
from .suite import COMMITMENT_LENGTH, Algorithm

__all__ = [
    "VERSION", "CONTENT_TYPE_FRAMED", "CONTENT_TYPE_NON_FRAMED", "PROVIDER_ID",
    "RESERVED_PREFIX", "MESSAGE_ID_LENGTH", "TAG_LENGTH", "IV_LENGTH", "COMMITMENT_LENGTH",
    "FINAL_MARKER", "DEFAULT_FRAME_LENGTH", "MAX_FRAME_LENGTH", "EncryptedDataKey", "Header",
    "Frame", "serialize_context", "serialize_edks", "header_body", "parse_header",
    "IncompleteHeader", "frame_iv", "frame_aad", "body_layout", "read_footer", "HEADER_IV",
]

VERSION = 2
CONTENT_TYPE_NON_FRAMED = 0x01
CONTENT_TYPE_FRAMED = 0x02
PROVIDER_ID = "aws-kms"
#: Encryption context keys with this prefix are the SDK's own (``aws-crypto-public-key``).
RESERVED_PREFIX = "aws-crypto-"
MESSAGE_ID_LENGTH = 32
DATA_KEY_LENGTH = 32
TAG_LENGTH = 16
IV_LENGTH = 12
HEADER_IV = bytes(IV_LENGTH)
FINAL_MARKER = 0xFFFFFFFF
MAX_SEQUENCE_NUMBER = 0xFFFFFFFE
#: 1 MiB: large frames keep framing overhead (one GCM call and 32 bytes each)
#: negligible; a stream needs about two frames of memory.
DEFAULT_FRAME_LENGTH = 1 << 20
MAX_FRAME_LENGTH = 1 << 30
#: A non-framed body holds at most 2**36 - 32 bytes (the limit of AES-GCM).
MAX_NON_FRAMED_LENGTH = (1 << 36) - 32

REGULAR, FINAL, SINGLE = "regular", "final", "single"
FRAME_LABEL = b"AWSKMSEncryptionClient Frame"
FINAL_FRAME_LABEL = b"AWSKMSEncryptionClient Final Frame"
SINGLE_BLOCK_LABEL = b"AWSKMSEncryptionClient Single Block"
#: bytes around the content: sequence number + IV + tag; final: + end marker + length
REGULAR_FRAME_OVERHEAD = 4 + IV_LENGTH + TAG_LENGTH
FINAL_FRAME_OVERHEAD = 4 + 4 + IV_LENGTH + 4 + TAG_LENGTH

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_PREAMBLE = struct.Struct(">BH32sH")  # version, suite, message id, AAD length
_TRAILER = struct.Struct(">BI")  # content type, frame length
_AAD_TAIL = struct.Struct(">IQ")  # sequence number, content length
_FINAL_HEAD = struct.Struct(">II12sI")  # end marker, sequence number, IV, content length
_SINGLE_HEAD = struct.Struct(">12sQ")  # IV, content length


class EncryptedDataKey(NamedTuple):
    """A data key as a key provider encrypted it (for ``aws-kms``: the KMS key's ARN
    and the ``CiphertextBlob``)."""

    key_arn: str
    ciphertext: bytes
    provider_id: str = PROVIDER_ID

    def __repr__(self) -> str:
        return (f"EncryptedDataKey(provider_id={self.provider_id!r}, key_arn={self.key_arn!r}, "
                f"ciphertext=<{len(self.ciphertext)} bytes>)")


class Header(NamedTuple):
    """A parsed header; ``body`` is the authenticated bytes (all but the tag)."""

    version: int
    algorithm: Algorithm
    message_id: bytes
    encryption_context: dict
    encrypted_data_keys: tuple
    content_type: int
    frame_length: int
    commitment: bytes
    tag: bytes
    body: bytes
    keys_end: int  # where the EDK section ends in ``body``

    @property
    def length(self) -> int:
        """Header bytes, the authentication tag included: where the body starts."""
        return len(self.body) + TAG_LENGTH

    @property
    def suite_id(self) -> int:
        """The algorithm suite's two-byte id as a number (``0x0578`` or ``0x0478``)."""
        return self.algorithm.value

    @property
    def context_and_keys(self) -> bytes:
        """The suite, encryption context and EDK fields: what identifies the data key."""
        return self.body[1:3] + self.body[_PREAMBLE.size - 2:self.keys_end]


class Frame(NamedTuple):
    """Where one frame (or the non-framed body) sits in a message."""

    sequence_number: int
    start: int  # first byte of the frame
    iv: int  # offset of its IV
    content: int  # offset of its encrypted content
    length: int  # plaintext (= encrypted content) bytes
    kind: str  # REGULAR, FINAL or SINGLE

    @property
    def end(self) -> int:
        """The offset just past this frame's tag: where the next frame starts."""
        return self.content + self.length + TAG_LENGTH


def _text(value, what: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"encryption context {what}s must be str, got {type(value).__name__}")
    return value.encode("utf-8")


_CONTEXT_MEMO: dict = {}


def serialize_context(context: Mapping[str, str] | None) -> bytes:
    """The canonical bytes of an encryption context (pairs sorted by UTF-8 key)."""
    if not context:
        return b""
    try:
        memo_key = frozenset(context.items())
        return _CONTEXT_MEMO[memo_key]
    except (KeyError, TypeError):
        pass
    out = _serialize_context(context)
    if len(_CONTEXT_MEMO) >= 256:
        _CONTEXT_MEMO.clear()
    _CONTEXT_MEMO[frozenset(context.items())] = out
    return out


def _serialize_context(context: Mapping[str, str]) -> bytes:
    pairs = sorted((_text(k, "key"), _text(v, "value")) for k, v in context.items())
    parts = [_U16.pack(len(pairs))]
    for key, value in pairs:
        if len(key) > 0xFFFF or len(value) > 0xFFFF:
            raise ValueError("encryption context keys and values must be under 64 KiB")
        parts += [_U16.pack(len(key)), key, _U16.pack(len(value)), value]
    out = b"".join(parts)
    if len(out) > 0xFFFF:
        raise ValueError("the encryption context must serialize to under 64 KiB")
    return out


def serialize_edks(edks) -> bytes:
    """The EDK count and every encrypted data key, as laid out in the header."""
    parts = [_U16.pack(len(edks))]
    for edk in edks:
        provider, info = edk.provider_id.encode(), edk.key_arn.encode()
        parts += [_U16.pack(len(provider)), provider, _U16.pack(len(info)), info,
                  _U16.pack(len(edk.ciphertext)), edk.ciphertext]
    return b"".join(parts)


def header_body(algorithm: Algorithm, message_id: bytes, context_bytes: bytes,
                edk_bytes: bytes, frame_length: int, commitment: bytes) -> bytes:
    """Every header byte up to (not including) the header auth tag."""
    return b"".join((
        _PREAMBLE.pack(VERSION, algorithm, message_id, len(context_bytes)),
        context_bytes, edk_bytes, _TRAILER.pack(CONTENT_TYPE_FRAMED, frame_length), commitment,
    ))


def frame_iv(sequence_number: int) -> bytes:
    """A frame's IV: 8 zero bytes and the sequence number (the header's IV is 12 zero bytes)."""
    return b"\0\0\0\0\0\0\0\0" + _U32.pack(sequence_number)


def frame_aad(message_id: bytes, kind: str, sequence_number: int, content_length: int) -> bytes:
    """The body AAD of one frame (see the module docstring)."""
    label = FRAME_LABEL if kind == REGULAR else FINAL_FRAME_LABEL if kind == FINAL \
        else SINGLE_BLOCK_LABEL
    return message_id + label + _AAD_TAIL.pack(sequence_number, content_length)


def _parse_context(data: bytes) -> dict:
    if not data:
        return {}
    pos, context = 2, {}
    try:
        (count,) = _U16.unpack_from(data, 0)
        for _ in range(count):
            (n,) = _U16.unpack_from(data, pos)
            key = data[pos + 2:pos + 2 + n].decode("utf-8")
            pos += 2 + n
            (n,) = _U16.unpack_from(data, pos)
            value = data[pos + 2:pos + 2 + n].decode("utf-8")
            pos += 2 + n
            context[key] = value
    except (struct.error, UnicodeDecodeError) as exc:
        raise MalformedMessageError(f"the encryption context field is malformed ({exc})") from None
    if pos != len(data) or len(context) != count:
        raise MalformedMessageError("the encryption context field is malformed")
    return context


class IncompleteHeader(TruncatedMessageError):
    """The buffer ends inside the header; ``needed`` bytes would let parsing go on."""

    def __init__(self, needed: int):
        super().__init__("the message ends inside its header")
        self.needed = needed


def parse_header(data) -> Header:
    """Parse the header at the start of ``data`` (bytes-like).

    Raises :class:`IncompleteHeader` (a :class:`TruncatedMessageError`) when
    ``data`` ends inside the header; a stream reader catches it, reads
    ``needed`` bytes in all and parses again.
    """
    if type(data) is bytes:
        return _parse_header(data)
    view = memoryview(data)
    size = 4096  # parse from a bytes copy of the start, grown if the header is longer
    while True:
        try:
            return _parse_header(view[:size].tobytes())
        except IncompleteHeader as short:
            if short.needed > len(view) or size >= len(view):
                raise
            size = max(short.needed, 2 * size)


def _check_version(buf: bytes) -> None:
    if buf[:4] == b"KMSE":
        raise UnsupportedFormatError(
            "this is a message in kmslab's former envelope format (it starts with b'KMSE'); "
            "kmslab now writes and reads the AWS Encryption SDK's format only. Decrypt it "
            "with the kmslab release that wrote it, then encrypt the plaintext again")
    version = buf[0]
    if version == 1:
        raise UnsupportedFormatError(
            "message format version 1 (the AWS Encryption SDK's suites without key commitment) "
            "is not read: like the SDK's default commitment policy, "
            "REQUIRE_ENCRYPT_REQUIRE_DECRYPT, kmslab requires key commitment")
    if version != VERSION:
        raise UnsupportedFormatError(
            f"not an AWS Encryption SDK message (version byte 0x{version:02x}; "
            f"kmslab reads message format version {VERSION})")


def _check_algorithm(suite_id: int) -> Algorithm:
    try:
        return Algorithm(suite_id)
    except ValueError:
        names = ", ".join(f"0x{a.value:04x} {a.name}" for a in Algorithm)
        raise UnsupportedFormatError(f"algorithm suite 0x{suite_id:04x} is not one this library "
                                     f"reads ({names})") from None


def _parse_header(buf: bytes) -> Header:
    size = len(buf)

    def need(end: int) -> None:
        if end > size:
            raise IncompleteHeader(end)

    need(1)
    _check_version(buf)
    need(3)
    algorithm = _check_algorithm(int.from_bytes(buf[1:3], "big"))
    need(_PREAMBLE.size)
    _, _, message_id, context_length = _PREAMBLE.unpack_from(buf)
    pos = _PREAMBLE.size + context_length
    need(pos + 2)
    context = _parse_context(buf[_PREAMBLE.size:pos])
    (edk_count,) = _U16.unpack_from(buf, pos)
    pos += 2
    if edk_count == 0:
        raise MalformedMessageError("the message has no encrypted data key")
    edks = []
    for _ in range(edk_count):
        fields = []
        for _field in range(3):  # provider id, provider info (key ARN), ciphertext
            need(pos + 2)
            (n,) = _U16.unpack_from(buf, pos)
            need(pos + 2 + n)
            fields.append(buf[pos + 2:pos + 2 + n])
            pos += 2 + n
        provider, info, ciphertext = fields
        # other providers (raw AES or RSA keys) put binary data in provider info
        edks.append(EncryptedDataKey(info.decode("utf-8", "backslashreplace"), ciphertext,
                                     provider.decode("utf-8", "backslashreplace")))
    keys_end = pos
    need(pos + _TRAILER.size + COMMITMENT_LENGTH + TAG_LENGTH)
    content_type, frame_length = _TRAILER.unpack_from(buf, pos)
    if content_type == CONTENT_TYPE_FRAMED:
        if not 1 <= frame_length <= MAX_FRAME_LENGTH:
            raise MalformedMessageError(f"frame length {frame_length} is out of range "
                                        f"(1 to {MAX_FRAME_LENGTH})")
    elif content_type == CONTENT_TYPE_NON_FRAMED:
        if frame_length != 0:
            raise MalformedMessageError("a non-framed message must have frame length 0")
    else:
        raise UnsupportedFormatError(f"content type 0x{content_type:02x} is not supported "
                                     "(0x02 framed, 0x01 non-framed)")
    pos += _TRAILER.size
    commitment = buf[pos:pos + COMMITMENT_LENGTH]
    pos += COMMITMENT_LENGTH
    return Header(VERSION, algorithm, message_id, context, tuple(edks), content_type,
                  frame_length, commitment, buf[pos:pos + TAG_LENGTH], buf[:pos], keys_end)


def frame_mismatch(expected: int, found: int) -> FrameAuthenticationError:
    """The error for a frame out of sequence: frames missing, reordered or duplicated."""
    return FrameAuthenticationError(
        f"expected frame {expected}, found frame {found}: frames are missing, "
        "reordered or duplicated")


def body_layout(view: memoryview, header: Header) -> tuple[list[Frame], int]:
    """Walk the body without decrypting: its frames, and where the body ends."""
    pos, size = header.length, len(view)
    if header.content_type == CONTENT_TYPE_NON_FRAMED:
        if pos + _SINGLE_HEAD.size > size:
            raise TruncatedMessageError("the message ends inside its body")
        _, length = _SINGLE_HEAD.unpack_from(view, pos)
        if length > MAX_NON_FRAMED_LENGTH:
            raise MalformedMessageError(f"the body claims {length} bytes, more than AES-GCM allows")
        frame = Frame(1, pos, pos, pos + _SINGLE_HEAD.size, length, SINGLE)
        if frame.end > size:
            raise TruncatedMessageError("the message ends inside its body")
        return [frame], frame.end
    frame_length = header.frame_length
    frames, seq = [], 1
    while True:
        if pos + 4 > size:
            raise TruncatedMessageError(f"the message ends after {seq - 1} frame(s) without a "
                                        "final frame: it was truncated")
        (marker,) = _U32.unpack_from(view, pos)
        if marker == FINAL_MARKER:
            if pos + _FINAL_HEAD.size > size:
                raise TruncatedMessageError("the message ends inside its final frame")
            _, found, _, length = _FINAL_HEAD.unpack_from(view, pos)
            if found != seq:
                raise frame_mismatch(seq, found)
            if length > frame_length:
                raise MalformedMessageError(f"the final frame claims {length} bytes, more than "
                                            f"the frame length {frame_length}")
            frame = Frame(seq, pos, pos + 8, pos + _FINAL_HEAD.size, length, FINAL)
            if frame.end > size:
                raise TruncatedMessageError("the message ends inside its final frame")
            frames.append(frame)
            return frames, frame.end
        if marker != seq:
            raise frame_mismatch(seq, marker)
        frame = Frame(seq, pos, pos + 4, pos + 4 + IV_LENGTH, frame_length, REGULAR)
        if frame.end > size:
            raise TruncatedMessageError(f"the message ends inside frame {seq}")
        frames.append(frame)
        pos, seq = frame.end, seq + 1
        if seq > MAX_SEQUENCE_NUMBER:
            raise MalformedMessageError("too many frames")


def read_footer(view: memoryview, body_end: int, algorithm: Algorithm) -> bytes | None:
    """The signature after the body (signing suite), or None; checks nothing follows."""
    size = len(view)
    if not algorithm.signed:
        if body_end != size:
            raise MalformedMessageError(f"{size - body_end} unexpected bytes follow the body "
                                        "(this suite has no signature)")
        return None
    if body_end + 2 > size:
        raise TruncatedMessageError("the message ends before its signature")
    (length,) = _U16.unpack_from(view, body_end)
    end = body_end + 2 + length
    if end > size:
        raise TruncatedMessageError("the message ends inside its signature")
    if end != size:
        raise MalformedMessageError(f"{size - end} unexpected bytes follow the signature")
    return bytes(view[body_end + 2:end])


def check_reserved_context(context: Mapping[str, str]) -> None:
    """Refuse a caller's encryption context that uses the SDK's reserved prefix (on encrypt)."""
    reserved = sorted(k for k in context if isinstance(k, str) and k.startswith(RESERVED_PREFIX))
    if reserved:
        raise ValueError(f"encryption context keys beginning with {RESERVED_PREFIX!r} are reserved "
                         f"for the AWS Encryption SDK's own use (the signing suite adds "
                         f"{PUBLIC_KEY_ENTRY!r}); found {', '.join(reserved)}")
