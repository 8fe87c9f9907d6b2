"""The request context AWS always sends, through the real client: both sides of every rule.

Source: IAM User Guide "AWS global condition context keys" (each key's
Availability). Policy statements are that page's own examples where it has them.
"""

import dataclasses
import json
from datetime import timedelta

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import kmslab
from kmslab import errors
from kmslab.interop import boto3_client

A, B = "111122223333", "444455556666"
ROOT = {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "kms:*", "Resource": "*"}
#: AWS's "HTTPS only" statement (the issue's form and the S3 "SSL requests only" form)
HTTPS_ONLY = {op: {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
                   "Action": "kms:*", "Resource": "*",
                   "Condition": {op: {"aws:SecureTransport": "false"}}}
              for op in ("BoolIfExists", "Bool")}


def doc(*statements, version="2012-10-17"):
    return json.dumps({"Version": version, "Statement": list(statements)})


def allow_all(*extra):
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}, *extra]}


def deny_if(condition, action="kms:*"):
    return {"Sid": "Deny", "Effect": "Deny", "Principal": "*", "Action": action,
            "Resource": "*", "Condition": condition}


@pytest.fixture
def world():
    lab = kmslab.Lab(seed=26)
    lab.add_account(B)
    lab.add_user("alice", policy=allow_all())
    lab.add_role("App", policy=allow_all())
    lab.add_user("erin", policy=allow_all(), account=B)
    return lab


def key_with(lab, *statements, **params):
    """A key whose policy is the root statement plus ``statements`` (the admin creates it)."""
    kms = lab.client()
    return kms.create_key(Policy=doc(ROOT, *statements), **params)["KeyMetadata"]


# ------------------------------------------------------------- aws:SecureTransport
@pytest.mark.parametrize("operator", ["BoolIfExists", "Bool"])
def test_https_only_deny_is_accepted_and_denies_nothing(world, operator):
    lab = world
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    policy = doc(ROOT, HTTPS_ONLY[operator])
    kms.put_key_policy(KeyId=key, Policy=policy)  # the lockout check lets it through
    assert kms.get_key_policy(KeyId=key)["Policy"] == policy
    assert kms.create_key(Policy=policy)["KeyMetadata"]["KeyState"] == "Enabled"
    for caller in (None, "alice", "App"):
        client = lab.client(as_=caller)
        blob = client.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
        assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    erin = lab.client(as_="erin", account=B)
    with pytest.raises(errors.AccessDeniedException, match="no resource-based policy"):
        erin.encrypt(KeyId=kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"], Plaintext=b"x")
    step = lab.explain("alice", "kms:Encrypt", key).steps[1]
    assert step.statement.sid == "DenyInsecureTransport" and not step.applies


def test_secure_transport_is_true_not_absent(world):
    """The refusal side: a Deny on aws:SecureTransport = true denies everything, even PutKeyPolicy."""
    lab = world
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    old = kms.get_key_policy(KeyId=key)["Policy"]
    deny_tls = deny_if({"Bool": {"aws:SecureTransport": "true"}})
    with pytest.raises(errors.MalformedPolicyDocumentException, match="update the key policy"):
        kms.put_key_policy(KeyId=key, Policy=doc(ROOT, deny_tls))  # would lock the admin out
    assert kms.get_key_policy(KeyId=key)["Policy"] == old
    kms.put_key_policy(KeyId=key, Policy=doc(ROOT, deny_tls), BypassPolicyLockoutSafetyCheck=True)
    for caller in (None, "alice", "App"):
        with pytest.raises(errors.AccessDeniedException, match="explicit deny"):
            lab.client(as_=caller).encrypt(KeyId=key, Plaintext=b"x")


# ------------------------------------------------------------- aws:ViaAWSService
def s3_for(lab, who):
    s3 = lab.service("s3", as_=who)
    if "reports" not in lab.s3.buckets:
        s3.create_bucket(Bucket="reports")
    return s3


@pytest.mark.parametrize("via_value,direct_allowed", [("false", True), ("true", False)])
def test_via_aws_service_is_false_for_direct_calls_and_true_through_s3(via_value, direct_allowed):
    """IAM's aws:SourceIp/aws:ViaAWSService example, as a key policy on a key alice uses."""
    lab = kmslab.Lab(seed=26)
    alice = lab.add_user("alice")
    key = key_with(lab, {"Sid": "Alice", "Effect": "Allow", "Principal": {"AWS": alice.arn},
                         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                         "Resource": "*",
                         "Condition": {"Bool": {"aws:ViaAWSService": via_value}}})
    direct = lab.client(as_="alice")
    s3 = s3_for(lab, "alice")
    put = lambda: s3.put_object(Bucket="reports", Key="q1", Body=b"x",  # noqa: E731
                                ServerSideEncryption="aws:kms", SSEKMSKeyId=key["KeyId"])
    if direct_allowed:
        direct.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
        with pytest.raises(ClientError) as info:
            put()
        assert info.value.response["Error"]["Code"] == "AccessDenied"
        assert "q1" not in lab.s3.buckets["reports"].objects
    else:
        with pytest.raises(errors.AccessDeniedException):
            direct.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
        put()
        assert s3.get_object(Bucket="reports", Key="q1")["Body"].read() == b"x"


def test_called_via_is_absent_direct_and_through_s3_present_through_dynamodb(world):
    """IAM's KmsActionsIfCalledViaDynamodb example: S3 is not a CalledVia service."""
    lab = world
    key = lab.client().create_key()["KeyMetadata"]
    lab.iam.put_policy(lab.iam.user(A, "alice"), "policy", json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "KmsActionsIfCalledViaDynamodb", "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey",
                       "kms:DescribeKey"],
            "Resource": f"arn:aws:kms:us-east-1:{A}:key/*",
            "Condition": {"ForAnyValue:StringEquals": {"aws:CalledVia": ["dynamodb.amazonaws.com"]}}}]}))
    with pytest.raises(errors.AccessDeniedException):
        lab.client(as_="alice").encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    with pytest.raises(ClientError):
        s3_for(lab, "alice").put_object(Bucket="reports", Key="k", Body=b"x",
                                        ServerSideEncryption="aws:kms", SSEKMSKeyId=key["KeyId"])
    via_dynamodb = lab.explain("alice", "kms:Encrypt", key["KeyId"],
                               via_service="dynamodb.us-east-1.amazonaws.com")
    assert via_dynamodb.allowed
    assert ("aws:CalledVia", "[dynamodb.amazonaws.com]") in via_dynamodb.context()
    via_s3 = dict(lab.explain("alice", "kms:Encrypt", key["KeyId"],
                              via_service="s3.us-east-1.amazonaws.com").context())
    assert via_s3["aws:ViaAWSService"] == "true" and "aws:CalledVia" not in via_s3
    assert via_s3["aws:UserAgent"] == via_s3["aws:SourceIp"] == "s3.amazonaws.com"  # as S3 calls


# ------------------------------------------------------------- always present, or absent
ALWAYS = ["aws:SecureTransport", "aws:ViaAWSService", "aws:CurrentTime", "aws:EpochTime",
          "aws:UserAgent", "aws:ResourceAccount", "aws:RequestedRegion", "aws:SourceIp",
          "aws:PrincipalType", "aws:PrincipalArn", "aws:PrincipalAccount", "aws:userid",
          "aws:PrincipalIsAWSService"]
PRESENCE = ([(key, who, True) for key in ALWAYS for who in ("alice", "App", "root")]
            + [("aws:username", "alice", True), ("aws:username", "App", False),
               ("aws:username", "root", False),
               ("aws:TokenIssueTime", "App", True), ("aws:TokenIssueTime", "alice", False),
               ("aws:MultiFactorAuthPresent", "App", True),
               ("aws:MultiFactorAuthPresent", "alice", False),
               ("aws:MultiFactorAuthAge", "App", False), ("aws:CalledVia", "alice", False),
               ("aws:SourceVpce", "alice", False)])


@pytest.mark.parametrize("condition_key,who,present", PRESENCE,
                         ids=[f"{k}-{w}" for k, w, _ in PRESENCE])
def test_which_keys_every_request_carries(world, condition_key, who, present):
    """A Deny on Null=true applies exactly when the key is absent from the request."""
    lab = world
    key = key_with(lab, deny_if({"Null": {condition_key: "true"}}, action="kms:Encrypt"),
                   BypassPolicyLockoutSafetyCheck=True)
    client = lab.client(as_=who)
    if present:
        client.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    else:
        with pytest.raises(errors.AccessDeniedException, match="explicit deny"):
            client.encrypt(KeyId=key["KeyId"], Plaintext=b"x")


def test_resource_account_is_the_keys_account_principal_account_the_callers(world):
    lab = world
    key = key_with(lab, {"Sid": "B", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
                         "Action": "kms:Encrypt", "Resource": "*"},
                   deny_if({"StringNotEquals": {"aws:ResourceAccount": A}}))
    erin = lab.client(as_="erin", account=B)
    erin.encrypt(KeyId=key["Arn"], Plaintext=b"x")
    other = key_with(lab, {"Sid": "B", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
                           "Action": "kms:Encrypt", "Resource": "*"},
                     deny_if({"StringNotEquals": {"aws:ResourceAccount": B}}),
                     BypassPolicyLockoutSafetyCheck=True)
    with pytest.raises(errors.AccessDeniedException, match="explicit deny"):
        erin.encrypt(KeyId=other["Arn"], Plaintext=b"x")  # the key is A's, not B's
    context = dict(lab.explain(lab.iam.user(B, "erin"), "kms:Encrypt", key["Arn"]).context())
    assert context["aws:ResourceAccount"] == A and context["aws:PrincipalAccount"] == B


def test_user_agent_is_the_clients(world):
    lab = world
    key = key_with(lab, deny_if({"StringNotLike": {"aws:UserAgent": "reporting-app/*"}},
                                action="kms:Encrypt"), BypassPolicyLockoutSafetyCheck=True)
    app = boto3_client(lab, as_="alice", config=Config(user_agent="reporting-app/2.1"))
    assert app.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["KeyId"] == key["Arn"]
    other = boto3_client(lab, as_="alice")
    with pytest.raises(ClientError) as info:
        other.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"
    with pytest.raises(errors.AccessDeniedException):
        lab.client(as_="alice").encrypt(KeyId=key["KeyId"], Plaintext=b"x")  # agent "kmslab"


def test_current_time_and_epoch_time_follow_the_lab_clock(world):
    lab = world
    now = lab.clock.now()
    until = now + timedelta(days=1)
    key = key_with(lab, deny_if({"DateGreaterThan": {"aws:CurrentTime": until.isoformat()}},
                                action="kms:Encrypt"),
                   deny_if({"NumericGreaterThan": {"aws:EpochTime": int(until.timestamp()) + 3600}},
                           action="kms:Decrypt"))
    alice = lab.client(as_="alice")
    blob = alice.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    lab.clock.advance(days=1, minutes=1)
    with pytest.raises(errors.AccessDeniedException, match="kms:Encrypt"):
        alice.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert alice.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    lab.clock.advance(hours=1)
    with pytest.raises(errors.AccessDeniedException) as info:
        alice.decrypt(CiphertextBlob=blob)
    assert "kms:Decrypt" in info.value.explanation.access_denied_message()


def test_explain_shows_the_request_context_it_evaluated(world):
    lab = world
    key = key_with(lab, HTTPS_ONLY["BoolIfExists"])
    decision = lab.explain("App", "kms:Encrypt", key["KeyId"], {"dept": "it"})
    context = dict(decision.context())
    for name in ALWAYS + ["aws:TokenIssueTime", "aws:MultiFactorAuthPresent",
                          "kms:EncryptionContext:dept", "kms:CallerAccount", "kms:KeySpec"]:
        assert name in context, name
    assert context["aws:SecureTransport"] == "true" and context["aws:ViaAWSService"] == "false"
    assert context["aws:PrincipalType"] == "AssumedRole" and context["aws:UserAgent"] == "kmslab"
    assert "aws:username" not in context
    text = decision.text()
    assert text.split("Request context:\n", 1)[1].splitlines()[0].startswith("  aws:CurrentTime = ")
    assert "  aws:SecureTransport = true" in text
    assert ('condition BoolIfExists: {"aws:SecureTransport": "false"} is false: the request has '
            "aws:SecureTransport = true") in text
    assert "Request context (" in decision._repr_html_()
    # a denial carries the same context in its explanation
    with pytest.raises(errors.AccessDeniedException) as info:
        lab.client(as_="erin", account=B).encrypt(KeyId=key["Arn"], Plaintext=b"x")
    assert dict(info.value.explanation.context())["aws:PrincipalAccount"] == B


# ------------------------------------------------------------- temporary credentials
def test_role_sessions_carry_token_issue_time_and_mfa_present_users_do_not(world):
    """AWS's "revoke older sessions" deny, and the MFA-present patterns from the global-keys page."""
    lab = world
    lab.add_user("bob", policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]})
    lab.add_role("Reader", trusted=["bob"], policy=allow_all())
    sts = lab.client("sts", as_="bob")
    role_arn = lab.iam.role(A, "Reader").arn
    old = sts.assume_role(RoleArn=role_arn, RoleSessionName="old")["Credentials"]
    lab.clock.advance(minutes=20)
    cutoff = lab.clock.now()
    lab.clock.advance(minutes=1)
    issued = lab.clock.now()
    new = sts.assume_role(RoleArn=role_arn, RoleSessionName="new")["Credentials"]
    key = key_with(lab, deny_if({"DateLessThan": {"aws:TokenIssueTime": cutoff.isoformat()}}),
                   BypassPolicyLockoutSafetyCheck=True)
    with pytest.raises(errors.AccessDeniedException, match="explicit deny"):
        lab.client(as_=old["AccessKeyId"]).encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    lab.client(as_=new["AccessKeyId"]).encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    lab.client(as_="alice").encrypt(KeyId=key["KeyId"], Plaintext=b"x")  # no token: no deny
    session = dict(lab.explain(new["AccessKeyId"], "kms:Encrypt", key["KeyId"]).context())
    assert session["aws:TokenIssueTime"] == issued.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert session["aws:MultiFactorAuthPresent"] == "false"


MFA_CASES = [
    # (condition on a Deny, role session denied, IAM user with access keys denied)
    ({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}, True, True),   # recommended
    ({"Bool": {"aws:MultiFactorAuthPresent": "false"}}, True, False),          # "not recommended"
    ({"Null": {"aws:MultiFactorAuthPresent": "true"}}, False, True),
]


@pytest.mark.parametrize("condition,session_denied,user_denied", MFA_CASES,
                         ids=[json.dumps(c[0]) for c in MFA_CASES])
def test_mfa_present_patterns_from_the_global_keys_page(world, condition, session_denied,
                                                        user_denied):
    lab = world
    key = key_with(lab, deny_if(condition, action="kms:Encrypt"), BypassPolicyLockoutSafetyCheck=True)
    for who, denied in (("App", session_denied), ("alice", user_denied)):
        client = lab.client(as_=who)
        if denied:
            with pytest.raises(errors.AccessDeniedException, match="explicit deny"):
                client.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
        else:
            client.encrypt(KeyId=key["KeyId"], Plaintext=b"x")


def test_mfa_session_carries_mfa_age(world):
    lab = world
    plain = lab.principal("App")
    with_mfa = dataclasses.replace(plain, mfa_authenticated_at=lab.clock.now())
    key = key_with(lab, deny_if({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
                                action="kms:Encrypt"),
                   deny_if({"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}},
                           action="kms:Encrypt"), BypassPolicyLockoutSafetyCheck=True)
    mfa_client = lab.client(as_=with_mfa)
    mfa_client.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    with pytest.raises(errors.AccessDeniedException):
        lab.client(as_=plain).encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    lab.clock.advance(hours=1, seconds=1)
    with pytest.raises(errors.AccessDeniedException, match="explicit deny"):
        mfa_client.encrypt(KeyId=key["KeyId"], Plaintext=b"x")  # the MFA is over an hour old
    assert dict(lab.explain(with_mfa, "kms:Encrypt", key["KeyId"]).context())[
        "aws:MultiFactorAuthAge"] == "3601"
    assert with_mfa.user_identity()["sessionContext"]["attributes"]["mfaAuthenticated"] == "true"
    assert plain.user_identity()["sessionContext"]["attributes"]["mfaAuthenticated"] == "false"


def test_a_service_calls_for_an_iam_user_with_temporary_credentials():
    """Global-keys page: through a service, an IAM user's request has MultiFactorAuthPresent=false."""
    lab = kmslab.Lab(seed=26)
    alice = lab.add_user("alice")
    key = key_with(lab, {"Sid": "Alice", "Effect": "Allow", "Principal": {"AWS": alice.arn},
                         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                         "Resource": "*"},
                   deny_if({"Bool": {"aws:MultiFactorAuthPresent": "false"}}),
                   BypassPolicyLockoutSafetyCheck=True)
    lab.client(as_="alice").encrypt(KeyId=key["KeyId"], Plaintext=b"direct: key absent")
    with pytest.raises(ClientError):
        s3_for(lab, "alice").put_object(Bucket="reports", Key="k", Body=b"x",
                                        ServerSideEncryption="aws:kms", SSEKMSKeyId=key["KeyId"])
