"""Policy variables as AWS substitutes them, through the real client: both sides of every rule.

Source: IAM User Guide "IAM policy elements: Variables and tags": variables
work in Resource (only in the resource portion of the ARN, after the fifth
colon) and in string and ARN conditions, only in Version 2012-10-17 policies;
``${*}``, ``${?}`` and ``${$}`` stand for a literal ``*``, ``?`` and ``$``.
"""

import json

import pytest

import kmslab
from kmslab import errors
from kmslab.identity import Principal
from kmslab.policy import RequestContext, decide, parse_policy

A = "111122223333"
ROOT = {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "kms:*", "Resource": "*"}


def doc(*statements, version="2012-10-17"):
    return json.dumps({"Version": version, "Statement": list(statements)})


# ------------------------------------------------------------- Resource and NotResource
def own_aliases_policy(alias_resource, version="2012-10-17"):
    """Each user may create aliases named after themselves (IAM policy for CreateAlias)."""
    return doc({"Effect": "Allow", "Action": "kms:CreateAlias",
                "Resource": [f"arn:aws:kms:us-east-1:{A}:key/*", alias_resource]},
               version=version)


@pytest.fixture
def lab():
    lab = kmslab.Lab(seed=27)
    lab.add_user("alice")
    lab.add_user("bob")
    return lab


def aliases(lab):
    return sorted(a["AliasName"] for a in lab.client().list_aliases()["Aliases"]
                  if not a["AliasName"].startswith("alias/aws/"))


def test_username_in_the_resource_portion_of_an_alias_arn(lab):
    key = lab.client().create_key()["KeyMetadata"]["KeyId"]
    policy = own_aliases_policy(f"arn:aws:kms:us-east-1:{A}:alias/${{aws:username}}-*")
    for user in ("alice", "bob"):
        lab.iam.put_policy(lab.iam.user(A, user), "own-aliases", policy)
    lab.client(as_="alice").create_alias(AliasName="alias/alice-app", TargetKeyId=key)
    lab.client(as_="bob").create_alias(AliasName="alias/bob-app", TargetKeyId=key)
    with pytest.raises(errors.AccessDeniedException) as info:
        lab.client(as_="alice").create_alias(AliasName="alias/bob-reports", TargetKeyId=key)
    assert f"on resource: arn:aws:kms:us-east-1:{A}:alias/bob-reports" in info.value.message
    detail = info.value.explanation.text()
    assert (f"alias/${{aws:username}}-* (arn:aws:kms:us-east-1:{A}:alias/alice-* for this request)"
            in detail)
    assert aliases(lab) == ["alias/alice-app", "alias/bob-app"]


@pytest.mark.parametrize("name,resource,version", [
    ("Version 2008-10-17: variables are literal text",
     f"arn:aws:kms:us-east-1:{A}:alias/${{aws:username}}-*", "2008-10-17"),
    ("no variables before the fifth colon",
     "arn:aws:kms:${aws:RequestedRegion}:111122223333:alias/*", "2012-10-17"),
    ("a variable without a value matches nothing",
     f"arn:aws:kms:us-east-1:{A}:alias/${{aws:PrincipalTag/team}}-*", "2012-10-17"),
])
def test_where_variables_are_not_substituted(lab, name, resource, version):
    key = lab.client().create_key()["KeyMetadata"]["KeyId"]
    lab.iam.put_policy(lab.iam.user(A, "alice"), "own-aliases", own_aliases_policy(resource, version))
    with pytest.raises(errors.AccessDeniedException):
        lab.client(as_="alice").create_alias(AliasName="alias/alice-app", TargetKeyId=key)
    assert aliases(lab) == []


def test_default_value_of_a_variable(lab):
    key = lab.client().create_key()["KeyMetadata"]["KeyId"]
    lab.iam.put_policy(lab.iam.user(A, "alice"), "own-aliases", own_aliases_policy(
        f"arn:aws:kms:us-east-1:{A}:alias/${{aws:PrincipalTag/team, 'shared'}}-*"))
    alice = lab.client(as_="alice")
    alice.create_alias(AliasName="alias/shared-app", TargetKeyId=key)
    with pytest.raises(errors.AccessDeniedException):
        alice.create_alias(AliasName="alias/alice-app", TargetKeyId=key)


def spare_tagged_keys():
    """Deny every KMS action except on the key a KeyId tag names (the key itself)."""
    return {"Sid": "OnlySelfTaggedKeys", "Effect": "Deny", "Principal": "*", "Action": "kms:Encrypt",
            "NotResource": f"arn:aws:kms:us-east-1:{A}:key/${{aws:ResourceTag/KeyId}}"}


def test_resource_tag_variable_in_not_resource_spares_the_named_keys(lab):
    kms = lab.client()
    spared, other, untagged = (kms.create_key(Policy=doc(ROOT, spare_tagged_keys()))["KeyMetadata"]
                               for _ in range(3))
    kms.tag_resource(KeyId=spared["KeyId"], Tags=[{"TagKey": "KeyId", "TagValue": spared["KeyId"]}])
    kms.tag_resource(KeyId=other["KeyId"], Tags=[{"TagKey": "KeyId", "TagValue": spared["KeyId"]}])
    assert kms.encrypt(KeyId=spared["KeyId"], Plaintext=b"x")["KeyId"] == spared["Arn"]
    with pytest.raises(errors.AccessDeniedException, match="explicit deny") as info:
        kms.encrypt(KeyId=other["KeyId"], Plaintext=b"x")  # its tag names another key
    assert "does not apply" not in info.value.explanation.text().split("OnlySelfTaggedKeys")[1][:30]
    # a key without the tag: the variable has no value, the statement does not apply
    kms.encrypt(KeyId=untagged["KeyId"], Plaintext=b"x")
    step = lab.explain(None, "kms:Encrypt", untagged["KeyId"]).steps[1]
    assert not step.applies
    explained = lab.explain(None, "kms:Encrypt", spared["KeyId"]).text()
    assert f"is excluded by NotResource arn:aws:kms:us-east-1:{A}:key/${{aws:ResourceTag/KeyId}} " \
           f"({spared['Arn']} for this request)" in explained


def test_request_dependent_resources_are_not_cached(lab):
    """A Resource variable can change the decision between two requests with the same key."""
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]
    lab.iam.put_policy(lab.iam.user(A, "alice"), "by-context", doc({
        "Effect": "Allow", "Action": "kms:Encrypt",
        "Resource": f"arn:aws:kms:us-east-1:{A}:key/${{kms:EncryptionContext:key-id}}"}))
    alice = lab.client(as_="alice")
    alice.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext={"key-id": key["KeyId"]})
    with pytest.raises(errors.AccessDeniedException):
        alice.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext={"key-id": "other"})
    # the default policy with an unconditional IAM policy is still cached
    lab.iam.put_policy(lab.iam.user(A, "bob"), "all", doc({"Effect": "Allow", "Action": "kms:*",
                                                            "Resource": "*"}))
    before = len(lab.authorizer._allowed)
    lab.client(as_="bob").encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert len(lab.authorizer._allowed) == before + 1


# ------------------------------------------------------------- ${*}, ${?}, ${$}
SPECIAL = [
    # (condition value, encryption context value, allowed)
    ("reports/${*}/q1", "reports/*/q1", True),
    ("reports/${*}/q1", "reports/2024/q1", False),
    ("why${?}", "why?", True),
    ("why${?}", "why!", False),
    ("${$}{aws:username}", "${aws:username}", True),
    ("${$}{aws:username}", "$alice", False),
    ("price-${$}*", "price-$12", True),        # a bare * is still a wildcard
    ("price-${$}*", "price-12", False),
    ("${aws:username}-*", "alice-x", True),    # substituted, then * matches
    ("${aws:username}-*", "bob-x", False),
]


@pytest.mark.parametrize("pattern,value,allowed", SPECIAL, ids=[f"{p}|{v}" for p, v, _ in SPECIAL])
def test_special_characters_are_literal_in_string_like(lab, pattern, value, allowed):
    alice = lab.iam.user(A, "alice")
    key = lab.client().create_key(Policy=doc(ROOT, {
        "Effect": "Allow", "Principal": {"AWS": alice.arn}, "Action": "kms:Encrypt",
        "Resource": "*", "Condition": {"StringLike": {"kms:EncryptionContext:path": pattern}}}))
    client = lab.client(as_="alice")
    call = lambda: client.encrypt(KeyId=key["KeyMetadata"]["KeyId"], Plaintext=b"x",  # noqa: E731
                                  EncryptionContext={"path": value})
    if allowed:
        call()
    else:
        with pytest.raises(errors.AccessDeniedException):
            call()


@pytest.mark.parametrize("operator,value,allowed", [
    ("StringEquals", "a*b", True), ("StringEquals", "a${*}b", False),
    ("StringNotEquals", "a*b", False), ("ArnLike", "arn:aws:s3:::a*b", True),
    ("ArnLike", "arn:aws:s3:::axb", False),
])
def test_special_characters_in_equality_and_arn_operators(operator, value, allowed):
    key = "aws:SourceArn" if operator.startswith("Arn") else "kms:EncryptionContext:path"
    pattern = "arn:aws:s3:::a${*}b" if operator.startswith("Arn") else "a${*}b"
    policy = parse_policy(doc({"Effect": "Allow", "Principal": "*", "Action": "kms:Encrypt",
                               "Resource": "*", "Condition": {operator: {key: pattern}}}))
    alice = Principal(f"arn:aws:iam::{A}:user/alice", A, "IAMUser", "alice", "AIDAALICE")
    ctx = RequestContext("kms:Encrypt", alice, f"arn:aws:kms:us-east-1:{A}:key/k",
                         encryption_context={"path": value}, conditions={"aws:SourceArn": value})
    assert decide(ctx, key_policy=policy, identity_policies=()).allowed is allowed


def test_special_characters_in_resource():
    alice = Principal(f"arn:aws:iam::{A}:user/alice", A, "IAMUser", "alice", "AIDAALICE")
    policy = parse_policy(doc({"Effect": "Allow", "Action": "kms:CreateAlias",
                               "Resource": f"arn:aws:kms:us-east-1:{A}:alias/a${{?}}b"}),
                          kind="identity")
    for alias, allowed in (("a?b", True), ("axb", False)):
        ctx = RequestContext("kms:CreateAlias", alice, f"arn:aws:kms:us-east-1:{A}:alias/{alias}")
        assert decide(ctx, key_policy=None, identity_policies=(policy,),
                      key_policy_applies=False).allowed is allowed
    assert not policy.statements[0].depends_on_request  # resolved once, when parsed
