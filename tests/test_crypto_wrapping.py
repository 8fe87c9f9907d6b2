"""Import wrapping: what a key owner wraps outside (plain cryptography, OpenSSL's steps) unwraps inside."""

import os
import pickle

import pytest
from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, mlkem, padding, rsa

from kmslab import errors, specs
from kmslab.crypto.asymmetric import AsymmetricMaterial
from kmslab.crypto.handle import SNAPSHOT_EXPORT_TOKEN
from kmslab.crypto.mac import HmacMaterial
from kmslab.crypto.wrapping import (
    WRAPPING_ALGORITHMS,
    WrappingKey,
    check_import_compatibility,
    check_wrapping_parameters,
    max_oaep_material_bytes,
    wrap_key_material,
)

OAEP_ALGORITHMS = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")
AES_WRAP_ALGORITHMS = ("RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256")


def pkcs8(private_key):
    return private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())


@pytest.fixture(scope="module")
def wrapping_keys():
    """One wrapping key per WrappingKeySpec for the module (RSA_4096 takes about a second)."""
    return {spec: WrappingKey.generate(spec) for spec in ("RSA_2048", "RSA_3072", "RSA_4096")}


@pytest.fixture(scope="module")
def materials():
    """Key material of each kind, as its owner holds it: key spec -> bytes."""
    return {
        "SYMMETRIC_DEFAULT": os.urandom(32),
        "HMAC_512": os.urandom(64),
        "ECC_NIST_P256": pkcs8(ec.generate_private_key(ec.SECP256R1())),
        "ECC_NIST_P521": pkcs8(ec.generate_private_key(ec.SECP521R1())),
        "ECC_NIST_EDWARDS25519": pkcs8(ed25519.Ed25519PrivateKey.generate()),
        "ML_DSA_65": pkcs8(mldsa.MLDSA65PrivateKey.generate()),
        "ML_KEM_1024": pkcs8(mlkem.MLKEM1024PrivateKey.generate()),
        "RSA_2048": pkcs8(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    }


def oaep(wrapping_algorithm):
    digest = hashes.SHA1 if wrapping_algorithm.endswith("SHA_1") else hashes.SHA256
    return padding.OAEP(mgf=padding.MGF1(digest()), algorithm=digest(), label=None)


def wrap_outside(public_key_der, wrapping_algorithm, material):
    """What the AWS guide's OpenSSL commands do, written with plain cryptography."""
    public_key = serialization.load_der_public_key(public_key_der)
    if wrapping_algorithm in OAEP_ALGORITHMS:
        return public_key.encrypt(material, oaep(wrapping_algorithm))
    aes_key = os.urandom(32)
    return public_key.encrypt(aes_key, oaep(wrapping_algorithm)) + keywrap.aes_key_wrap_with_padding(aes_key, material)


def fits(wrapping_spec, wrapping_algorithm, key_spec, material):
    try:
        check_import_compatibility(wrapping_algorithm, wrapping_spec, key_spec)
    except errors.ValidationException:
        return False
    return wrapping_algorithm in AES_WRAP_ALGORITHMS or \
        len(material) <= max_oaep_material_bytes(wrapping_spec, wrapping_algorithm)


MATERIAL_SPECS = ["SYMMETRIC_DEFAULT", "HMAC_512", "ECC_NIST_P256", "ECC_NIST_P521", "ECC_NIST_EDWARDS25519",
                  "ML_DSA_65", "ML_KEM_1024", "RSA_2048"]


@pytest.mark.parametrize("wrapping_algorithm", WRAPPING_ALGORITHMS)
@pytest.mark.parametrize("key_spec", MATERIAL_SPECS)
def test_material_wrapped_outside_or_by_the_helper_unwraps(wrapping_keys, materials, wrapping_algorithm, key_spec):
    material = materials[key_spec]
    carried = 0
    for wrapping_spec, wrapping_key in wrapping_keys.items():
        if not fits(wrapping_spec, wrapping_algorithm, key_spec, material):
            with pytest.raises(ValueError):  # the helper explains why instead of wrapping
                wrap_key_material(wrapping_key.public_key_der(), wrapping_algorithm, material)
            continue
        carried += 1
        outside = wrap_outside(wrapping_key.public_key_der(), wrapping_algorithm, material)
        assert wrapping_key.unwrap(wrapping_algorithm, outside) == material
        helper = wrap_key_material(wrapping_key.public_key_der(), wrapping_algorithm, material)
        assert wrapping_key.unwrap(wrapping_algorithm, helper) == material
        assert helper != outside  # fresh randomness every time
    # RSA private keys only travel with RSA_AES_KEY_WRAP_*; everything else fits some wrapping key
    assert carried == 0 if (key_spec == "RSA_2048" and wrapping_algorithm in OAEP_ALGORITHMS) else carried > 0


@pytest.mark.parametrize("wrapping_algorithm", WRAPPING_ALGORITHMS)
def test_helper_output_has_the_documented_layout(wrapping_keys, materials, wrapping_algorithm):
    """Unwrap the helper's output with plain cryptography and the wrapping private key."""
    wrapping_key = wrapping_keys["RSA_3072"]
    private_key = serialization.load_der_private_key(wrapping_key.export_private_pkcs8(SNAPSHOT_EXPORT_TOKEN), None)
    material = materials["ECC_NIST_P256"]
    blob = wrap_key_material(wrapping_key.public_key_der(), wrapping_algorithm, material)
    if wrapping_algorithm in OAEP_ALGORITHMS:
        assert len(blob) == 384 and private_key.decrypt(blob, oaep(wrapping_algorithm)) == material
    else:
        aes_key = private_key.decrypt(blob[:384], oaep(wrapping_algorithm))
        assert len(aes_key) == 32
        assert keywrap.aes_key_unwrap_with_padding(aes_key, blob[384:]) == material


def test_unwrapped_material_imports_as_the_same_key(wrapping_keys):
    wrapping_key = wrapping_keys["RSA_2048"]
    owner_key = AsymmetricMaterial.generate("ECC_NIST_P384")
    der = owner_key.export_private_pkcs8(SNAPSHOT_EXPORT_TOKEN)
    blob = wrap_key_material(wrapping_key.public_key_der(), "RSA_AES_KEY_WRAP_SHA_256", der)
    imported = AsymmetricMaterial.from_pkcs8("ECC_NIST_P384", wrapping_key.unwrap("RSA_AES_KEY_WRAP_SHA_256", blob))
    assert imported.material_fingerprint() == owner_key.material_fingerprint()
    raw = os.urandom(48)
    blob = wrap_key_material(wrapping_key.public_key_der(), "RSAES_OAEP_SHA_256", raw)
    imported_hmac = HmacMaterial.from_bytes("HMAC_384", wrapping_key.unwrap("RSAES_OAEP_SHA_256", blob))
    assert imported_hmac.material_fingerprint() == HmacMaterial.from_bytes("HMAC_384", raw).material_fingerprint()


def test_oaep_capacity_is_the_rsa_encrypt_limit():
    for spec, limits in specs.RSA_OAEP_MAX_PLAINTEXT.items():
        for algorithm, limit in limits.items():
            assert max_oaep_material_bytes(spec, algorithm) == limit


@pytest.mark.parametrize("wrapping_algorithm", WRAPPING_ALGORITHMS)
def test_anything_that_does_not_unwrap_is_invalid_ciphertext(wrapping_keys, wrapping_algorithm):
    wrapping_key = wrapping_keys["RSA_2048"]
    blob = wrap_key_material(wrapping_key.public_key_der(), wrapping_algorithm, os.urandom(32))
    tampered = bytearray(blob)
    tampered[-1] ^= 0x01
    other_hash = wrapping_algorithm[:-1] + "256" if wrapping_algorithm.endswith("_1") else wrapping_algorithm[:-3] + "1"
    for bad, algorithm in [(bytes(tampered), wrapping_algorithm), (blob[:-1], wrapping_algorithm),
                           (blob + b"\x00" * 8, wrapping_algorithm), (b"", wrapping_algorithm),
                           (blob, other_hash)]:
        with pytest.raises(errors.InvalidCiphertextException):
            wrapping_key.unwrap(algorithm, bad)
    for_another_key = wrap_key_material(wrapping_keys["RSA_2048"].public_key_der(), wrapping_algorithm, b"k" * 32)
    with pytest.raises(errors.InvalidCiphertextException):
        WrappingKey.generate("RSA_2048").unwrap(wrapping_algorithm, for_another_key)


def test_oaep_and_aes_key_wrap_are_not_interchangeable(wrapping_keys):
    wrapping_key = wrapping_keys["RSA_2048"]
    direct = wrap_key_material(wrapping_key.public_key_der(), "RSAES_OAEP_SHA_256", os.urandom(32))
    with pytest.raises(errors.InvalidCiphertextException):
        wrapping_key.unwrap("RSA_AES_KEY_WRAP_SHA_256", direct)
    hybrid = wrap_key_material(wrapping_key.public_key_der(), "RSA_AES_KEY_WRAP_SHA_256", os.urandom(32))
    with pytest.raises(errors.InvalidCiphertextException):
        wrapping_key.unwrap("RSAES_OAEP_SHA_256", hybrid)


def test_pkcs1_v1_5_and_sm2_are_refused():
    with pytest.raises(errors.ValidationException, match="October 10, 2023"):
        check_wrapping_parameters("RSAES_PKCS1_V1_5", "RSA_2048")
    with pytest.raises(errors.UnsupportedOperationException, match="China"):
        check_wrapping_parameters("SM2PKE", "SM2")
    with pytest.raises(errors.UnsupportedOperationException):
        check_wrapping_parameters("RSAES_OAEP_SHA_256", "SM2")
    with pytest.raises(errors.UnsupportedOperationException):
        WrappingKey.generate("SM2")
    with pytest.raises(errors.ValidationException, match="enum value set"):
        check_wrapping_parameters("RSA_OAEP", "RSA_2048")
    with pytest.raises(errors.ValidationException, match="enum value set"):
        WrappingKey.generate("RSA_1024")
    for algorithm in WRAPPING_ALGORITHMS:
        check_wrapping_parameters(algorithm, "RSA_4096")  # accepted


def test_aws_rules_on_which_algorithm_carries_which_material():
    for algorithm in OAEP_ALGORITHMS:
        for rsa_spec in ("RSA_2048", "RSA_3072", "RSA_4096"):
            with pytest.raises(errors.ValidationException, match="RSA_AES wrapping algorithm"):
                check_import_compatibility(algorithm, "RSA_4096", rsa_spec)
        with pytest.raises(errors.ValidationException, match="ECC_NIST_P521"):
            check_import_compatibility(algorithm, "RSA_2048", "ECC_NIST_P521")
        check_import_compatibility(algorithm, "RSA_3072", "ECC_NIST_P521")
        check_import_compatibility(algorithm, "RSA_2048", "SYMMETRIC_DEFAULT")
    for algorithm in AES_WRAP_ALGORITHMS:
        check_import_compatibility(algorithm, "RSA_2048", "ECC_NIST_P521")
        check_import_compatibility(algorithm, "RSA_2048", "RSA_4096")


def test_wrapping_key_is_an_opaque_handle(wrapping_keys):
    wrapping_key = wrapping_keys["RSA_2048"]
    assert repr(wrapping_key) == "<WrappingKey RSA_2048 (material hidden)>"
    public_key = serialization.load_der_public_key(wrapping_key.public_key_der())
    assert isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size == 2048
    with pytest.raises(TypeError):
        pickle.dumps(wrapping_key)
    with pytest.raises(PermissionError):
        wrapping_key.export_private_pkcs8(None)
    restored = WrappingKey.from_pkcs8("RSA_2048", wrapping_key.export_private_pkcs8(SNAPSHOT_EXPORT_TOKEN))
    assert restored.fingerprint() == wrapping_key.fingerprint()
    with pytest.raises(ValueError):
        WrappingKey.from_pkcs8("RSA_3072", wrapping_key.export_private_pkcs8(SNAPSHOT_EXPORT_TOKEN))
