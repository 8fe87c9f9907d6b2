"""Asymmetric KMS keys through the client: Sign, Verify, GetPublicKey, RSA Encrypt/Decrypt/ReEncrypt.

Everything kmslab signs or decrypts is checked against plain ``cryptography``
holding only the DER public key GetPublicKey returns, as a learner would do
with real AWS KMS; every response is checked against botocore's model.
"""

import hashlib
import os

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, mldsa, padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature

import kmslab
from kmslab import errors

from shapes import check_response as assert_matches_output_shape

MESSAGE = b"Pay 100 EUR to Alice. Ref 2025-001."
HASHES = {"SHA_256": hashes.SHA256, "SHA_384": hashes.SHA384, "SHA_512": hashes.SHA512}

# AWS's table (reference section 1.3), written out here rather than read from kmslab.specs;
# in the order DescribeKey lists them (the API Reference's DescribeKey example of an RSA
# signing key, botocore's examples-1.json): PKCS #1 v1.5 first
RSA_SIGNING = ["RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
               "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"]
EXPECTED_ALGORITHMS = {
    ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"): {"EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"]},
    ("RSA_2048", "ENCRYPT_DECRYPT"): {"EncryptionAlgorithms": ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]},
    ("RSA_3072", "ENCRYPT_DECRYPT"): {"EncryptionAlgorithms": ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]},
    ("RSA_4096", "ENCRYPT_DECRYPT"): {"EncryptionAlgorithms": ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]},
    ("RSA_2048", "SIGN_VERIFY"): {"SigningAlgorithms": RSA_SIGNING},
    ("RSA_3072", "SIGN_VERIFY"): {"SigningAlgorithms": RSA_SIGNING},
    ("RSA_4096", "SIGN_VERIFY"): {"SigningAlgorithms": RSA_SIGNING},
    ("ECC_NIST_P256", "SIGN_VERIFY"): {"SigningAlgorithms": ["ECDSA_SHA_256"]},
    ("ECC_NIST_P384", "SIGN_VERIFY"): {"SigningAlgorithms": ["ECDSA_SHA_384"]},
    ("ECC_NIST_P521", "SIGN_VERIFY"): {"SigningAlgorithms": ["ECDSA_SHA_512"]},
    ("ECC_NIST_P256", "KEY_AGREEMENT"): {"KeyAgreementAlgorithms": ["ECDH"]},
    ("ECC_NIST_P384", "KEY_AGREEMENT"): {"KeyAgreementAlgorithms": ["ECDH"]},
    ("ECC_NIST_P521", "KEY_AGREEMENT"): {"KeyAgreementAlgorithms": ["ECDH"]},
    ("ECC_SECG_P256K1", "SIGN_VERIFY"): {"SigningAlgorithms": ["ECDSA_SHA_256"]},
    ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"): {"SigningAlgorithms": ["ED25519_SHA_512", "ED25519_PH_SHA_512"]},
    ("ML_DSA_44", "SIGN_VERIFY"): {"SigningAlgorithms": ["ML_DSA_SHAKE_256"]},
    ("ML_DSA_65", "SIGN_VERIFY"): {"SigningAlgorithms": ["ML_DSA_SHAKE_256"]},
    ("ML_DSA_87", "SIGN_VERIFY"): {"SigningAlgorithms": ["ML_DSA_SHAKE_256"]},
    ("ML_KEM_768", "ENCAPSULATE_DECAPSULATE"): {"EncapsulationAlgorithms": ["ML_KEM"]},
    ("ML_KEM_1024", "ENCAPSULATE_DECAPSULATE"): {"EncapsulationAlgorithms": ["ML_KEM"]},
    ("HMAC_224", "GENERATE_VERIFY_MAC"): {"MacAlgorithms": ["HMAC_SHA_224"]},
    ("HMAC_256", "GENERATE_VERIFY_MAC"): {"MacAlgorithms": ["HMAC_SHA_256"]},
    ("HMAC_384", "GENERATE_VERIFY_MAC"): {"MacAlgorithms": ["HMAC_SHA_384"]},
    ("HMAC_512", "GENERATE_VERIFY_MAC"): {"MacAlgorithms": ["HMAC_SHA_512"]},
}
ALGORITHM_FIELDS = {"EncryptionAlgorithms", "SigningAlgorithms", "KeyAgreementAlgorithms",
                    "EncapsulationAlgorithms", "MacAlgorithms"}
NEW_SPECS = {"ECC_NIST_EDWARDS25519", "ML_DSA_44", "ML_DSA_65", "ML_DSA_87", "ML_KEM_768", "ML_KEM_1024"}

SIGNING_CASES = [(spec, algorithm) for (spec, usage), fields in EXPECTED_ALGORITHMS.items()
                 if usage == "SIGN_VERIFY" for algorithm in fields["SigningAlgorithms"]
                 if algorithm != "ED25519_PH_SHA_512"]
HASHED_CASES = [(s, a) for s, a in SIGNING_CASES if a.startswith(("RSASSA", "ECDSA"))]


@pytest.fixture(scope="module")
def lab():
    return kmslab.Lab(seed=3)


@pytest.fixture(scope="module")
def kms(lab):
    return lab.client()


@pytest.fixture(scope="module")
def key(kms):
    """key(spec, usage) -> KeyId; one key per pair for the module (RSA_4096 is slow to make)."""
    cache = {}

    def get(spec, usage="SIGN_VERIFY"):
        if (spec, usage) not in cache:
            cache[spec, usage] = kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]
        return cache[spec, usage]
    return get


def fresh_key(kms, spec="ECC_NIST_P256", usage="SIGN_VERIFY"):
    return kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]


def hash_of(algorithm):
    return HASHES[algorithm[-7:]]()


def verify_outside(public_der, algorithm, message, signature, prehashed=False):
    """Plain cryptography with only the DER public key (raises InvalidSignature)."""
    public_key = serialization.load_der_public_key(public_der)
    if algorithm.startswith(("RSASSA", "ECDSA")):
        digest = hash_of(algorithm)
        mode = Prehashed(digest) if prehashed else digest
        if algorithm.startswith("RSASSA_PSS_"):
            public_key.verify(signature, message,
                              padding.PSS(mgf=padding.MGF1(hash_of(algorithm)), salt_length=digest.digest_size),
                              mode)
        elif algorithm.startswith("RSASSA_PKCS1_V1_5_"):
            public_key.verify(signature, message, padding.PKCS1v15(), mode)
        else:
            decode_dss_signature(signature)  # DER (r, s), as AWS documents
            public_key.verify(signature, message, ec.ECDSA(mode))
    else:  # Ed25519, pure ML-DSA
        public_key.verify(signature, message)


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


# ------------------------------------------------------------------ CreateKey / DescribeKey


@pytest.mark.parametrize("spec, usage", list(EXPECTED_ALGORITHMS))
def test_describe_key_reports_the_algorithms_aws_lists_for_the_spec(kms, key, spec, usage):
    metadata = kms.describe_key(KeyId=key(spec, usage))["KeyMetadata"]
    assert metadata["KeySpec"] == spec and metadata["KeyUsage"] == usage
    reported = {f: metadata[f] for f in ALGORITHM_FIELDS if f in metadata}
    assert reported == EXPECTED_ALGORITHMS[spec, usage]
    assert ("CustomerMasterKeySpec" in metadata) == (spec not in NEW_SPECS)
    assert_matches_output_shape("DescribeKey", kms.describe_key(KeyId=key(spec, usage)))


@pytest.mark.parametrize("spec, usage", [
    ("RSA_2048", "KEY_AGREEMENT"), ("RSA_3072", "GENERATE_VERIFY_MAC"),
    ("ECC_NIST_P256", "ENCRYPT_DECRYPT"), ("ECC_SECG_P256K1", "KEY_AGREEMENT"),
    ("ECC_NIST_EDWARDS25519", "KEY_AGREEMENT"), ("ML_DSA_65", "ENCRYPT_DECRYPT"),
    ("ML_KEM_768", "SIGN_VERIFY"), ("HMAC_256", "ENCRYPT_DECRYPT"), ("SYMMETRIC_DEFAULT", "SIGN_VERIFY"),
])
def test_create_key_refuses_a_usage_the_spec_does_not_have(kms, spec, usage):
    before = len(kms.list_keys()["Keys"])
    with pytest.raises(errors.ValidationException):
        kms.create_key(KeySpec=spec, KeyUsage=usage)
    assert len(kms.list_keys()["Keys"]) == before


@pytest.mark.parametrize("spec", ["ECC_NIST_P256", "ECC_SECG_P256K1", "ML_DSA_44", "ML_KEM_768", "HMAC_384",
                                  "ECC_NIST_EDWARDS25519"])
def test_key_usage_is_required_for_specs_that_cannot_encrypt(kms, spec):
    with pytest.raises(errors.ValidationException, match="KeyUsage"):
        kms.create_key(KeySpec=spec)


def test_rsa_key_usage_defaults_to_encrypt_decrypt_as_documented(kms):
    assert kms.create_key(KeySpec="RSA_2048")["KeyMetadata"]["KeyUsage"] == "ENCRYPT_DECRYPT"


@pytest.mark.parametrize("spec", ["SM2", "ML_KEM_512"])
def test_specs_without_a_vetted_implementation_are_refused_with_the_reason(kms, spec):
    usage = "SIGN_VERIFY" if spec == "SM2" else "ENCAPSULATE_DECAPSULATE"
    with pytest.raises(errors.UnsupportedOperationException, match="cryptography"):
        kms.create_key(KeySpec=spec, KeyUsage=usage)


def test_deprecated_customer_master_key_spec_is_accepted_and_reported(kms):
    metadata = kms.create_key(CustomerMasterKeySpec="ECC_NIST_P384", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert metadata["KeySpec"] == metadata["CustomerMasterKeySpec"] == "ECC_NIST_P384"


# ------------------------------------------------------------------ Sign / Verify


@pytest.mark.parametrize("spec, algorithm", SIGNING_CASES)
def test_raw_signature_verifies_outside_with_the_public_key(kms, key, spec, algorithm):
    key_id = key(spec)
    signed = kms.sign(KeyId=key_id, Message=MESSAGE, MessageType="RAW", SigningAlgorithm=algorithm)
    assert_matches_output_shape("Sign", signed)
    assert signed["KeyId"].endswith(key_id) and signed["KeyId"].startswith("arn:aws:kms:")
    assert signed["SigningAlgorithm"] == algorithm
    public = kms.get_public_key(KeyId=key_id)["PublicKey"]
    verify_outside(public, algorithm, MESSAGE, signed["Signature"])
    verified = kms.verify(KeyId=key_id, Message=MESSAGE, Signature=signed["Signature"], SigningAlgorithm=algorithm)
    assert_matches_output_shape("Verify", verified)
    assert verified["SignatureValid"] is True and verified["KeyId"] == signed["KeyId"]


@pytest.mark.parametrize("spec, algorithm", HASHED_CASES)
def test_a_digest_is_signed_as_is_never_hashed_again(kms, key, spec, algorithm):
    key_id = key(spec)
    digest = hashlib.new(hash_of(algorithm).name, MESSAGE).digest()
    signature = kms.sign(KeyId=key_id, Message=digest, MessageType="DIGEST",
                         SigningAlgorithm=algorithm)["Signature"]
    public = kms.get_public_key(KeyId=key_id)["PublicKey"]
    verify_outside(public, algorithm, MESSAGE, signature)  # a signature over the message itself
    verify_outside(public, algorithm, digest, signature, prehashed=True)
    # Verify may use the other message type: both name the same signed hash
    assert kms.verify(KeyId=key_id, Message=MESSAGE, MessageType="RAW", Signature=signature,
                      SigningAlgorithm=algorithm)["SignatureValid"]


def test_a_digest_sent_as_raw_is_hashed_again(kms, key):
    key_id = key("ECC_NIST_P256")
    digest = hashlib.sha256(MESSAGE).digest()
    signature = kms.sign(KeyId=key_id, Message=digest, MessageType="RAW",
                         SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    public = kms.get_public_key(KeyId=key_id)["PublicKey"]
    with pytest.raises(InvalidSignature):
        verify_outside(public, "ECDSA_SHA_256", MESSAGE, signature)
    verify_outside(public, "ECDSA_SHA_256", digest, signature)  # signed sha256(sha256(message))


@pytest.mark.parametrize("spec", ["ML_DSA_44", "ML_DSA_65", "ML_DSA_87"])
def test_ml_dsa_external_mu_signs_the_message_mu_stands_for(kms, key, spec):
    key_id = key(spec)
    public_key = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    hasher = mldsa.MLDSAMuHasher(public_key)
    hasher.update(MESSAGE)
    mu = hasher.finalize()
    signature = kms.sign(KeyId=key_id, Message=mu, MessageType="EXTERNAL_MU",
                         SigningAlgorithm="ML_DSA_SHAKE_256")["Signature"]
    public_key.verify(signature, MESSAGE)
    with pytest.raises(errors.ValidationException):
        kms.sign(KeyId=key_id, Message=hashlib.sha512(MESSAGE).digest(), MessageType="DIGEST",
                 SigningAlgorithm="ML_DSA_SHAKE_256")


def test_ed25519ph_is_refused_because_cryptography_has_no_implementation(kms, key):
    key_id = key("ECC_NIST_EDWARDS25519")
    with pytest.raises(errors.UnsupportedOperationException, match="Ed25519ph"):
        kms.sign(KeyId=key_id, Message=hashlib.sha512(MESSAGE).digest(), MessageType="DIGEST",
                 SigningAlgorithm="ED25519_PH_SHA_512")
    with pytest.raises(errors.ValidationException):  # ED25519_SHA_512 needs RAW
        kms.sign(KeyId=key_id, Message=hashlib.sha512(MESSAGE).digest(), MessageType="DIGEST",
                 SigningAlgorithm="ED25519_SHA_512")


@pytest.mark.parametrize("spec, algorithm", [("ECC_NIST_P256", "ECDSA_SHA_256"), ("RSA_2048", "RSASSA_PSS_SHA_256"),
                                             ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512"),
                                             ("ML_DSA_44", "ML_DSA_SHAKE_256")])
def test_a_tampered_signature_raises_kms_invalid_signature_never_false(kms, key, spec, algorithm):
    key_id = key(spec)
    signature = bytearray(kms.sign(KeyId=key_id, Message=MESSAGE, SigningAlgorithm=algorithm)["Signature"])
    signature[len(signature) // 2] ^= 0x01
    with pytest.raises(errors.KMSInvalidSignatureException) as excinfo:
        kms.verify(KeyId=key_id, Message=MESSAGE, Signature=bytes(signature), SigningAlgorithm=algorithm)
    assert error_code(excinfo) == "KMSInvalidSignatureException"
    with pytest.raises(errors.KMSInvalidSignatureException):
        kms.verify(KeyId=key_id, Message=MESSAGE + b"!", Signature=bytes(signature), SigningAlgorithm=algorithm)


def test_sign_and_verify_need_a_sign_verify_key(kms, key):
    for spec, usage in [("RSA_2048", "ENCRYPT_DECRYPT"), ("ECC_NIST_P256", "KEY_AGREEMENT"),
                        ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"), ("HMAC_256", "GENERATE_VERIFY_MAC")]:
        key_id = key(spec, usage)
        arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
        with pytest.raises(errors.InvalidKeyUsageException) as excinfo:
            kms.sign(KeyId=key_id, Message=MESSAGE, SigningAlgorithm="RSASSA_PSS_SHA_256")
        assert str(excinfo.value.message) == f"{arn} key usage is {usage} which is not valid for Sign."
        with pytest.raises(errors.InvalidKeyUsageException):
            kms.verify(KeyId=key_id, Message=MESSAGE, Signature=b"x" * 64, SigningAlgorithm="RSASSA_PSS_SHA_256")


@pytest.mark.parametrize("spec, algorithm", [("ECC_NIST_P256", "ECDSA_SHA_384"), ("ECC_NIST_P384", "ECDSA_SHA_256"),
                                             ("RSA_2048", "ECDSA_SHA_256"), ("ECC_SECG_P256K1", "ED25519_SHA_512"),
                                             ("ML_DSA_44", "RSASSA_PSS_SHA_512")])
def test_an_algorithm_the_key_spec_lacks_is_invalid_key_usage(kms, key, spec, algorithm):
    with pytest.raises(errors.InvalidKeyUsageException,
                       match=f"Algorithm {algorithm} is incompatible with key spec {spec}"):
        kms.sign(KeyId=key(spec), Message=MESSAGE, SigningAlgorithm=algorithm)


def test_message_limits_and_digest_length(kms, key):
    key_id = key("ECC_NIST_P384")
    kms.sign(KeyId=key_id, Message=b"m" * 4096, SigningAlgorithm="ECDSA_SHA_384")
    with pytest.raises(errors.ValidationException):
        kms.sign(KeyId=key_id, Message=b"m" * 4097, SigningAlgorithm="ECDSA_SHA_384")
    with pytest.raises(errors.ValidationException, match="length"):
        kms.sign(KeyId=key_id, Message=hashlib.sha256(MESSAGE).digest(), MessageType="DIGEST",
                 SigningAlgorithm="ECDSA_SHA_384")
    with pytest.raises(errors.ValidationException):
        kms.sign(KeyId=key_id, Message=MESSAGE, MessageType="SHA384", SigningAlgorithm="ECDSA_SHA_384")


def test_disabled_and_pending_deletion_keys_cannot_sign_verify_or_give_public_key(kms, lab):
    key_id = fresh_key(kms)
    signature = kms.sign(KeyId=key_id, Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    kms.disable_key(KeyId=key_id)
    for call in (lambda: kms.sign(KeyId=key_id, Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256"),
                 lambda: kms.verify(KeyId=key_id, Message=MESSAGE, Signature=signature,
                                    SigningAlgorithm="ECDSA_SHA_256"),
                 lambda: kms.get_public_key(KeyId=key_id)):
        with pytest.raises(errors.DisabledException, match="is disabled"):
            call()
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    assert lab.audit.records()[-2]["errorCode"] == "DisabledException"
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    with pytest.raises(errors.KMSInvalidStateException, match="pending deletion"):
        kms.sign(KeyId=key_id, Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"


def test_dry_run_checks_the_request_and_signs_nothing(kms, key, lab):
    key_id = key("ECC_NIST_P256")
    with pytest.raises(errors.DryRunOperationException):
        kms.sign(KeyId=key_id, Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256", DryRun=True)
    with pytest.raises(errors.DryRunOperationException):  # the bad signature is never checked
        kms.verify(KeyId=key_id, Message=MESSAGE, Signature=b"\x00" * 70, SigningAlgorithm="ECDSA_SHA_256",
                   DryRun=True)
    with pytest.raises(errors.InvalidKeyUsageException):  # but the algorithm is
        kms.sign(KeyId=key_id, Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_512", DryRun=True)


def test_the_audit_record_holds_no_message_or_signature(kms, key, lab):
    key_id = key("ECC_NIST_P256")
    signature = kms.sign(KeyId=key_id, Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    kms.verify(KeyId=key_id, Message=MESSAGE, Signature=signature, SigningAlgorithm="ECDSA_SHA_256")
    for record in lab.audit.records()[-2:]:
        assert set(record["requestParameters"]) == {"keyId", "signingAlgorithm"}
        assert MESSAGE.decode() not in repr(record) and repr(signature) not in repr(record)
        assert record["readOnly"] is True


# ------------------------------------------------------------------ GetPublicKey


@pytest.mark.parametrize("spec, usage", [pair for pair in EXPECTED_ALGORITHMS
                                         if pair[0] != "SYMMETRIC_DEFAULT" and not pair[0].startswith("HMAC")])
def test_get_public_key_returns_der_spki_and_the_algorithms_for_the_usage(kms, key, spec, usage):
    response = kms.get_public_key(KeyId=key(spec, usage))
    assert_matches_output_shape("GetPublicKey", response)
    serialization.load_der_public_key(response["PublicKey"])
    assert response["KeySpec"] == spec and response["KeyUsage"] == usage
    assert {f: response[f] for f in ALGORITHM_FIELDS if f in response} == EXPECTED_ALGORITHMS[spec, usage]
    assert ("CustomerMasterKeySpec" in response) == (spec not in NEW_SPECS)


@pytest.mark.parametrize("spec, usage", [("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"), ("HMAC_512", "GENERATE_VERIFY_MAC")])
def test_symmetric_and_hmac_keys_have_no_public_key(kms, key, spec, usage):
    with pytest.raises(errors.UnsupportedOperationException, match="not valid for GetPublicKey"):
        kms.get_public_key(KeyId=key(spec, usage))


# ------------------------------------------------------------------ RSA Encrypt / Decrypt / ReEncrypt

OAEP_LIMITS = {("RSA_2048", "RSAES_OAEP_SHA_1"): 214, ("RSA_2048", "RSAES_OAEP_SHA_256"): 190,
               ("RSA_3072", "RSAES_OAEP_SHA_1"): 342, ("RSA_3072", "RSAES_OAEP_SHA_256"): 318,
               ("RSA_4096", "RSAES_OAEP_SHA_1"): 470, ("RSA_4096", "RSAES_OAEP_SHA_256"): 446}


def oaep(algorithm):
    digest = hashes.SHA1() if algorithm.endswith("SHA_1") else hashes.SHA256()
    return padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)


@pytest.mark.parametrize("spec, algorithm", list(OAEP_LIMITS))
def test_ciphertext_made_outside_with_the_public_key_decrypts_inside(kms, key, spec, algorithm):
    key_id = key(spec, "ENCRYPT_DECRYPT")
    public_key = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    plaintext = os.urandom(OAEP_LIMITS[spec, algorithm])  # the largest AWS allows
    ciphertext = public_key.encrypt(plaintext, oaep(algorithm))
    response = kms.decrypt(KeyId=key_id, CiphertextBlob=ciphertext, EncryptionAlgorithm=algorithm)
    assert_matches_output_shape("Decrypt", response)
    assert response["Plaintext"] == plaintext and response["EncryptionAlgorithm"] == algorithm
    assert "KeyMaterialId" not in response


@pytest.mark.parametrize("spec, algorithm", list(OAEP_LIMITS))
def test_rsa_encrypt_enforces_aws_plaintext_limits(kms, key, spec, algorithm):
    key_id = key(spec, "ENCRYPT_DECRYPT")
    limit = OAEP_LIMITS[spec, algorithm]
    encrypted = kms.encrypt(KeyId=key_id, Plaintext=b"p" * limit, EncryptionAlgorithm=algorithm)
    assert_matches_output_shape("Encrypt", encrypted)
    assert kms.decrypt(KeyId=key_id, CiphertextBlob=encrypted["CiphertextBlob"],
                       EncryptionAlgorithm=algorithm)["Plaintext"] == b"p" * limit
    with pytest.raises(errors.ValidationException, match=str(limit)):
        kms.encrypt(KeyId=key_id, Plaintext=b"p" * (limit + 1), EncryptionAlgorithm=algorithm)


def test_rsa_keys_need_an_algorithm_and_refuse_encryption_context(kms, key):
    key_id = key("RSA_2048", "ENCRYPT_DECRYPT")
    with pytest.raises(errors.InvalidKeyUsageException,
                       match="Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048"):
        kms.encrypt(KeyId=key_id, Plaintext=MESSAGE)
    with pytest.raises(errors.ValidationException, match="EncryptionContext"):
        kms.encrypt(KeyId=key_id, Plaintext=MESSAGE, EncryptionAlgorithm="RSAES_OAEP_SHA_256",
                    EncryptionContext={"purpose": "test"})
    blob = kms.encrypt(KeyId=key_id, Plaintext=MESSAGE, EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    with pytest.raises(errors.InvalidKeyUsageException):
        kms.decrypt(KeyId=key_id, CiphertextBlob=blob)
    with pytest.raises(errors.ValidationException):
        kms.decrypt(CiphertextBlob=blob, EncryptionAlgorithm="RSAES_OAEP_SHA_256")  # no KeyId
    with pytest.raises(errors.InvalidCiphertextException):
        kms.decrypt(KeyId=key_id, CiphertextBlob=blob, EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    with pytest.raises(errors.InvalidKeyUsageException, match="not valid for Encrypt"):
        kms.encrypt(KeyId=key("RSA_2048"), Plaintext=MESSAGE, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    with pytest.raises(errors.InvalidKeyUsageException):  # an RSA algorithm with a symmetric key
        kms.encrypt(KeyId=key("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"), Plaintext=MESSAGE,
                    EncryptionAlgorithm="RSAES_OAEP_SHA_256")


def test_re_encrypt_between_symmetric_and_rsa_keys_both_ways(kms, key):
    rsa_id = key("RSA_3072", "ENCRYPT_DECRYPT")
    symmetric_id = key("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    symmetric_blob = kms.encrypt(KeyId=symmetric_id, Plaintext=MESSAGE,
                                 EncryptionContext={"dept": "finance"})["CiphertextBlob"]
    to_rsa = kms.re_encrypt(CiphertextBlob=symmetric_blob, SourceEncryptionContext={"dept": "finance"},
                            DestinationKeyId=rsa_id, DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert_matches_output_shape("ReEncrypt", to_rsa)
    assert to_rsa["SourceEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT" and "SourceKeyMaterialId" in to_rsa
    assert "DestinationKeyMaterialId" not in to_rsa
    assert kms.decrypt(KeyId=rsa_id, CiphertextBlob=to_rsa["CiphertextBlob"],
                       EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"] == MESSAGE
    back = kms.re_encrypt(CiphertextBlob=to_rsa["CiphertextBlob"], SourceKeyId=rsa_id,
                          SourceEncryptionAlgorithm="RSAES_OAEP_SHA_256", DestinationKeyId=symmetric_id,
                          DestinationEncryptionContext={"dept": "audit"})
    assert_matches_output_shape("ReEncrypt", back)
    assert back["SourceEncryptionAlgorithm"] == "RSAES_OAEP_SHA_256" and "DestinationKeyMaterialId" in back
    assert kms.decrypt(CiphertextBlob=back["CiphertextBlob"],
                       EncryptionContext={"dept": "audit"})["Plaintext"] == MESSAGE
    with pytest.raises(errors.ValidationException, match="DestinationEncryptionContext"):
        kms.re_encrypt(CiphertextBlob=back["CiphertextBlob"], SourceEncryptionContext={"dept": "audit"},
                       DestinationKeyId=rsa_id, DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_1",
                       DestinationEncryptionContext={"dept": "audit"})
    big = kms.encrypt(KeyId=symmetric_id, Plaintext=b"b" * 500)["CiphertextBlob"]
    with pytest.raises(errors.ValidationException):  # 500 bytes exceed RSA_3072's OAEP limit
        kms.re_encrypt(CiphertextBlob=big, DestinationKeyId=rsa_id,
                       DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_256")


def test_rsa_4096_key_is_usable_right_after_create_key(kms):
    key_id = kms.create_key(KeySpec="RSA_4096", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    signature = kms.sign(KeyId=key_id, Message=MESSAGE, SigningAlgorithm="RSASSA_PSS_SHA_512")["Signature"]
    assert len(signature) == 512
    verify_outside(kms.get_public_key(KeyId=key_id)["PublicKey"], "RSASSA_PSS_SHA_512", MESSAGE, signature)
