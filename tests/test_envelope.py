"""Envelope messages: round trips in both suites, multi-key, the documented bytes, and every
way a message can be broken."""

from __future__ import annotations

import base64
import io
import os
import struct
import tracemalloc

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kmslab import envelope
from kmslab.envelope import (
    Algorithm,
    ContextMismatchError,
    DecryptionError,
    EnvelopeError,
    FrameAuthenticationError,
    HeaderAuthenticationError,
    KeyCommitmentError,
    MalformedMessageError,
    NoDecryptableKeyError,
    SignatureVerificationError,
    TruncatedMessageError,
    UnsupportedFormatError,
)

from envelope_support import Recording, make_kms, new_key

CONTEXT = {"purpose": "test", "tenant": "blue"}
SMALL_FRAME = 64
SIGNED = Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
UNSIGNED = Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
SUITES = pytest.mark.parametrize("suite", [SIGNED, UNSIGNED], ids=["signed", "unsigned"])


@pytest.fixture
def kms():
    return Recording(make_kms())


@pytest.fixture
def keys(kms):
    return [new_key(kms) for _ in range(3)]


def frames_of(message) -> list[tuple[int, int]]:
    """(offset, length in message) of every frame, from parse()."""
    return [(f.offset, f.encrypted_length) for f in envelope.parse(message).frames]


# -- suites --------------------------------------------------------------------------

def test_the_default_suite_is_the_sdk_default_signed_one(kms, keys):
    assert envelope.DEFAULT_ALGORITHM is SIGNED and SIGNED.signed and not UNSIGNED.signed
    assert (SIGNED.value, UNSIGNED.value) == (0x0578, 0x0478)
    info = envelope.parse(envelope.encrypt(kms, b"x", [keys[0][1]]))
    assert (info.suite_id, info.suite_name, info.signed) == (
        0x0578, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384", True)
    assert info.signature_length == 103 and info.footer_length == 105


@pytest.mark.parametrize("given", [UNSIGNED, 0x0478, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY"])
def test_the_unsigned_suite_is_one_argument_away(kms, keys, given):
    message = envelope.encrypt(kms, b"x", [keys[0][1]], algorithm=given)
    info = envelope.parse(message)
    assert (info.suite_id, info.signed, info.footer_length) == (0x0478, False, 0)
    assert envelope.PUBLIC_KEY_ENTRY not in info.encryption_context


@pytest.mark.parametrize("given", [0x0378, "AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384", None])
def test_unknown_suites_are_refused_before_any_kms_call(kms, keys, given):
    kms.calls.clear()
    with pytest.raises(ValueError, match="unknown algorithm suite"):
        envelope.encrypt(kms, b"x", [keys[0][1]], algorithm=given)
    assert kms.calls == []


# -- round trips ---------------------------------------------------------------------

@SUITES
@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 128, 1000, 4097])
def test_round_trip_small_frames(kms, keys, suite, size):
    plaintext = os.urandom(size)
    message = envelope.encrypt(kms, plaintext, [keys[0][1]], CONTEXT, algorithm=suite,
                               frame_length=SMALL_FRAME)
    assert envelope.decrypt(kms, message, CONTEXT) == plaintext
    info = envelope.parse(message)
    regular = (size - 1) // SMALL_FRAME if size else 0
    assert len(info.frames) == regular + 1
    assert info.plaintext_length == size
    assert [f.sequence_number for f in info.frames] == list(range(1, regular + 2))
    assert [f.final for f in info.frames] == [False] * regular + [True]
    assert info.message_length == info.header_length + sum(
        f.encrypted_length for f in info.frames) + info.footer_length


@SUITES
@pytest.mark.parametrize("size", [0, 1024, (1 << 20) + 1, 64 << 20])
def test_round_trip_default_frames(kms, keys, suite, size):
    plaintext = os.urandom(size) if size < (1 << 21) else bytes(size)
    message = envelope.encrypt(kms, plaintext, [keys[0][0]], algorithm=suite)
    assert plaintext not in message or size == 0
    assert envelope.decrypt(kms, message) == plaintext
    assert len(message) - size == envelope.parse(message).overhead


@SUITES
def test_stream_round_trip_and_same_format(kms, keys, suite):
    plaintext = os.urandom(5 * SMALL_FRAME + 7)
    sink = io.BytesIO()
    written = envelope.encrypt_stream(kms, io.BytesIO(plaintext), sink, [keys[0][1]], CONTEXT,
                                      algorithm=suite, frame_length=SMALL_FRAME)
    assert written == len(sink.getvalue())
    assert envelope.decrypt(kms, sink.getvalue(), CONTEXT) == plaintext
    out = io.BytesIO()
    message = envelope.encrypt(kms, plaintext, [keys[0][1]], CONTEXT, algorithm=suite,
                               frame_length=SMALL_FRAME)
    assert len(message) == written
    assert envelope.decrypt_stream(kms, io.BytesIO(message), out, CONTEXT) == len(plaintext)
    assert out.getvalue() == plaintext


@pytest.mark.parametrize("size", [0, SMALL_FRAME, 3 * SMALL_FRAME])
def test_stream_exact_multiples_match_bytes_layout(kms, keys, size):
    plaintext = os.urandom(size)
    sink = io.BytesIO()
    envelope.encrypt_stream(kms, io.BytesIO(plaintext), sink, [keys[0][1]],
                            frame_length=SMALL_FRAME)
    from_stream = envelope.parse(sink.getvalue())
    from_bytes = envelope.parse(envelope.encrypt(kms, plaintext, [keys[0][1]],
                                                 frame_length=SMALL_FRAME))
    assert [(f.sequence_number, f.final, f.plaintext_length) for f in from_stream.frames] == \
           [(f.sequence_number, f.final, f.plaintext_length) for f in from_bytes.frames]


class _Zeros(io.RawIOBase):
    """A readable stream of ``size`` zero bytes that never exists in memory at once."""

    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


class _Counter(io.RawIOBase):
    def __init__(self):
        self.count = 0

    def writable(self):
        return True

    def write(self, data):
        self.count += len(data)
        return len(data)


@SUITES
def test_stream_uses_constant_memory(kms, keys, suite):
    frame = 1 << 20
    size = 48 * frame
    tracemalloc.start()
    try:
        sink = _Counter()
        envelope.encrypt_stream(kms, _Zeros(size), sink, [keys[0][1]], algorithm=suite,
                                frame_length=frame)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.count > size
    assert peak < 5 * frame  # two input frames and one output frame, not 48 MiB


@SUITES
def test_stream_decrypt_uses_constant_memory(kms, keys, tmp_path, suite):
    frame = 1 << 20
    size = 48 * frame
    path = tmp_path / "message"
    with open(path, "wb") as sink:
        envelope.encrypt_stream(kms, _Zeros(size), sink, [keys[0][1]], algorithm=suite,
                                frame_length=frame)
    tracemalloc.start()
    try:
        plain = _Counter()
        with open(path, "rb") as source:
            assert envelope.decrypt_stream(kms, source, plain) == size
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert plain.count == size
    assert peak < 5 * frame


def test_plaintext_of_a_frame_is_not_written_before_its_tag_verified(kms, keys):
    plaintext = os.urandom(4 * SMALL_FRAME + 3)
    message = bytearray(envelope.encrypt(kms, plaintext, [keys[0][1]], frame_length=SMALL_FRAME))
    offset, length = frames_of(message)[2]
    message[offset + 30] ^= 1
    out = io.BytesIO()
    with pytest.raises(FrameAuthenticationError, match="frame 3"):
        envelope.decrypt_stream(kms, io.BytesIO(bytes(message)), out)
    assert out.getvalue() == plaintext[:2 * SMALL_FRAME]


# -- keys ----------------------------------------------------------------------------

@SUITES
def test_each_key_alone_decrypts_a_multi_key_message(kms, keys, suite):
    plaintext = b"shared secret"
    message = envelope.encrypt(kms, plaintext, [k[1] for k in keys], CONTEXT, algorithm=suite)
    info = envelope.parse(message)
    assert [(e.provider_id, e.key_arn) for e in info.encrypted_data_keys] == \
        [("aws-kms", k[1]) for k in keys]
    assert kms.calls[-3:] == ["GenerateDataKey", "Encrypt", "Encrypt"]
    for key_id, arn in keys:
        for selector in (key_id, arn):
            kms.calls.clear()
            assert envelope.decrypt(kms, message, CONTEXT, key_ids=[selector]) == plaintext
            assert kms.calls == ["Decrypt"]


def test_kms_sees_the_full_context_with_the_public_key(kms, keys):
    seen = []
    original = kms._kms.generate_data_key

    def spy(**params):
        seen.append(params.get("EncryptionContext"))
        return original(**params)

    kms._kms.generate_data_key = spy
    message = envelope.encrypt(kms, b"x", [keys[0][1]], CONTEXT)
    bound = envelope.parse(message).encryption_context
    assert seen == [bound] and set(bound) == set(CONTEXT) | {"aws-crypto-public-key"}


def _edk_blob(message) -> bytes:
    from kmslab.envelope.format import parse_header
    return parse_header(bytes(message)).encrypted_data_keys[0].ciphertext


def test_kms_binds_the_data_key_to_the_public_key(kms, keys):
    message = envelope.encrypt(kms, b"x", [keys[0][1]], CONTEXT)
    context = envelope.parse(message).encryption_context
    blob = _edk_blob(message)
    assert len(kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"]) == 32
    with pytest.raises(Exception) as caught:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)
    assert caught.value.response["Error"]["Code"] == "InvalidCiphertextException"


def test_decrypt_tries_the_next_data_key_when_kms_refuses(kms, keys):
    message = envelope.encrypt(kms, b"x", [keys[0][1], keys[1][1]])
    kms.disable_key(KeyId=keys[0][0])
    assert envelope.decrypt(kms, message) == b"x"
    assert kms.calls[-2:] == ["Decrypt", "Decrypt"]


def test_no_decryptable_key_lists_what_kms_said(kms, keys):
    message = envelope.encrypt(kms, b"x", [keys[0][1]])
    kms.disable_key(KeyId=keys[0][0])
    with pytest.raises(NoDecryptableKeyError, match="DisabledException") as caught:
        envelope.decrypt(kms, message)
    (arn, error), = caught.value.attempts
    assert arn == keys[0][1]
    assert error.response["Error"]["Code"] == "DisabledException"


def test_wrong_key_is_refused_without_asking_kms(kms, keys):
    message = envelope.encrypt(kms, b"x", [keys[0][1]])
    kms.calls.clear()
    with pytest.raises(NoDecryptableKeyError, match="allowed"):
        envelope.decrypt(kms, message, key_ids=[keys[1][1]])
    assert kms.calls == []


def test_kms_errors_pass_through_on_encrypt(kms, keys):
    kms.disable_key(KeyId=keys[0][0])
    with pytest.raises(Exception) as caught:
        envelope.encrypt(kms, b"x", [keys[0][1]])
    assert caught.value.response["Error"]["Code"] == "DisabledException"
    assert not isinstance(caught.value, EnvelopeError)


def test_bad_arguments(kms, keys):
    with pytest.raises(TypeError, match="list"):
        envelope.encrypt(kms, b"x", keys[0][1])
    with pytest.raises(ValueError):
        envelope.encrypt(kms, b"x", [])
    with pytest.raises(ValueError):
        envelope.encrypt(kms, b"x", [keys[0][1]], frame_length=0)
    assert kms.calls == []


# -- context -------------------------------------------------------------------------

@SUITES
@pytest.mark.parametrize("given", [{}, {"purpose": "test"}, {**CONTEXT, "extra": "1"},
                                   {"purpose": "test", "tenant": "red"}])
def test_wrong_context_fails_before_any_kms_call(kms, keys, suite, given):
    message = envelope.encrypt(kms, b"x", [keys[0][1]], CONTEXT, algorithm=suite)
    kms.calls.clear()
    with pytest.raises(ContextMismatchError, match="does not match"):
        envelope.decrypt(kms, message, given)
    assert kms.calls == []


def test_context_order_does_not_matter_and_the_public_key_need_not_be_given(kms, keys):
    message = envelope.encrypt(kms, b"x", [keys[0][1]], {"b": "2", "a": "1"})
    assert envelope.decrypt(kms, message, {"a": "1", "b": "2"}) == b"x"
    bound = envelope.parse(message).encryption_context
    assert envelope.decrypt(kms, message, bound) == b"x"  # naming it is fine too...
    with pytest.raises(ContextMismatchError, match="different values: aws-crypto-public-key"):
        envelope.decrypt(kms, message, {**bound, "aws-crypto-public-key": "A" * 68})  # ...if right
    assert list(bound) == ["a", "aws-crypto-public-key", "b"]  # sorted by UTF-8 bytes


@SUITES
@pytest.mark.parametrize("context", [{"aws-crypto-public-key": "x"}, {"aws-crypto-anything": "x"},
                                     {"ok": "1", "aws-crypto-": ""}])
def test_reserved_context_keys_are_refused_on_encrypt(kms, keys, suite, context):
    kms.calls.clear()
    with pytest.raises(ValueError, match="reserved"):
        envelope.encrypt(kms, b"x", [keys[0][1]], context, algorithm=suite)
    assert kms.calls == []
    message = envelope.encrypt(kms, b"x", [keys[0][1]], {"aws-crypto": "not reserved",
                                                         "AWS-CRYPTO-x": "case matters"},
                               algorithm=suite)
    assert envelope.decrypt(kms, message) == b"x"


def _rebuild_header(message, *, context: dict | None = None, suite: int | None = None) -> bytes:
    """The message with its header's suite id or encryption context replaced (tags not fixed)."""
    from kmslab.envelope.format import parse_header, serialize_context
    header = parse_header(bytes(message))
    start = 1 + 2 + 32
    (length,) = struct.unpack_from(">H", message, start)
    new_context = serialize_context(context) if context is not None else \
        bytes(message[start + 2:start + 2 + length])
    out = bytes([2]) + struct.pack(">H", suite if suite is not None else header.suite_id) + \
        header.message_id + struct.pack(">H", len(new_context)) + new_context
    return out + bytes(message[start + 2 + length:])


def test_signed_message_without_its_public_key_is_refused_before_kms(kms, keys):
    message = envelope.encrypt(kms, b"x", [keys[0][1]], CONTEXT)
    stripped = _rebuild_header(message, context=CONTEXT)
    kms.calls.clear()
    with pytest.raises(MalformedMessageError, match="aws-crypto-public-key"):
        envelope.decrypt(kms, stripped)
    assert kms.calls == []


def test_unsigned_message_with_a_public_key_is_refused_before_kms(kms, keys):
    signed = envelope.encrypt(kms, b"x", [keys[0][1]], CONTEXT)
    relabelled = _rebuild_header(signed, suite=0x0478)
    kms.calls.clear()
    with pytest.raises(MalformedMessageError, match="does not sign"):
        envelope.decrypt(kms, relabelled)
    assert kms.calls == []


def test_a_public_key_entry_that_is_not_a_p384_point_is_refused(kms, keys):
    message = envelope.encrypt(kms, b"x", [keys[0][1]])
    broken = _rebuild_header(message, context={"aws-crypto-public-key": "not base64!"})
    with pytest.raises(MalformedMessageError, match="P-384"):
        envelope.decrypt(kms, broken)


# -- tampering -----------------------------------------------------------------------

@SUITES
def test_every_header_byte_is_protected(kms, keys, suite):
    message = envelope.encrypt(kms, b"payload", [keys[0][1], keys[1][1]], CONTEXT, algorithm=suite)
    header_length = envelope.parse(message).header_length
    for position in range(header_length):
        broken = bytearray(message)
        broken[position] ^= 0x01
        with pytest.raises(EnvelopeError):
            envelope.decrypt(kms, bytes(broken))


@SUITES
def test_every_byte_of_a_message_is_protected(kms, keys, suite):
    message = envelope.encrypt(kms, os.urandom(150), [keys[0][1]], algorithm=suite,
                               frame_length=SMALL_FRAME)
    cache = envelope.DataKeyCache(max_age=60)  # one Decrypt call for all the attempts
    for position in range(len(message)):
        broken = bytearray(message)
        broken[position] ^= 0x80
        with pytest.raises(EnvelopeError):
            envelope.decrypt(kms, bytes(broken), cache=cache)


@pytest.mark.parametrize("field, error", [("message id", KeyCommitmentError),
                                          ("commitment", KeyCommitmentError),
                                          ("frame length", HeaderAuthenticationError),
                                          ("content type", UnsupportedFormatError),
                                          ("edk count", EnvelopeError),
                                          ("header tag", HeaderAuthenticationError),
                                          ("version", UnsupportedFormatError),
                                          ("suite id", UnsupportedFormatError)])
def test_tampered_header_field_names_the_failure(kms, keys, field, error):
    message = bytearray(envelope.encrypt(kms, b"payload", [keys[0][1]], algorithm=UNSIGNED))
    end = envelope.parse(message).header_length
    position = {"version": 0, "suite id": 2, "message id": 7, "commitment": end - 16 - 32,
                "frame length": end - 16 - 32 - 1, "content type": end - 16 - 32 - 5,
                "edk count": 1 + 2 + 32 + 2 + 1, "header tag": end - 1}[field]
    message[position] ^= 0x01
    with pytest.raises(error):
        envelope.decrypt(kms, message)


def test_a_changed_context_value_fails_the_header_tag(kms, keys):
    message = envelope.encrypt(kms, b"payload", [keys[0][1]], {"k": "v"}, algorithm=UNSIGNED)
    at = bytes(message).index(b"\x00\x01k\x00\x01v") + 5
    broken = bytearray(message)
    broken[at] = ord("w")
    with pytest.raises((HeaderAuthenticationError, NoDecryptableKeyError)):
        envelope.decrypt(kms, broken)


def test_key_commitment_is_checked_before_decrypting(kms, keys):
    message = bytearray(envelope.encrypt(kms, b"payload", [keys[0][1]]))
    commitment_at = envelope.parse(message).header_length - 16 - 32
    message[commitment_at] ^= 0x80
    with pytest.raises(KeyCommitmentError, match="commitment"):
        envelope.decrypt(kms, message)


def _message(kms, keys, frames=4, suite=SIGNED):
    plaintext = os.urandom(frames * SMALL_FRAME - 5)
    return plaintext, bytes(envelope.encrypt(kms, plaintext, [keys[0][1]], algorithm=suite,
                                             frame_length=SMALL_FRAME))


@SUITES
@pytest.mark.parametrize("part", ["content", "tag", "iv"])
def test_tampered_frame(kms, keys, suite, part):
    _, message = _message(kms, keys, suite=suite)
    frames = envelope.parse(message).frames
    for (offset, length), info in zip(frames_of(message), frames, strict=True):
        iv_at = offset + (8 if info.final else 4)
        position = {"content": offset + length - 20, "tag": offset + length - 1,
                    "iv": iv_at + 5}[part]
        broken = bytearray(message)
        broken[position] ^= 0x04
        with pytest.raises(FrameAuthenticationError, match="IV" if part == "iv" else "failed"):
            envelope.decrypt(kms, broken)


def test_missing_frame(kms, keys):
    _, message = _message(kms, keys)
    (o1, l1), (o2, l2) = frames_of(message)[:2]
    with pytest.raises(FrameAuthenticationError, match="expected frame 2, found frame 3"):
        envelope.decrypt(kms, message[:o2] + message[o2 + l2:])


def test_reordered_frames(kms, keys):
    _, message = _message(kms, keys, suite=UNSIGNED)
    (o1, l1), (o2, l2) = frames_of(message)[:2]
    swapped = message[:o1] + message[o2:o2 + l2] + message[o1:o1 + l1] + message[o2 + l2:]
    with pytest.raises(FrameAuthenticationError, match="expected frame 1, found frame 2"):
        envelope.decrypt(kms, swapped)
    renumbered = bytearray(swapped)  # fix up sequence numbers and IVs: the tags still fail
    for at, seq in ((o1, 1), (o1 + l1, 2)):
        struct.pack_into(">I", renumbered, at, seq)
        struct.pack_into(">I", renumbered, at + 12, seq)
    with pytest.raises(FrameAuthenticationError, match="failed authentication"):
        envelope.decrypt(kms, renumbered)


def test_duplicated_frame(kms, keys):
    _, message = _message(kms, keys)
    o1, l1 = frames_of(message)[0]
    with pytest.raises(FrameAuthenticationError, match="expected frame 2, found frame 1"):
        envelope.decrypt(kms, message[:o1 + l1] + message[o1:])


@SUITES
@pytest.mark.parametrize("cut", ["final frame", "inside a frame", "inside header", "one byte",
                                 "footer"])
def test_truncated_message(kms, keys, suite, cut):
    _, message = _message(kms, keys, suite=suite)
    info = envelope.parse(message)
    final_offset = frames_of(message)[-1][0]
    end = {"final frame": final_offset, "inside a frame": final_offset - 7,
           "inside header": 30, "one byte": len(message) - 1,
           "footer": len(message) - info.footer_length}[cut]
    if end == len(message):  # the unsigned suite has no footer to cut
        return
    with pytest.raises(TruncatedMessageError):
        envelope.decrypt(kms, message[:end])
    with pytest.raises(TruncatedMessageError):
        envelope.decrypt_stream(kms, io.BytesIO(message[:end]), io.BytesIO())


def test_regular_frame_relabelled_as_final(kms, keys):
    _, message = _message(kms, keys, suite=UNSIGNED)
    offset, length = frames_of(message)[-2]
    seq = len(frames_of(message)) - 1
    iv, body = message[offset + 4:offset + 16], message[offset + 16:offset + length]
    forged = message[:offset] + struct.pack(">II", 0xFFFFFFFF, seq) + iv + \
        struct.pack(">I", SMALL_FRAME) + body
    with pytest.raises(FrameAuthenticationError, match="final frame"):
        envelope.decrypt(kms, forged)


@SUITES
def test_trailing_bytes(kms, keys, suite):
    _, message = _message(kms, keys, suite=suite)
    with pytest.raises(MalformedMessageError, match="follow"):
        envelope.decrypt(kms, message + b"\0")
    with pytest.raises(MalformedMessageError, match="follow"):
        envelope.decrypt_stream(kms, io.BytesIO(message + b"\0"), io.BytesIO())


def test_frame_spliced_from_another_message_under_the_same_data_key(kms, keys):
    cache = envelope.DataKeyCache(max_age=60)
    a = envelope.encrypt(kms, bytes(2 * SMALL_FRAME), [keys[0][1]], frame_length=SMALL_FRAME, cache=cache)
    b = envelope.encrypt(kms, bytes(2 * SMALL_FRAME), [keys[0][1]], frame_length=SMALL_FRAME, cache=cache)
    assert cache.encrypt_hits == 1
    (oa, la) = frames_of(a)[0]
    with pytest.raises(FrameAuthenticationError):
        envelope.decrypt(kms, bytes(a[:oa]) + bytes(b[oa:oa + la]) + bytes(a[oa + la:]))


def test_tampered_signature(kms, keys):
    _, message = _message(kms, keys)
    for position in (len(message) - 1, len(message) - 50):
        broken = bytearray(message)
        broken[position] ^= 0x01
        with pytest.raises(SignatureVerificationError, match="signature does not verify"):
            envelope.decrypt(kms, broken)
        out = io.BytesIO()
        with pytest.raises(SignatureVerificationError):
            envelope.decrypt_stream(kms, io.BytesIO(bytes(broken)), out)
    length_changed = bytearray(message)
    length_changed[-104] -= 1  # signature length 103 -> 102: a byte follows the footer
    with pytest.raises(MalformedMessageError, match="follow the signature"):
        envelope.decrypt(kms, length_changed)


def _forge(kms, message: bytes, new_plaintext: bytes) -> bytes:
    """What a reader can do with kms:Decrypt alone: new frames under the message's data key."""
    from kmslab.envelope.format import parse_header
    header = parse_header(message)
    data_key = kms.decrypt(CiphertextBlob=header.encrypted_data_keys[0].ciphertext,
                           EncryptionContext=header.encryption_context)["Plaintext"]
    key = HKDF(hashes.SHA512(), 32, salt=header.message_id,
               info=header.algorithm.to_bytes(2, "big") + b"DERIVEKEY").derive(data_key)
    iv = bytes(8) + struct.pack(">I", 1)
    aad = header.message_id + b"AWSKMSEncryptionClient Final Frame" + struct.pack(
        ">IQ", 1, len(new_plaintext))
    sealed = AESGCM(key).encrypt(iv, new_plaintext, aad)
    body = struct.pack(">II", 0xFFFFFFFF, 1) + iv + struct.pack(">I", len(new_plaintext)) + sealed
    footer = message[len(message) - envelope.parse(message).footer_length:]
    return message[:header.length] + body + footer


@SUITES
def test_a_reader_can_forge_only_without_a_signature(kms, keys, suite):
    message = bytes(envelope.encrypt(kms, b"pay alice 10", [keys[0][1]], CONTEXT, algorithm=suite))
    forged = _forge(kms, message, b"pay mallory 1000")
    if suite.signed:
        with pytest.raises(SignatureVerificationError):
            envelope.decrypt(kms, forged, CONTEXT)
    else:
        assert envelope.decrypt(kms, forged, CONTEXT) == b"pay mallory 1000"


@pytest.mark.parametrize("start, match", [(b"KMSE\x01\x00\x01", "former envelope format"),
                                          (b"\x01\x80\x03\x78", "version 1"),
                                          (b"hello world", "not an AWS Encryption SDK message"),
                                          (b"\x02\x03\x78", "algorithm suite 0x0378")])
def test_not_a_message_we_read(start, match):
    with pytest.raises(UnsupportedFormatError, match=match):
        envelope.decrypt(None, start + bytes(200))
    with pytest.raises(UnsupportedFormatError, match=match):
        envelope.parse(start + bytes(200))
    assert issubclass(TruncatedMessageError, DecryptionError)
    assert issubclass(SignatureVerificationError, DecryptionError)


# -- the documented format, checked with plain cryptography ----------------------------

@SUITES
def test_message_matches_the_documented_layout(kms, keys, suite):
    plaintext = os.urandom(SMALL_FRAME + 10)
    message = bytes(envelope.encrypt(kms, plaintext, [keys[0][1]], {"k": "v"}, algorithm=suite,
                                     frame_length=SMALL_FRAME))
    data_key = kms.data_keys[-1]
    assert message[:3] == b"\x02" + suite.to_bytes(2, "big")
    message_id = message[3:35]
    (aad_length,) = struct.unpack_from(">H", message, 35)
    aad = message[37:37 + aad_length]
    if suite.signed:
        point = ec.generate_private_key(ec.SECP384R1())  # only for its length
        entry_key = b"aws-crypto-public-key"
        (count,) = struct.unpack_from(">H", aad, 0)
        assert count == 2  # pairs sorted by key: "aws-crypto-public-key" < "k"
        assert aad[2:4] == struct.pack(">H", len(entry_key)) and aad[4:25] == entry_key
        (n,) = struct.unpack_from(">H", aad, 25)
        public = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP384R1(), base64.b64decode(aad[27:27 + n]))
        assert n == 68 and public.key_size == point.key_size == 384
        assert aad[27 + n:] == b"\x00\x01k\x00\x01v"
    else:
        assert aad == b"\x00\x01" + b"\x00\x01k" + b"\x00\x01v"
    pos = 37 + aad_length
    assert struct.unpack_from(">H", message, pos)[0] == 1
    pos += 2
    fields = []
    for _ in range(3):
        (n,) = struct.unpack_from(">H", message, pos)
        fields.append(message[pos + 2:pos + 2 + n])
        pos += 2 + n
    assert fields[0] == b"aws-kms" and fields[1] == keys[0][1].encode()
    assert message[pos] == 2 and struct.unpack_from(">I", message, pos + 1)[0] == SMALL_FRAME
    pos += 5
    key = HKDF(hashes.SHA512(), 32, salt=message_id,
               info=suite.to_bytes(2, "big") + b"DERIVEKEY").derive(data_key)
    commitment = HKDF(hashes.SHA512(), 32, salt=message_id, info=b"COMMITKEY").derive(data_key)
    assert message[pos:pos + 32] == commitment
    aes = AESGCM(key)
    pos += 32
    aes.decrypt(bytes(12), message[pos:pos + 16], message[:pos])  # header tag verifies
    pos += 16
    assert struct.unpack_from(">I", message, pos)[0] == 1
    nonce = bytes(8) + struct.pack(">I", 1)
    assert message[pos + 4:pos + 16] == nonce
    aad = message_id + b"AWSKMSEncryptionClient Frame" + struct.pack(">IQ", 1, SMALL_FRAME)
    first = aes.decrypt(nonce, message[pos + 16:pos + 16 + SMALL_FRAME + 16], aad)
    pos += 16 + SMALL_FRAME + 16
    marker, seq = struct.unpack_from(">II", message, pos)
    nonce = bytes(8) + struct.pack(">I", 2)
    assert (marker, seq) == (0xFFFFFFFF, 2) and message[pos + 8:pos + 20] == nonce
    (length,) = struct.unpack_from(">I", message, pos + 20)
    assert length == 10
    aad = message_id + b"AWSKMSEncryptionClient Final Frame" + struct.pack(">IQ", 2, 10)
    body_end = pos + 24 + 10 + 16
    last = aes.decrypt(nonce, message[pos + 24:body_end], aad)
    assert first + last == plaintext
    if suite.signed:
        (n,) = struct.unpack_from(">H", message, body_end)
        signature = message[body_end + 2:]
        assert n == len(signature) == 103
        digest = hashes.Hash(hashes.SHA384())
        digest.update(message[:body_end])
        public.verify(signature, digest.finalize(), ec.ECDSA(Prehashed(hashes.SHA384())))
    else:
        assert body_end == len(message)
    with pytest.raises(InvalidTag):  # and the tag really depends on the message id
        AESGCM(key).decrypt(bytes(12), message[:16], message[:10])


# -- parse -----------------------------------------------------------------------------

def test_parse_shows_structure_but_no_secrets(kms, keys):
    plaintext = b"TOP-SECRET-PAYLOAD" * 10
    message = envelope.encrypt(kms, plaintext, [keys[0][1], keys[1][1]], CONTEXT,
                               frame_length=SMALL_FRAME)
    info = envelope.parse(message)
    assert info.format_version == 2
    assert info.suite_name == "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384"
    assert {k: v for k, v in info.encryption_context.items()
            if k != "aws-crypto-public-key"} == CONTEXT
    assert [e.key_arn for e in info.encrypted_data_keys] == [keys[0][1], keys[1][1]]
    assert all(e.ciphertext_length > 32 for e in info.encrypted_data_keys)
    assert [(f.sequence_number, f.kind, f.plaintext_length) for f in info.frames] == \
           [(1, "regular", 64), (2, "regular", 64), (3, "final", 52)]
    assert [f.encrypted_length for f in info.frames] == [64 + 32, 64 + 32, 52 + 40]
    assert info.message_length == len(message)
    assert info.frames[0].offset == info.header_length
    shown = info._repr_html_() + repr(info)
    assert "<table>" in shown and keys[1][1] in shown and "ECDSA P-384" in shown
    data_key = kms.data_keys[-1]
    for secret in (b"TOP-SECRET", data_key.hex().encode(), data_key):
        assert secret.decode("latin-1") not in shown
    edk = info.encrypted_data_keys[1]  # the blob KMS returned: usable, not displayed
    assert edk.ciphertext.hex() not in shown and len(edk.ciphertext) == edk.ciphertext_length
    assert kms.decrypt(CiphertextBlob=edk.ciphertext,
                       EncryptionContext=info.encryption_context)["Plaintext"] == data_key


def test_message_lengths_are_deterministic(kms, keys):
    """The SDKs write the P-384 signature at a fixed 103 bytes: the same input, the same size."""
    sizes = {len(envelope.encrypt(kms, b"x" * 10, [keys[0][1]], CONTEXT)) for _ in range(40)}
    assert len(sizes) == 1


# -- layering: a boto3-shaped client is all the envelope package needs -------------------

def test_works_with_any_boto3_shaped_client():
    from fake_kms import FakeKMS
    other = FakeKMS()
    arn = other.create_key()["KeyMetadata"]["Arn"]
    message = envelope.encrypt(other, b"portable", [arn], CONTEXT)
    assert envelope.decrypt(other, message, CONTEXT) == b"portable"


def test_envelope_imports_nothing_of_kmslab_outside_itself():
    import ast
    import pathlib
    package = pathlib.Path(envelope.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.level == 1 or not (node.module or "").startswith("kmslab"), path
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("kmslab") for a in node.names), path
