"""Multi-Region keys end to end: replicas, shared material, independent properties, deletion."""

import pytest

from kmslab import errors
from kmslab.service import multiregion

from shapes import check_response


@pytest.fixture
def primary(kms):
    return kms.create_key(MultiRegion=True, Description="primary")["KeyMetadata"]


@pytest.fixture
def west(lab):
    return lab.client(region_name="us-west-2")


@pytest.fixture
def replica(lab, kms, primary):
    out = kms.replicate_key(KeyId=primary["KeyId"], ReplicaRegion="us-west-2",
                            Description="replica")
    lab.clock.advance(seconds=10)
    return out["ReplicaKeyMetadata"]


def test_replicate_key_shape_and_creating_state(lab, kms, west, primary):
    out = check_response("ReplicateKey", kms.replicate_key(
        KeyId=primary["KeyId"], ReplicaRegion="us-west-2", Tags=[{"TagKey": "t", "TagValue": "v"}]))
    md = out["ReplicaKeyMetadata"]
    assert md["KeyId"] == primary["KeyId"] and md["Arn"].split(":")[3] == "us-west-2"
    assert md["KeyState"] == "Creating" and md["Enabled"] is False
    assert md["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    assert out["ReplicaTags"] == [{"TagKey": "t", "TagValue": "v"}]
    assert '"key-default-1"' in out["ReplicaPolicy"]
    with pytest.raises(errors.KMSInvalidStateException, match="is creating"):
        west.encrypt(KeyId=primary["KeyId"], Plaintext=b"x")
    lab.clock.advance(seconds=10)
    assert west.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"


def test_configuration_in_sync_everywhere(lab, kms, west, primary, replica):
    kms.replicate_key(KeyId=primary["KeyId"], ReplicaRegion="eu-west-1")
    eu = lab.client(region_name="eu-west-1")
    configs = [c.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]["MultiRegionConfiguration"]
               for c in (kms, west, eu)]
    assert [c["MultiRegionKeyType"] for c in configs] == ["PRIMARY", "REPLICA", "REPLICA"]
    assert all(c["PrimaryKey"] == {"Arn": primary["Arn"], "Region": "us-east-1"} for c in configs)
    assert all(sorted(r["Region"] for r in c["ReplicaKeys"]) == ["eu-west-1", "us-west-2"]
               for c in configs)
    for c in (kms, west, eu):
        check_response("DescribeKey", c.describe_key(KeyId=primary["KeyId"]))


def test_ciphertext_from_one_region_decrypts_in_the_other(kms, west, primary, replica):
    blob = kms.encrypt(KeyId=primary["KeyId"], Plaintext=b"east", EncryptionContext={"k": "v"})["CiphertextBlob"]
    out = west.decrypt(CiphertextBlob=blob, EncryptionContext={"k": "v"})
    assert out["Plaintext"] == b"east" and out["KeyId"] == replica["Arn"]
    back = west.encrypt(KeyId=primary["KeyId"], Plaintext=b"west")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=back)["Plaintext"] == b"west"
    assert replica["CurrentKeyMaterialId"] == primary["CurrentKeyMaterialId"]


def test_independent_policy_description_aliases_and_state(kms, west, primary, replica):
    west.create_alias(AliasName="alias/west-only", TargetKeyId=primary["KeyId"])
    with pytest.raises(errors.NotFoundException):
        kms.describe_key(KeyId="alias/west-only")
    west.disable_key(KeyId=primary["KeyId"])
    assert kms.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
    assert west.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]["Description"] == "replica"
    blob = kms.encrypt(KeyId=primary["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(errors.DisabledException):
        west.decrypt(CiphertextBlob=blob)


def test_replicate_key_errors(lab, kms, west, primary, replica):
    with pytest.raises(errors.AlreadyExistsException):
        kms.replicate_key(KeyId=primary["KeyId"], ReplicaRegion="us-west-2")
    single = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(errors.UnsupportedOperationException):
        kms.replicate_key(KeyId=single, ReplicaRegion="us-west-2")
    with pytest.raises(errors.UnsupportedOperationException):
        west.replicate_key(KeyId=primary["KeyId"], ReplicaRegion="eu-west-1")  # a replica
    kms.disable_key(KeyId=primary["KeyId"])
    with pytest.raises(errors.DisabledException):
        kms.replicate_key(KeyId=primary["KeyId"], ReplicaRegion="eu-west-1")
    assert lab.kms_service("111122223333", "eu-west-1").keys == {}


def test_update_primary_region_swaps_roles(lab, kms, west, primary, replica):
    check_response("UpdatePrimaryRegion",
                   kms.update_primary_region(KeyId=primary["KeyId"], PrimaryRegion="us-west-2"))
    assert kms.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]["KeyState"] == "Updating"
    assert kms.encrypt(KeyId=primary["KeyId"], Plaintext=b"x")  # usable while Updating
    with pytest.raises(errors.KMSInvalidStateException, match="updating"):
        kms.replicate_key(KeyId=primary["KeyId"], ReplicaRegion="eu-west-1")
    lab.clock.advance(seconds=10)
    east_md = kms.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]
    west_md = west.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]
    assert east_md["KeyState"] == west_md["KeyState"] == "Enabled"
    assert east_md["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    assert west_md["MultiRegionConfiguration"]["PrimaryKey"]["Region"] == "us-west-2"
    assert east_md["MultiRegionConfiguration"]["PrimaryKey"]["Region"] == "us-west-2"
    with pytest.raises(errors.NotFoundException):
        west.update_primary_region(KeyId=primary["KeyId"], PrimaryRegion="eu-west-1")


def test_primary_waits_for_replicas_before_deletion(lab, kms, west, primary, replica):
    out = check_response("ScheduleKeyDeletion",
                         kms.schedule_key_deletion(KeyId=primary["KeyId"], PendingWindowInDays=7))
    assert out["KeyState"] == "PendingReplicaDeletion" and "DeletionDate" not in out
    md = check_response("DescribeKey", kms.describe_key(KeyId=primary["KeyId"]))["KeyMetadata"]
    assert md["PendingDeletionWindowInDays"] == 7 and "DeletionDate" not in md
    with pytest.raises(errors.KMSInvalidStateException, match="pending replica deletion"):
        kms.encrypt(KeyId=primary["KeyId"], Plaintext=b"x")
    lab.clock.advance(days=60)
    assert kms.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]["KeyState"] == "PendingReplicaDeletion"
    west.schedule_key_deletion(KeyId=primary["KeyId"], PendingWindowInDays=7)
    lab.clock.advance(days=7)
    md = kms.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]
    assert md["KeyState"] == "PendingDeletion"
    assert md["MultiRegionConfiguration"]["ReplicaKeys"] == []
    lab.clock.advance(days=7)
    with pytest.raises(errors.NotFoundException):
        kms.describe_key(KeyId=primary["KeyId"])


def test_cancel_pending_replica_deletion(kms, primary, replica):
    kms.schedule_key_deletion(KeyId=primary["KeyId"], PendingWindowInDays=7)
    kms.cancel_key_deletion(KeyId=primary["KeyId"])
    md = kms.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]
    assert md["KeyState"] == "Disabled" and "PendingDeletionWindowInDays" not in md


def test_deleting_a_replica_keeps_primary_material(lab, kms, west, primary, replica):
    blob = kms.encrypt(KeyId=primary["KeyId"], Plaintext=b"keep")["CiphertextBlob"]
    west.schedule_key_deletion(KeyId=primary["KeyId"], PendingWindowInDays=7)
    lab.clock.advance(days=7)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"keep"
    with pytest.raises(errors.AccessDeniedException,  # the replica is gone: AWS's missing-key answer
                       match="does not exist in this region, or you are not allowed to access"):
        west.decrypt(CiphertextBlob=blob)


def test_new_material_is_synchronized_to_replicas(lab, kms, west, primary, replica):
    from kmslab.crypto.factory import generate_material
    from kmslab.service.key import KeyMaterialVersion
    key = lab.kms_service("111122223333", "us-east-1").keys[primary["KeyId"]]
    key.current.state = "NON_CURRENT"
    key.versions.append(KeyMaterialVersion(lab.ids.key_material_id(),
                                           generate_material("SYMMETRIC_DEFAULT"), lab.clock.now()))
    multiregion.synchronize(lab.env, key)
    blob = kms.encrypt(KeyId=primary["KeyId"], Plaintext=b"v2")["CiphertextBlob"]
    out = west.decrypt(CiphertextBlob=blob)
    assert out["Plaintext"] == b"v2" and out["KeyMaterialId"] == key.current.material_id
    syncs = [r for r in lab.audit.records() if r["eventName"] == "SynchronizeMultiRegionKey"]
    assert len(syncs) == 2  # at ReplicateKey and now: KMS's own calls, in the primary's Region
    assert {(r["eventType"], r["awsRegion"], r["responseElements"]["keyId"]) for r in syncs} == {
        ("AwsApiCall", "us-east-1", primary["Arn"])}


def test_rotation_is_set_on_the_primary_and_synchronized(lab, kms, west, primary, replica):
    kms.enable_key_rotation(KeyId=primary["KeyId"], RotationPeriodInDays=90)
    status = west.get_key_rotation_status(KeyId=primary["KeyId"])
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90
    with pytest.raises(errors.UnsupportedOperationException):
        west.disable_key_rotation(KeyId=primary["KeyId"])
    with pytest.raises(errors.UnsupportedOperationException):
        west.rotate_key_on_demand(KeyId=primary["KeyId"])
    old = kms.encrypt(KeyId=primary["KeyId"], Plaintext=b"v1")["CiphertextBlob"]
    kms.rotate_key_on_demand(KeyId=primary["KeyId"])
    lab.clock.advance(days=91)  # and one automatic rotation
    new = kms.encrypt(KeyId=primary["KeyId"], Plaintext=b"v3")["CiphertextBlob"]
    east_md = kms.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]
    west_md = west.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]
    assert east_md["CurrentKeyMaterialId"] == west_md["CurrentKeyMaterialId"] \
        != primary["CurrentKeyMaterialId"]
    assert west.decrypt(CiphertextBlob=old)["Plaintext"] == b"v1"
    assert west.decrypt(CiphertextBlob=new)["Plaintext"] == b"v3"
    rotations = west.list_key_rotations(KeyId=primary["KeyId"])["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["ON_DEMAND", "AUTOMATIC"]
    west.disable_key(KeyId=primary["KeyId"])
    lab.clock.advance(days=100)
    west.enable_key(KeyId=primary["KeyId"])  # a replica never rotates by itself
    assert west.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"] == \
        kms.describe_key(KeyId=primary["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"]
