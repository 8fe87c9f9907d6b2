"""The envelope message parser at every bound: each length, count and range check on both
sides, every truncation, and nothing but the documented errors.

Messages here are laid out by hand from the AWS Encryption SDK's message format reference
(version 2), not by kmslab's writer: a header, framed or non-framed bodies, a footer.
Parsing decrypts nothing, so the bytes need not be valid ciphertext.
"""

from __future__ import annotations

import struct

import pytest

from kmslab import envelope
from kmslab.envelope import format as fmt
from kmslab.envelope.errors import (
    EnvelopeError,
    FrameAuthenticationError,
    MalformedMessageError,
    TruncatedMessageError,
    UnsupportedFormatError,
)
from kmslab.envelope.suite import Algorithm

from envelope_support import make_kms, new_key

SIGNED = Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
UNSIGNED = Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY
MESSAGE_ID = bytes(range(32))
COMMITMENT = b"\xcc" * 32
TAG = b"\x7a" * 16
ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def u16(n):
    return struct.pack(">H", n)


def u32(n):
    return struct.pack(">I", n)


def context_field(pairs, count=None):
    """The AAD field as the reference lays it out: count, then (length, key, length, value)."""
    out = u16(len(pairs) if count is None else count)
    for key, value in pairs:
        out += u16(len(key)) + key + u16(len(value)) + value
    return out


def edk_field(edks):
    out = u16(len(edks))
    for provider, info, ciphertext in edks:
        out += u16(len(provider)) + provider + u16(len(info)) + info + u16(len(ciphertext)) + ciphertext
    return out


ONE_EDK = ((b"aws-kms", ARN.encode(), b"\x01" * 40),)


def header(*, suite=UNSIGNED, aad=b"", edks=ONE_EDK,
           content_type=2, frame_length=64):
    return (b"\x02" + u16(suite) + MESSAGE_ID + u16(len(aad)) + aad + edk_field(edks)
            + bytes([content_type]) + u32(frame_length) + COMMITMENT + TAG)


def regular_frame(seq, frame_length):
    return u32(seq) + bytes(8) + u32(seq) + b"\xee" * frame_length + TAG


def final_frame(seq, length):
    return u32(0xFFFFFFFF) + u32(seq) + bytes(8) + u32(seq) + u32(length) + b"\xee" * length + TAG


def footer(signature=b"\x30" * 103):
    return u16(len(signature)) + signature


# ------------------------------------------------------------------ the header
def header_field_ends(aad_length, edks):
    """Where each field the parser must read ends, in the reference's order (the AAD and the
    EDK count are needed together)."""
    ends = [1, 3, 37, 37 + aad_length + 2]
    pos = ends[-1]
    for edk in edks:
        for part in edk:
            ends += [pos + 2, pos + 2 + len(part)]
            pos += 2 + len(part)
    ends.append(pos + 1 + 4 + 32 + 16)
    return ends


@pytest.mark.parametrize("aad", [b"", context_field([(b"k", b"v"), (b"tenant", b"blue")])])
def test_a_header_cut_anywhere_asks_for_the_next_field(aad):
    edks = ((b"aws-kms", ARN.encode(), b"\x01" * 40), (b"raw", b"", b"\x02" * 3))
    full = header(aad=aad, edks=edks)
    ends = header_field_ends(len(aad), edks)
    assert ends[-1] == len(full)
    for n in range(len(full)):
        with pytest.raises(fmt.IncompleteHeader) as caught:
            fmt.parse_header(full[:n])
        assert caught.value.needed == min(e for e in ends if e > n), n
        assert isinstance(caught.value, TruncatedMessageError)
    parsed = fmt.parse_header(full)
    assert parsed.length == len(full) and parsed.keys_end == ends[-2]
    assert [(e.provider_id, e.key_arn, e.ciphertext) for e in parsed.encrypted_data_keys] == \
        [("aws-kms", ARN, b"\x01" * 40), ("raw", "", b"\x02" * 3)]
    assert parsed.commitment == COMMITMENT and parsed.tag == TAG and parsed.body == full[:-16]
    assert parsed.message_id == MESSAGE_ID and parsed.frame_length == 64


def test_a_long_header_in_a_buffer_is_read_past_the_first_4096_bytes():
    edks = tuple((b"aws-kms", ARN.encode(), bytes([i]) * 1000) for i in range(10))
    full = header(edks=edks)
    assert len(full) > 2 * 4096
    for given in (bytearray(full), memoryview(full), bytearray(full + b"body")):
        assert fmt.parse_header(given).length == len(full)
    with pytest.raises(fmt.IncompleteHeader) as caught:
        fmt.parse_header(bytearray(full[:5000]))
    assert 5000 < caught.value.needed <= len(full)
    with pytest.raises(fmt.IncompleteHeader):
        fmt.parse_header(bytearray(full[:-1]))


def test_the_context_field_is_read_exactly():
    good = context_field([(b"a", b"1"), (b"b", "\u00e9".encode())])
    assert fmt.parse_header(header(aad=good)).encryption_context == {"a": "1", "b": "\u00e9"}
    assert fmt.parse_header(header(aad=context_field([]))).encryption_context == {}
    assert fmt.parse_header(header(aad=b"")).encryption_context == {}
    malformed = {
        "a byte after the last pair": good + b"\0",
        "a key twice": context_field([(b"a", b"1"), (b"a", b"2")]),
        "more pairs counted than written": context_field([(b"a", b"1")], count=2),
        "fewer pairs counted than written": context_field([(b"a", b"1"), (b"b", b"2")], count=1),
        "a key longer than the field": u16(1) + u16(9) + b"abc",
        "a value cut short": u16(1) + u16(1) + b"a" + u16(5) + b"ab",
        "a key that is not UTF-8": context_field([(b"\xff", b"1")]),
        "a value that is not UTF-8": context_field([(b"a", b"\xc3")]),
        "one byte": b"\x00",
    }
    for aad in malformed.values():
        with pytest.raises(MalformedMessageError, match="the encryption context field is malformed"):
            fmt.parse_header(header(aad=aad))


def test_a_header_without_encrypted_data_keys_is_malformed():
    with pytest.raises(MalformedMessageError, match="^the message has no encrypted data key$"):
        fmt.parse_header(header(edks=()))
    assert len(fmt.parse_header(header()).encrypted_data_keys) == 1


@pytest.mark.parametrize("frame_length, error", [
    (0, "frame length 0 is out of range \\(1 to 1073741824\\)"),
    (1, None), (fmt.MAX_FRAME_LENGTH, None),
    (fmt.MAX_FRAME_LENGTH + 1, "frame length 1073741825 is out of range \\(1 to 1073741824\\)"),
    (0xFFFFFFFF, "out of range"),
])
def test_the_frame_length_of_a_framed_message(frame_length, error):
    assert fmt.MAX_FRAME_LENGTH == 1 << 30
    data = header(frame_length=frame_length)
    if error is None:
        assert fmt.parse_header(data).frame_length == frame_length
    else:
        with pytest.raises(MalformedMessageError, match=f"^{error}$" if "(" in error else error):
            fmt.parse_header(data)


def test_a_non_framed_message_has_frame_length_zero():
    assert fmt.parse_header(header(content_type=1, frame_length=0)).content_type == 1
    for frame_length in (1, 64):
        with pytest.raises(MalformedMessageError, match="^a non-framed message must have frame length 0$"):
            fmt.parse_header(header(content_type=1, frame_length=frame_length))


@pytest.mark.parametrize("content_type", [0, 3, 0xFF])
def test_other_content_types_are_not_read(content_type):
    expected = f"^content type 0x{content_type:02x} is not supported \\(0x02 framed, 0x01 non-framed\\)$"
    with pytest.raises(UnsupportedFormatError, match=expected):
        fmt.parse_header(header(content_type=content_type))


def test_version_and_suite_are_read_before_anything_else():
    with pytest.raises(UnsupportedFormatError, match="version byte 0x03"):
        fmt.parse_header(b"\x03")
    with pytest.raises(UnsupportedFormatError, match="version 1"):
        fmt.parse_header(b"\x01")
    with pytest.raises(UnsupportedFormatError, match="algorithm suite 0x0001"):
        fmt.parse_header(b"\x02\x00\x01")
    assert fmt.parse_header(header(suite=SIGNED)).algorithm is SIGNED


# ------------------------------------------------------------------ the body
def layout(message):
    view = memoryview(message)
    return fmt.body_layout(view, fmt.parse_header(view))


def test_frames_are_laid_out_where_the_reference_puts_them():
    head = header(frame_length=8)
    message = head + regular_frame(1, 8) + regular_frame(2, 8) + final_frame(3, 5)
    frames, end = layout(message)
    assert end == len(message)
    h = len(head)
    assert [(f.sequence_number, f.start, f.iv, f.content, f.length, f.kind) for f in frames] == [
        (1, h, h + 4, h + 16, 8, "regular"),
        (2, h + 40, h + 44, h + 56, 8, "regular"),
        (3, h + 80, h + 88, h + 104, 5, "final")]
    assert fmt.REGULAR_FRAME_OVERHEAD == 32 and fmt.FINAL_FRAME_OVERHEAD == 40


@pytest.mark.parametrize("length", [0, 7, 8])
def test_a_final_frame_holds_zero_to_frame_length_bytes(length):
    message = header(frame_length=8) + final_frame(1, length)
    frames, end = layout(message)
    assert frames[-1].length == length and end == len(message)


def test_a_final_frame_longer_than_the_frame_length_is_malformed():
    message = header(frame_length=8) + final_frame(1, 9)
    with pytest.raises(MalformedMessageError,
                       match="^the final frame claims 9 bytes, more than the frame length 8$"):
        layout(message)


def test_frames_out_of_sequence_name_what_was_expected():
    head = header(frame_length=8)
    with pytest.raises(FrameAuthenticationError, match="^expected frame 1, found frame 2: "):
        layout(head + regular_frame(2, 8) + final_frame(3, 0))
    with pytest.raises(FrameAuthenticationError, match="^expected frame 2, found frame 1: "):
        layout(head + regular_frame(1, 8) + final_frame(1, 0))
    with pytest.raises(FrameAuthenticationError, match="^expected frame 2, found frame 3: "):
        layout(head + regular_frame(1, 8) + final_frame(3, 0))


def test_the_sequence_numbers_end_before_the_final_marker(monkeypatch):
    assert fmt.MAX_SEQUENCE_NUMBER == 0xFFFFFFFE
    monkeypatch.setattr(fmt, "MAX_SEQUENCE_NUMBER", 3)
    head = header(frame_length=1)
    ok = head + regular_frame(1, 1) + regular_frame(2, 1) + final_frame(3, 0)
    assert len(layout(ok)[0]) == 3
    with pytest.raises(MalformedMessageError, match="^too many frames$"):
        layout(head + regular_frame(1, 1) + regular_frame(2, 1) + regular_frame(3, 1) + final_frame(4, 0))


def test_a_framed_body_cut_anywhere_is_truncated_and_says_where():
    head = header(frame_length=8)
    body = regular_frame(1, 8) + final_frame(2, 3)
    message = head + body
    h = len(head)
    for n in range(h, len(message)):
        with pytest.raises(TruncatedMessageError) as caught:
            layout(message[:n])
        text = str(caught.value)
        if n < h + 4:
            assert text == "the message ends after 0 frame(s) without a final frame: it was truncated"
        elif n < h + 40:
            assert text == "the message ends inside frame 1", n
        elif n < h + 44:
            assert text == "the message ends after 1 frame(s) without a final frame: it was truncated"
        else:
            assert text == "the message ends inside its final frame", n
    assert layout(message)[1] == len(message)


def non_framed(length, *, claimed=None):
    return (header(content_type=1, frame_length=0) + bytes(12)
            + struct.pack(">Q", length if claimed is None else claimed) + b"\xee" * length + TAG)


def test_a_non_framed_body_is_one_block_of_its_stated_length():
    message = non_framed(10)
    frames, end = layout(message)
    h = len(header(content_type=1, frame_length=0))
    assert [(f.sequence_number, f.start, f.iv, f.content, f.length, f.kind) for f in frames] == \
        [(1, h, h, h + 20, 10, "single")]
    assert end == len(message)
    for n in range(h, len(message)):
        with pytest.raises(TruncatedMessageError, match="^the message ends inside its body$"):
            layout(message[:n])


def test_a_non_framed_body_may_not_claim_more_than_aes_gcm_allows():
    assert fmt.MAX_NON_FRAMED_LENGTH == 2**36 - 32
    with pytest.raises(TruncatedMessageError, match="ends inside its body"):
        layout(non_framed(0, claimed=2**36 - 32))      # at the limit: merely cut short
    with pytest.raises(MalformedMessageError,
                       match=f"^the body claims {2**36 - 31} bytes, more than AES-GCM allows$"):
        layout(non_framed(0, claimed=2**36 - 31))


# ------------------------------------------------------------------ the footer
def read_footer(message, suite):
    view = memoryview(message)
    head = fmt.parse_header(view)
    _, end = fmt.body_layout(view, head)
    return fmt.read_footer(view, end, suite)


def test_an_unsigned_message_ends_with_its_body():
    message = header(frame_length=8) + final_frame(1, 2)
    assert read_footer(message, UNSIGNED) is None
    for extra in (b"\0", b"\0" * 7):
        with pytest.raises(MalformedMessageError,
                           match=f"^{len(extra)} unexpected bytes follow the body \\(this suite has no signature\\)$"):
            read_footer(message + extra, UNSIGNED)


def test_a_signed_message_ends_with_exactly_its_signature():
    body = header(suite=SIGNED, frame_length=8) + final_frame(1, 2)
    signature = b"\x30" * 103
    assert read_footer(body + footer(signature), SIGNED) == signature
    assert read_footer(body + footer(b""), SIGNED) == b""
    for cut in (body, body + b"\x00"):
        with pytest.raises(TruncatedMessageError, match="^the message ends before its signature$"):
            read_footer(cut, SIGNED)
    whole = body + footer(signature)
    for n in range(len(body) + 2, len(whole)):
        with pytest.raises(TruncatedMessageError, match="^the message ends inside its signature$"):
            read_footer(whole[:n], SIGNED)
    with pytest.raises(MalformedMessageError, match="^2 unexpected bytes follow the signature$"):
        read_footer(whole + b"\0\0", SIGNED)


# ------------------------------------------------------------------ the whole message
@pytest.mark.parametrize("suite", [SIGNED, UNSIGNED], ids=["signed", "unsigned"])
def test_every_prefix_of_a_message_is_truncated_never_another_error(suite):
    aad = context_field([(b"tenant", b"blue")])
    message = header(suite=suite, aad=aad, frame_length=4) + regular_frame(1, 4) + final_frame(2, 1)
    if suite.signed:
        message += footer()
    info = envelope.parse(message)
    assert info.message_length == len(message) and len(info.frames) == 2
    for n in range(len(message)):
        with pytest.raises(TruncatedMessageError):
            envelope.parse(message[:n])


@pytest.mark.parametrize("suite", [SIGNED, UNSIGNED], ids=["signed", "unsigned"])
def test_any_byte_changed_gives_an_envelope_error_or_a_parse(suite):
    """Changing one byte of any length field gives a format error or another layout, never
    an exception from outside the envelope's errors."""
    message = header(suite=suite, aad=context_field([(b"k", b"v")]), frame_length=4) \
        + regular_frame(1, 4) + final_frame(2, 1) + (footer() if suite.signed else b"")
    outcomes = set()
    for position in range(len(message)):
        for value in (0x00, 0x01, 0x80, 0xFF):
            changed = bytearray(message)
            changed[position] = value
            try:
                envelope.parse(bytes(changed))
                outcomes.add("parsed")
            except EnvelopeError as error:   # anything else fails the test
                outcomes.add(type(error).__name__)
    assert {"parsed", "MalformedMessageError", "TruncatedMessageError", "UnsupportedFormatError",
            "FrameAuthenticationError"} <= outcomes


# ------------------------------------------------------------------ writing the context
def test_the_context_written_is_sorted_and_bounded_at_64_kib():
    assert fmt.serialize_context({"b": "2", "a": "1"}) == context_field([(b"a", b"1"), (b"b", b"2")])
    assert fmt.serialize_context({}) == b"" and fmt.serialize_context(None) == b""
    at_limit = {"k": "v" * (0xFFFF - 2 - 2 - 1 - 2)}
    assert len(fmt.serialize_context(at_limit)) == 0xFFFF
    with pytest.raises(ValueError, match="^the encryption context must serialize to under 64 KiB$"):
        fmt.serialize_context({"k": "v" * (0xFFFF - 2 - 2 - 1 - 2 + 1)})
    with pytest.raises(ValueError, match="^the encryption context must serialize to under 64 KiB$"):
        fmt.serialize_context({"k" * 0xFFFF: ""})
    for big in ({"k" * 0x10000: ""}, {"k": "v" * 0x10000}):
        with pytest.raises(ValueError, match="^encryption context keys and values must be under 64 KiB$"):
            fmt.serialize_context(big)
    with pytest.raises(TypeError, match="^encryption context keys must be str, got int$"):
        fmt.serialize_context({1: "v"})
    with pytest.raises(TypeError, match="^encryption context values must be str, got bytes$"):
        fmt.serialize_context({"k": b"v"})


def test_the_edks_written_are_read_back():
    edks = [fmt.EncryptedDataKey(ARN, b"\x01" * 5), fmt.EncryptedDataKey("x", b"", "raw")]
    data = fmt.serialize_edks(edks)
    assert data == edk_field([(b"aws-kms", ARN.encode(), b"\x01" * 5), (b"raw", b"x", b"")])
    assert fmt.header_body(UNSIGNED, MESSAGE_ID, b"", data, 64, COMMITMENT) + TAG == \
        header(edks=[(b"aws-kms", ARN.encode(), b"\x01" * 5), (b"raw", b"x", b"")])


def test_frame_ivs_and_aad_as_the_body_aad_reference_says():
    assert fmt.frame_iv(1) == bytes(8) + b"\0\0\0\x01" and fmt.HEADER_IV == bytes(12)
    for kind, label in (("regular", b"AWSKMSEncryptionClient Frame"),
                        ("final", b"AWSKMSEncryptionClient Final Frame"),
                        ("single", b"AWSKMSEncryptionClient Single Block")):
        assert fmt.frame_aad(MESSAGE_ID, kind, 2, 5) == MESSAGE_ID + label + u32(2) + struct.pack(">Q", 5)


# ------------------------------------------------------------------ what each refusal says
def _says(error, data):
    with pytest.raises(error) as caught:
        fmt.parse_header(data)
    return str(caught.value)


def test_what_each_refusal_says_in_full():
    assert _says(UnsupportedFormatError, b"KMSE\x01\x00") == (
        "this is a message in kmslab's former envelope format (it starts with b'KMSE'); "
        "kmslab now writes and reads the AWS Encryption SDK's format only. Decrypt it "
        "with the kmslab release that wrote it, then encrypt the plaintext again")
    assert _says(UnsupportedFormatError, b"\x01\x80\x03") == (
        "message format version 1 (the AWS Encryption SDK's suites without key commitment) "
        "is not read: like the SDK's default commitment policy, "
        "REQUIRE_ENCRYPT_REQUIRE_DECRYPT, kmslab requires key commitment")
    assert _says(UnsupportedFormatError, b"\x02\x00\x01") == (
        "algorithm suite 0x0001 is not one this library reads (0x0478 "
        "AES_256_GCM_HKDF_SHA512_COMMIT_KEY, 0x0578 AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384)")
    assert _says(fmt.IncompleteHeader, b"\x02") == "the message ends inside its header"
    assert _says(MalformedMessageError, header(aad=context_field([(b"a", b"1")]) + b"\0")) == \
        "the encryption context field is malformed"
    with pytest.raises(FrameAuthenticationError) as caught:
        layout(header(frame_length=8) + regular_frame(2, 8))
    assert str(caught.value) == \
        "expected frame 1, found frame 2: frames are missing, reordered or duplicated"
    with pytest.raises(ValueError) as caught:
        fmt.check_reserved_context({"aws-crypto-b": "1", "aws-crypto-a": "2", "app": "x"})
    assert str(caught.value) == (
        "encryption context keys beginning with 'aws-crypto-' are reserved for the AWS Encryption "
        "SDK's own use (the signing suite adds 'aws-crypto-public-key'); found aws-crypto-a, aws-crypto-b")
    assert fmt.check_reserved_context({"app": "x", "aws-crypt": "y"}) is None


def test_a_value_of_64_kib_less_one_is_only_too_long_together():
    with pytest.raises(ValueError, match="^the encryption context must serialize to under 64 KiB$"):
        fmt.serialize_context({"k": "v" * 0xFFFF})


def test_a_buffered_header_whose_last_field_crosses_the_first_read_is_read_whole():
    # one EDK ending just before byte 4096: only the content type, frame length, commitment and
    # tag (53 bytes) lie past the first 4,096 bytes the parser copies
    head_without_edk = len(header(edks=((b"", b"", b""),)))
    ciphertext = bytes(4096 - 1 - (head_without_edk - 53))
    full = header(edks=((b"", b"", ciphertext),))
    assert 4096 < len(full) <= 4096 + 53
    assert fmt.parse_header(bytearray(full)).length == len(full)
    with pytest.raises(fmt.IncompleteHeader) as caught:
        fmt.parse_header(bytearray(full[:-1]))
    assert caught.value.needed == len(full)


def test_the_default_frame_length_is_one_mib():
    """The module's documented default (the SDK's is 4,096 bytes)."""
    kms = make_kms()
    message = envelope.encrypt(kms, b"x" * 10, [new_key(kms)[1]])
    assert envelope.parse(message).frame_length == 1 << 20
    assert envelope.parse(envelope.encrypt(kms, b"x", [new_key(kms)[1]], frame_length=4096)).frame_length == 4096
