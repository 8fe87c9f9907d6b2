"""The key a symmetric ciphertext names: what AWS answers when it cannot be used.

* A ciphertext whose key is deleted, in another Region, or not accessible to the caller gets
  one answer, AccessDeniedException "The ciphertext refers to a customer master key that does
  not exist, does not exist in this region, or you are not allowed to access." (so nobody
  learns whether a key exists), in every operation that takes a ciphertext naming its key:
  Decrypt and ReEncrypt's source. kmslab's own reason stays in the error's ``explanation``.
* A ciphertext naming a key of another usage (HMAC, signing, RSA) is refused with the key
  usage error, never with a Python error or the blob's internals.
* A KeyId that names a key unable to decrypt the ciphertext (another symmetric key, an HMAC,
  signing or key agreement key) is IncorrectKeyException, in AWS's words.
"""

import json

import pytest
from botocore import xform_name

import kmslab
from kmslab import errors, operations
from kmslab.crypto.symmetric import parse_blob

LAB_SEED = 52
ACCOUNT = "111122223333"
CIPHERTEXT_KEY = ("The ciphertext refers to a customer master key that does not exist, does not "
                  "exist in this region, or you are not allowed to access.")
INCORRECT_KEY = "The key ID in the request does not identify a CMK that can perform this operation."


def _denied(call):
    """The call fails with AWS's ciphertext-key answer; returns the error."""
    with pytest.raises(errors.AccessDeniedException) as info:
        call()
    assert info.value.message == CIPHERTEXT_KEY
    return info.value


def _deleted_key_blob(lab, kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"gone", EncryptionContext={"a": "b"})["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})["Plaintext"] == b"gone"
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    with pytest.raises(errors.KMSInvalidStateException):  # pending deletion: the key still exists
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})
    lab.clock.advance(days=7)
    return blob


def test_a_deleted_keys_ciphertext_is_access_denied(lab, kms):
    blob = _deleted_key_blob(lab, kms)
    err = _denied(lambda: kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"}))
    assert "was deleted" in err.explanation
    record = lab.audit.records()[-1]
    assert record["eventName"] == "Decrypt" and record["errorCode"] == "AccessDenied"
    assert record["errorMessage"] == CIPHERTEXT_KEY
    dest = kms.create_key()["KeyMetadata"]["KeyId"]
    _denied(lambda: kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"a": "b"},
                                   DestinationKeyId=dest))
    _denied(lambda: kms.decrypt(CiphertextBlob=blob, DryRun=True))  # found before DryRun stops


def _ciphertext_operations():
    """Every operation whose key (or source key) a ciphertext names, from the operation table."""
    return sorted(name for name, spec in operations.specs().items()
                  if any(slot is not None and slot.from_ciphertext for slot in (spec.key, spec.source)))


def test_every_operation_taking_a_ciphertext_gives_the_same_answer(lab, kms):
    names = _ciphertext_operations()
    assert names == ["Decrypt", "ReEncrypt"]
    blob = _deleted_key_blob(lab, kms)
    params = {"Decrypt": {"EncryptionContext": {"a": "b"}},
              "ReEncrypt": {"SourceEncryptionContext": {"a": "b"},
                            "DestinationKeyId": kms.create_key()["KeyMetadata"]["KeyId"]}}
    for name in names:
        _denied(lambda name=name: getattr(kms, xform_name(name))(CiphertextBlob=blob, **params[name]))
        assert lab.audit.records()[-1]["eventName"] == name


def test_a_ciphertext_from_another_region_is_access_denied(lab, kms):
    west = lab.client(region_name="us-west-2")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"east")["CiphertextBlob"]
    _denied(lambda: west.decrypt(CiphertextBlob=blob))
    _denied(lambda: west.re_encrypt(CiphertextBlob=blob,
                                    DestinationKeyId=west.create_key()["KeyMetadata"]["KeyId"]))
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"east"
    # a multi-Region key's replica decrypts the primary's ciphertext in its own Region
    mrk = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    mrk_blob = kms.encrypt(KeyId=mrk, Plaintext=b"everywhere")["CiphertextBlob"]
    _denied(lambda: west.decrypt(CiphertextBlob=mrk_blob))  # no replica there yet
    kms.replicate_key(KeyId=mrk, ReplicaRegion="us-west-2")
    lab.clock.advance(minutes=1)
    assert west.decrypt(CiphertextBlob=mrk_blob)["Plaintext"] == b"everywhere"


def test_a_key_the_caller_may_not_use_is_the_same_answer(lab, kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"private")["CiphertextBlob"]
    lab.add_user("mallory")
    mallory = lab.client(as_="mallory")
    err = _denied(lambda: mallory.decrypt(CiphertextBlob=blob))
    assert "kms:Decrypt" in err.explanation.access_denied_message()  # the lab still says why
    assert err.explanation.policy_type == "identity-based"
    lab.add_user("alice", policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:ReEncrypt*"], "Resource": "*"}]})
    assert lab.client(as_="alice").decrypt(CiphertextBlob=blob)["Plaintext"] == b"private"


def test_the_three_cases_cannot_be_told_apart(lab, kms):
    """Deleted, other Region, not allowed: same code, same message, same HTTP status."""
    gone = _deleted_key_blob(lab, kms)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    here = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    lab.add_user("mallory")
    answers = []
    for client, blob in ((kms, gone), (lab.client(region_name="eu-west-1"), here),
                         (lab.client(as_="mallory"), here)):
        err = _denied(lambda client=client, blob=blob: client.decrypt(CiphertextBlob=blob))
        answers.append((err.code, err.message, err.status))
    assert len(set(answers)) == 1


def test_another_account_s_ciphertext(lab, kms):
    """A key in another account decrypts only if its key policy lets the caller; else the same
    answer as for a key that does not exist."""
    other = lab.add_account("444455556666")
    owner = lab.client(account=other)
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other}:root"}, "Action": "kms:*",
         "Resource": "*"}]}
    key_id = owner.create_key(Policy=json.dumps(policy))["KeyMetadata"]["KeyId"]
    blob = owner.encrypt(KeyId=key_id, Plaintext=b"theirs")["CiphertextBlob"]
    _denied(lambda: kms.decrypt(CiphertextBlob=blob))
    policy["Statement"].append({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                "Action": "kms:Decrypt", "Resource": "*"})
    owner.put_key_policy(KeyId=key_id, Policy=json.dumps(policy))
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"theirs"


# ---------------------------------------------------------- a blob naming a key of another usage

@pytest.fixture(scope="module")
def world():
    lab = kmslab.Lab(seed=LAB_SEED)
    kms = lab.client()
    keys = {
        "symmetric": kms.create_key()["KeyMetadata"],
        "hmac": kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"],
        "ecc-sign": kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"],
        "ecc-agree": kms.create_key(KeySpec="ECC_NIST_P384", KeyUsage="KEY_AGREEMENT")["KeyMetadata"],
        "rsa": kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"],
        "other-symmetric": kms.create_key()["KeyMetadata"],
    }
    blob = kms.encrypt(KeyId=keys["symmetric"]["KeyId"], Plaintext=b"secret")["CiphertextBlob"]
    return lab, kms, keys, blob


def _naming(blob: bytes, arn: str) -> bytes:
    """The blob with its header changed to name ``arn`` (as a forger, or a bug, might)."""
    parts = parse_blob(blob)
    name = arn.encode()
    return bytes((1, len(name))) + name + blob[2 + len(parts.key_arn):]


@pytest.mark.parametrize("usage,expected", [
    ("hmac", "key usage is GENERATE_VERIFY_MAC which is not valid for {op}."),
    ("ecc-sign", "key usage is SIGN_VERIFY which is not valid for {op}."),
    ("ecc-agree", "key usage is KEY_AGREEMENT which is not valid for {op}."),
    ("rsa", "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."),
])
def test_a_blob_naming_a_key_of_another_usage(world, usage, expected):
    lab, kms, keys, blob = world
    forged = _naming(blob, keys[usage]["Arn"])
    calls = {"Decrypt": lambda: kms.decrypt(CiphertextBlob=forged),
             "ReEncrypt": lambda: kms.re_encrypt(CiphertextBlob=forged,
                                                 DestinationKeyId=keys["symmetric"]["KeyId"])}
    for op, call in calls.items():
        with pytest.raises(errors.InvalidKeyUsageException) as info:
            call()
        message = info.value.message
        assert message.endswith(expected.format(op=op))
        assert "nonce" not in message and "b'" not in message and "\\x" not in message
        assert lab.audit.records()[-1]["errorCode"] == "InvalidKeyUsageException"
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"


@pytest.mark.parametrize("usage", ["hmac", "ecc-sign", "ecc-agree", "other-symmetric"])
def test_a_key_id_that_cannot_decrypt_the_ciphertext_is_incorrect(world, usage):
    """AWS: "If you identify a different KMS key, the Decrypt operation throws an
    IncorrectKeyException" (Decrypt's KeyId text); the message as AWS words it."""
    lab, kms, keys, blob = world
    given = keys[usage]
    with pytest.raises(errors.IncorrectKeyException) as info:
        kms.decrypt(CiphertextBlob=blob, KeyId=given["KeyId"])
    assert info.value.message == INCORRECT_KEY
    assert lab.audit.records()[-1]["requestParameters"]["keyId"] == given["Arn"]
    with pytest.raises(errors.IncorrectKeyException, match="does not identify a CMK"):
        kms.re_encrypt(CiphertextBlob=blob, SourceKeyId=given["KeyId"],
                       DestinationKeyId=keys["symmetric"]["KeyId"])
    symmetric = keys["symmetric"]
    assert kms.decrypt(CiphertextBlob=blob, KeyId=symmetric["KeyId"])["KeyId"] == symmetric["Arn"]
