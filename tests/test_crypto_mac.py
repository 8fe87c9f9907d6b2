"""HMAC key material: tags are standard RFC 2104 HMACs, checked against outside implementations."""

import hashlib
import hmac
import os
import pickle

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

from kmslab import errors
from kmslab.crypto.handle import SNAPSHOT_EXPORT_TOKEN
from kmslab.crypto.mac import HMAC_IMPORT_KEY_BYTES, HMAC_KEY_BYTES, HmacMaterial

CASES = [("HMAC_224", "HMAC_SHA_224", hashes.SHA224), ("HMAC_256", "HMAC_SHA_256", hashes.SHA256),
         ("HMAC_384", "HMAC_SHA_384", hashes.SHA384), ("HMAC_512", "HMAC_SHA_512", hashes.SHA512)]
MESSAGE = b"header.payload"


def outside_hmac(key, hash_class, message):
    mac = crypto_hmac.HMAC(key, hash_class())
    mac.update(message)
    return mac.finalize()


@pytest.mark.parametrize("spec, algorithm, hash_class", CASES)
def test_mac_of_imported_key_equals_cryptography_and_stdlib_hmac(spec, algorithm, hash_class):
    raw = os.urandom(HMAC_IMPORT_KEY_BYTES[spec][1])
    key = HmacMaterial.from_bytes(spec, raw)
    tag = key.generate_mac(algorithm, MESSAGE)
    assert tag == outside_hmac(raw, hash_class, MESSAGE)
    assert tag == hmac.new(raw, MESSAGE, hash_class.name).digest()
    assert key.verify_mac(algorithm, MESSAGE, tag) is True


@pytest.mark.parametrize("spec, algorithm, hash_class", CASES)
def test_generated_key_has_the_spec_length_and_a_standard_mac(spec, algorithm, hash_class):
    key = HmacMaterial.generate(spec)
    raw = key.export_raw(SNAPSHOT_EXPORT_TOKEN)
    assert len(raw) == HMAC_KEY_BYTES[spec] == hash_class.digest_size
    assert key.generate_mac(algorithm, MESSAGE) == outside_hmac(raw, hash_class, MESSAGE)
    assert key.algorithm == algorithm
    assert HmacMaterial.generate(spec).export_raw(SNAPSHOT_EXPORT_TOKEN) != raw


@pytest.mark.parametrize("spec, algorithm, hash_class", CASES)
def test_import_length_range(spec, algorithm, hash_class):
    low, high = HMAC_IMPORT_KEY_BYTES[spec]
    assert low == hash_class.digest_size and high == hash_class().block_size
    for length in (low, high):
        assert HmacMaterial.from_bytes(spec, os.urandom(length)).spec == spec
    for length in (low - 1, high + 1, 0):
        with pytest.raises(errors.IncorrectKeyMaterialException, match=f"{low} to {high} bytes"):
            HmacMaterial.from_bytes(spec, os.urandom(length))


@pytest.mark.parametrize("spec, algorithm, hash_class", CASES)
def test_tampered_mac_or_message_does_not_verify(spec, algorithm, hash_class):
    key = HmacMaterial.generate(spec)
    tag = key.generate_mac(algorithm, MESSAGE)
    assert key.verify_mac(algorithm, MESSAGE + b".", tag) is False
    assert key.verify_mac(algorithm, MESSAGE, tag[:-1]) is False
    flipped = bytes([tag[0] ^ 0x80]) + tag[1:]
    assert key.verify_mac(algorithm, MESSAGE, flipped) is False
    assert HmacMaterial.generate(spec).verify_mac(algorithm, MESSAGE, tag) is False


@pytest.mark.parametrize("spec, algorithm", [("HMAC_256", "HMAC_SHA_384"), ("HMAC_512", "HMAC_SHA_256"),
                                             ("HMAC_224", "SYMMETRIC_DEFAULT")])
def test_mac_algorithm_of_another_spec_is_invalid_key_usage(spec, algorithm):
    key = HmacMaterial.generate(spec)
    with pytest.raises(errors.InvalidKeyUsageException, match=f"{algorithm} is incompatible with key spec {spec}"):
        key.generate_mac(algorithm, MESSAGE)
    with pytest.raises(errors.InvalidKeyUsageException):
        key.verify_mac(algorithm, MESSAGE, b"\x00" * 32)


def test_message_length_limits():
    key = HmacMaterial.generate("HMAC_256")
    assert key.verify_mac("HMAC_SHA_256", b"m" * 4096, key.generate_mac("HMAC_SHA_256", b"m" * 4096))
    for message in (b"", b"m" * 4097):
        with pytest.raises(errors.ValidationException):
            key.generate_mac("HMAC_SHA_256", message)


def test_fingerprint_identifies_material_without_being_its_hash():
    raw = os.urandom(32)
    key = HmacMaterial.from_bytes("HMAC_256", raw)
    assert key.material_fingerprint() == HmacMaterial.from_bytes("HMAC_256", raw).material_fingerprint()
    assert key.material_fingerprint() != HmacMaterial.from_bytes("HMAC_256", os.urandom(32)).material_fingerprint()
    assert key.material_fingerprint() != hashlib.sha256(raw).hexdigest()


def test_material_stays_hidden():
    raw = os.urandom(32)
    key = HmacMaterial.from_bytes("HMAC_256", raw)
    assert repr(key) == "<HmacMaterial HMAC_256 (material hidden)>"
    assert raw.hex() not in repr(key) and raw.hex() not in str(key)
    with pytest.raises(TypeError):
        pickle.dumps(key)
    with pytest.raises(TypeError):
        HmacMaterial("HMAC_256", raw)
    with pytest.raises(PermissionError):
        key.export_raw("SNAPSHOT_EXPORT_TOKEN")
    with pytest.raises(ValueError):
        HmacMaterial.generate("SYMMETRIC_DEFAULT")
