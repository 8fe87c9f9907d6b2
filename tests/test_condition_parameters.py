"""KMS condition keys built from request parameters: a parameter left out is absent, not false.

Source: AWS KMS Developer Guide "AWS KMS condition keys". Its general rule:
a condition on a request parameter "works even when the parameter doesn't
appear in the request, such as when you use the parameter's default value";
its kms:BypassPolicyLockoutSafetyCheck and kms:ExpirationModel sections show
the exceptions with Null examples that allow exactly the requests without the
parameter. The statements below are that page's examples.
"""

import json
import os
from datetime import timedelta

import pytest

import kmslab
from kmslab import errors, operations
from kmslab.byok import wrap_key_material
from kmslab.service.authorization import _condition_values

A = "111122223333"
ROOT = {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "kms:*", "Resource": "*"}


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow_all(*extra):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}, *extra]}


def key_with(lab, *statements, **params):
    """A key whose policy is the root statement plus ``statements`` (the admin creates it)."""
    return lab.client().create_key(Policy=doc(ROOT, *statements), **params)["KeyMetadata"]


@pytest.fixture
def lockout_world():
    lab = kmslab.Lab(seed=26)
    alice = lab.add_user("alice")  # no IAM policy: only the key policy speaks for her
    null_example = {"Sid": "PutKeyPolicy without the bypass parameter", "Effect": "Allow",
                    "Principal": {"AWS": alice.arn}, "Action": "kms:PutKeyPolicy", "Resource": "*",
                    "Condition": {"Null": {"kms:BypassPolicyLockoutSafetyCheck": True}}}
    key = key_with(lab, null_example)
    return lab, key["KeyId"], doc(ROOT, null_example)


def test_null_bypass_example_allows_put_key_policy_without_the_parameter(lockout_world):
    lab, key, policy = lockout_world
    alice = lab.client(as_="alice")
    alice.put_key_policy(KeyId=key, Policy=policy)  # and her next call is not locked out
    assert lab.audit.records()[-1]["eventName"] == "PutKeyPolicy"
    assert "errorCode" not in lab.audit.records()[-1]


@pytest.mark.parametrize("bypass", [False, True])
def test_null_bypass_example_denies_put_key_policy_with_the_parameter(lockout_world, bypass):
    lab, key, policy = lockout_world
    kms = lab.client()
    before = kms.get_key_policy(KeyId=key)["Policy"]
    with pytest.raises(errors.AccessDeniedException, match="kms:PutKeyPolicy"):
        lab.client(as_="alice").put_key_policy(KeyId=key, Policy=policy,
                                                BypassPolicyLockoutSafetyCheck=bypass)
    assert kms.get_key_policy(KeyId=key)["Policy"] == before


@pytest.mark.parametrize("params,denied", [({}, False),
                                           ({"BypassPolicyLockoutSafetyCheck": False}, False),
                                           ({"BypassPolicyLockoutSafetyCheck": True}, True)])
def test_bool_bypass_deny_example(params, denied):
    """The page's IAM example: deny CreateKey and PutKeyPolicy when the bypass is true."""
    lab = kmslab.Lab(seed=26)
    lab.add_user("ops", policy=allow_all({
        "Effect": "Deny", "Action": ["kms:CreateKey", "kms:PutKeyPolicy"], "Resource": "*",
        "Condition": {"Bool": {"kms:BypassPolicyLockoutSafetyCheck": True}}}))
    ops = lab.client(as_="ops")
    key = lab.client().create_key()["KeyMetadata"]["KeyId"]
    policy = doc(ROOT)
    if denied:
        with pytest.raises(errors.AccessDeniedException, match="explicit deny"):
            ops.create_key(**params)
        with pytest.raises(errors.AccessDeniedException, match="explicit deny"):
            ops.put_key_policy(KeyId=key, Policy=policy, **params)
        assert len(lab.client().list_keys()["Keys"]) == 1
    else:
        ops.create_key(**params)
        ops.put_key_policy(KeyId=key, Policy=policy, **params)


def import_params(kms, key):
    p = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                      WrappingKeySpec="RSA_2048")
    return {"KeyId": key, "ImportToken": p["ImportToken"],
            "EncryptedKeyMaterial": wrap_key_material(p["PublicKey"], "RSAES_OAEP_SHA_256",
                                                      os.urandom(32))}


@pytest.mark.parametrize("model,allowed", [(None, True), ("KEY_MATERIAL_EXPIRES", False),
                                           ("KEY_MATERIAL_DOES_NOT_EXPIRE", False)])
def test_null_expiration_model_example(model, allowed):
    """The page's Null example: ImportKeyMaterial only without an ExpirationModel parameter."""
    lab = kmslab.Lab(seed=26)
    alice = lab.add_user("alice")
    key = key_with(lab, {"Effect": "Allow", "Principal": {"AWS": alice.arn},
                         "Action": "kms:ImportKeyMaterial", "Resource": "*",
                         "Condition": {"Null": {"kms:ExpirationModel": True}}},
                   Origin="EXTERNAL")["KeyId"]
    params = import_params(lab.client(), key)
    if model is not None:
        params["ExpirationModel"] = model
    if model != "KEY_MATERIAL_DOES_NOT_EXPIRE":
        params["ValidTo"] = lab.clock.now() + timedelta(days=30)
    alice_kms = lab.client(as_="alice")
    if allowed:
        alice_kms.import_key_material(**params)
        assert lab.client().describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
    else:
        with pytest.raises(errors.AccessDeniedException, match="kms:ImportKeyMaterial"):
            alice_kms.import_key_material(**params)
        assert lab.client().describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingImport"


def test_defaults_count_where_the_page_says_they_do():
    """kms:EncryptionAlgorithm and kms:KeySpec work without the parameter (its default value)."""
    lab = kmslab.Lab(seed=26)
    lab.add_user("alice", policy=allow_all(
        {"Sid": "AllowOnlySymmetricAlgorithm", "Effect": "Deny",
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
         "Resource": f"arn:aws:kms:us-east-1:{A}:key/*",
         "Condition": {"StringNotEquals": {"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}}},
        {"Effect": "Deny", "Action": "kms:CreateKey", "Resource": "*",
         "Condition": {"StringNotEquals": {"kms:KeySpec": "SYMMETRIC_DEFAULT"}}}))
    alice = lab.client(as_="alice")
    symmetric = alice.create_key()["KeyMetadata"]["KeyId"]  # no KeySpec: SYMMETRIC_DEFAULT
    blob = alice.encrypt(KeyId=symmetric, Plaintext=b"x")["CiphertextBlob"]
    alice.decrypt(CiphertextBlob=blob)
    alice.generate_data_key(KeyId=symmetric, KeySpec="AES_256")
    with pytest.raises(errors.AccessDeniedException, match="kms:CreateKey"):
        alice.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")
    rsa = lab.client().create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    with pytest.raises(errors.AccessDeniedException, match="kms:Encrypt"):
        alice.encrypt(KeyId=rsa["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")


#: (operation, condition key): filled in from the parameter's default when the request
#: omits it, because the KMS condition-keys page says the key works with the default
DOCUMENTED_DEFAULTS = {
    ("Encrypt", "kms:EncryptionAlgorithm"), ("Decrypt", "kms:EncryptionAlgorithm"),
    ("ReEncrypt", "kms:EncryptionAlgorithm"),
    ("GenerateDataKey", "kms:EncryptionAlgorithm"),
    ("GenerateDataKeyWithoutPlaintext", "kms:EncryptionAlgorithm"),
    ("GenerateDataKeyPair", "kms:EncryptionAlgorithm"),
    ("GenerateDataKeyPairWithoutPlaintext", "kms:EncryptionAlgorithm"),
    ("Sign", "kms:MessageType"), ("Verify", "kms:MessageType"),
    ("CreateKey", "kms:KeySpec"), ("CreateKey", "kms:KeyUsage"), ("CreateKey", "kms:KeyOrigin"),
    ("CreateKey", "kms:MultiRegion"),
    ("EnableKeyRotation", "kms:RotationPeriodInDays"),
    ("ScheduleKeyDeletion", "kms:ScheduleKeyDeletionPendingWindowInDays"),
    # not a parameter: whether a service calls for the principal
    ("CreateGrant", "kms:GrantIsForAWSResource"), ("ListGrants", "kms:GrantIsForAWSResource"),
    ("RevokeGrant", "kms:GrantIsForAWSResource"),
}


def test_every_request_condition_from_an_omitted_parameter_is_absent_unless_documented():
    for op, spec in operations.specs().items():
        for conditions in [spec.conditions] + [slot.conditions for slot in spec.slots]:
            present = _condition_values(conditions, {}, None, None, None)
            for name in conditions:
                if name.endswith("/*") or name == "kms:RequestAlias":
                    continue  # one key per request tag / the alias named: absent with none
                assert (name in present) == ((op, name) in DOCUMENTED_DEFAULTS), (op, name, present)
