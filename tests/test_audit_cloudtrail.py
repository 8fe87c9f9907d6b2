"""The trail record by record against the log entries AWS publishes for each KMS operation.

Each test makes the call through the client and compares the record with the example on the
Developer Guide page it cites (kept here as a small fixture): field names, their order and
the values that do not depend on the run; ids, times and ARNs are compared by shape.
"""

from __future__ import annotations

import json
import re

import pytest

import kmslab
from kmslab import errors
from kmslab.audit import AuditLog

OWNER = "111122223333"
PARTNER = "444455556666"
_DG = "https://docs.aws.amazon.com/kms/latest/developerguide/"

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
KEY_ARN = re.compile(r"^arn:aws:kms:[a-z0-9-]+:\d{12}:key/(mrk-)?[0-9a-f-]+$")
KEY_ID = re.compile(r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$")
MATERIAL_ID = re.compile(r"^[0-9a-f]{64}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
#: dates inside request/response elements: "May 21, 2025, 5:47:45 AM"
LOG_DATE = re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d\d:\d\d [AP]M$")


#: a field compared elsewhere (userIdentity has its own test)
ANY = object()


def shape_of(value, example):
    """Whether ``value`` has the shape of ``example``: same keys in the same order, equal
    plain values, and a compiled pattern in the example matched by the value."""
    if example is ANY:
        return True
    if isinstance(example, re.Pattern):
        return isinstance(value, str) and bool(example.match(value))
    if isinstance(example, dict):
        return isinstance(value, dict) and list(value) == list(example) and all(
            shape_of(value[k], example[k]) for k in example)
    if isinstance(example, list):
        return isinstance(value, list) and len(value) == len(example) and all(
            shape_of(v, e) for v, e in zip(value, example, strict=True))
    return value == example


def assert_shape(record, example):
    assert list(record) == list(example), (list(record), list(example))
    for name in example:
        assert shape_of(record[name], example[name]), (name, record[name], example[name])


def policy_for_partner(actions):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Enable IAM policies", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{OWNER}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Partner account", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"}, "Action": actions,
         "Resource": "*"}]})


@pytest.fixture
def two_accounts():
    lab = kmslab.Lab(seed=28)
    lab.add_account(PARTNER, name="partner")
    lab.add_user("erin", account=PARTNER, policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]})
    kms = lab.client()
    key = kms.create_key(Policy=policy_for_partner(["kms:Encrypt", "kms:Decrypt",
                                                    "kms:DescribeKey", "kms:ReEncrypt*"]))
    return lab, kms, key["KeyMetadata"], lab.client(as_="erin", account=PARTNER)


# ----------------------------------------------------------------- 1 cross-account use

def test_cross_account_use_is_logged_in_both_accounts_sharing_one_event(two_accounts):
    """logging-using-cloudtrail: 'Cross-account operations on KMS keys are logged in both the
    caller account and the KMS key owner account'; CloudTrail User Guide, record contents:
    sharedEventID, 'Each CloudTrail event delivered for this AWS action shares the same
    sharedEventID, but also has a unique eventID and recipientAccountId.'"""
    lab, _, key, erin = two_accounts
    before = len(lab.audit)
    erin.encrypt(KeyId=key["Arn"], Plaintext=b"partner data", EncryptionContext={"p": "1"})
    caller, owner = lab.audit.records()[before:]
    assert caller["recipientAccountId"] == PARTNER and owner["recipientAccountId"] == OWNER
    assert caller["sharedEventID"] == owner["sharedEventID"]
    assert UUID.match(caller["sharedEventID"])
    assert caller["eventID"] != owner["eventID"]
    assert caller["sharedEventID"] not in (caller["eventID"], owner["eventID"])
    # the same event otherwise: who called, the key, the request, the request id
    different = {"eventID", "recipientAccountId"}
    assert {k: v for k, v in caller.items() if k not in different} == \
        {k: v for k, v in owner.items() if k not in different}
    assert owner["userIdentity"]["accountId"] == PARTNER
    assert owner["resources"][0]["accountId"] == OWNER
    # sharedEventID sits after recipientAccountId, as CloudTrail writes it
    names = list(owner)
    assert names.index("sharedEventID") == names.index("recipientAccountId") + 1


def test_a_call_in_ones_own_account_has_no_shared_event_id(two_accounts):
    lab, kms, key, _ = two_accounts
    before = len(lab.audit)
    kms.encrypt(KeyId=key["KeyId"], Plaintext=b"own data")
    (record,) = lab.audit.records()[before:]
    assert "sharedEventID" not in record


def test_a_cross_account_denial_is_logged_only_in_the_callers_account(two_accounts):
    """logging-using-cloudtrail: 'cross-account AWS KMS requests that are rejected because
    access is denied are logged only in the caller's account.'"""
    lab, _, key, erin = two_accounts
    before = len(lab.audit)
    with pytest.raises(errors.AccessDeniedException):
        erin.generate_data_key(KeyId=key["Arn"], KeySpec="AES_256")
    (record,) = lab.audit.records()[before:]
    assert record["errorCode"] == "AccessDenied" and record["recipientAccountId"] == PARTNER
    assert "sharedEventID" not in record


def test_a_cross_account_call_failing_for_another_reason_is_in_both_trails(two_accounts):
    lab, kms, key, erin = two_accounts
    kms.disable_key(KeyId=key["KeyId"])
    before = len(lab.audit)
    with pytest.raises(errors.DisabledException):
        erin.encrypt(KeyId=key["Arn"], Plaintext=b"x")
    records = lab.audit.records()[before:]
    assert [r["recipientAccountId"] for r in records] == [PARTNER, OWNER]
    assert {r["errorCode"] for r in records} == {"DisabledException"}
    assert records[0]["sharedEventID"] == records[1]["sharedEventID"]


def test_reencrypt_from_another_accounts_key_is_in_both_trails(two_accounts):
    lab, kms, key, erin = two_accounts
    blob = erin.encrypt(KeyId=key["Arn"], Plaintext=b"move me")["CiphertextBlob"]
    own = erin.create_key()["KeyMetadata"]
    before = len(lab.audit)
    erin.re_encrypt(CiphertextBlob=blob, DestinationKeyId=own["KeyId"])
    records = lab.audit.records()[before:]
    assert [r["recipientAccountId"] for r in records] == [PARTNER, OWNER]
    assert len({r["sharedEventID"] for r in records}) == 1
    assert len({r["eventID"] for r in records}) == 2


def test_each_accounts_trail_is_what_its_cloudtrail_holds(two_accounts):
    """The key owner finds another account's use of its key in its own trail."""
    lab, kms, key, erin = two_accounts
    kms.encrypt(KeyId=key["KeyId"], Plaintext=b"own use")
    erin.encrypt(KeyId=key["Arn"], Plaintext=b"partner use")
    with pytest.raises(errors.AccessDeniedException):
        erin.generate_data_key(KeyId=key["Arn"], KeySpec="AES_256")
    owner = lab.audit.frame(account=OWNER)
    partner = lab.audit.frame(account=PARTNER)
    assert set(owner["recipientAccountId"]) == {OWNER}
    assert set(partner["recipientAccountId"]) == {PARTNER}
    outside = owner[owner["userIdentity.accountId"] != OWNER]
    assert list(outside["eventName"]) == ["Encrypt"]  # the denial is only in the partner's
    assert list(partner["eventName"]) == ["Encrypt", "GenerateDataKey"]
    assert len(lab.audit.filter(account=OWNER)) + len(lab.audit.filter(account=PARTNER)) == \
        len(lab.audit)
    assert len(lab.audit.filter(account="999999999999")) == 0


def test_cross_account_records_round_trip_through_cloudtrail_json_and_snapshots(
        two_accounts, tmp_path):
    lab, _, key, erin = two_accounts
    blob = erin.encrypt(KeyId=key["Arn"], Plaintext=b"x")["CiphertextBlob"]
    erin.decrypt(CiphertextBlob=blob)
    records = lab.audit.records()
    assert sum("sharedEventID" in r for r in records) == 4
    copy = AuditLog.from_cloudtrail(json.loads(json.dumps(lab.audit.to_cloudtrail())))
    assert copy.records() == records
    assert AuditLog.from_jsonl(lab.audit.to_jsonl()).records() == records
    assert copy.filter(account=OWNER).records() == lab.audit.filter(account=OWNER).records()
    # CloudTrail's log files: each account's tree holds its own record of each call, and the
    # pair of each call, recorded in the same second, reads back in the order it was made
    lab.audit.export_cloudtrail_logs(tmp_path / "logs")
    assert AuditLog.from_cloudtrail_logs(tmp_path / "logs").records() == records
    path = tmp_path / "lab.kmslab"
    lab.save(path, passphrase="pass phrase")
    back = kmslab.Lab.load(path, passphrase="pass phrase")
    assert back.audit.records() == records
    # the loaded lab logs on in both accounts
    erin_back = back.client(as_="erin", account=PARTNER)
    erin_back.encrypt(KeyId=key["Arn"], Plaintext=b"y")
    lab_records = back.audit.records()[len(records):]
    assert [r["recipientAccountId"] for r in lab_records] == [PARTNER, OWNER]
    assert lab_records[0]["sharedEventID"] == lab_records[1]["sharedEventID"]
    assert lab_records[0]["sharedEventID"] not in {r.get("sharedEventID") for r in records}


# ----------------------------------------------------------------- service events

SERVICE = {"accountId": OWNER, "invokedBy": "AWS Internal"}


def _service_event(name, details=None, region="us-east-1"):
    record = {
        "eventVersion": "1.11", "userIdentity": SERVICE, "eventTime": ISO,
        "eventSource": "kms.amazonaws.com", "eventName": name, "awsRegion": region,
        "sourceIPAddress": "AWS Internal", "userAgent": "AWS Internal",
        "requestParameters": None, "responseElements": None, "eventID": UUID,
        "readOnly": False,
        "resources": [{"accountId": OWNER, "type": "AWS::KMS::Key", "ARN": KEY_ARN}],
        "eventType": "AwsServiceEvent", "managementEvent": True, "recipientAccountId": OWNER}
    if details is not None:
        record["serviceEventDetails"] = details
    record["eventCategory"] = "Management"
    return record


#: ct-rotatekey (automatic rotation of a symmetric key)
ROTATE_KEY = _service_event("RotateKey", {
    "rotationType": "AUTOMATIC", "keyOrigin": "AWS_KMS", "previousKeyMaterialId": MATERIAL_ID,
    "currentKeyMaterialId": MATERIAL_ID, "keyId": KEY_ID})
#: ct-delete-key (the end of the waiting period)
DELETE_KEY = _service_event("DeleteKey")


@pytest.mark.parametrize("rotation", ["AUTOMATIC", "ON_DEMAND"])
def test_rotate_key_names_the_previous_and_the_current_key_material(lab, kms, rotation):
    key = kms.create_key()["KeyMetadata"]
    first = key["CurrentKeyMaterialId"]
    if rotation == "AUTOMATIC":
        kms.enable_key_rotation(KeyId=key["KeyId"])
        lab.clock.advance(days=366)
    else:
        kms.rotate_key_on_demand(KeyId=key["KeyId"])
    record = next(r for r in lab.audit.records() if r["eventName"] == "RotateKey")
    assert_shape(record, ROTATE_KEY | {"serviceEventDetails": {
        **ROTATE_KEY["serviceEventDetails"], "rotationType": rotation}})
    current = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"]
    details = record["serviceEventDetails"]
    assert (details["previousKeyMaterialId"], details["currentKeyMaterialId"]) == (first, current)
    assert details["keyId"] == key["KeyId"] and first != current


def test_delete_key_has_no_service_event_details(lab, kms):
    key = kms.create_key()["KeyMetadata"]
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    lab.clock.advance(days=7)
    record = lab.audit.records()[-1]
    assert_shape(record, DELETE_KEY)
    assert record["resources"][0]["ARN"] == key["Arn"]


# ----------------------------------------------------------------- API calls

def key_resource(account=OWNER):
    return {"accountId": account, "type": "AWS::KMS::Key", "ARN": KEY_ARN}


def api_call(name, request, response, resources, *, additional=None, read_only=False,
             region="us-east-1"):
    """An AwsApiCall entry in the field order of AWS's examples."""
    record = {
        "eventVersion": "1.11", "userIdentity": ANY, "eventTime": ISO,
        "eventSource": "kms.amazonaws.com", "eventName": name, "awsRegion": region,
        "sourceIPAddress": ANY, "userAgent": ANY, "requestParameters": request,
        "responseElements": response}
    if additional is not None:
        record["additionalEventData"] = additional
    record.update({
        "requestID": UUID, "eventID": UUID, "readOnly": read_only, "resources": resources,
        "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": OWNER,
        "eventCategory": "Management", "tlsDetails": ANY})
    return record


ALIAS_ARN = re.compile(r"^arn:aws:kms:[a-z0-9-]+:\d{12}:alias/[\w/-]+$")
#: ct-createalias (and ct-updatealias, ct-deletealias): the key and the alias as resources
CREATE_ALIAS = api_call(
    "CreateAlias", {"aliasName": "alias/ExampleAlias", "targetKeyId": KEY_ID},
    {"keyId": KEY_ARN},
    [key_resource(), {"accountId": OWNER, "type": "AWS::KMS::Key", "ARN": ALIAS_ARN}])


def test_alias_operations_name_the_key_and_the_alias(lab, kms):
    key = kms.create_key()["KeyMetadata"]
    other = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/ExampleAlias", TargetKeyId=key["KeyId"])
    record = lab.audit.records()[-1]
    assert_shape(record, CREATE_ALIAS)
    alias_arn = key["Arn"].replace(f"key/{key['KeyId']}", "alias/ExampleAlias")
    assert [r["ARN"] for r in record["resources"]] == [key["Arn"], alias_arn]
    assert record["responseElements"] == {"keyId": key["Arn"]}
    kms.update_alias(AliasName="alias/ExampleAlias", TargetKeyId=other["KeyId"])
    kms.delete_alias(AliasName="alias/ExampleAlias")
    update, delete = lab.audit.records()[-2:]
    assert [r["ARN"] for r in update["resources"]] == [other["Arn"], alias_arn]
    assert update["responseElements"] == delete["responseElements"] == {"keyId": other["Arn"]}
    assert [r["ARN"] for r in delete["resources"]] == [other["Arn"], alias_arn]
    # the frame's key columns still name the key, not the alias
    frame = lab.audit.frame()
    assert list(frame["keyArn"].tail(3)) == [key["Arn"], other["Arn"], other["Arn"]]
    # a failed call has no responseElements
    kms.create_alias(AliasName="alias/taken", TargetKeyId=key["KeyId"])
    with pytest.raises(errors.AlreadyExistsException):
        kms.create_alias(AliasName="alias/taken", TargetKeyId=key["KeyId"])
    failed = lab.audit.records()[-1]
    assert failed["errorCode"] == "AlreadyExistsException" and failed["responseElements"] is None


@pytest.mark.parametrize("operation,call", [
    ("EnableKey", lambda kms, k: kms.enable_key(KeyId=k)),
    ("DisableKey", lambda kms, k: kms.disable_key(KeyId=k)),
    ("EnableKeyRotation", lambda kms, k: kms.enable_key_rotation(KeyId=k)),
    ("UntagResource", lambda kms, k: kms.untag_resource(KeyId=k, TagKeys=["team"])),
])
def test_management_calls_log_the_key_arn_as_response_key_id(lab, kms, operation, call):
    """ct-enablekey, ct-disablekey, ct-enablekeyrotation, ct-untagresource: 'CloudTrail log
    entries for this operation recorded on or after December 2022 include the key ARN of the
    affected KMS key in the responseElements.keyId value, even though this operation does not
    return the key ARN.'"""
    key = kms.create_key(Tags=[{"TagKey": "team", "TagValue": "blue"}])["KeyMetadata"]
    response = call(kms, key["KeyId"])
    assert "KeyId" not in response  # the API's response has no key id
    record = lab.audit.records()[-1]
    assert record["eventName"] == operation
    assert record["responseElements"] == {"keyId": key["Arn"]}
    assert record["requestParameters"]["keyId"] == key["KeyId"]  # as the caller gave it


def test_a_failed_management_call_has_no_response_elements(lab, kms):
    key = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    with pytest.raises(errors.UnsupportedOperationException):
        kms.enable_key_rotation(KeyId=key["KeyId"])
    record = lab.audit.records()[-1]
    assert record["errorCode"] == "UnsupportedOperationException"
    assert record["responseElements"] is None


def test_create_grant_logs_the_grant_id_and_the_key_arn(lab, kms):
    """ct-creategrant: responseElements {grantId, keyId (the key ARN)}."""
    key = kms.create_key()["KeyMetadata"]
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=lab.admin().arn,
                             Operations=["Decrypt"])
    record = lab.audit.records()[-1]
    assert record["responseElements"] == {"grantId": grant["GrantId"], "keyId": key["Arn"]}
    assert grant["GrantToken"] not in json.dumps(record)


# ----------------------------------------------------------------- multi-Region keys

#: ct-synchronize-multi-region-key
SYNCHRONIZE = {
    "eventVersion": "1.11", "userIdentity": SERVICE, "eventTime": ISO,
    "eventSource": "kms.amazonaws.com", "eventName": "SynchronizeMultiRegionKey",
    "awsRegion": "us-east-1", "sourceIPAddress": "AWS Internal", "userAgent": "AWS Internal",
    "requestParameters": None, "responseElements": {"keyId": KEY_ARN}, "requestID": UUID,
    "eventID": UUID, "readOnly": False, "resources": [key_resource()],
    "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": OWNER,
    "eventCategory": "Management"}


@pytest.fixture
def replicated(lab, kms):
    primary = kms.create_key(MultiRegion=True)["KeyMetadata"]
    before = len(lab.audit)
    out = kms.replicate_key(KeyId=primary["KeyId"], ReplicaRegion="eu-west-1")
    return primary, out, lab.audit.records()[before:]


def test_synchronize_multi_region_key_is_an_api_call_kms_makes_in_the_primarys_region(
        lab, kms, replicated):
    primary, _, records = replicated
    (sync,) = [r for r in records if r["eventName"] == "SynchronizeMultiRegionKey"]
    assert_shape(sync, SYNCHRONIZE)
    assert sync["responseElements"]["keyId"] == primary["Arn"]
    assert [r["ARN"] for r in sync["resources"]] == [primary["Arn"]]  # replicas not listed
    replicate = next(r for r in records if r["eventName"] == "ReplicateKey")
    assert sync["requestID"] != replicate["requestID"]


def test_replicate_key_names_the_primary_and_logs_the_replica_policy(lab, kms, replicated):
    """ct-replicate-key: one resource (the primary key); responseElements replicaKeyMetadata
    and replicaPolicy; dates with CloudTrail's comma after the year."""
    primary, out, records = replicated
    replicate = next(r for r in records if r["eventName"] == "ReplicateKey")
    assert [r["ARN"] for r in replicate["resources"]] == [primary["Arn"]]
    assert list(replicate["responseElements"]) == ["replicaKeyMetadata", "replicaPolicy"]
    assert replicate["responseElements"]["replicaPolicy"] == out["ReplicaPolicy"]
    assert LOG_DATE.match(replicate["responseElements"]["replicaKeyMetadata"]["creationDate"])
    # logged with KMS's defaults, in the example's order
    assert replicate["requestParameters"] == {
        "keyId": primary["KeyId"], "replicaRegion": "eu-west-1",
        "bypassPolicyLockoutSafetyCheck": False, "description": ""}
    assert list(replicate["requestParameters"]) == [
        "keyId", "replicaRegion", "bypassPolicyLockoutSafetyCheck", "description"]


def test_update_primary_region_is_logged_in_both_regions(lab, kms, replicated):
    """ct-update-primary-region: 'The UpdatePrimaryRegion operation writes two CloudTrail log
    entries: one in the Region with the multi-Region primary key that is converted to a
    replica key, and one in the Region with a multi-Region replica key that is converted to a
    primary key.'"""
    primary, out, _ = replicated
    lab.clock.advance(minutes=10)
    before = len(lab.audit)
    kms.update_primary_region(KeyId=primary["KeyId"], PrimaryRegion="eu-west-1")
    old, new = lab.audit.records()[before:before + 2]
    replica_arn = out["ReplicaKeyMetadata"]["Arn"]
    assert (old["awsRegion"], new["awsRegion"]) == ("us-east-1", "eu-west-1")
    assert [r["ARN"] for r in old["resources"]] == [primary["Arn"]]
    assert [r["ARN"] for r in new["resources"]] == [replica_arn]
    assert old["responseElements"] == {"keyId": primary["Arn"]}
    assert new["responseElements"] == {"keyId": replica_arn}
    assert old["requestParameters"] == new["requestParameters"] == {
        "keyId": primary["KeyId"], "primaryRegion": "eu-west-1"}
    assert old["requestID"] == new["requestID"] and old["eventID"] != new["eventID"]
    assert "sharedEventID" not in old and old["recipientAccountId"] == OWNER
    assert_shape(old, api_call("UpdatePrimaryRegion", {"keyId": KEY_ID,
                                                       "primaryRegion": "eu-west-1"},
                               {"keyId": KEY_ARN}, [key_resource()]))


# ----------------------------------------------------------------- grants, random, import

#: ct-retire-grant: no requestParameters; the grant id in additionalEventData
RETIRE_GRANT = api_call("RetireGrant", None, None, [key_resource()],
                        additional={"grantId": re.compile(r"^[0-9a-f]{64}$")})


def test_retire_grant_logs_the_grant_id_and_never_the_token(lab, kms):
    key = kms.create_key()["KeyMetadata"]
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=lab.admin().arn,
                             Operations=["Encrypt", "RetireGrant"])
    kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x", GrantTokens=[grant["GrantToken"]])
    kms.retire_grant(GrantToken=grant["GrantToken"])
    encrypt, retire = lab.audit.records()[-2:]
    assert_shape(retire, RETIRE_GRANT)
    assert retire["additionalEventData"] == {"grantId": grant["GrantId"]}
    assert "grantTokens" not in encrypt["requestParameters"]
    # a grant token is a bearer credential: in no record, frame or export
    assert grant["GrantToken"] not in json.dumps(lab.audit.to_cloudtrail())
    assert grant["GrantToken"] not in lab.audit.frame().to_csv()


def test_retiring_by_key_and_grant_id_logs_the_same_record(lab, kms):
    key = kms.create_key()["KeyMetadata"]
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=lab.admin().arn,
                             Operations=["Encrypt"])
    kms.retire_grant(KeyId=key["Arn"], GrantId=grant["GrantId"])
    record = lab.audit.records()[-1]
    assert_shape(record, RETIRE_GRANT)
    assert record["additionalEventData"] == {"grantId": grant["GrantId"]}


def test_a_failed_retire_grant_logs_no_grant_id(lab, kms):
    key = kms.create_key()["KeyMetadata"]
    with pytest.raises(errors.KMSError):
        kms.retire_grant(KeyId=key["Arn"], GrantId="0" * 64)
    record = lab.audit.records()[-1]
    assert "errorCode" in record and "additionalEventData" not in record
    assert record["requestParameters"] is None


#: ct-generaterandom
GENERATE_RANDOM = api_call("GenerateRandom", None, None, [], read_only=True)


def test_generate_random_logs_no_request_and_no_resources(lab, kms):
    kms.generate_random(NumberOfBytes=32)
    assert_shape(lab.audit.records()[-1], GENERATE_RANDOM)


def test_list_aliases_names_no_resource(lab, kms):
    """ct-listaliases: "resources": [] even when the request names a key."""
    key = kms.create_key()["KeyMetadata"]
    kms.list_aliases(KeyId=key["KeyId"])
    record = lab.audit.records()[-1]
    assert record["resources"] == [] and record["requestParameters"] == {"keyId": key["KeyId"]}


def test_get_parameters_for_import_is_read_only(lab, kms):
    """ct-getparametersforimport: "readOnly": true."""
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]
    kms.get_parameters_for_import(KeyId=key["KeyId"], WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                  WrappingKeySpec="RSA_2048")
    record = lab.audit.records()[-1]
    assert record["eventName"] == "GetParametersForImport" and record["readOnly"] is True
    assert lab.audit.filter(event_name="GetParametersForImport").frame()["readOnly"].all()


# ----------------------------------------------------------------- who called

#: the userIdentity of an IAM user in every example (ct-encrypt, ct-createalias...)
IAM_USER = {"type": "IAMUser", "principalId": re.compile(r"^AIDA[0-9A-Z]{17}$"),
            "arn": re.compile(r"^arn:aws:iam::\d{12}:user/[\w+=,.@-]+$"), "accountId": OWNER,
            "accessKeyId": re.compile(r"^AKIA[0-9A-Z]{16}$"),
            "userName": re.compile(r"^[\w+=,.@-]+$")}


def test_an_iam_users_calls_name_the_access_key_that_signed_them(lab):
    """Every call an IAM user makes is signed with one of its access keys, and CloudTrail logs
    it; a client built from a key of CreateAccessKey logs that key."""
    lab.add_user("alice", policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]})
    lab.client().list_keys()  # the administrator
    alice = lab.client(as_="alice")
    alice.list_keys()
    alice.list_keys()
    first, second = lab.audit.records()[-2:]
    assert shape_of(first["userIdentity"], IAM_USER)
    assert first["userIdentity"]["accessKeyId"] == second["userIdentity"]["accessKeyId"]
    assert lab.audit.records()[0]["userIdentity"]["accessKeyId"] != \
        first["userIdentity"]["accessKeyId"]  # each user its own key
    created = lab.client("iam").create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    lab.client(as_=created).list_keys()
    assert lab.audit.records()[-1]["userIdentity"]["accessKeyId"] == created


def test_service_events_have_no_access_key(lab, kms):
    key = kms.create_key()["KeyMetadata"]
    kms.rotate_key_on_demand(KeyId=key["KeyId"])
    rotate = next(r for r in lab.audit.records() if r["eventName"] == "RotateKey")
    assert rotate["userIdentity"] == SERVICE


# ----------------------------------------------------------------- RotateKeyOnDemand

#: ct-rotatekeyondemand: responseElements.keyId is the key id (so is the API's answer in the
#: AWS CLI's example, and botocore's model calls it "Identifies the ... KMS key")
ROTATE_KEY_ON_DEMAND = api_call("RotateKeyOnDemand", {"keyId": KEY_ID}, {"keyId": KEY_ID},
                                [key_resource()])


@pytest.mark.parametrize("form", ["KeyId", "Arn"])
def test_rotate_key_on_demand_answers_and_logs_the_key_id(lab, kms, form):
    key = kms.create_key()["KeyMetadata"]
    out = kms.rotate_key_on_demand(KeyId=key[form])
    assert out["KeyId"] == key["KeyId"]
    record = next(r for r in reversed(lab.audit.records())
                  if r["eventName"] == "RotateKeyOnDemand")
    assert record["responseElements"] == {"keyId": key["KeyId"]}
    assert record["requestParameters"] == {"keyId": key[form]}
    if form == "KeyId":
        assert_shape(record, ROTATE_KEY_ON_DEMAND)


def test_a_journal_tail_carries_the_shared_event_ids(two_accounts):
    """A snapshot's journal appends tails of the trail: the copies' sharedEventIDs go too."""
    from kmslab.audit import AuditStore
    from kmslab.snapshot import journal

    lab, _, key, erin = two_accounts
    saved = json.loads(json.dumps(lab.audit.to_data()))
    marks = lab.audit.marks()
    erin.encrypt(KeyId=key["Arn"], Plaintext=b"after the save")
    out: list[bytes] = []
    journal._encode(lab.audit.tail(marks), out)
    tail = json.loads(b"".join(out))
    assert len(tail["shared_event_ids"]) == 2
    journal._append_tail(saved, tail)
    saved.pop("tracking_start")
    store = AuditStore.from_data(saved, lab.ids.request_id_at)
    assert [store.record(i) for i in range(len(store))] == lab.audit.records()


@pytest.mark.parametrize("bad", [[[0, 5]], [[99999, "x"]], [["0", "x"]], [[0]], "x"])
def test_a_stored_trail_with_a_wrong_shared_event_id_is_refused(two_accounts, bad):
    from kmslab.audit import AuditDataError, AuditStore

    lab, _, key, erin = two_accounts
    erin.encrypt(KeyId=key["Arn"], Plaintext=b"x")
    data = json.loads(json.dumps(lab.audit.to_data()))
    data.pop("tracking_start")
    AuditStore.from_data(data, lab.ids.request_id_at)  # as saved: fine
    data["shared_event_ids"] = bad
    with pytest.raises(AuditDataError) as info:
        AuditStore.from_data(data, lab.ids.request_id_at)
    assert info.value.where.startswith("audit.shared_event_ids")


# ----------------------------------------------------------------- AWS's own entries, read back

#: ct-retire-grant, as published
AWS_RETIRE_GRANT = {
    "eventVersion": "1.08",
    "userIdentity": {"type": "IAMUser", "principalId": "EX_PRINCIPAL_ID",
                     "arn": "arn:aws:iam::111122223333:user/Alice", "accountId": "111122223333",
                     "accessKeyId": "EXAMPLE_KEY_ID", "userName": "Alice"},
    "eventTime": "2022-09-01T19:39:33Z", "eventSource": "kms.amazonaws.com",
    "eventName": "RetireGrant", "awsRegion": "us-west-2", "sourceIPAddress": "192.0.2.0",
    "userAgent": "AWS Internal", "requestParameters": None, "responseElements": None,
    "additionalEventData": {
        "grantId": "abcde1237f76e4ba7987489ac329fbfba6ad343d6f7075dbd1ef191f0120514a"},
    "requestID": "1d274d57-5697-462c-a004-f25fcc29fa26",
    "eventID": "0771bcfb-3e24-4332-9ac8-e1c06563eecf", "readOnly": False,
    "resources": [{"accountId": "111122223333", "type": "AWS::KMS::Key",
                   "ARN": "arn:aws:kms:us-west-2:111122223333:key/"
                          "1234abcd-12ab-34cd-56ef-1234567890ab"}],
    "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": "111122223333",
    "eventCategory": "Management"}

#: ct-synchronize-multi-region-key, as published
AWS_SYNCHRONIZE = {
    "eventVersion": "1.08",
    "userIdentity": {"accountId": "111122223333", "invokedBy": "AWS Internal"},
    "eventTime": "2020-11-18T02:04:37Z", "eventSource": "kms.amazonaws.com",
    "eventName": "SynchronizeMultiRegionKey", "awsRegion": "us-west-2",
    "sourceIPAddress": "AWS Internal", "userAgent": "AWS Internal", "requestParameters": None,
    "responseElements": {
        "keyId": "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
    "requestID": "12345681-de97-42e9-bed0-b02ae1abd8dc",
    "eventID": "abcdec99-2b5c-4670-9521-ddb8f031e146", "readOnly": False,
    "resources": [{"accountId": "111122223333", "type": "AWS::KMS::Key",
                   "ARN": "arn:aws:kms:us-west-2:111122223333:key/"
                          "1234abcd-12ab-34cd-56ef-1234567890ab"}],
    "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": "111122223333",
    "eventCategory": "Management"}


@pytest.mark.parametrize("example", [AWS_RETIRE_GRANT, AWS_SYNCHRONIZE],
                         ids=["RetireGrant", "SynchronizeMultiRegionKey"])
def test_aws_entries_read_back_in_kmslabs_own_layout(example):
    """An entry AWS published is read and written back exactly, and in kmslab's own layout:
    the trail needed no copy of it as given (what it keeps for a field it does not model).
    (kmslab writes the current eventVersion, 1.11: CloudTrail User Guide, record contents.)"""
    example = {**example, "eventVersion": "1.11"}
    trail = AuditLog.from_cloudtrail({"Records": [example]})
    assert trail.records() == [example]
    assert list(trail.records()[0]) == list(example)
    assert not trail._store.overrides


def test_a_cross_account_pair_read_back_keeps_its_shared_event_id(two_accounts):
    lab, _, key, erin = two_accounts
    erin.encrypt(KeyId=key["Arn"], Plaintext=b"x")
    pair = lab.audit.records()[-2:]
    trail = AuditLog.from_cloudtrail({"Records": pair})
    assert trail.records() == pair and not trail._store.overrides
    assert [r["recipientAccountId"] for r in trail.filter(account=OWNER)] == [OWNER]
