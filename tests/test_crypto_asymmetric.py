"""Asymmetric key material, checked against plain ``cryptography`` holding only the public key.

Whatever kmslab signs, encrypts to or agrees with must interoperate with code
outside kmslab that has nothing but GetPublicKey's DER bytes, as with AWS KMS.
"""

import copy
import hashlib
import os
import pickle

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, mlkem, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from kmslab import errors, specs
from kmslab.crypto.asymmetric import (
    ASYMMETRIC_SPECS,
    AsymmetricMaterial,
    Encapsulation,
    generate_data_key_pair,
)
from kmslab.crypto.handle import SNAPSHOT_EXPORT_TOKEN

MESSAGE = b"Sign me: the quick brown fox jumps over the lazy dog."
HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


@pytest.fixture(scope="module")
def material():
    """One key per spec for the whole module (RSA_4096 takes about a second to generate)."""
    cache = {}

    def get(spec):
        if spec not in cache:
            cache[spec] = AsymmetricMaterial.generate(spec)
        return cache[spec]
    return get


def algorithm_hash(algorithm):
    return HASHES[algorithm.rsplit("_", 1)[1]]()


SIGNING_CASES = [(spec, algorithm) for spec in ASYMMETRIC_SPECS
                 for algorithm in specs.key_spec(spec).usages.get("SIGN_VERIFY", ())
                 if algorithm != "ED25519_PH_SHA_512"]
HASHED_SIGNING_CASES = [(s, a) for s, a in SIGNING_CASES if a.startswith(("RSASSA", "ECDSA"))]


def verify_outside(public_der, algorithm, message, signature):
    """Verify as a learner would, with plain cryptography and the DER public key only."""
    public_key = serialization.load_der_public_key(public_der)
    if algorithm.startswith("RSASSA_PSS_"):
        digest = algorithm_hash(algorithm)
        public_key.verify(signature, message,
                          padding.PSS(mgf=padding.MGF1(algorithm_hash(algorithm)), salt_length=digest.digest_size),
                          digest)
    elif algorithm.startswith("RSASSA_PKCS1_V1_5_"):
        public_key.verify(signature, message, padding.PKCS1v15(), algorithm_hash(algorithm))
    elif algorithm.startswith("ECDSA_"):
        decode_dss_signature(signature)  # DER-encoded (r, s), as AWS documents
        public_key.verify(signature, message, ec.ECDSA(algorithm_hash(algorithm)))
    elif algorithm == "ED25519_SHA_512":
        public_key.verify(signature, message)
    elif algorithm == "ML_DSA_SHAKE_256":
        public_key.verify(signature, message)  # pure ML-DSA, empty context
    else:
        raise AssertionError(algorithm)


# -- Sign / Verify ---------------------------------------------------------------------


@pytest.mark.parametrize("spec, algorithm", SIGNING_CASES)
def test_raw_signature_verifies_outside_with_the_public_key(material, spec, algorithm):
    key = material(spec)
    signature = key.sign(algorithm, MESSAGE, "RAW")
    verify_outside(key.public_key_der(), algorithm, MESSAGE, signature)
    assert key.verify(algorithm, MESSAGE, "RAW", signature) is True


@pytest.mark.parametrize("spec, algorithm", HASHED_SIGNING_CASES)
def test_digest_and_raw_signatures_verify_against_the_same_message(material, spec, algorithm):
    key = material(spec)
    digest = hashlib.new(algorithm_hash(algorithm).name, MESSAGE).digest()
    over_digest = key.sign(algorithm, digest, "DIGEST")
    verify_outside(key.public_key_der(), algorithm, MESSAGE, over_digest)  # not hashed twice
    assert key.verify(algorithm, MESSAGE, "RAW", over_digest)
    over_raw = key.sign(algorithm, MESSAGE, "RAW")
    assert key.verify(algorithm, digest, "DIGEST", over_raw)


def test_sending_a_digest_as_raw_hashes_it_again(material):
    key = material("ECC_NIST_P256")
    digest = hashlib.sha256(MESSAGE).digest()
    signature = key.sign("ECDSA_SHA_256", digest, "RAW")
    assert not key.verify("ECDSA_SHA_256", digest, "DIGEST", signature)
    verify_outside(key.public_key_der(), "ECDSA_SHA_256", digest, signature)


def test_rsa_pkcs1_v1_5_signatures_are_deterministic_across_message_types(material):
    key = material("RSA_2048")
    digest = hashlib.sha384(MESSAGE).digest()
    assert key.sign("RSASSA_PKCS1_V1_5_SHA_384", MESSAGE) == key.sign("RSASSA_PKCS1_V1_5_SHA_384", digest, "DIGEST")


@pytest.mark.parametrize("spec", ["ML_DSA_44", "ML_DSA_65", "ML_DSA_87"])
def test_ml_dsa_external_mu_signature_verifies_as_a_raw_signature(material, spec):
    key = material(spec)
    public_key = serialization.load_der_public_key(key.public_key_der())
    hasher = mldsa.MLDSAMuHasher(public_key)  # computed outside, empty context
    hasher.update(MESSAGE)
    mu = hasher.finalize()
    signature = key.sign("ML_DSA_SHAKE_256", mu, "EXTERNAL_MU")
    public_key.verify(signature, MESSAGE)
    assert key.verify("ML_DSA_SHAKE_256", MESSAGE, "RAW", signature)
    assert key.verify("ML_DSA_SHAKE_256", mu, "EXTERNAL_MU", key.sign("ML_DSA_SHAKE_256", MESSAGE))


@pytest.mark.parametrize("spec, algorithm", SIGNING_CASES)
def test_tampered_signature_or_message_does_not_verify(material, spec, algorithm):
    key = material(spec)
    signature = bytearray(key.sign(algorithm, MESSAGE))
    assert key.verify(algorithm, MESSAGE + b"!", "RAW", bytes(signature)) is False
    signature[len(signature) // 2] ^= 0x01
    assert key.verify(algorithm, MESSAGE, "RAW", bytes(signature)) is False
    assert key.verify(algorithm, MESSAGE, "RAW", b"\x00") is False


def test_signature_of_another_key_does_not_verify(material):
    other = AsymmetricMaterial.generate("ECC_NIST_P256")
    signature = other.sign("ECDSA_SHA_256", MESSAGE)
    assert material("ECC_NIST_P256").verify("ECDSA_SHA_256", MESSAGE, "RAW", signature) is False


@pytest.mark.parametrize("spec, algorithm", [
    ("RSA_2048", "ECDSA_SHA_256"), ("ECC_NIST_P256", "ECDSA_SHA_384"), ("ECC_NIST_P384", "ECDSA_SHA_256"),
    ("ECC_SECG_P256K1", "RSASSA_PSS_SHA_256"), ("ECC_NIST_EDWARDS25519", "ECDSA_SHA_512"),
    ("ML_DSA_44", "ED25519_SHA_512"), ("ML_KEM_768", "ML_DSA_SHAKE_256"), ("RSA_2048", "SYMMETRIC_DEFAULT"),
])
def test_signing_algorithm_the_key_spec_does_not_offer_is_invalid_key_usage(material, spec, algorithm):
    key = material(spec)
    with pytest.raises(errors.InvalidKeyUsageException, match=f"{algorithm} is incompatible with key spec {spec}"):
        key.sign(algorithm, MESSAGE)
    with pytest.raises(errors.InvalidKeyUsageException):
        key.verify(algorithm, MESSAGE, "RAW", b"sig")


@pytest.mark.parametrize("spec, algorithm, length", [
    ("RSA_2048", "RSASSA_PSS_SHA_256", 48), ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_512", 32),
    ("ECC_NIST_P256", "ECDSA_SHA_256", 31), ("ECC_NIST_P521", "ECDSA_SHA_512", 66),
])
def test_digest_of_the_wrong_length_is_a_validation_error(material, spec, algorithm, length):
    with pytest.raises(errors.ValidationException, match="Digest is invalid length"):
        material(spec).sign(algorithm, os.urandom(length), "DIGEST")
    with pytest.raises(errors.ValidationException):
        material(spec).verify(algorithm, os.urandom(length), "DIGEST", b"sig")


def test_ml_dsa_refuses_digest_and_checks_the_mu_length(material):
    key = material("ML_DSA_44")
    with pytest.raises(errors.ValidationException, match="DIGEST is incompatible with key spec ML_DSA_44"):
        key.sign("ML_DSA_SHAKE_256", os.urandom(64), "DIGEST")
    with pytest.raises(errors.ValidationException, match="64-byte"):
        key.sign("ML_DSA_SHAKE_256", os.urandom(63), "EXTERNAL_MU")


@pytest.mark.parametrize("spec, algorithm", [("RSA_2048", "RSASSA_PSS_SHA_512"),
                                             ("ECC_NIST_P256", "ECDSA_SHA_256"),
                                             ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512")])
def test_external_mu_is_for_ml_dsa_only(material, spec, algorithm):
    with pytest.raises(errors.ValidationException, match="EXTERNAL_MU is incompatible"):
        material(spec).sign(algorithm, os.urandom(64), "EXTERNAL_MU")


def test_ed25519_message_type_rules(material):
    key = material("ECC_NIST_EDWARDS25519")
    digest = hashlib.sha512(MESSAGE).digest()
    with pytest.raises(errors.ValidationException, match="DIGEST is incompatible"):
        key.sign("ED25519_SHA_512", digest, "DIGEST")
    with pytest.raises(errors.ValidationException, match="RAW is incompatible"):
        key.sign("ED25519_PH_SHA_512", MESSAGE, "RAW")
    with pytest.raises(errors.ValidationException, match="Digest is invalid length"):
        key.sign("ED25519_PH_SHA_512", digest[:32], "DIGEST")
    with pytest.raises(errors.UnsupportedOperationException, match="Ed25519ph"):
        key.sign("ED25519_PH_SHA_512", digest, "DIGEST")
    with pytest.raises(errors.UnsupportedOperationException):
        key.verify("ED25519_PH_SHA_512", digest, "DIGEST", os.urandom(64))


def test_message_length_and_message_type_are_validated(material):
    key = material("ECC_NIST_P256")
    assert key.verify("ECDSA_SHA_256", b"x" * 4096, "RAW", key.sign("ECDSA_SHA_256", b"x" * 4096))
    with pytest.raises(errors.ValidationException, match="4096"):
        key.sign("ECDSA_SHA_256", b"x" * 4097)
    with pytest.raises(errors.ValidationException):
        key.sign("ECDSA_SHA_256", b"")
    with pytest.raises(errors.ValidationException, match="enum value set"):
        key.sign("ECDSA_SHA_256", MESSAGE, "HASHED")


# -- Encrypt / Decrypt -----------------------------------------------------------------

RSA_ENCRYPTION_CASES = [(spec, algorithm) for spec in ("RSA_2048", "RSA_3072", "RSA_4096")
                        for algorithm in ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")]


def oaep(algorithm):
    digest = hashes.SHA1 if algorithm.endswith("SHA_1") else hashes.SHA256
    return padding.OAEP(mgf=padding.MGF1(digest()), algorithm=digest(), label=None)


@pytest.mark.parametrize("spec, algorithm", RSA_ENCRYPTION_CASES)
def test_ciphertext_made_outside_with_the_public_key_decrypts_inside(material, spec, algorithm):
    key = material(spec)
    limit = specs.RSA_OAEP_MAX_PLAINTEXT[spec][algorithm]
    plaintext = os.urandom(limit)  # the largest plaintext AWS accepts
    public_key = serialization.load_der_public_key(key.public_key_der())
    assert key.decrypt(algorithm, public_key.encrypt(plaintext, oaep(algorithm))) == plaintext
    assert key.decrypt(algorithm, key.encrypt(algorithm, plaintext)) == plaintext


@pytest.mark.parametrize("spec, algorithm", RSA_ENCRYPTION_CASES)
def test_plaintext_over_the_aws_limit_is_refused(material, spec, algorithm):
    key = material(spec)
    limit = specs.RSA_OAEP_MAX_PLAINTEXT[spec][algorithm]
    digest_size = 20 if algorithm.endswith("SHA_1") else 32
    assert limit == int(spec[4:]) // 8 - 2 * digest_size - 2  # the OAEP bound (RFC 8017 §7.1.1)
    with pytest.raises(errors.ValidationException, match=f"larger than {limit} bytes"):
        key.encrypt(algorithm, os.urandom(limit + 1))


def test_decrypt_failures_are_invalid_ciphertext(material):
    key = material("RSA_2048")
    made_with_sha1 = key.encrypt("RSAES_OAEP_SHA_1", b"secret")
    with pytest.raises(errors.InvalidCiphertextException):
        key.decrypt("RSAES_OAEP_SHA_256", made_with_sha1)
    with pytest.raises(errors.InvalidCiphertextException):
        key.decrypt("RSAES_OAEP_SHA_1", os.urandom(256))
    with pytest.raises(errors.InvalidCiphertextException):
        key.decrypt("RSAES_OAEP_SHA_1", made_with_sha1[:-1])
    with pytest.raises(errors.InvalidCiphertextException):
        key.decrypt("RSAES_OAEP_SHA_1", material("RSA_3072").encrypt("RSAES_OAEP_SHA_1", b"secret"))


@pytest.mark.parametrize("spec, algorithm", [("ECC_NIST_P256", "RSAES_OAEP_SHA_256"),
                                             ("RSA_2048", "SYMMETRIC_DEFAULT"),
                                             ("ML_KEM_768", "RSAES_OAEP_SHA_1")])
def test_encryption_algorithm_the_key_spec_does_not_offer_is_invalid_key_usage(material, spec, algorithm):
    with pytest.raises(errors.InvalidKeyUsageException):
        material(spec).encrypt(algorithm, b"secret")
    with pytest.raises(errors.InvalidKeyUsageException):
        material(spec).decrypt(algorithm, b"\x00" * 256)


# -- DeriveSharedSecret ----------------------------------------------------------------

ECDH_CURVES = {"ECC_NIST_P256": ec.SECP256R1, "ECC_NIST_P384": ec.SECP384R1, "ECC_NIST_P521": ec.SECP521R1}


@pytest.mark.parametrize("spec", list(ECDH_CURVES))
def test_ecdh_secret_agrees_with_the_peer_computing_outside(material, spec):
    key = material(spec)
    peer = ec.generate_private_key(ECDH_CURVES[spec]())
    peer_der = peer.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
    inside = key.derive_shared_secret("ECDH", peer_der)
    outside = peer.exchange(ec.ECDH(), serialization.load_der_public_key(key.public_key_der()))
    assert inside == outside
    assert len(inside) == (ECDH_CURVES[spec].key_size + 7) // 8  # the raw x coordinate, no KDF


def test_ecdh_peer_key_must_be_a_public_key_on_the_same_curve(material):
    key = material("ECC_NIST_P256")
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    other_curve = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(serialization.Encoding.DER, spki)
    with pytest.raises(errors.ValidationException, match="secp384r1"):
        key.derive_shared_secret("ECDH", other_curve)
    edwards = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(serialization.Encoding.DER, spki)
    with pytest.raises(errors.ValidationException):
        key.derive_shared_secret("ECDH", edwards)
    with pytest.raises(errors.ValidationException, match="SubjectPublicKeyInfo"):
        key.derive_shared_secret("ECDH", b"not a key")


@pytest.mark.parametrize("spec", ["ECC_SECG_P256K1", "RSA_2048", "ECC_NIST_EDWARDS25519"])
def test_key_agreement_on_a_spec_without_it_is_invalid_key_usage(material, spec):
    peer = material("ECC_NIST_P256").public_key_der()
    with pytest.raises(errors.InvalidKeyUsageException):
        material(spec).derive_shared_secret("ECDH", peer)


# -- Encapsulate / Decapsulate ---------------------------------------------------------


@pytest.mark.parametrize("spec, ciphertext_bytes", [("ML_KEM_768", 1088), ("ML_KEM_1024", 1568)])
def test_ml_kem_secrets_agree_in_both_directions(material, spec, ciphertext_bytes):
    key = material(spec)
    # outside encapsulates to GetPublicKey's key, kmslab decapsulates
    shared_secret, ciphertext = serialization.load_der_public_key(key.public_key_der()).encapsulate()
    assert key.decapsulate("ML_KEM", ciphertext) == shared_secret
    # kmslab encapsulates, the private key holder outside decapsulates
    result = key.encapsulate("ML_KEM")
    assert isinstance(result, Encapsulation) and len(result.ciphertext) == ciphertext_bytes
    assert len(result.shared_secret) == 32 and "shared_secret=<hidden>" in repr(result)
    private_key = serialization.load_der_private_key(key.export_private_pkcs8(SNAPSHOT_EXPORT_TOKEN), None)
    assert private_key.decapsulate(result.ciphertext) == result.shared_secret


def test_decapsulate_rejects_wrong_length_and_implicitly_rejects_tampering(material):
    key = material("ML_KEM_768")
    result = key.encapsulate("ML_KEM")
    with pytest.raises(errors.InvalidCiphertextException, match="1088"):
        key.decapsulate("ML_KEM", result.ciphertext[:-1])
    tampered = bytearray(result.ciphertext)
    tampered[0] ^= 0x01
    other_secret = key.decapsulate("ML_KEM", bytes(tampered))  # no error: implicit rejection
    assert len(other_secret) == 32 and other_secret != result.shared_secret


def test_kem_on_a_spec_without_it_is_invalid_key_usage(material):
    with pytest.raises(errors.InvalidKeyUsageException):
        material("ECC_NIST_P256").encapsulate("ML_KEM")
    with pytest.raises(errors.InvalidKeyUsageException):
        material("ML_KEM_768").encapsulate("ECDH")


# -- public keys, import, data key pairs -----------------------------------------------


@pytest.mark.parametrize("spec", ASYMMETRIC_SPECS)
def test_public_key_is_der_spki_of_the_spec(material, spec):
    public_key = serialization.load_der_public_key(material(spec).public_key_der())
    if spec.startswith("RSA_"):
        assert isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size == int(spec[4:])
        assert public_key.public_numbers().e == 65537
    elif spec in ("ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1"):
        expected = {"ECC_NIST_P256": "secp256r1", "ECC_NIST_P384": "secp384r1",
                    "ECC_NIST_P521": "secp521r1", "ECC_SECG_P256K1": "secp256k1"}[spec]
        assert public_key.curve.name == expected
    else:
        expected = {"ECC_NIST_EDWARDS25519": ed25519.Ed25519PublicKey,
                    "ML_DSA_44": mldsa.MLDSA44PublicKey, "ML_DSA_65": mldsa.MLDSA65PublicKey,
                    "ML_DSA_87": mldsa.MLDSA87PublicKey, "ML_KEM_768": mlkem.MLKEM768PublicKey,
                    "ML_KEM_1024": mlkem.MLKEM1024PublicKey}[spec]
        assert isinstance(public_key, expected)


def test_ml_dsa_44_public_key_has_the_length_aws_returns(material):
    assert len(material("ML_DSA_44").public_key_der()) == 1334


@pytest.mark.parametrize("spec", [s for s in ASYMMETRIC_SPECS if s != "RSA_4096"])
def test_import_of_pkcs8_keeps_the_key_pair(material, spec):
    key = material(spec)
    imported = AsymmetricMaterial.from_pkcs8(spec, key.export_private_pkcs8(SNAPSHOT_EXPORT_TOKEN))
    assert imported.public_key_der() == key.public_key_der()
    assert imported.material_fingerprint() == key.material_fingerprint()


@pytest.mark.parametrize("spec, other", [
    ("ECC_NIST_P384", "ECC_NIST_P256"), ("ECC_NIST_P256", "ECC_SECG_P256K1"), ("RSA_3072", "RSA_2048"),
    ("ML_DSA_65", "ML_DSA_44"), ("ML_KEM_1024", "ML_KEM_768"), ("ECC_NIST_EDWARDS25519", "ECC_NIST_P256"),
    ("ML_DSA_44", "ECC_NIST_EDWARDS25519"),
])
def test_pkcs8_of_another_spec_is_incorrect_key_material(material, spec, other):
    der = material(other).export_private_pkcs8(SNAPSHOT_EXPORT_TOKEN)
    with pytest.raises(errors.IncorrectKeyMaterialException, match=f"does not match the KMS key's key spec {spec}"):
        AsymmetricMaterial.from_pkcs8(spec, der)


def test_private_keys_not_in_pkcs8_der_are_incorrect_key_material():
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    der, pem = serialization.Encoding.DER, serialization.Encoding.PEM
    traditional = serialization.PrivateFormat.TraditionalOpenSSL
    pkcs8 = serialization.PrivateFormat.PKCS8
    cases = {
        "RSA_2048": [rsa_key.private_bytes(der, traditional, serialization.NoEncryption()),  # PKCS#1
                     rsa_key.private_bytes(pem, pkcs8, serialization.NoEncryption()),
                     rsa_key.private_bytes(der, pkcs8, serialization.BestAvailableEncryption(b"pw"))],
        "ECC_NIST_P256": [ec_key.private_bytes(der, traditional, serialization.NoEncryption()),  # SEC1
                          ec_key.public_key().public_bytes(der, serialization.PublicFormat.SubjectPublicKeyInfo),
                          b"\x30\x03\x02\x01\x00", b"", os.urandom(100)],
    }
    for spec, blobs in cases.items():
        for blob in blobs:
            with pytest.raises(errors.IncorrectKeyMaterialException):
                AsymmetricMaterial.from_pkcs8(spec, blob)
    # the same keys in PKCS#8 DER are accepted
    unencrypted = serialization.NoEncryption()
    assert AsymmetricMaterial.from_pkcs8("RSA_2048", rsa_key.private_bytes(der, pkcs8, unencrypted))
    assert AsymmetricMaterial.from_pkcs8("ECC_NIST_P256",
                                         ec_key.private_bytes(der, pkcs8, unencrypted))


def test_fingerprint_tells_key_pairs_apart(material):
    key = material("ECC_NIST_P256")
    assert key.material_fingerprint() == hashlib.sha256(key.public_key_der()).hexdigest()
    assert AsymmetricMaterial.generate("ECC_NIST_P256").material_fingerprint() != key.material_fingerprint()


# RSA_4096 is left out only to keep the run short: it takes the RSA_2048/3072 path.
@pytest.mark.parametrize("spec", [s for s in specs.DATA_KEY_PAIR_SPECS if s != "RSA_4096"])
def test_data_key_pair_halves_match(spec):
    private_der, public_der = generate_data_key_pair(spec)
    private_key = serialization.load_der_private_key(private_der, password=None)
    assert private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == public_der
    assert AsymmetricMaterial.from_pkcs8(spec, private_der).public_key_der() == public_der
    assert generate_data_key_pair(spec)[1] != public_der


@pytest.mark.parametrize("spec", ["SM2", "ML_KEM_512"])
def test_specs_without_a_vetted_implementation_are_unsupported(spec):
    with pytest.raises(errors.UnsupportedOperationException, match="cryptography"):
        AsymmetricMaterial.generate(spec)
    with pytest.raises(errors.UnsupportedOperationException):
        generate_data_key_pair(spec)


def test_symmetric_specs_are_not_asymmetric_material():
    with pytest.raises(ValueError):
        AsymmetricMaterial.generate("SYMMETRIC_DEFAULT")
    with pytest.raises(ValueError):
        generate_data_key_pair("ML_DSA_44")  # not a DataKeyPairSpec


# -- the handle never shows its material ------------------------------------------------


def test_material_stays_hidden(material):
    key = material("ECC_NIST_P256")
    assert repr(key) == str(key) == "<AsymmetricMaterial ECC_NIST_P256 (material hidden)>"
    private = serialization.load_der_private_key(key.export_private_pkcs8(SNAPSHOT_EXPORT_TOKEN), None)
    scalar = format(private.private_numbers().private_value, "x")
    assert scalar not in repr(key)
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(key)
    assert copy.deepcopy(key) is key  # immutable: a copy shares, never duplicates
    with pytest.raises(TypeError, match="cannot be built directly"):
        AsymmetricMaterial("ECC_NIST_P256", private)
    with pytest.raises(PermissionError):
        key.export_private_pkcs8(None)
    with pytest.raises(PermissionError):
        key.export_private_pkcs8(object())
    with pytest.raises(AttributeError):
        _ = key.__dict__
