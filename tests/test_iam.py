"""The lab's IAM and STS clients: boto3's response shapes and IAM's error codes."""

import functools
import json
from datetime import datetime

import botocore.session
import pytest

import kmslab
from kmslab import errors

A, B = "111122223333", "444455556666"
LAB_SEED = 21
TRUST_ALICE = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:user/alice"},
    "Action": "sts:AssumeRole"}]}


@functools.cache
def _model(service):
    return botocore.session.get_session().get_service_model(service)


def output_members(service, operation):
    model = _model(service)
    return model.operation_model(operation).output_shape


def assert_shape(response: dict, shape):
    """Every member the response has is in botocore's output shape, with the right type."""
    types = {"string": str, "timestamp": datetime, "integer": int, "boolean": bool,
             "list": list, "structure": dict, "map": dict}
    for name, value in response.items():
        if name == "ResponseMetadata":
            continue
        assert name in shape.members, name
        member = shape.members[name]
        if name in ("AssumeRolePolicyDocument", "PolicyDocument"):
            assert isinstance(value, dict)  # boto3 decodes policy documents to dicts
            continue
        assert isinstance(value, types[member.type_name]), name
        if member.type_name == "structure":
            assert_shape(value, member)
        if member.type_name == "list" and member.member.type_name == "structure":
            for item in value:
                assert_shape(item, member.member)
    for name in getattr(shape, "required_members", ()):
        assert name in response, name


def test_users_shapes_and_errors(lab):
    iam = lab.client("iam")
    out = iam.create_user(UserName="alice")
    assert_shape(out, output_members("iam", "CreateUser"))
    user = out["User"]
    assert user["Arn"] == f"arn:aws:iam::{A}:user/alice"
    assert user["UserId"].startswith("AIDA") and len(user["UserId"]) == 21
    assert user["CreateDate"] == lab.clock.now()
    assert_shape(iam.get_user(UserName="alice"), output_members("iam", "GetUser"))
    listed = iam.list_users()
    assert_shape(listed, output_members("iam", "ListUsers"))
    assert [u["UserName"] for u in listed["Users"]] == ["admin", "alice"]
    with pytest.raises(errors.EntityAlreadyExists) as info:
        iam.create_user(UserName="alice")
    assert info.value.response["Error"]["Code"] == "EntityAlreadyExists"
    assert info.value.message == "User with name alice already exists."
    with pytest.raises(errors.NoSuchEntity, match="The user with name bob cannot be found."):
        iam.get_user(UserName="bob")
    iam.delete_user(UserName="alice")
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_user(UserName="alice")


def test_inline_policies(lab):
    iam = lab.client("iam")
    iam.create_user(UserName="alice")
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"}]}
    iam.put_user_policy(UserName="alice", PolicyName="enc", PolicyDocument=json.dumps(policy))
    got = iam.get_user_policy(UserName="alice", PolicyName="enc")
    assert_shape(got, output_members("iam", "GetUserPolicy"))
    assert got["PolicyDocument"] == policy
    assert iam.list_user_policies(UserName="alice")["PolicyNames"] == ["enc"]
    with pytest.raises(errors.DeleteConflict):
        iam.delete_user(UserName="alice")
    with pytest.raises(errors.MalformedPolicyDocument):
        iam.put_user_policy(UserName="alice", PolicyName="bad", PolicyDocument="{")
    with pytest.raises(errors.MalformedPolicyDocument):  # identity policies name no Principal
        iam.put_user_policy(UserName="alice", PolicyName="bad", PolicyDocument=json.dumps(
            {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}))
    assert iam.list_user_policies(UserName="alice")["PolicyNames"] == ["enc"]
    iam.delete_user_policy(UserName="alice", PolicyName="enc")
    with pytest.raises(errors.NoSuchEntity):
        iam.get_user_policy(UserName="alice", PolicyName="enc")


def test_iam_calls_are_authorized(lab):
    lab.add_user("alice")
    with pytest.raises(errors.AccessDenied) as info:
        lab.client("iam", as_="alice").create_user(UserName="mallory")
    assert info.value.message == (
        f"User: arn:aws:iam::{A}:user/alice is not authorized to perform: iam:CreateUser on "
        f"resource: arn:aws:iam::{A}:user/mallory because no identity-based policy allows the "
        "iam:CreateUser action")
    assert "mallory" not in [u["UserName"] for u in lab.client("iam").list_users()["Users"]]


def test_access_keys(lab):
    iam = lab.client("iam")
    iam.create_user(UserName="alice")
    out = iam.create_access_key(UserName="alice")
    assert_shape(out, output_members("iam", "CreateAccessKey"))
    key = out["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and len(key["AccessKeyId"]) == 20
    assert len(key["SecretAccessKey"]) == 40
    principal, secret = lab.resolve_access_key(key["AccessKeyId"])
    assert principal.arn == f"arn:aws:iam::{A}:user/alice" and secret == key["SecretAccessKey"]
    assert key["SecretAccessKey"] not in repr(lab.iam.access_keys[key["AccessKeyId"]])
    # the seed never makes secrets predictable
    again = kmslab.Lab(seed=LAB_SEED).client("iam")
    again.create_user(UserName="alice")
    assert again.create_access_key(UserName="alice")["AccessKey"]["SecretAccessKey"] != \
        key["SecretAccessKey"]
    listed = iam.list_access_keys(UserName="alice")
    assert_shape(listed, output_members("iam", "ListAccessKeys"))
    assert "SecretAccessKey" not in listed["AccessKeyMetadata"][0]
    iam.create_access_key(UserName="alice")
    with pytest.raises(errors.LimitExceeded):
        iam.create_access_key(UserName="alice")
    iam.delete_access_key(UserName="alice", AccessKeyId=key["AccessKeyId"])
    with pytest.raises(errors.UnrecognizedClientException):
        lab.resolve_access_key(key["AccessKeyId"])


def test_sts_assume_role(lab):
    lab.add_user("alice")
    lab.add_user("bob")
    iam = lab.client("iam")
    role = iam.create_role(RoleName="App", AssumeRolePolicyDocument=json.dumps(TRUST_ALICE))
    assert_shape(role, output_members("iam", "CreateRole"))
    assert role["Role"]["RoleId"].startswith("AROA")
    assert iam.get_role(RoleName="App")["Role"]["AssumeRolePolicyDocument"] == TRUST_ALICE
    sts = lab.client("sts", as_="alice")
    ident = sts.get_caller_identity()
    assert_shape(ident, output_members("sts", "GetCallerIdentity"))
    assert ident["Arn"] == f"arn:aws:iam::{A}:user/alice" and ident["Account"] == A
    out = sts.assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="s1")
    assert_shape(out, output_members("sts", "AssumeRole"))
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{A}:assumed-role/App/s1"
    session = lab.client("sts", as_=creds["AccessKeyId"]).get_caller_identity()
    assert session["Arn"] == f"arn:aws:sts::{A}:assumed-role/App/s1"
    assert session["UserId"] == f"{role['Role']['RoleId']}:s1"
    with pytest.raises(errors.AccessDenied) as info:
        lab.client("sts", as_="bob").assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="s2")
    assert info.value.message == (f"User: arn:aws:iam::{A}:user/bob is not authorized to perform: "
                                  f"sts:AssumeRole on resource: arn:aws:iam::{A}:role/App")
    lab.clock.advance(hours=2)
    with pytest.raises(errors.ExpiredTokenException):
        lab.resolve_access_key(creds["AccessKeyId"])


def test_trust_policy_principals_must_exist(lab):
    with pytest.raises(errors.MalformedPolicyDocument):
        lab.client("iam").create_role(RoleName="X", AssumeRolePolicyDocument=json.dumps(
            {"Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:user/ghost"},
                            "Action": "sts:AssumeRole"}]}))


def test_cross_account_assume_role_needs_both_sides(lab):
    lab.add_account(B)
    erin = lab.add_user("erin", account=B)
    role = lab.add_role("Shared", trusted=[B])
    sts = lab.client("sts", as_=erin)
    with pytest.raises(errors.AccessDenied):
        sts.assume_role(RoleArn=role.arn, RoleSessionName="erin")
    lab.iam.put_policy(erin, "assume", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role.arn}]}))
    assert sts.assume_role(RoleArn=role.arn, RoleSessionName="erin")["AssumedRoleUser"]["Arn"] \
        == f"arn:aws:sts::{A}:assumed-role/Shared/erin"


def test_shortcuts_and_admin(lab):
    alice = lab.add_user("alice", policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:ListKeys", "Resource": "*"}]})
    assert alice.arn == f"arn:aws:iam::{A}:user/alice"
    assert lab.client(as_="alice").caller.arn == alice.arn
    assert lab.client(as_=alice.arn).caller.arn == alice.arn
    role = lab.add_role("Ops", trusted=["alice"])
    assert lab.client(as_="Ops").caller.arn == f"arn:aws:sts::{A}:assumed-role/Ops/kmslab"
    assert lab.client(as_="Ops").caller.role_arn == role.arn
    admin = lab.client("iam").get_user()["User"]
    assert admin["UserName"] == "admin" and admin["Arn"] == lab.admin().arn
    with pytest.raises(errors.NotFoundException):
        lab.client(as_="nobody")


def test_snapshot_keeps_principals_policies_and_grants(lab):
    bob = lab.add_user("bob")
    lab.add_role("App", trusted=["bob"])
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_grant(KeyId=key, GranteePrincipal=bob.arn, Operations=["Encrypt"])
    restored = kmslab.Lab.from_bytes(lab.to_bytes("pw"), "pw")
    restored.client(as_="bob").encrypt(KeyId=key, Plaintext=b"x")
    with pytest.raises(errors.AccessDeniedException):
        restored.client(as_="bob").describe_key(KeyId=key)
    role = restored.client("iam").get_role(RoleName="App")["Role"]
    assert "Resource" not in role["AssumeRolePolicyDocument"]["Statement"][0]
    restored.client("sts", as_="bob").assume_role(RoleArn=role["Arn"], RoleSessionName="s1")


@pytest.mark.parametrize("service", ["iam", "sts"])
def test_exceptions_are_named_as_boto3_names_them(lab, service):
    real = botocore.session.get_session().create_client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    ours = lab.client(service).exceptions
    for code, boto3_class in real.exceptions._code_to_exception.items():
        ours_class = getattr(ours, boto3_class.__name__)
        assert ours_class.code == code and ours.from_code(code) is ours_class
    assert not hasattr(ours, "NoSuchEntity")  # the code, not boto3's class name


def test_a_malformed_iam_policy_is_caught_by_iams_exception_not_kms(lab):
    iam = lab.client("iam")
    iam.create_user(UserName="alice")
    with pytest.raises(iam.exceptions.MalformedPolicyDocumentException) as info:
        iam.put_user_policy(UserName="alice", PolicyName="p", PolicyDocument="not json")
    assert info.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    assert not isinstance(info.value, lab.client().exceptions.MalformedPolicyDocumentException)
