"""HMAC KMS keys through the client: GenerateMac and VerifyMac against cryptography's HMAC."""

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

import kmslab
from kmslab import errors
from kmslab.crypto.handle import SNAPSHOT_EXPORT_TOKEN

from shapes import check_response as assert_matches_output_shape

MESSAGE = b'{"sub": "alice", "exp": 1735689600}'
SPECS = {"HMAC_224": ("HMAC_SHA_224", hashes.SHA224, 28), "HMAC_256": ("HMAC_SHA_256", hashes.SHA256, 32),
         "HMAC_384": ("HMAC_SHA_384", hashes.SHA384, 48), "HMAC_512": ("HMAC_SHA_512", hashes.SHA512, 64)}


@pytest.fixture(scope="module")
def lab():
    return kmslab.Lab(seed=5)


@pytest.fixture(scope="module")
def kms(lab):
    return lab.client()


@pytest.fixture(scope="module")
def hmac_keys(kms):
    return {spec: kms.create_key(KeySpec=spec, KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
            for spec in SPECS}


def raw_key(lab, key_id):
    """The HMAC key bytes, read the one way kmslab allows (the snapshot token), to compare."""
    material = lab.kms_service("111122223333", "us-east-1").keys[key_id].current.material
    return material.export_raw(SNAPSHOT_EXPORT_TOKEN)


@pytest.mark.parametrize("spec", SPECS)
def test_generate_mac_equals_cryptography_hmac_and_verifies(kms, lab, hmac_keys, spec):
    algorithm, hash_class, key_bytes = SPECS[spec]
    key_id = hmac_keys[spec]
    response = kms.generate_mac(KeyId=key_id, Message=MESSAGE, MacAlgorithm=algorithm)
    assert_matches_output_shape("GenerateMac", response)
    assert response["MacAlgorithm"] == algorithm and response["KeyId"].endswith(key_id)
    secret = raw_key(lab, key_id)
    assert len(secret) == key_bytes
    outside = crypto_hmac.HMAC(secret, hash_class())
    outside.update(MESSAGE)
    assert response["Mac"] == outside.finalize()
    verified = kms.verify_mac(KeyId=key_id, Message=MESSAGE, Mac=response["Mac"], MacAlgorithm=algorithm)
    assert_matches_output_shape("VerifyMac", verified)
    assert verified["MacValid"] is True


@pytest.mark.parametrize("spec", SPECS)
def test_a_tampered_mac_or_message_raises_kms_invalid_mac(kms, hmac_keys, spec):
    algorithm = SPECS[spec][0]
    mac = bytearray(kms.generate_mac(KeyId=hmac_keys[spec], Message=MESSAGE, MacAlgorithm=algorithm)["Mac"])
    with pytest.raises(errors.KMSInvalidMacException):
        kms.verify_mac(KeyId=hmac_keys[spec], Message=MESSAGE + b" ", Mac=bytes(mac), MacAlgorithm=algorithm)
    mac[0] ^= 0x80
    with pytest.raises(errors.KMSInvalidMacException) as excinfo:
        kms.verify_mac(KeyId=hmac_keys[spec], Message=MESSAGE, Mac=bytes(mac), MacAlgorithm=algorithm)
    assert excinfo.value.response["Error"]["Code"] == "KMSInvalidMacException"
    with pytest.raises(errors.KMSInvalidMacException):  # a truncated MAC is not accepted either
        kms.verify_mac(KeyId=hmac_keys[spec], Message=MESSAGE, Mac=bytes(mac[:16]), MacAlgorithm=algorithm)


def test_each_key_has_exactly_one_mac_algorithm(kms, hmac_keys):
    with pytest.raises(errors.InvalidKeyUsageException,
                       match="Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256"):
        kms.generate_mac(KeyId=hmac_keys["HMAC_256"], Message=MESSAGE, MacAlgorithm="HMAC_SHA_512")


def test_mac_operations_need_an_hmac_key_and_hmac_keys_do_nothing_else(kms, hmac_keys):
    symmetric = kms.create_key()["KeyMetadata"]
    with pytest.raises(errors.InvalidKeyUsageException) as excinfo:
        kms.generate_mac(KeyId=symmetric["KeyId"], Message=MESSAGE, MacAlgorithm="HMAC_SHA_256")
    assert excinfo.value.message == (
        f"{symmetric['Arn']} key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac.")
    with pytest.raises(errors.InvalidKeyUsageException):
        kms.verify_mac(KeyId=symmetric["KeyId"], Message=MESSAGE, Mac=b"m" * 32, MacAlgorithm="HMAC_SHA_256")
    with pytest.raises(errors.InvalidKeyUsageException, match="not valid for Encrypt"):
        kms.encrypt(KeyId=hmac_keys["HMAC_256"], Plaintext=MESSAGE)
    with pytest.raises(errors.InvalidKeyUsageException, match="not valid for Sign"):
        kms.sign(KeyId=hmac_keys["HMAC_256"], Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")


def test_message_length_limit(kms, hmac_keys):
    kms.generate_mac(KeyId=hmac_keys["HMAC_384"], Message=b"x" * 4096, MacAlgorithm="HMAC_SHA_384")
    with pytest.raises(errors.ValidationException):
        kms.generate_mac(KeyId=hmac_keys["HMAC_384"], Message=b"x" * 4097, MacAlgorithm="HMAC_SHA_384")


def test_disabled_and_pending_deletion_hmac_keys_are_refused(kms):
    key_id = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    mac = kms.generate_mac(KeyId=key_id, Message=MESSAGE, MacAlgorithm="HMAC_SHA_256")["Mac"]
    kms.disable_key(KeyId=key_id)
    with pytest.raises(errors.DisabledException):
        kms.generate_mac(KeyId=key_id, Message=MESSAGE, MacAlgorithm="HMAC_SHA_256")
    with pytest.raises(errors.DisabledException):
        kms.verify_mac(KeyId=key_id, Message=MESSAGE, Mac=mac, MacAlgorithm="HMAC_SHA_256")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    with pytest.raises(errors.KMSInvalidStateException):
        kms.verify_mac(KeyId=key_id, Message=MESSAGE, Mac=mac, MacAlgorithm="HMAC_SHA_256")


def test_dry_run_and_audit_keep_the_mac_secret(kms, lab, hmac_keys):
    key_id = hmac_keys["HMAC_256"]
    with pytest.raises(errors.DryRunOperationException):
        kms.generate_mac(KeyId=key_id, Message=MESSAGE, MacAlgorithm="HMAC_SHA_256", DryRun=True)
    with pytest.raises(errors.DryRunOperationException):
        kms.verify_mac(KeyId=key_id, Message=MESSAGE, Mac=b"\x00" * 32, MacAlgorithm="HMAC_SHA_256", DryRun=True)
    mac = kms.generate_mac(KeyId=key_id, Message=MESSAGE, MacAlgorithm="HMAC_SHA_256")["Mac"]
    record = lab.audit.records()[-1]
    assert record["eventName"] == "GenerateMac" and set(record["requestParameters"]) == {"keyId", "macAlgorithm"}
    assert repr(mac) not in repr(record) and "alice" not in repr(record)
