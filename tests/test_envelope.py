"""Envelope messages: round trips, multi-key, and every way a message can be broken."""

from __future__ import annotations

import io
import os
import struct
import tracemalloc

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from envelope_support import Recording, make_kms, new_key
from kmslab import envelope
from kmslab.envelope import (ContextMismatchError, DecryptionError, EnvelopeError,
                             FrameAuthenticationError, HeaderAuthenticationError,
                             KeyCommitmentError, MalformedMessageError, NoDecryptableKeyError,
                             TruncatedMessageError, UnsupportedFormatError)

CONTEXT = {"purpose": "test", "tenant": "blue"}
SMALL_FRAME = 64


@pytest.fixture
def kms():
    return Recording(make_kms())


@pytest.fixture
def keys(kms):
    return [new_key(kms) for _ in range(3)]


def frames_of(message) -> list[tuple[int, int]]:
    """(offset, length in message) of every frame, from parse()."""
    return [(f.offset, f.encrypted_length) for f in envelope.parse(message).frames]


# -- round trips ---------------------------------------------------------------------

@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 128, 1000, 4096, 4097])
def test_round_trip_small_frames(kms, keys, size):
    plaintext = os.urandom(size)
    message = envelope.encrypt(kms, plaintext, [keys[0][1]], CONTEXT, frame_length=SMALL_FRAME)
    assert envelope.decrypt(kms, message, CONTEXT) == plaintext
    info = envelope.parse(message)
    regular = (size - 1) // SMALL_FRAME if size else 0
    assert len(info.frames) == regular + 1
    assert info.plaintext_length == size
    assert [f.sequence_number for f in info.frames] == list(range(1, regular + 2))
    assert [f.final for f in info.frames] == [False] * regular + [True]


@pytest.mark.parametrize("size", [0, 1024, (1 << 20) + 1, 64 << 20])
def test_round_trip_default_frames(kms, keys, size):
    plaintext = os.urandom(size) if size < (1 << 21) else bytes(size)
    message = envelope.encrypt(kms, plaintext, [keys[0][0]])
    assert plaintext not in message or size == 0
    assert envelope.decrypt(kms, message) == plaintext
    assert len(message) - size == envelope.parse(message).overhead


def test_stream_round_trip_and_same_format(kms, keys):
    plaintext = os.urandom(5 * SMALL_FRAME + 7)
    sink = io.BytesIO()
    written = envelope.encrypt_stream(kms, io.BytesIO(plaintext), sink, [keys[0][1]], CONTEXT,
                                      frame_length=SMALL_FRAME)
    assert written == len(sink.getvalue())
    assert envelope.decrypt(kms, sink.getvalue(), CONTEXT) == plaintext
    out = io.BytesIO()
    message = envelope.encrypt(kms, plaintext, [keys[0][1]], CONTEXT, frame_length=SMALL_FRAME)
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


def test_stream_uses_constant_memory(kms, keys):
    frame = 1 << 20
    size = 48 * frame
    tracemalloc.start()
    try:
        sink = _Counter()
        envelope.encrypt_stream(kms, _Zeros(size), sink, [keys[0][1]], frame_length=frame)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.count > size
    assert peak < 5 * frame  # two input frames and one output frame, not 48 MiB


def test_stream_decrypt_uses_constant_memory(kms, keys, tmp_path):
    frame = 1 << 20
    size = 48 * frame
    path = tmp_path / "message"
    with open(path, "wb") as sink:
        envelope.encrypt_stream(kms, _Zeros(size), sink, [keys[0][1]], frame_length=frame)
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
    message[offset + 10] ^= 1
    out = io.BytesIO()
    with pytest.raises(FrameAuthenticationError, match="frame 3"):
        envelope.decrypt_stream(kms, io.BytesIO(bytes(message)), out)
    assert out.getvalue() == plaintext[:2 * SMALL_FRAME]


# -- keys ----------------------------------------------------------------------------

def test_each_key_alone_decrypts_a_multi_key_message(kms, keys):
    plaintext = b"shared secret"
    message = envelope.encrypt(kms, plaintext, [k[1] for k in keys], CONTEXT)
    assert [e.key_arn for e in envelope.parse(message).encrypted_data_keys] == [k[1] for k in keys]
    assert kms.calls == ["GenerateDataKey", "Encrypt", "Encrypt"]
    for key_id, arn in keys:
        for selector in (key_id, arn):
            kms.calls.clear()
            assert envelope.decrypt(kms, message, CONTEXT, key_ids=[selector]) == plaintext
            assert kms.calls == ["Decrypt"]


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

@pytest.mark.parametrize("given", [{}, {"purpose": "test"}, {**CONTEXT, "extra": "1"},
                                   {"purpose": "test", "tenant": "red"}])
def test_wrong_context_fails_before_any_kms_call(kms, keys, given):
    message = envelope.encrypt(kms, b"x", [keys[0][1]], CONTEXT)
    kms.calls.clear()
    with pytest.raises(ContextMismatchError, match="does not match"):
        envelope.decrypt(kms, message, given)
    assert kms.calls == []


def test_context_order_does_not_matter_and_is_sent_to_kms(kms, keys):
    message = envelope.encrypt(kms, b"x", [keys[0][1]], {"b": "2", "a": "1"})
    assert envelope.decrypt(kms, message, {"a": "1", "b": "2"}) == b"x"
    assert envelope.parse(message).encryption_context == {"a": "1", "b": "2"}


# -- tampering -----------------------------------------------------------------------

def test_every_header_byte_is_protected(kms, keys):
    message = envelope.encrypt(kms, b"payload", [keys[0][1], keys[1][1]], CONTEXT)
    header_length = envelope.parse(message).header_length
    for position in range(header_length):
        broken = bytearray(message)
        broken[position] ^= 0x01
        with pytest.raises(EnvelopeError):
            envelope.decrypt(kms, bytes(broken))


@pytest.mark.parametrize("field, error", [("message id", KeyCommitmentError),
                                          ("commitment", KeyCommitmentError),
                                          ("frame length", HeaderAuthenticationError),
                                          ("header tag", HeaderAuthenticationError),
                                          ("magic", UnsupportedFormatError),
                                          ("version", UnsupportedFormatError)])
def test_tampered_header_field_names_the_failure(kms, keys, field, error):
    message = bytearray(envelope.encrypt(kms, b"payload", [keys[0][1]]))
    info = envelope.parse(message)
    end = info.header_length
    position = {"magic": 0, "version": 4, "message id": 7, "commitment": end - 16 - 32,
                "frame length": end - 16 - 32 - 1, "header tag": end - 1}[field]
    message[position] ^= 0x01
    with pytest.raises(error):
        envelope.decrypt(kms, message)


def test_key_commitment_is_checked_before_decrypting(kms, keys):
    message = bytearray(envelope.encrypt(kms, b"payload", [keys[0][1]]))
    commitment_at = envelope.parse(message).header_length - 16 - 32
    message[commitment_at] ^= 0x80
    with pytest.raises(KeyCommitmentError, match="commitment"):
        envelope.decrypt(kms, message)


def _message(kms, keys, frames=4):
    plaintext = os.urandom(frames * SMALL_FRAME - 5)
    return plaintext, bytes(envelope.encrypt(kms, plaintext, [keys[0][1]], frame_length=SMALL_FRAME))


def test_tampered_frame(kms, keys):
    _, message = _message(kms, keys)
    for offset, length in frames_of(message):
        for position in (offset + length - 1, offset + length - 20):
            broken = bytearray(message)
            broken[position] ^= 0x04
            with pytest.raises(FrameAuthenticationError):
                envelope.decrypt(kms, broken)


def test_missing_frame(kms, keys):
    _, message = _message(kms, keys)
    (o1, l1), (o2, l2) = frames_of(message)[:2]
    with pytest.raises(FrameAuthenticationError, match="expected frame 2, found frame 3"):
        envelope.decrypt(kms, message[:o2] + message[o2 + l2:])


def test_reordered_frames(kms, keys):
    _, message = _message(kms, keys)
    (o1, l1), (o2, l2) = frames_of(message)[:2]
    swapped = message[:o1] + message[o2:o2 + l2] + message[o1:o1 + l1] + message[o2 + l2:]
    with pytest.raises(FrameAuthenticationError, match="expected frame 1, found frame 2"):
        envelope.decrypt(kms, swapped)
    renumbered = bytearray(swapped)  # fix up the sequence numbers: the tags still fail
    struct.pack_into(">I", renumbered, o1, 1)
    struct.pack_into(">I", renumbered, o1 + l1, 2)
    with pytest.raises(FrameAuthenticationError, match="failed authentication"):
        envelope.decrypt(kms, renumbered)


def test_duplicated_frame(kms, keys):
    _, message = _message(kms, keys)
    o1, l1 = frames_of(message)[0]
    with pytest.raises(FrameAuthenticationError, match="expected frame 2, found frame 1"):
        envelope.decrypt(kms, message[:o1 + l1] + message[o1:])


@pytest.mark.parametrize("cut", ["final frame", "inside a frame", "inside header", "one byte"])
def test_truncated_message(kms, keys, cut):
    _, message = _message(kms, keys)
    final_offset = frames_of(message)[-1][0]
    end = {"final frame": final_offset, "inside a frame": final_offset - 7,
           "inside header": 30, "one byte": len(message) - 1}[cut]
    with pytest.raises(TruncatedMessageError):
        envelope.decrypt(kms, message[:end])
    with pytest.raises(TruncatedMessageError):
        envelope.decrypt_stream(kms, io.BytesIO(message[:end]), io.BytesIO())


def test_regular_frame_relabelled_as_final(kms, keys):
    _, message = _message(kms, keys)
    offset, length = frames_of(message)[-2]
    seq = len(frames_of(message)) - 1
    body = message[offset + 4:offset + length]
    forged = message[:offset] + struct.pack(">III", 0xFFFFFFFF, seq, SMALL_FRAME) + body
    with pytest.raises(FrameAuthenticationError, match="final frame"):
        envelope.decrypt(kms, forged)


def test_trailing_bytes(kms, keys):
    _, message = _message(kms, keys)
    with pytest.raises(MalformedMessageError, match="follow the final frame"):
        envelope.decrypt(kms, message + b"\0")


def test_frame_spliced_from_another_message_under_the_same_data_key(kms, keys):
    cache = envelope.DataKeyCache(max_age=60)
    a = envelope.encrypt(kms, bytes(2 * SMALL_FRAME), [keys[0][1]], frame_length=SMALL_FRAME, cache=cache)
    b = envelope.encrypt(kms, bytes(2 * SMALL_FRAME), [keys[0][1]], frame_length=SMALL_FRAME, cache=cache)
    assert cache.encrypt_hits == 1
    (oa, la) = frames_of(a)[0]
    with pytest.raises(FrameAuthenticationError):
        envelope.decrypt(kms, bytes(a[:oa]) + bytes(b[oa:oa + la]) + bytes(a[oa + la:]))


def test_not_a_message():
    with pytest.raises(UnsupportedFormatError, match="not a kmslab envelope message"):
        envelope.decrypt(None, b"hello world, this is not an envelope message at all")
    assert issubclass(TruncatedMessageError, DecryptionError)


# -- the documented format, checked with plain cryptography ----------------------------

def test_message_matches_the_documented_layout(kms, keys):
    plaintext = os.urandom(SMALL_FRAME + 10)
    message = bytes(envelope.encrypt(kms, plaintext, [keys[0][1]], {"k": "v"},
                                     frame_length=SMALL_FRAME))
    data_key = kms.data_keys[-1]
    assert message[:7] == b"KMSE\x01\x00\x01"
    message_id = message[7:39]
    context = b"\x00\x01" + b"\x00\x01k" + b"\x00\x01v"
    assert message[39:41] == struct.pack(">H", len(context)) and message[41:41 + 8] == context
    pos = 49
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
    okm = HKDF(hashes.SHA512(), 64, salt=None,
               info=b"\x00\x01DERIVEKEY|COMMITKEY" + message_id).derive(data_key)
    assert message[pos:pos + 32] == okm[32:]
    aes = AESGCM(okm[:32])
    pos += 32
    aes.decrypt(bytes(12), message[pos:pos + 16], message[:pos])  # header tag verifies
    pos += 16
    assert struct.unpack_from(">I", message, pos)[0] == 1
    nonce = bytes(8) + struct.pack(">I", 1)
    aad = message_id + b"\x01" + struct.pack(">IQ", 1, SMALL_FRAME)
    first = aes.decrypt(nonce, message[pos + 4:pos + 4 + SMALL_FRAME + 16], aad)
    pos += 4 + SMALL_FRAME + 16
    marker, seq, length = struct.unpack_from(">III", message, pos)
    assert (marker, seq, length) == (0xFFFFFFFF, 2, 10)
    aad = message_id + b"\x02" + struct.pack(">IQ", 2, 10)
    last = aes.decrypt(bytes(8) + struct.pack(">I", 2), message[pos + 12:], aad)
    assert first + last == plaintext


# -- parse -----------------------------------------------------------------------------

def test_parse_shows_structure_but_no_secrets(kms, keys):
    plaintext = b"TOP-SECRET-PAYLOAD" * 10
    message = envelope.encrypt(kms, plaintext, [keys[0][1], keys[1][1]], CONTEXT,
                               frame_length=SMALL_FRAME)
    info = envelope.parse(message)
    assert info.format_version == 1 and info.suite_name == "AES_256_GCM_HKDF_SHA512_COMMIT_KEY"
    assert info.encryption_context == CONTEXT
    assert [e.key_arn for e in info.encrypted_data_keys] == [keys[0][1], keys[1][1]]
    assert all(e.ciphertext_length > 32 for e in info.encrypted_data_keys)
    assert [(f.sequence_number, f.final, f.plaintext_length) for f in info.frames] == \
           [(1, False, 64), (2, False, 64), (3, True, 52)]
    assert info.message_length == len(message)
    assert info.frames[0].offset == info.header_length
    shown = info._repr_html_() + repr(info)
    assert "<table>" in shown and keys[1][1] in shown
    data_key = kms.data_keys[-1]
    for secret in (b"TOP-SECRET", data_key.hex().encode(), data_key):
        assert secret.decode("latin-1") not in shown


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
