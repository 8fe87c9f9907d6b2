"""Key agreement through the client: DeriveSharedSecret (ECDH) and Encapsulate/Decapsulate (ML-KEM).

Both sides must agree: kmslab's secret is compared with one computed outside
with plain ``cryptography`` from GetPublicKey's DER public key.
"""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import kmslab
from kmslab import errors

from shapes import check_response as assert_matches_output_shape

CURVES = {"ECC_NIST_P256": (ec.SECP256R1, 32), "ECC_NIST_P384": (ec.SECP384R1, 48),
          "ECC_NIST_P521": (ec.SECP521R1, 66)}
KEM = {"ML_KEM_768": 1088, "ML_KEM_1024": 1568}


@pytest.fixture(scope="module")
def kms():
    return kmslab.Lab(seed=9).client()


def spki(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def create(kms, spec, usage):
    return kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]


@pytest.mark.parametrize("spec", CURVES)
def test_ecdh_secret_agrees_with_an_outside_computation(kms, spec):
    curve, size = CURVES[spec]
    key_id = create(kms, spec, "KEY_AGREEMENT")
    peer = ec.generate_private_key(curve())
    response = kms.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=spki(peer.public_key()))
    assert_matches_output_shape("DeriveSharedSecret", response)
    assert response["KeyAgreementAlgorithm"] == "ECDH" and response["KeyOrigin"] == "AWS_KMS"
    kms_public = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    outside = peer.exchange(ec.ECDH(), kms_public)  # the raw secret: no KDF on either side
    assert response["SharedSecret"] == outside and len(outside) == size


def test_two_kms_keys_agree_with_each_other(kms):
    alice = create(kms, "ECC_NIST_P384", "KEY_AGREEMENT")
    bob = create(kms, "ECC_NIST_P384", "KEY_AGREEMENT")
    alice_public = kms.get_public_key(KeyId=alice)["PublicKey"]
    bob_public = kms.get_public_key(KeyId=bob)["PublicKey"]
    assert kms.derive_shared_secret(KeyId=alice, KeyAgreementAlgorithm="ECDH", PublicKey=bob_public)["SharedSecret"] \
        == kms.derive_shared_secret(KeyId=bob, KeyAgreementAlgorithm="ECDH", PublicKey=alice_public)["SharedSecret"]


def test_ecdh_refuses_a_peer_on_another_curve_or_a_bad_key(kms):
    key_id = create(kms, "ECC_NIST_P256", "KEY_AGREEMENT")
    other_curve = spki(ec.generate_private_key(ec.SECP384R1()).public_key())
    with pytest.raises(errors.ValidationException, match="curve"):
        kms.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=other_curve)
    with pytest.raises(errors.ValidationException):
        kms.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=b"not a key")


def test_derive_shared_secret_needs_a_key_agreement_key(kms):
    signing = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    peer = spki(ec.generate_private_key(ec.SECP256R1()).public_key())
    with pytest.raises(errors.InvalidKeyUsageException) as excinfo:
        kms.derive_shared_secret(KeyId=signing["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=peer)
    assert excinfo.value.message == (
        f"{signing['Arn']} key usage is SIGN_VERIFY which is not valid for DeriveSharedSecret.")
    with pytest.raises(errors.ValidationException):  # not an enum value of KeyAgreementAlgorithmSpec
        kms.derive_shared_secret(KeyId=create(kms, "ECC_NIST_P256", "KEY_AGREEMENT"),
                                 KeyAgreementAlgorithm="ECDHE", PublicKey=peer)


def test_disabled_agreement_key_and_dry_run(kms):
    key_id = create(kms, "ECC_NIST_P521", "KEY_AGREEMENT")
    peer = spki(ec.generate_private_key(ec.SECP521R1()).public_key())
    with pytest.raises(errors.DryRunOperationException):
        kms.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=peer, DryRun=True)
    kms.disable_key(KeyId=key_id)
    with pytest.raises(errors.DisabledException):
        kms.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=peer)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"


@pytest.mark.parametrize("spec", KEM)
def test_outside_encapsulation_decapsulates_inside(kms, spec):
    key_id = create(kms, spec, "ENCAPSULATE_DECAPSULATE")
    public_key = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    secret, ciphertext = public_key.encapsulate()  # what a sender does with the public key only
    assert len(ciphertext) == KEM[spec]
    response = kms.decapsulate(KeyId=key_id, SharedSecretCiphertextBlob=ciphertext, EncapsulationAlgorithm="ML_KEM")
    assert_matches_output_shape("Decapsulate", response)
    assert response["SharedSecret"] == secret


@pytest.mark.parametrize("spec", KEM)
def test_inside_encapsulation_decapsulates_to_the_same_secret(kms, spec):
    key_id = create(kms, spec, "ENCAPSULATE_DECAPSULATE")
    encapsulated = kms.encapsulate(KeyId=key_id, EncapsulationAlgorithm="ML_KEM")
    assert_matches_output_shape("Encapsulate", encapsulated)
    assert len(encapsulated["SharedSecret"]) == 32
    assert len(encapsulated["SharedSecretCiphertextBlob"]) == KEM[spec]
    assert kms.decapsulate(KeyId=key_id, SharedSecretCiphertextBlob=encapsulated["SharedSecretCiphertextBlob"],
                           EncapsulationAlgorithm="ML_KEM")["SharedSecret"] == encapsulated["SharedSecret"]


def test_decapsulate_rejects_only_a_wrong_length_and_implicitly_rejects_tampering(kms):
    key_id = create(kms, "ML_KEM_768", "ENCAPSULATE_DECAPSULATE")
    encapsulated = kms.encapsulate(KeyId=key_id, EncapsulationAlgorithm="ML_KEM")
    with pytest.raises(errors.InvalidCiphertextException):
        kms.decapsulate(KeyId=key_id, SharedSecretCiphertextBlob=b"\x00" * 1000, EncapsulationAlgorithm="ML_KEM")
    tampered = bytearray(encapsulated["SharedSecretCiphertextBlob"])
    tampered[5] ^= 0x01
    other = kms.decapsulate(KeyId=key_id, SharedSecretCiphertextBlob=bytes(tampered), EncapsulationAlgorithm="ML_KEM")
    assert len(other["SharedSecret"]) == 32 and other["SharedSecret"] != encapsulated["SharedSecret"]


def test_kem_operations_need_an_encapsulate_decapsulate_key(kms):
    key_id = create(kms, "ECC_NIST_P256", "KEY_AGREEMENT")
    with pytest.raises(errors.InvalidKeyUsageException, match="not valid for Encapsulate"):
        kms.encapsulate(KeyId=key_id, EncapsulationAlgorithm="ML_KEM")
    kem = create(kms, "ML_KEM_1024", "ENCAPSULATE_DECAPSULATE")
    with pytest.raises(errors.InvalidKeyUsageException, match="not valid for DeriveSharedSecret"):
        kms.derive_shared_secret(KeyId=kem, KeyAgreementAlgorithm="ECDH",
                                 PublicKey=spki(ec.generate_private_key(ec.SECP256R1()).public_key()))
    kms.disable_key(KeyId=kem)
    with pytest.raises(errors.DisabledException):
        kms.encapsulate(KeyId=kem, EncapsulationAlgorithm="ML_KEM")


def test_audit_records_of_the_new_operations_carry_no_bytes():
    lab = kmslab.Lab(seed=12)
    kms = lab.client()
    agreement = create(kms, "ECC_NIST_P256", "KEY_AGREEMENT")
    kms.derive_shared_secret(KeyId=agreement, KeyAgreementAlgorithm="ECDH",
                             PublicKey=spki(ec.generate_private_key(ec.SECP256R1()).public_key()))
    kem = create(kms, "ML_KEM_768", "ENCAPSULATE_DECAPSULATE")
    blob = kms.encapsulate(KeyId=kem, EncapsulationAlgorithm="ML_KEM")["SharedSecretCiphertextBlob"]
    kms.decapsulate(KeyId=kem, SharedSecretCiphertextBlob=blob, EncapsulationAlgorithm="ML_KEM")
    kms.generate_data_key_pair(KeyId=kms.create_key()["KeyMetadata"]["KeyId"], KeyPairSpec="ECC_NIST_P256")
    kms.get_public_key(KeyId=kem)

    def no_bytes(value):
        if isinstance(value, dict):
            return all(no_bytes(v) for v in value.values())
        if isinstance(value, list):
            return all(no_bytes(v) for v in value)
        return not isinstance(value, (bytes, bytearray, memoryview))

    records = lab.audit.records()
    names = [r["eventName"] for r in records]
    for name in ("DeriveSharedSecret", "Encapsulate", "Decapsulate", "GenerateDataKeyPair", "GetPublicKey"):
        assert name in names
    assert all(no_bytes(record) for record in records)
