"""``kmslab serve`` with SigV4 verified against the real lab's IAM access keys and STS sessions."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import kmslab
from kmslab.interop.server import ServerThread

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
ACCOUNT = "111122223333"
KMS_USER = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["kms:CreateKey", "kms:Encrypt", "kms:Decrypt", "kms:DescribeKey",
                                   "kms:ListKeys"], "Resource": "*"}]}
READ_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["kms:DescribeKey", "kms:ListKeys"], "Resource": "*"}]}


@pytest.fixture(scope="module")
def served():
    lab = kmslab.Lab(seed=11)
    iam = lab.client("iam")
    keys = {}
    for name, policy in (("alice", KMS_USER), ("bob", READ_ONLY)):
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="kms", PolicyDocument=json.dumps(policy))
        keys[name] = iam.create_access_key(UserName=name)["AccessKey"]
    lab.add_role("encryptor", trusted=["alice"], policy=KMS_USER)
    with ServerThread(lab) as url:
        yield lab, url, keys


def kms_client(url, key_id, secret, token=None, region="us-east-1"):
    return boto3.session.Session().client(
        "kms", endpoint_url=url, region_name=region, aws_access_key_id=key_id,
        aws_secret_access_key=secret, aws_session_token=token, config=NO_RETRY)


def as_user(served, name):
    _lab, url, keys = served
    return kms_client(url, keys[name]["AccessKeyId"], keys[name]["SecretAccessKey"])


def error_code(call) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


def test_the_access_keys_user_is_the_caller_in_the_audit_trail(served):
    lab, _url, keys = served
    kms = as_user(served, "alice")
    key_arn = kms.create_key(Description="alice's")["KeyMetadata"]["Arn"]
    kms.encrypt(KeyId=key_arn, Plaintext=b"signed")
    record = lab.audit.records()[-1]
    assert record["eventName"] == "Encrypt"
    assert record["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert record["userIdentity"]["accessKeyId"] == keys["alice"]["AccessKeyId"]
    assert record["awsRegion"] == "us-east-1"


def test_each_users_own_policies_decide(served):
    lab, _url, _keys = served
    key_id = lab.client().create_key()["KeyMetadata"]["KeyId"]
    bob = as_user(served, "bob")
    assert bob.describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"] == key_id
    before = len(lab.kms_service(ACCOUNT, "us-east-1").keys)
    with pytest.raises(ClientError) as caught:
        bob.create_key()
    error = caught.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert f"arn:aws:iam::{ACCOUNT}:user/bob" in error["Message"]
    assert "kms:CreateKey" in error["Message"]
    assert len(lab.kms_service(ACCOUNT, "us-east-1").keys) == before
    assert error_code(lambda: bob.encrypt(KeyId=key_id, Plaintext=b"x")) == "AccessDeniedException"


def test_wrong_secret_is_an_invalid_signature(served):
    _lab, url, keys = served
    kms = kms_client(url, keys["alice"]["AccessKeyId"], "not-" + keys["alice"]["SecretAccessKey"])
    assert error_code(kms.list_keys) == "InvalidSignatureException"


def test_unknown_access_key_id_is_unrecognized(served):
    _lab, url, keys = served
    kms = kms_client(url, "AKIAUNKNOWN000000000", keys["alice"]["SecretAccessKey"])
    assert error_code(kms.list_keys) == "UnrecognizedClientException"


def test_deleted_access_key_stops_working(served):
    lab, url, _keys = served
    iam = lab.client("iam")
    iam.create_user(UserName="carol")
    key = iam.create_access_key(UserName="carol")["AccessKey"]
    kms = kms_client(url, key["AccessKeyId"], key["SecretAccessKey"])
    assert error_code(kms.list_keys) == "AccessDeniedException"  # known key, no policy
    iam.delete_access_key(UserName="carol", AccessKeyId=key["AccessKeyId"])
    assert error_code(kms.list_keys) == "UnrecognizedClientException"


def assumed(served):
    lab, _url, keys = served
    sts = lab.client("sts", as_="alice")
    return sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/encryptor",
                           RoleSessionName="batch-job")["Credentials"]


def test_sts_session_credentials_act_as_the_role_session(served):
    lab, url, _keys = served
    creds = assumed(served)
    kms = kms_client(url, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"from a role")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"from a role"
    identity = lab.audit.records()[-1]["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/encryptor/batch-job"
    assert identity["accessKeyId"] == creds["AccessKeyId"]


@pytest.mark.parametrize("token", [None, "wrong-token", "swap"])
def test_session_token_missing_or_wrong_is_unrecognized(served, token):
    _lab, url, _keys = served
    creds = assumed(served)
    if token == "swap":  # another session's (valid) token
        token = assumed(served)["SessionToken"]
    kms = kms_client(url, creds["AccessKeyId"], creds["SecretAccessKey"], token)
    assert error_code(kms.list_keys) == "UnrecognizedClientException"


def test_long_term_key_with_a_session_token_is_unrecognized(served):
    _lab, url, keys = served
    kms = kms_client(url, keys["alice"]["AccessKeyId"], keys["alice"]["SecretAccessKey"],
                     assumed(served)["SessionToken"])
    assert error_code(kms.list_keys) == "UnrecognizedClientException"


def test_expired_session_is_refused(served):
    lab, url, _keys = served
    creds = assumed(served)
    kms = kms_client(url, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    kms.list_keys()
    lab.clock.advance(hours=1, seconds=1)
    assert error_code(kms.list_keys) == "ExpiredTokenException"
