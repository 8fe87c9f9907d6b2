"""The simulated S3: SSE-KMS through KMS on the caller's behalf, AWS managed and owned keys, Bucket Keys."""

import base64
import json

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kmslab import errors
from kmslab.world.s3 import S3_SERVICE_ACCOUNT

from shapes import check_response


@pytest.fixture
def s3(lab):
    client = lab.service("s3")
    client.create_bucket(Bucket="reports")
    return client


def _kms_records(lab, account="111122223333"):
    return [r for r in lab.audit.records()
            if r["recipientAccountId"] == account and r["eventType"] == "AwsApiCall"]


def test_sse_kms_default_creates_aws_managed_key_on_first_use(lab, kms, s3):
    predefined = {a["AliasName"]: a for a in kms.list_aliases()["Aliases"]}
    assert "TargetKeyId" not in predefined["alias/aws/s3"]  # predefined, no key yet (as AWS)
    out = s3.put_object(Bucket="reports", Key="q1.csv", Body=b"a,b\n1,2\n",
                        ServerSideEncryption="aws:kms")
    assert out["ServerSideEncryption"] == "aws:kms" and out["BucketKeyEnabled"] is False
    md = check_response("DescribeKey", kms.describe_key(KeyId="alias/aws/s3"))["KeyMetadata"]
    assert md["KeyManager"] == "AWS" and md["Arn"] == out["SSEKMSKeyId"]
    assert md["Description"] == "Default key that protects my S3 objects when no other key is defined"
    body = s3.get_object(Bucket="reports", Key="q1.csv")
    assert body["Body"].read() == b"a,b\n1,2\n" and body["SSEKMSKeyId"] == md["Arn"]
    s3.put_object(Bucket="reports", Key="q2.csv", Body=b"x", ServerSideEncryption="aws:kms")
    s3_aliases = [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/aws/s3"]
    assert len(s3_aliases) == 1 and s3_aliases[0]["TargetKeyId"] == md["KeyId"]  # created once


def test_aws_managed_key_cannot_be_changed(lab, kms, s3):
    s3.put_object(Bucket="reports", Key="k", Body=b"x", ServerSideEncryption="aws:kms")
    key_id = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["KeyId"]
    policy = json.loads(kms.get_key_policy(KeyId=key_id)["Policy"])
    use = policy["Statement"][0]
    assert use["Principal"] == {"AWS": "*"}
    assert use["Condition"]["StringEquals"] == {"kms:CallerAccount": "111122223333",
                                                "kms:ViaService": "s3.us-east-1.amazonaws.com"}
    # the policy gives the account only Describe*/Get*/List*: even the admin is refused
    with pytest.raises(errors.AccessDeniedException):
        kms.put_key_policy(KeyId=key_id, Policy=json.dumps(policy))
    with pytest.raises(errors.AccessDeniedException):
        kms.schedule_key_deletion(KeyId=key_id)
    with pytest.raises(errors.AccessDeniedException):
        kms.encrypt(KeyId=key_id, Plaintext=b"direct")  # not through S3: kms:ViaService fails
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyManager"] == "AWS"
    key = lab.kms_service("111122223333", "us-east-1").keys[key_id]
    assert key.rotation_enabled and key.rotation_period_days == 365


def test_kms_calls_carry_via_service_and_the_callers_identity(lab, s3):
    s3.put_object(Bucket="reports", Key="a/b.txt", Body=b"x", ServerSideEncryption="aws:kms",
                  SSEKMSEncryptionContext=base64.b64encode(b'{"dept":"finance"}').decode())
    s3.get_object(Bucket="reports", Key="a/b.txt")
    gdk, dec = _kms_records(lab)
    assert (gdk["eventName"], dec["eventName"]) == ("GenerateDataKey", "Decrypt")
    for rec in (gdk, dec):
        assert rec["userIdentity"]["invokedBy"] == "s3.amazonaws.com"  # CloudTrail: no Region; kms:ViaService has it
        assert rec["userIdentity"]["userName"] == "admin"
        assert rec["requestParameters"]["encryptionContext"] == {
            "aws:s3:arn": "arn:aws:s3:::reports/a/b.txt", "dept": "finance"}


def test_customer_managed_key_and_kms_errors(lab, kms, s3):
    key_id = kms.create_key(Description="mine")["KeyMetadata"]["KeyId"]
    out = s3.put_object(Bucket="reports", Key="k", Body=b"x", ServerSideEncryption="aws:kms",
                        SSEKMSKeyId=key_id)
    assert out["SSEKMSKeyId"].endswith(key_id)
    kms.disable_key(KeyId=key_id)
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket="reports", Key="k")
    assert info.value.response["Error"]["Code"] == "KMS.DisabledException"
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket="reports", Key="k2", Body=b"x", ServerSideEncryption="aws:kms",
                      SSEKMSKeyId="alias/none")
    assert info.value.response["Error"]["Code"] == "KMS.NotFoundException"
    assert s3.list_objects_v2(Bucket="reports")["KeyCount"] == 1
    kms.enable_key(KeyId=key_id)
    assert s3.get_object(Bucket="reports", Key="k")["Body"].read() == b"x"


def test_envelope_layout_data_key_decrypts_object(lab, kms, s3):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]  # yours: you may call Decrypt directly
    s3.put_object(Bucket="reports", Key="k", Body=b"payload", ServerSideEncryption="aws:kms",
                  SSEKMSKeyId=key_id)
    stored = lab.s3.buckets["reports"].objects["k"]
    data_key = kms.decrypt(CiphertextBlob=stored.encrypted_data_key,
                           EncryptionContext=stored.context)["Plaintext"]
    assert AESGCM(data_key).decrypt(stored.nonce, stored.ciphertext,
                                    b"arn:aws:s3:::reports/k") == b"payload"
    assert b"payload" not in stored.ciphertext


def test_bucket_keys_cut_kms_calls(lab, s3):
    for i in range(10):
        s3.put_object(Bucket="reports", Key=f"per-object/{i}", Body=b"x", ServerSideEncryption="aws:kms")
    per_object = len(_kms_records(lab))
    for i in range(10):
        out = s3.put_object(Bucket="reports", Key=f"bucket-key/{i}", Body=b"x",
                            ServerSideEncryption="aws:kms", BucketKeyEnabled=True)
        assert out["BucketKeyEnabled"] is True
    for i in range(10):
        assert s3.get_object(Bucket="reports", Key=f"bucket-key/{i}")["Body"].read() == b"x"
    with_bucket_key = len(_kms_records(lab)) - per_object
    assert per_object == 10 and with_bucket_key == 2  # one GenerateDataKey, one Decrypt
    ctx = _kms_records(lab)[-1]["requestParameters"]["encryptionContext"]
    assert ctx == {"aws:s3:arn": "arn:aws:s3:::reports"}
    lab.clock.advance(hours=2)  # the bucket key expired: S3 asks KMS again
    s3.put_object(Bucket="reports", Key="later", Body=b"x", ServerSideEncryption="aws:kms",
                  BucketKeyEnabled=True)
    assert len(_kms_records(lab)) - per_object == 3


def test_sse_s3_uses_an_aws_owned_key_you_never_see(lab, kms, s3):
    out = s3.put_object(Bucket="reports", Key="k", Body=b"x")  # default encryption: SSE-S3
    assert out["ServerSideEncryption"] == "AES256" and "SSEKMSKeyId" not in out
    assert s3.get_object(Bucket="reports", Key="k")["Body"].read() == b"x"
    assert _kms_records(lab) == []  # nothing in your CloudTrail
    assert kms.list_keys()["Keys"] == []
    owner = lab.client(account=S3_SERVICE_ACCOUNT, as_="root")
    assert owner.list_keys()["Keys"] == []  # hidden even in the service's account
    with pytest.raises(ClientError):
        s3.put_object(Bucket="reports", Key="k", Body=b"x", ServerSideEncryption="AES256",
                      SSEKMSKeyId="alias/aws/s3")


def test_s3_errors(lab, s3):
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket="reports", Key="missing")
    assert info.value.response["Error"]["Code"] == "NoSuchKey"
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket="nope", Key="k", Body=b"x")
    assert info.value.response["Error"]["Code"] == "NoSuchBucket"
    with pytest.raises(ClientError) as info:
        s3.create_bucket(Bucket="reports")
    assert info.value.response["Error"]["Code"] == "BucketAlreadyOwnedByYou"
    other = lab.add_account("444455556666")
    with pytest.raises(ClientError) as info:
        lab.service("s3", account=other).get_object(Bucket="reports", Key="k")
    assert info.value.response["Error"]["Code"] in ("AccessDenied", "NoSuchKey")


def test_aws_managed_key_rotates_every_year(lab, kms, s3):
    s3.put_object(Bucket="reports", Key="k", Body=b"x", ServerSideEncryption="aws:kms")
    key_id = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["KeyId"]  # these take no alias
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 365
    lab.clock.advance(days=366)
    rotations = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["AUTOMATIC"]
    with pytest.raises((errors.AccessDeniedException, errors.UnsupportedOperationException)):
        kms.disable_key_rotation(KeyId=key_id)
    assert s3.get_object(Bucket="reports", Key="k")["Body"].read() == b"x"  # old version kept
