"""The kmslab envelope message format, version 1, byte by byte.

A message is a header followed by frames. All integers are unsigned,
big-endian. The design follows the AWS Encryption SDK's default committing
suite (``AES_256_GCM_HKDF_SHA512_COMMIT_KEY``) without its signature; the
bytes are kmslab's own, so the SDK cannot read them and kmslab cannot read
the SDK's.

Header
======

=====================  ========  ==========================================================
field                  size      meaning
=====================  ========  ==========================================================
magic                  4         ``b"KMSE"``: this is a kmslab envelope message
version                1         ``0x01``: format version
suite id               2         ``0x0001``: AES-256-GCM frames, HKDF-SHA512 key
                                 derivation, key commitment, no signature
message id             32        random per message; part of the HKDF info, so every
                                 message gets its own AES key even when a data key is
                                 reused
context length         2         bytes in the encryption context field (0 = no context)
encryption context     var       pair count (2), then per pair sorted by key bytes:
                                 key length (2), key (UTF-8), value length (2),
                                 value (UTF-8). Readable by anyone: never secret
EDK count              2         number of encrypted data keys (at least 1)
  provider id length   2         \\
  provider id          var        | for every encrypted data key (EDK):
  provider info length 2          | provider id ``aws-kms``; provider info = the ARN of
  provider info        var        | the KMS key that wrapped it; ciphertext = the
  EDK length           2          | ``CiphertextBlob`` from GenerateDataKey or Encrypt
  EDK ciphertext       var       /
content type           1         ``0x02``: framed content
frame length           4         plaintext bytes in every regular frame
key commitment         32        bytes 32..63 of HKDF-SHA512(IKM=data key, no salt,
                                 info=suite id + ``"DERIVEKEY|COMMITKEY"`` + message id,
                                 64 bytes); checked in constant time before anything
                                 is decrypted
header tag             16        AES-GCM tag under the message key, nonce = 12 zero
                                 bytes, empty plaintext, AAD = every header byte above
=====================  ========  ==========================================================

The message key is bytes 0..31 of that same HKDF output. The data key
itself comes from KMS GenerateDataKey under the first key id and is wrapped
again with KMS Encrypt under every other key id, each call with the
message's encryption context, so KMS checks the context on Decrypt too.

Frames
======

======================  ==============  ==========================================
field                   size            meaning
======================  ==============  ==========================================
regular frame
  sequence number       4               1, 2, 3... in order
  ciphertext            frame length    AES-256-GCM of exactly frame length bytes
  tag                   16              GCM tag
final frame (always present, even for empty plaintext)
  final marker          4               ``0xFFFFFFFF``
  sequence number       4               the next number in order
  content length        4               0 .. frame length
  ciphertext            content length
  tag                   16
======================  ==============  ==========================================

Every frame is encrypted with the message key, nonce = 8 zero bytes + the
sequence number (4 bytes), and AAD = message id (32) + frame kind (1 byte:
``0x01`` regular, ``0x02`` final) + sequence number (4) + content length (8).
So a frame moved, repeated, dropped, swapped into another message or
relabelled as final fails its tag, and a message without its final frame is
known to be truncated.
"""

from __future__ import annotations

import struct
from typing import Mapping, NamedTuple

from .errors import MalformedMessageError, TruncatedMessageError, UnsupportedFormatError

__all__ = [
    "MAGIC", "VERSION", "SUITE_ID", "SUITE_NAME", "CONTENT_TYPE_FRAMED", "PROVIDER_ID",
    "MESSAGE_ID_LENGTH", "TAG_LENGTH", "COMMITMENT_LENGTH", "FINAL_MARKER",
    "DEFAULT_FRAME_LENGTH", "MAX_FRAME_LENGTH", "EncryptedDataKey", "Header",
    "serialize_context", "serialize_edks", "header_body", "parse_header", "IncompleteHeader",
    "frame_nonce", "frame_aad", "HEADER_NONCE",
]

MAGIC = b"KMSE"
VERSION = 1
SUITE_ID = 0x0001
SUITE_NAME = "AES_256_GCM_HKDF_SHA512_COMMIT_KEY"
SUITE_ID_BYTES = SUITE_ID.to_bytes(2, "big")
CONTENT_TYPE_FRAMED = 0x02
PROVIDER_ID = "aws-kms"
MESSAGE_ID_LENGTH = 32
DATA_KEY_LENGTH = 32
COMMITMENT_LENGTH = 32
TAG_LENGTH = 16
NONCE_LENGTH = 12
HEADER_NONCE = bytes(NONCE_LENGTH)
FINAL_MARKER = 0xFFFFFFFF
MAX_SEQUENCE_NUMBER = 0xFFFFFFFE
#: 1 MiB: large frames keep framing overhead (one GCM call and 20 bytes each)
#: negligible; a stream needs about two frames of memory.
DEFAULT_FRAME_LENGTH = 1 << 20
MAX_FRAME_LENGTH = 1 << 30

KIND_REGULAR = 0x01
KIND_FINAL = 0x02
REGULAR_FRAME_OVERHEAD = 4 + TAG_LENGTH
FINAL_FRAME_OVERHEAD = 4 + 4 + 4 + TAG_LENGTH

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_PREAMBLE = struct.Struct(">4sBH32sH")  # magic, version, suite, message id, context length
_TRAILER = struct.Struct(">BI")  # content type, frame length
_FRAME_AAD = struct.Struct(">32sBIQ")


class EncryptedDataKey(NamedTuple):
    """A data key as KMS encrypted it: the wrapping key's ARN and the ciphertext blob."""

    key_arn: str
    ciphertext: bytes
    provider_id: str = PROVIDER_ID

    def __repr__(self) -> str:
        return f"EncryptedDataKey(key_arn={self.key_arn!r}, ciphertext=<{len(self.ciphertext)} bytes>)"


class Header(NamedTuple):
    """A parsed header; ``body`` is the authenticated bytes (all but the tag)."""

    version: int
    suite_id: int
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
        return len(self.body) + TAG_LENGTH

    @property
    def context_and_keys(self) -> bytes:
        """The raw encryption context and EDK fields: what identifies the data key."""
        return self.body[_PREAMBLE.size - 2:self.keys_end]


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


def header_body(message_id: bytes, context_bytes: bytes, edk_bytes: bytes,
                frame_length: int, commitment: bytes) -> bytes:
    """Every header byte up to (not including) the header tag."""
    return b"".join((
        _PREAMBLE.pack(MAGIC, VERSION, SUITE_ID, message_id, len(context_bytes)),
        context_bytes, edk_bytes, _TRAILER.pack(CONTENT_TYPE_FRAMED, frame_length), commitment,
    ))


def frame_nonce(sequence_number: int) -> bytes:
    return b"\0\0\0\0\0\0\0\0" + _U32.pack(sequence_number)


def frame_aad(message_id: bytes, final: bool, sequence_number: int, content_length: int) -> bytes:
    return _FRAME_AAD.pack(message_id, KIND_FINAL if final else KIND_REGULAR,
                           sequence_number, content_length)


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


def _parse_header(buf: bytes) -> Header:
    size = len(buf)

    def need(end: int) -> None:
        if end > size:
            raise IncompleteHeader(end)

    need(4)
    if buf[:4] != MAGIC:
        raise UnsupportedFormatError(
            "not a kmslab envelope message (it does not start with b'KMSE')")
    need(_PREAMBLE.size)
    _, version, suite_id, message_id, context_length = _PREAMBLE.unpack_from(buf)
    if version != VERSION:
        raise UnsupportedFormatError(f"message format version {version} is not supported "
                                     f"(this library reads version {VERSION})")
    if suite_id != SUITE_ID:
        raise UnsupportedFormatError(f"algorithm suite 0x{suite_id:04x} is not supported "
                                     f"(this library reads 0x{SUITE_ID:04x}, {SUITE_NAME})")
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
        try:
            edks.append(EncryptedDataKey(info.decode("utf-8"), ciphertext, provider.decode("utf-8")))
        except UnicodeDecodeError:
            raise MalformedMessageError("an encrypted data key's provider fields are not UTF-8") from None
    keys_end = pos
    need(pos + _TRAILER.size + COMMITMENT_LENGTH + TAG_LENGTH)
    content_type, frame_length = _TRAILER.unpack_from(buf, pos)
    if content_type != CONTENT_TYPE_FRAMED:
        raise UnsupportedFormatError(f"content type 0x{content_type:02x} is not supported "
                                     "(only framed content, 0x02)")
    if not 1 <= frame_length <= MAX_FRAME_LENGTH:
        raise MalformedMessageError(f"frame length {frame_length} is out of range")
    pos += _TRAILER.size
    commitment = buf[pos:pos + COMMITMENT_LENGTH]
    pos += COMMITMENT_LENGTH
    return Header(version, suite_id, message_id, context, tuple(edks), content_type,
                  frame_length, commitment, buf[pos:pos + TAG_LENGTH], buf[:pos],
                  keys_end)
