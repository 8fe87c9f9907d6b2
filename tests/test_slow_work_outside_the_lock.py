"""Slow key generation happens outside the lab's lock: one caller's RSA key pair holds up
nobody else, and the lab stays consistent (every check and effect still under the lock)."""

import threading

import pytest
from cryptography.hazmat.primitives import serialization

import kmslab
from kmslab import errors
from kmslab.crypto import asymmetric
from kmslab.service.pipeline import waits_before_lock

WAIT = 30  # seconds a test waits for a thread before failing (never reached when it passes)


def _in_thread(fn):
    result = {}

    def run():
        try:
            result["value"] = fn()
        except Exception as exc:  # noqa: BLE001 - handed to the test
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def _others_are_served_meanwhile(lab, started):
    """While a prime search is held: another principal's calls complete, the lock is free."""
    assert started.wait(WAIT)
    other = lab.client(as_="bob")
    assert other.list_keys()["Keys"] is not None
    assert lab.lock.acquire(timeout=WAIT)
    lab.lock.release()


@pytest.fixture
def lab():
    lab = kmslab.Lab(seed=3)
    lab.add_user("bob", '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
                        '"Action": "kms:*", "Resource": "*"}]}')
    return lab


@pytest.mark.parametrize("operation", ["generate_data_key_pair",
                                       "generate_data_key_pair_without_plaintext"])
def test_a_data_key_pair_is_made_outside_the_lock(lab, held_keygen, operation):
    started, release, calls = held_keygen
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    thread, result = _in_thread(lambda: getattr(kms, operation)(KeyId=key, KeyPairSpec="RSA_2048"))
    _others_are_served_meanwhile(lab, started)
    release.set()
    thread.join(WAIT)
    response = result["value"]
    public = serialization.load_der_public_key(response["PublicKey"])
    assert public.key_size == 2048 and calls == [2048]
    private_der = kms.decrypt(CiphertextBlob=response["PrivateKeyCiphertextBlob"])["Plaintext"]
    private = serialization.load_der_private_key(private_der, None)
    assert private.public_key().public_numbers() == public.public_numbers()
    # bob's call, served while the pair was being made, is recorded first
    assert [r["eventName"] for r in lab.audit.records()][-4:] == [
        "CreateKey", "ListKeys", operation.title().replace("_", ""), "Decrypt"]


def test_a_refused_request_discards_its_pair_and_is_audited(lab, held_keygen):
    started, release, calls = held_keygen
    release.set()
    kms = lab.client()
    hmac_key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    with pytest.raises(errors.InvalidKeyUsageException):
        kms.generate_data_key_pair(KeyId=hmac_key, KeyPairSpec="RSA_2048")
    assert calls == [2048]  # made before the checks, and thrown away
    record = lab.audit.records()[-1]
    assert (record["eventName"], record["errorCode"]) == ("GenerateDataKeyPair", "InvalidKeyUsageException")


def test_dry_run_and_unsupported_specs_make_no_pair(lab, held_keygen):
    _started, release, calls = held_keygen
    release.set()
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(errors.DryRunOperationException):
        kms.generate_data_key_pair(KeyId=key, KeyPairSpec="RSA_4096", DryRun=True)
    with pytest.raises(errors.UnsupportedOperationException):
        kms.generate_data_key_pair(KeyId=key, KeyPairSpec="SM2")
    with pytest.raises(errors.ValidationException):
        kms.generate_data_key_pair(KeyId=key, KeyPairSpec="RSA_1024")
    assert calls == []


def test_an_import_wrapping_key_is_made_outside_the_lock(lab, held_keygen):
    started, release, calls = held_keygen
    kms = lab.client()
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    thread, result = _in_thread(lambda: kms.get_parameters_for_import(
        KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_3072"))
    _others_are_served_meanwhile(lab, started)
    release.set()
    thread.join(WAIT)
    assert serialization.load_der_public_key(result["value"]["PublicKey"]).key_size == 3072
    assert calls == [3072]


def test_a_key_still_being_generated_is_waited_for_outside_the_lock(lab, held_keygen):
    started, release, _calls = held_keygen
    kms = lab.client()
    key = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    assert waits_before_lock("Sign") and waits_before_lock("GetPublicKey")
    thread, result = _in_thread(lambda: kms.get_public_key(KeyId=key))
    _others_are_served_meanwhile(lab, started)
    assert "value" not in result  # still waiting for its key
    release.set()
    thread.join(WAIT)
    assert serialization.load_der_public_key(result["value"]["PublicKey"]).key_size == 2048
    signature = kms.sign(KeyId=key, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")
    assert kms.verify(KeyId=key, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256",
                      Signature=signature["Signature"])["SignatureValid"]


def test_which_operations_may_wait_before_the_lock(held_keygen):
    _started, release, _calls = held_keygen
    release.set()
    assert asymmetric.background_generations() == 0
    assert waits_before_lock("GenerateDataKeyPair")
    assert waits_before_lock("GenerateDataKeyPairWithoutPlaintext")
    assert waits_before_lock("GetParametersForImport")
    for quick in ("Encrypt", "Decrypt", "ListKeys", "CreateKey", "Sign", "NoSuchOperation"):
        assert not waits_before_lock(quick), quick
