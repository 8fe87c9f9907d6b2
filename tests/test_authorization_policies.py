"""CreateKey/PutKeyPolicy validation: AWS's errors, the old policy still in force, lockout."""

import json

import pytest

import kmslab
from kmslab import errors
from kmslab.policy import LOCKOUT_MESSAGE

A = "111122223333"
ROOT = {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "kms:*", "Resource": "*"}


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def lab_key():
    lab = kmslab.Lab(seed=11)
    lab.add_user("alice")
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    return lab, kms, key


BAD = [
    ("not json", "{", errors.MalformedPolicyDocumentException),
    ("unknown principal", doc(ROOT, {"Effect": "Allow", "Principal": {
        "AWS": f"arn:aws:iam::{A}:user/nobody"}, "Action": "kms:*", "Resource": "*"}),
     errors.MalformedPolicyDocumentException),
    ("account not in the lab", doc(ROOT, {"Effect": "Allow", "Principal": {
        "AWS": "999988887777"}, "Action": "kms:*", "Resource": "*"}),
     errors.MalformedPolicyDocumentException),
    ("bad effect", doc(dict(ROOT, Effect="Maybe")), errors.MalformedPolicyDocumentException),
    ("too large", doc(ROOT, {"Sid": "x" * 33_000, "Effect": "Allow", "Principal": {"AWS": "*"},
                             "Action": "kms:Encrypt", "Resource": "*"}),
     errors.LimitExceededException),
]


@pytest.mark.parametrize("name,text,error", BAD, ids=[b[0] for b in BAD])
def test_bad_policy_keeps_the_old_one_in_force(lab_key, name, text, error):
    lab, kms, key = lab_key
    old = kms.get_key_policy(KeyId=key)["Policy"]
    with pytest.raises(error):
        kms.put_key_policy(KeyId=key, Policy=text)
    assert kms.get_key_policy(KeyId=key)["Policy"] == old
    kms.encrypt(KeyId=key, Plaintext=b"still works")  # the admin is still allowed by IAM
    assert lab.audit.records()[-3]["errorCode"] == error.code


def test_invalid_principal_message(lab_key):
    lab, kms, key = lab_key
    with pytest.raises(errors.MalformedPolicyDocumentException) as info:
        kms.put_key_policy(KeyId=key, Policy=BAD[1][1])
    assert info.value.message == "Policy contains a statement with one or more invalid principals."


def test_new_policy_takes_effect_at_once(lab_key):
    lab, kms, key = lab_key
    alice = lab.client(as_="alice")
    with pytest.raises(errors.AccessDeniedException):
        alice.encrypt(KeyId=key, Plaintext=b"x")
    user_arn = lab.principal("alice").arn
    kms.put_key_policy(KeyId=key, Policy=doc(ROOT, {
        "Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "kms:Encrypt",
        "Resource": "*"}))
    alice.encrypt(KeyId=key, Plaintext=b"x")  # the cached decisions were dropped


def test_lockout_safety_check(lab_key):
    lab, kms, key = lab_key
    alice_only = doc({"Effect": "Allow", "Principal": {"AWS": lab.principal("alice").arn},
                      "Action": "kms:*", "Resource": "*"})
    old = kms.get_key_policy(KeyId=key)["Policy"]
    with pytest.raises(errors.MalformedPolicyDocumentException) as info:
        kms.put_key_policy(KeyId=key, Policy=alice_only)
    assert info.value.message == LOCKOUT_MESSAGE
    assert kms.get_key_policy(KeyId=key)["Policy"] == old
    with pytest.raises(errors.MalformedPolicyDocumentException, match="update the key policy"):
        kms.create_key(Policy=alice_only)
    assert len(kms.list_keys()["Keys"]) == 1
    kms.put_key_policy(KeyId=key, Policy=alice_only, BypassPolicyLockoutSafetyCheck=True)
    with pytest.raises(errors.AccessDeniedException, match="no resource-based policy"):
        kms.put_key_policy(KeyId=key, Policy=old)  # the admin locked itself out
    alice = lab.client(as_="alice")
    with pytest.raises(errors.MalformedPolicyDocumentException, match="update the key policy"):
        alice.put_key_policy(KeyId=key, Policy=old)  # alice has no IAM policy: she'd lock out
    alice.put_key_policy(KeyId=key, Policy=old, BypassPolicyLockoutSafetyCheck=True)
    kms.describe_key(KeyId=key)  # the admin is back in, through IAM


def test_default_policy_layout(lab_key):
    lab, kms, key = lab_key
    assert kms.get_key_policy(KeyId=key)["Policy"] == (
        '{\n  "Version" : "2012-10-17",\n  "Id" : "key-default-1",\n  "Statement" : [ {\n'
        '    "Sid" : "Enable IAM User Permissions",\n    "Effect" : "Allow",\n'
        '    "Principal" : {\n      "AWS" : "arn:aws:iam::111122223333:root"\n    },\n'
        '    "Action" : "kms:*",\n    "Resource" : "*"\n  } ]\n}')


def test_without_the_root_statement_iam_cannot_help(lab_key):
    """Removing the root statement (with the bypass) makes the admin's IAM policy useless."""
    lab, kms, key = lab_key
    kms.put_key_policy(KeyId=key, BypassPolicyLockoutSafetyCheck=True, Policy=doc(
        {"Effect": "Allow", "Principal": {"AWS": lab.principal("alice").arn},
         "Action": "kms:*", "Resource": "*"}))
    with pytest.raises(errors.AccessDeniedException) as info:
        kms.describe_key(KeyId=key)
    assert "because no resource-based policy allows the kms:DescribeKey action" in info.value.message
    assert "IAM policies take effect only when the key policy allows" in info.value.explanation.reason
