"""Answers recorded against AWS (localstack's AWS-validated snapshot tests, AWS's CloudTrail
examples) that kmslab gives word for word, each with the request AWS accepts next to it.

kmslab's longer explanation of an error stays available to learners as the exception's
``explanation`` where AWS's message is short or empty.
"""

import os
from datetime import timedelta

import pytest

from kmslab import errors
from kmslab.byok import wrap_key_material

LAB_SEED = 71


def _tags(kms, key_id):
    return kms.list_resource_tags(KeyId=key_id)["Tags"]


# ------------------------------------------------------------------ tags
def test_duplicate_tag_keys_in_one_request_are_a_tag_exception(lab, kms, key_id):
    """localstack's AWS-validated test_tag_key_with_duplicate_tag_keys_raises_error."""
    twice = [{"TagKey": "team", "TagValue": "a"}, {"TagKey": "team", "TagValue": "b"}]
    with pytest.raises(errors.TagException, match="^.*: Duplicate tag keys$") as info:
        kms.tag_resource(KeyId=key_id, Tags=twice)
    assert "'team'" in info.value.explanation
    assert _tags(kms, key_id) == []  # nothing changed
    before = kms.list_keys()["Keys"]
    with pytest.raises(errors.TagException, match="Duplicate tag keys"):
        kms.create_key(Tags=twice)
    assert kms.list_keys()["Keys"] == before  # no key was created
    # one value per key is accepted; tagging an existing key again replaces its value
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "team", "TagValue": "a"},
                                         {"TagKey": "Team", "TagValue": "b"}])  # keys are case-sensitive
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "team", "TagValue": "c"}])
    assert _tags(kms, key_id) == [{"TagKey": "Team", "TagValue": "b"}, {"TagKey": "team", "TagValue": "c"}]
    tagged = kms.create_key(Tags=[{"TagKey": "team", "TagValue": "a"}])["KeyMetadata"]["KeyId"]
    assert _tags(kms, tagged) == [{"TagKey": "team", "TagValue": "a"}]


def test_replicate_key_with_duplicate_tag_keys_is_refused(lab, kms):
    key_id = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    with pytest.raises(errors.TagException, match="Duplicate tag keys"):
        kms.replicate_key(KeyId=key_id, ReplicaRegion="us-west-2",
                          Tags=[{"TagKey": "a", "TagValue": "1"}, {"TagKey": "a", "TagValue": "2"}])
    assert lab.client(region_name="us-west-2").list_keys()["Keys"] == []


# ------------------------------------------------------------------ ReplicateKey
def test_replicate_key_omits_replica_tags_when_there_are_none(lab, kms):
    """AWS's recorded ReplicateKey response (test_replicate_key) has no ReplicaTags."""
    key_id = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    out = kms.replicate_key(KeyId=key_id, ReplicaRegion="us-west-2")
    assert "ReplicaTags" not in out
    assert out["ReplicaKeyMetadata"]["KeyState"] == "Creating" and out["ReplicaKeyMetadata"]["Enabled"] is False
    tagged = kms.replicate_key(KeyId=key_id, ReplicaRegion="eu-west-1",
                               Tags=[{"TagKey": "team", "TagValue": "blue"}])
    assert tagged["ReplicaTags"] == [{"TagKey": "team", "TagValue": "blue"}]


def test_a_replica_is_enabled_a_few_seconds_after_replicate_key(lab, kms):
    """"This key state changes to Enabled (or PendingImport) after a few seconds" (ReplicateKey):
    in the lab, seconds of its clock."""
    key_id = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    kms.replicate_key(KeyId=key_id, ReplicaRegion="us-west-2")
    west = lab.client(region_name="us-west-2")
    lab.clock.advance(seconds=5)
    assert west.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Creating"
    with pytest.raises(errors.KMSInvalidStateException, match="is creating"):
        west.encrypt(KeyId=key_id, Plaintext=b"x")
    lab.clock.advance(seconds=5)
    assert west.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    west.encrypt(KeyId=key_id, Plaintext=b"x")


# ------------------------------------------------------------------ imported key material
MATERIAL = os.urandom(32)


def _import(kms, key_id, **options):
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_2048")
    wrapped = wrap_key_material(params["PublicKey"], "RSAES_OAEP_SHA_256", MATERIAL)
    return kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"],
                                   EncryptedKeyMaterial=wrapped, **options)


def test_expiration_model_goes_with_the_deleted_material(lab, kms):
    """AWS's recorded describe-key-after-deleted-import (test_import_key_symmetric) has no
    ExpirationModel; the key is PendingImport and disabled."""
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    assert "ExpirationModel" not in kms.describe_key(KeyId=key_id)["KeyMetadata"]
    with pytest.raises(errors.ValidationException) as info:  # AWS's words, no full stop
        _import(kms, key_id, ExpirationModel="KEY_MATERIAL_EXPIRES")
    assert info.value.message == ("A validTo date must be set if the ExpirationModel is "
                                  "KEY_MATERIAL_EXPIRES")
    _import(kms, key_id, ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert md["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE" and md["KeyState"] == "Enabled"
    kms.delete_imported_key_material(KeyId=key_id)
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert "ExpirationModel" not in md and "ValidTo" not in md
    assert md["KeyState"] == "PendingImport" and md["Enabled"] is False
    _import(kms, key_id, ExpirationModel="KEY_MATERIAL_EXPIRES",
            ValidTo=lab.clock.now() + timedelta(days=30))
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    lab.clock.advance(days=31)  # the material expires: the same as deleting it
    assert "ExpirationModel" not in kms.describe_key(KeyId=key_id)["KeyMetadata"]


# ------------------------------------------------------------------ messages
@pytest.fixture(scope="module")
def signing():
    import kmslab
    lab = kmslab.Lab(seed=LAB_SEED)
    kms = lab.client()
    keys = {spec: kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]
            for spec, usage in (("ECC_NIST_P256", "SIGN_VERIFY"), ("HMAC_256", "GENERATE_VERIFY_MAC"),
                                ("RSA_2048", "ENCRYPT_DECRYPT"))}
    return lab, kms, keys


def test_a_signature_that_does_not_verify_has_an_empty_message(signing):
    lab, kms, keys = signing
    key_id = keys["ECC_NIST_P256"]
    signature = kms.sign(KeyId=key_id, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    assert kms.verify(KeyId=key_id, Message=b"m", Signature=signature,
                      SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"] is True
    with pytest.raises(errors.KMSInvalidSignatureException) as info:
        kms.verify(KeyId=key_id, Message=b"other", Signature=signature, SigningAlgorithm="ECDSA_SHA_256")
    assert info.value.message == "" and "does not match" in info.value.explanation
    record = lab.audit.records()[-1]
    assert record["errorCode"] == "KMSInvalidSignatureException" and record["errorMessage"] == ""


def test_a_mac_that_does_not_verify_has_an_empty_message(signing):
    lab, kms, keys = signing
    key_id = keys["HMAC_256"]
    mac = kms.generate_mac(KeyId=key_id, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert kms.verify_mac(KeyId=key_id, Message=b"m", Mac=mac,
                          MacAlgorithm="HMAC_SHA_256")["MacValid"] is True
    with pytest.raises(errors.KMSInvalidMacException) as info:
        kms.verify_mac(KeyId=key_id, Message=b"other", Mac=mac, MacAlgorithm="HMAC_SHA_256")
    assert info.value.message == "" and "does not match" in info.value.explanation


def test_a_digest_of_the_wrong_length(signing):
    _lab, kms, keys = signing
    key_id = keys["ECC_NIST_P256"]
    with pytest.raises(errors.ValidationException) as info:
        kms.sign(KeyId=key_id, Message=b"d" * 28, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256")
    assert info.value.message == "Digest is invalid length for algorithm ECDSA_SHA_256."
    assert "32-byte" in info.value.explanation
    kms.sign(KeyId=key_id, Message=b"d" * 32, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256")


@pytest.mark.parametrize("algorithm,limit", [("RSAES_OAEP_SHA_1", 214), ("RSAES_OAEP_SHA_256", 190)])
def test_rsa_plaintext_too_long(signing, algorithm, limit):
    _lab, kms, keys = signing
    key_id = keys["RSA_2048"]
    with pytest.raises(errors.ValidationException) as info:
        kms.encrypt(KeyId=key_id, Plaintext=b"x" * (limit + 1), EncryptionAlgorithm=algorithm)
    assert info.value.message == (f"Algorithm {algorithm} and key spec RSA_2048 cannot encrypt data "
                                  f"larger than {limit} bytes.")
    kms.encrypt(KeyId=key_id, Plaintext=b"x" * limit, EncryptionAlgorithm=algorithm)


def test_a_key_arn_of_another_region(lab, kms):
    """localstack's AWS-validated test_get_key_in_different_region: the ARN's Region is named."""
    west = lab.client(region_name="ap-southeast-1")
    meta = west.create_key()["KeyMetadata"]
    with pytest.raises(errors.NotFoundException) as info:
        kms.describe_key(KeyId=meta["Arn"])
    assert info.value.message == "Invalid arn ap-southeast-1"
    with pytest.raises(errors.NotFoundException, match=f"Key '.*{meta['KeyId']}' does not exist"):
        kms.describe_key(KeyId=meta["KeyId"])
    assert west.describe_key(KeyId=meta["Arn"])["KeyMetadata"]["KeyId"] == meta["KeyId"]


def test_generate_random_without_a_size(kms):
    with pytest.raises(errors.ValidationException) as info:
        kms.generate_random()
    assert info.value.message == "NumberOfBytes is required."
    assert len(kms.generate_random(NumberOfBytes=8)["Plaintext"]) == 8


def test_an_hmac_key_needs_its_key_usage(kms):
    with pytest.raises(errors.ValidationException) as info:
        kms.create_key(KeySpec="HMAC_256")
    assert info.value.message == ("You must specify a KeyUsage value for all KMS keys except for "
                                  "symmetric encryption keys.")
    assert "GENERATE_VERIFY_MAC" in info.value.explanation
    assert kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"][
        "KeyUsage"] == "GENERATE_VERIFY_MAC"
    assert kms.create_key()["KeyMetadata"]["KeyUsage"] == "ENCRYPT_DECRYPT"
