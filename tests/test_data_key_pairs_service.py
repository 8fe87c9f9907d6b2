"""GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext through the client.

The halves must match: the encrypted private key decrypts (with plain
Decrypt) to the plaintext private key, which ``cryptography`` loads and whose
public key is the returned PublicKey.
"""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mlkem, rsa

import kmslab
from kmslab import errors

from shapes import check_response as assert_matches_output_shape

PAIR_SPECS = {"RSA_2048": (rsa.RSAPrivateKey, 2048), "RSA_3072": (rsa.RSAPrivateKey, 3072),
              "RSA_4096": (rsa.RSAPrivateKey, 4096), "ECC_NIST_P256": (ec.EllipticCurvePrivateKey, "secp256r1"),
              "ECC_NIST_P384": (ec.EllipticCurvePrivateKey, "secp384r1"),
              "ECC_NIST_P521": (ec.EllipticCurvePrivateKey, "secp521r1"),
              "ECC_SECG_P256K1": (ec.EllipticCurvePrivateKey, "secp256k1"),
              "ECC_NIST_EDWARDS25519": (ed25519.Ed25519PrivateKey, None),
              "ML_KEM_768": (mlkem.MLKEM768PrivateKey, None), "ML_KEM_1024": (mlkem.MLKEM1024PrivateKey, None)}
CONTEXT = {"app": "payments"}


@pytest.fixture(scope="module")
def kms():
    return kmslab.Lab(seed=11).client()


@pytest.fixture(scope="module")
def wrapping_key(kms):
    return kms.create_key()["KeyMetadata"]


def spki(private_key):
    return private_key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


def check_private_key(der, spec, public_der):
    private_key = serialization.load_der_private_key(der, password=None)
    key_class, detail = PAIR_SPECS[spec]
    assert isinstance(private_key, key_class)
    if isinstance(private_key, rsa.RSAPrivateKey):
        assert private_key.key_size == detail
    elif isinstance(private_key, ec.EllipticCurvePrivateKey):
        assert private_key.curve.name == detail
    assert spki(private_key) == public_der


@pytest.mark.parametrize("spec", PAIR_SPECS)
def test_data_key_pair_halves_match(kms, wrapping_key, spec):
    response = kms.generate_data_key_pair(KeyId=wrapping_key["KeyId"], KeyPairSpec=spec, EncryptionContext=CONTEXT)
    assert_matches_output_shape("GenerateDataKeyPair", response)
    assert response["KeyId"] == wrapping_key["Arn"] and response["KeyPairSpec"] == spec
    assert response["KeyMaterialId"] == wrapping_key["CurrentKeyMaterialId"]
    check_private_key(response["PrivateKeyPlaintext"], spec, response["PublicKey"])
    decrypted = kms.decrypt(CiphertextBlob=response["PrivateKeyCiphertextBlob"], EncryptionContext=CONTEXT)
    assert decrypted["Plaintext"] == response["PrivateKeyPlaintext"]
    assert decrypted["KeyId"] == wrapping_key["Arn"]


@pytest.mark.parametrize("spec", ["ECC_NIST_P256", "RSA_2048", "ML_KEM_1024"])
def test_without_plaintext_the_private_key_comes_back_only_through_decrypt(kms, wrapping_key, spec):
    response = kms.generate_data_key_pair_without_plaintext(KeyId=wrapping_key["KeyId"], KeyPairSpec=spec)
    assert_matches_output_shape("GenerateDataKeyPairWithoutPlaintext", response)
    assert "PrivateKeyPlaintext" not in response
    private_der = kms.decrypt(CiphertextBlob=response["PrivateKeyCiphertextBlob"])["Plaintext"]
    check_private_key(private_der, spec, response["PublicKey"])


def test_the_private_key_is_bound_to_the_encryption_context(kms, wrapping_key):
    response = kms.generate_data_key_pair(KeyId=wrapping_key["KeyId"], KeyPairSpec="ECC_NIST_P256",
                                          EncryptionContext=CONTEXT)
    with pytest.raises(errors.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=response["PrivateKeyCiphertextBlob"])
    with pytest.raises(errors.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=response["PrivateKeyCiphertextBlob"], EncryptionContext={"app": "other"})


@pytest.mark.parametrize("spec, usage", [("RSA_2048", "ENCRYPT_DECRYPT"), ("ECC_NIST_P256", "SIGN_VERIFY"),
                                         ("HMAC_256", "GENERATE_VERIFY_MAC")])
def test_data_key_pairs_need_a_symmetric_encryption_key(kms, spec, usage):
    key_id = kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]
    for generate in (kms.generate_data_key_pair, kms.generate_data_key_pair_without_plaintext):
        with pytest.raises(errors.InvalidKeyUsageException):
            generate(KeyId=key_id, KeyPairSpec="ECC_NIST_P256")


@pytest.mark.parametrize("spec", ["SM2", "ML_KEM_512"])
def test_pair_specs_without_a_vetted_implementation_are_refused(kms, wrapping_key, spec):
    with pytest.raises(errors.UnsupportedOperationException, match="cryptography"):
        kms.generate_data_key_pair(KeyId=wrapping_key["KeyId"], KeyPairSpec=spec)


def test_disabled_key_dry_run_and_recipient(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(errors.DryRunOperationException):
        kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec="RSA_4096", DryRun=True)
    with pytest.raises(errors.ValidationException, match="Recipient"):
        kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec="ECC_NIST_P256",
                                   Recipient={"KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256",
                                              "AttestationDocument": b"document"})
    kms.disable_key(KeyId=key_id)
    with pytest.raises(errors.DisabledException):
        kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec="ECC_NIST_P256")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
