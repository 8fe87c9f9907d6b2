"""Aliases: naming rules, reserved prefix, AlreadyExists, UpdateAlias rules, ListAliases."""

import pytest

from kmslab import errors
from kmslab.service.managed import PREDEFINED_ALIASES

from shapes import check_response


def _ours(kms, **params):
    """ListAliases without the predefined alias/aws/... entries that have no key yet."""
    return [a for a in kms.list_aliases(**params)["Aliases"] if "TargetKeyId" in a]


def test_create_list_delete(kms, lab, key_id):
    check_response("CreateAlias", kms.create_alias(AliasName="alias/app/data-1", TargetKeyId=key_id))
    entry = _ours(kms)[0]
    check_response("ListAliases", kms.list_aliases())
    assert entry["AliasName"] == "alias/app/data-1"
    assert entry["AliasArn"] == "arn:aws:kms:us-east-1:111122223333:alias/app/data-1"
    assert entry["TargetKeyId"] == key_id
    assert entry["CreationDate"] == entry["LastUpdatedDate"] == lab.clock.now()
    check_response("DeleteAlias", kms.delete_alias(AliasName="alias/app/data-1"))
    assert _ours(kms) == []
    with pytest.raises(errors.NotFoundException):
        kms.delete_alias(AliasName="alias/app/data-1")


@pytest.mark.parametrize("name, code", [
    ("no-prefix", "ValidationException"),
    ("alias/", "ValidationException"),
    ("alias/has space", "ValidationException"),
    ("alias/bad!char", "ValidationException"),
    ("alias/my:alias", "ValidationException"),
    ("alias/aws/mine", "NotAuthorizedException"),
    ("alias/" + "a" * 251, "ValidationException"),
])
def test_alias_naming_rules(kms, key_id, name, code):
    with pytest.raises(errors.KMSError) as exc:
        kms.create_alias(AliasName=name, TargetKeyId=key_id)
    assert exc.value.code == code
    assert _ours(kms) == []


def test_alias_must_be_unique_and_target_a_key(kms, key_id):
    kms.create_alias(AliasName="alias/one", TargetKeyId=key_id)
    with pytest.raises(errors.AlreadyExistsException):
        kms.create_alias(AliasName="alias/one", TargetKeyId=key_id)
    with pytest.raises(errors.ValidationException):
        kms.create_alias(AliasName="alias/two", TargetKeyId="alias/one")
    with pytest.raises(errors.NotFoundException):
        kms.create_alias(AliasName="alias/two", TargetKeyId="11111111-2222-3333-4444-555555555555")
    assert [a["AliasName"] for a in _ours(kms)] == ["alias/one"]


def test_alias_on_key_pending_deletion_refused(kms, key_id):
    kms.schedule_key_deletion(KeyId=key_id)
    with pytest.raises(errors.KMSInvalidStateException):
        kms.create_alias(AliasName="alias/late", TargetKeyId=key_id)


def test_update_alias_moves_to_new_key_and_old_ciphertexts_still_decrypt(kms, lab, key_id):
    kms.create_alias(AliasName="alias/current", TargetKeyId=key_id)
    old_blob = kms.encrypt(KeyId="alias/current", Plaintext=b"v1")["CiphertextBlob"]
    new_key = kms.create_key()["KeyMetadata"]["KeyId"]
    lab.clock.advance(days=1)
    check_response("UpdateAlias", kms.update_alias(AliasName="alias/current", TargetKeyId=new_key))
    entry = _ours(kms)[0]
    assert entry["TargetKeyId"] == new_key and entry["LastUpdatedDate"] > entry["CreationDate"]
    new_blob = kms.encrypt(KeyId="alias/current", Plaintext=b"v2")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=old_blob)["KeyId"].endswith(key_id)
    assert kms.decrypt(CiphertextBlob=new_blob)["KeyId"].endswith(new_key)
    assert kms.list_aliases(KeyId=key_id)["Aliases"] == []
    assert [a["AliasName"] for a in kms.list_aliases(KeyId=new_key)["Aliases"]] == ["alias/current"]


def test_update_alias_requires_same_type_and_usage(kms, key_id):
    kms.create_alias(AliasName="alias/sym", TargetKeyId=key_id)
    hmac_key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    with pytest.raises(errors.ValidationException):
        kms.update_alias(AliasName="alias/sym", TargetKeyId=hmac_key)
    assert _ours(kms)[0]["TargetKeyId"] == key_id


def test_update_alias_to_key_pending_deletion_refused(kms, key_id):
    kms.create_alias(AliasName="alias/a", TargetKeyId=key_id)
    doomed = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=doomed)
    with pytest.raises(errors.KMSInvalidStateException):
        kms.update_alias(AliasName="alias/a", TargetKeyId=doomed)
    # but an alias may leave a key that is pending deletion (AWS footnote 10)
    kms.schedule_key_deletion(KeyId=key_id)
    fresh = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.update_alias(AliasName="alias/a", TargetKeyId=fresh)


def test_list_aliases_pages(kms, key_id):
    for i in range(5):
        kms.create_alias(AliasName=f"alias/n{i}", TargetKeyId=key_id)
    pages = list(kms.get_paginator("list_aliases").paginate(KeyId=key_id, PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    assert [a["AliasName"] for p in pages for a in p["Aliases"]] == [f"alias/n{i}" for i in range(5)]
    everything = [a for p in kms.get_paginator("list_aliases").paginate(PaginationConfig={"PageSize": 4})
                  for a in p["Aliases"]]
    assert len(everything) == 5 + len(PREDEFINED_ALIASES)


def test_predefined_aws_aliases_are_listed_without_a_key(kms):
    """As in AWS: ListAliases shows alias/aws/... names that no AWS managed key stands behind yet."""
    listed = {a["AliasName"]: a for a in check_response("ListAliases", kms.list_aliases(Limit=100))["Aliases"]}
    for name in ("alias/aws/ebs", "alias/aws/s3", "alias/aws/rds"):
        assert listed[name]["AliasArn"] == f"arn:aws:kms:us-east-1:111122223333:{name}"
        assert "TargetKeyId" not in listed[name] and "CreationDate" not in listed[name]
        with pytest.raises(errors.NotFoundException):
            kms.encrypt(KeyId=name, Plaintext=b"x")  # only DescribeKey creates the key


def test_alias_limit_per_key(kms, key_id):
    for i in range(50):
        kms.create_alias(AliasName=f"alias/many-{i}", TargetKeyId=key_id)
    with pytest.raises(errors.LimitExceededException):
        kms.create_alias(AliasName="alias/one-too-many", TargetKeyId=key_id)
