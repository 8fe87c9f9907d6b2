"""Key lifecycle: CreateKey, DescribeKey, ListKeys, Enable/Disable, deletion, descriptions."""

from datetime import timedelta

import pytest

from kmslab import errors
from kmslab.service import keys as keys_module

from shapes import check_response


def _ours(kms, **params):
    """ListAliases without the predefined alias/aws/... entries that have no key yet."""
    return [a for a in kms.list_aliases(**params)["Aliases"] if "TargetKeyId" in a]


def test_create_key_defaults_match_aws(kms, lab):
    md = check_response("CreateKey", kms.create_key())["KeyMetadata"]
    assert md["KeySpec"] == md["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert md["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert md["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert md["KeyState"] == "Enabled" and md["Enabled"] is True
    assert md["Origin"] == "AWS_KMS" and md["KeyManager"] == "CUSTOMER"
    assert md["MultiRegion"] is False
    assert md["Arn"] == f"arn:aws:kms:us-east-1:111122223333:key/{md['KeyId']}"
    assert md["AWSAccountId"] == "111122223333"
    assert md["CreationDate"] == lab.clock.now()
    assert len(md["CurrentKeyMaterialId"]) == 64
    assert "DeletionDate" not in md and "ValidTo" not in md


def test_describe_key_accepts_all_four_identifier_forms(kms, key_id):
    arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/four", TargetKeyId=key_id)
    alias_arn = "arn:aws:kms:us-east-1:111122223333:alias/four"
    for ident in (key_id, arn, "alias/four", alias_arn):
        md = check_response("DescribeKey", kms.describe_key(KeyId=ident))["KeyMetadata"]
        assert md["KeyId"] == key_id


@pytest.mark.parametrize("ident, code", [
    ("00000000-0000-0000-0000-000000000000", "NotFoundException"),
    ("not-a-key", "NotFoundException"),
    ("alias/missing", "NotFoundException"),
    ("arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000", "NotFoundException"),
    ("arn:aws:kms:nowhere", "InvalidArnException"),
])
def test_unknown_keys(kms, ident, code):
    with pytest.raises(errors.KMSError) as exc:
        kms.describe_key(KeyId=ident)
    assert exc.value.response["Error"]["Code"] == code


def test_keys_are_regional(lab, kms, key_id):
    other = lab.client(region_name="eu-west-1")
    with pytest.raises(other.exceptions.NotFoundException):
        other.describe_key(KeyId=key_id)
    arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    with pytest.raises(other.exceptions.NotFoundException):
        other.describe_key(KeyId=arn)


@pytest.mark.parametrize("params, code", [
    ({"KeySpec": "HMAC_256"}, "ValidationException"),  # HMAC needs KeyUsage
    ({"KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "SIGN_VERIFY"}, "ValidationException"),
    ({"KeySpec": "ECC_SECG_P256K1", "KeyUsage": "KEY_AGREEMENT"}, "ValidationException"),
    ({"KeySpec": "RSA_2048", "CustomerMasterKeySpec": "RSA_2048"}, "ValidationException"),
    ({"KeySpec": "SM2", "KeyUsage": "SIGN_VERIFY"}, "UnsupportedOperationException"),
    ({"KeySpec": "ML_KEM_512", "KeyUsage": "ENCAPSULATE_DECAPSULATE"}, "UnsupportedOperationException"),
    ({"KeySpec": "NOT_A_SPEC"}, "ValidationException"),
    ({"Description": "x" * 8193}, "ValidationException"),
    ({"Tags": [{"TagKey": "aws:reserved", "TagValue": "x"}]}, "TagException"),
    ({"Policy": "{not json"}, "MalformedPolicyDocumentException"),
    ({"Origin": "AWS_CLOUDHSM"}, None),
])
def test_create_key_rejects_invalid_combinations(kms, lab, params, code):
    before = len(lab.kms_service("111122223333", "us-east-1").keys)
    with pytest.raises(errors.KMSError) as exc:
        kms.create_key(**params)
    if code:
        assert exc.value.code == code
    assert len(lab.kms_service("111122223333", "us-east-1").keys) == before


def test_deprecated_customer_master_key_spec_is_accepted(kms):
    md = kms.create_key(CustomerMasterKeySpec="SYMMETRIC_DEFAULT")["KeyMetadata"]
    assert md["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"


def test_external_origin_starts_pending_import(kms):
    md = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]
    assert md["KeyState"] == "PendingImport" and md["Enabled"] is False
    assert md["Origin"] == "EXTERNAL"
    assert "CurrentKeyMaterialId" not in md
    with pytest.raises(errors.KMSInvalidStateException, match="pending import"):
        kms.encrypt(KeyId=md["KeyId"], Plaintext=b"x")


def test_multi_region_key_ids(kms):
    md = kms.create_key(MultiRegion=True)["KeyMetadata"]
    assert md["KeyId"].startswith("mrk-") and len(md["KeyId"]) == 36
    assert md["MultiRegion"] is True
    assert md["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"


def test_list_keys_pages(kms):
    ids = [kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(5)]
    page = check_response("ListKeys", kms.list_keys(Limit=2))
    assert page["Truncated"] is True and len(page["Keys"]) == 2
    seen = [k["KeyId"] for k in page["Keys"]]
    while page["Truncated"]:
        page = kms.list_keys(Limit=2, Marker=page["NextMarker"])
        seen += [k["KeyId"] for k in page["Keys"]]
    assert seen == ids
    assert "NextMarker" not in page
    pages = list(kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 3}))
    assert [k["KeyId"] for p in pages for k in p["Keys"]] == ids
    with pytest.raises(errors.InvalidMarkerException):
        kms.list_keys(Marker="garbage")


def test_enable_disable(kms, key_id):
    kms.disable_key(KeyId=key_id)
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert md["KeyState"] == "Disabled" and md["Enabled"] is False
    with pytest.raises(errors.DisabledException, match="is disabled"):
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    with pytest.raises(errors.DisabledException):
        kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    kms.enable_key(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    kms.encrypt(KeyId=key_id, Plaintext=b"x")


def test_schedule_and_cancel_deletion_leaves_key_disabled(kms, lab, key_id):
    resp = check_response("ScheduleKeyDeletion", kms.schedule_key_deletion(KeyId=key_id))
    assert resp["PendingWindowInDays"] == 30
    assert resp["KeyState"] == "PendingDeletion"
    assert resp["DeletionDate"] == lab.clock.now() + timedelta(days=30)
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert md["DeletionDate"] == resp["DeletionDate"]
    with pytest.raises(errors.KMSInvalidStateException, match="pending deletion"):
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    with pytest.raises(errors.KMSInvalidStateException):
        kms.schedule_key_deletion(KeyId=key_id)
    with pytest.raises(errors.KMSInvalidStateException):
        kms.enable_key(KeyId=key_id)
    check_response("CancelKeyDeletion", kms.cancel_key_deletion(KeyId=key_id))
    md = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert md["KeyState"] == "Disabled"  # as AWS: not Enabled
    assert "DeletionDate" not in md
    with pytest.raises(errors.KMSInvalidStateException, match="not pending deletion"):
        kms.cancel_key_deletion(KeyId=key_id)
    lab.clock.advance(days=31)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"


@pytest.mark.parametrize("days", [6, 31, 0, 365])
def test_pending_window_limits(kms, key_id, days):
    with pytest.raises(errors.ValidationException):
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=days)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_deletion_destroys_key_aliases_and_ciphertexts(kms, lab, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"]
    kms.create_alias(AliasName="alias/doomed", TargetKeyId=key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    lab.clock.advance(days=7)
    with pytest.raises(errors.NotFoundException):
        kms.describe_key(KeyId=key_id)
    with pytest.raises(errors.NotFoundException):
        kms.describe_key(KeyId="alias/doomed")
    assert _ours(kms) == []
    with pytest.raises(errors.AccessDeniedException,  # AWS's answer for a key that does not exist
                       match="refers to a customer master key that does not exist"):
        kms.decrypt(CiphertextBlob=blob)
    assert key_id not in [k["KeyId"] for k in kms.list_keys()["Keys"]]
    events = [e for e in lab.events if e["detail-type"] == "KMS CMK Deletion"]
    assert events and events[0]["detail"]["key-id"] == key_id


def test_key_is_deleted_exactly_at_the_end_of_the_window(kms, lab, key_id):
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    lab.clock.advance(days=7, seconds=-1)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    lab.clock.advance(seconds=1)
    with pytest.raises(errors.NotFoundException):
        kms.describe_key(KeyId=key_id)


def test_update_key_description(kms, key_id):
    check_response("UpdateKeyDescription", kms.update_key_description(KeyId=key_id, Description="new"))
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "new"
    kms.schedule_key_deletion(KeyId=key_id)
    with pytest.raises(errors.KMSInvalidStateException):
        kms.update_key_description(KeyId=key_id, Description="later")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "new"


def test_key_quota(lab, kms):
    lab.key_quota = 3  # AWS: adjustable through Service Quotas
    for _ in range(3):
        kms.create_key()
    with pytest.raises(errors.LimitExceededException):
        kms.create_key()
    assert len(kms.list_keys()["Keys"]) == 3


def test_default_quota_is_aws_current_value():
    assert keys_module.KEY_QUOTA == 100_000


def test_tags(kms, key_id):
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "team", "TagValue": "blue"},
                                         {"TagKey": "env", "TagValue": "dev"}])
    tags = check_response("ListResourceTags", kms.list_resource_tags(KeyId=key_id))["Tags"]
    assert tags == [{"TagKey": "env", "TagValue": "dev"}, {"TagKey": "team", "TagValue": "blue"}]
    kms.untag_resource(KeyId=key_id, TagKeys=["env"])
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "team", "TagValue": "blue"}]
    with pytest.raises(errors.TagException):
        kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "aws:x", "TagValue": "y"}])
    assert len(kms.list_resource_tags(KeyId=key_id)["Tags"]) == 1


def test_key_policy_default_and_put(kms, key_id):
    policy = check_response("GetKeyPolicy", kms.get_key_policy(KeyId=key_id))["Policy"]
    assert '"Sid" : "Enable IAM User Permissions"' in policy
    assert "arn:aws:iam::111122223333:root" in policy
    assert kms.list_key_policies(KeyId=key_id)["PolicyNames"] == ["default"]
    with pytest.raises(errors.MalformedPolicyDocumentException):
        kms.put_key_policy(KeyId=key_id, Policy="{oops")
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == policy
    with pytest.raises(errors.LimitExceededException):
        kms.put_key_policy(KeyId=key_id, Policy='{"Statement": [], "x": "' + "a" * 33000 + '"}')
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == policy
