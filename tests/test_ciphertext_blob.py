"""The symmetric ciphertext blob at its bounds: the layout parse_blob reads, the shortest
blob, every malformed or cut blob refused as AWS refuses it (InvalidCiphertextException
with no message), and the encryption context's canonical bytes."""

import hashlib
import struct

import pytest

from kmslab import errors
from kmslab.crypto import symmetric
from kmslab.crypto.symmetric import SymmetricMaterial, encode_context, parse_blob

ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MATERIAL_ID = "ab" * 32


def blob_of(plaintext=b"secret", context=None, arn=ARN):
    return SymmetricMaterial.generate().seal(arn, MATERIAL_ID, plaintext, context)


def refused(blob):
    with pytest.raises(errors.InvalidCiphertextException) as caught:
        parse_blob(blob)
    assert caught.value.message == ""
    assert caught.value.explanation == symmetric._INVALID
    return True


def test_a_blob_is_laid_out_as_documented():
    blob = blob_of(b"secret")
    n = len(ARN)
    assert blob[0] == 1 and blob[1] == n and blob[2:2 + n] == ARN.encode()
    assert blob[2 + n:34 + n] == bytes.fromhex(MATERIAL_ID)
    assert len(blob) == 2 + n + 32 + 12 + len(b"secret") + 16
    parts = parse_blob(blob)
    assert (parts.version, parts.key_arn, parts.key_material_id) == (1, ARN, MATERIAL_ID)
    assert parts.nonce == blob[34 + n:46 + n] and parts.ciphertext == blob[46 + n:]
    assert parts.header == blob[:34 + n]
    assert (parts.region, parts.account, parts.key_id) == \
        ("us-east-1", "111122223333", "1234abcd-12ab-34cd-56ef-1234567890ab")
    assert parts.describe() == {
        "format version": 1, "key ARN": ARN, "key material id": MATERIAL_ID,
        "nonce (bytes)": 12, "encrypted data (bytes)": 6, "GCM tag (bytes)": 16,
        "total (bytes)": len(blob)}


def test_the_shortest_blob_has_an_empty_ciphertext_and_one_byte_less_is_refused():
    blob = blob_of(b"")
    assert len(blob) == 2 + len(ARN) + 32 + 12 + 16
    assert parse_blob(blob).ciphertext == blob[-16:]
    for n in range(len(blob)):
        assert refused(blob[:n])


def test_a_malformed_blob_is_refused():
    blob = bytearray(blob_of())
    for version in (0, 2, 0xFF):
        assert refused(bytes([version]) + bytes(blob[1:]))
    arn_scheme = bytes(blob).replace(b"arn:aws:kms", b"urn:aws:kms", 1)
    assert refused(arn_scheme)
    not_ascii = bytes(blob).replace(b"us-east-1", b"us-\xe9ast-1", 1)
    assert refused(not_ascii)
    fewer_parts = blob_of(arn="arn:aws:kms:us-east-1:key/1234")
    assert refused(fewer_parts)
    more_parts = blob_of(arn=ARN + ":extra")
    assert refused(more_parts)
    # the ARN length byte past the end of the blob
    assert refused(b"\x01\xff" + bytes(blob[2:40]))


def test_opening_checks_the_header_and_the_context():
    material = SymmetricMaterial.generate()
    blob = material.seal(ARN, MATERIAL_ID, b"x", {"b": "2", "a": "1"})
    assert material.open(parse_blob(blob), {"a": "1", "b": "2"}) == b"x"
    for context in (None, {"a": "1"}, {"a": "1", "b": "3"}):
        with pytest.raises(errors.InvalidCiphertextException) as caught:
            material.open(parse_blob(blob), context)
        assert caught.value.message == ""
    changed = bytearray(blob)
    changed[len(ARN) + 5] ^= 1   # a byte of the material id: part of the authenticated header
    with pytest.raises(errors.InvalidCiphertextException):
        material.open(parse_blob(bytes(changed)), {"a": "1", "b": "2"})
    assert material.open(parse_blob(material.seal(ARN, MATERIAL_ID, b"y")), {}) == b"y"


def test_the_context_is_encoded_sorted_with_two_byte_lengths_or_four_past_them():
    assert encode_context(None) == b"" and encode_context({}) == b""
    assert encode_context({"b": "2", "a": "1"}) == \
        struct.pack(">H", 2) + b"\0\x01a\0\x011" + b"\0\x01b\0\x012"
    at_limit = {"k": "v" * 0xFFFF}
    assert encode_context(at_limit) == struct.pack(">HH", 1, 1) + b"k" + struct.pack(">H", 0xFFFF) + b"v" * 0xFFFF
    past = {"k": "v" * 0x10000}
    assert encode_context(past) == b"\0\0" + struct.pack(">II", 1, 1) + b"k" + \
        struct.pack(">I", 0x10000) + b"v" * 0x10000
    assert encode_context({"\u00e9": "x"}) == struct.pack(">HH", 1, 2) + "\u00e9".encode() + b"\0\x01x"


def test_imported_symmetric_material_is_exactly_256_bits():
    assert SymmetricMaterial.from_bytes(bytes(32)).material_fingerprint()
    for size in (0, 16, 31, 33, 64):
        with pytest.raises(errors.IncorrectKeyMaterialException) as caught:
            SymmetricMaterial.from_bytes(bytes(size))
        assert caught.value.message == \
            f"Symmetric key material must be 256 bits (32 bytes); got {size} bytes."


def test_the_fingerprint_is_domain_separated_and_per_material():
    key = bytes(range(32))
    fingerprint = SymmetricMaterial.from_bytes(key).material_fingerprint()
    assert fingerprint == hashlib.sha256(b"kmslab symmetric material fingerprint\x00" + key).hexdigest()
    assert fingerprint != hashlib.sha256(key).hexdigest()
    assert SymmetricMaterial.from_bytes(bytes(32)).material_fingerprint() != fingerprint
