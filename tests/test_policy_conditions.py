"""Condition operators: IAM semantics, checked one operator at a time."""

import json
from datetime import UTC, datetime

import pytest

from kmslab.identity import Principal
from kmslab.policy import RequestContext, decide, parse_policy

ACCT = "111122223333"
KEY = f"arn:aws:kms:us-east-1:{ACCT}:key/k1"
alice = Principal(f"arn:aws:iam::{ACCT}:user/alice", ACCT, "IAMUser", "alice", "AIDAALICE")


def allowed(condition, *, conditions=None, ec=None, action="kms:Encrypt", principal=alice):
    policy = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*",
        "Condition": condition}]}))
    ctx = RequestContext(action, principal, KEY, encryption_context=ec, conditions=conditions)
    return decide(ctx, key_policy=policy, identity_policies=()).allowed


CASES = [
    # (condition, request condition keys, expected)
    ({"StringEquals": {"kms:ViaService": ["a", "b"]}}, {"kms:ViaService": "b"}, True),   # values OR
    ({"StringEquals": {"kms:ViaService": "A"}}, {"kms:ViaService": "a"}, False),
    ({"StringEqualsIgnoreCase": {"kms:ViaService": "A"}}, {"kms:ViaService": "a"}, True),
    ({"StringNotEqualsIgnoreCase": {"kms:ViaService": "A"}}, {"kms:ViaService": "a"}, False),
    ({"StringNotEquals": {"kms:ViaService": "a"}}, {}, True),           # absent: negated is true
    ({"StringEquals": {"kms:ViaService": "a"}}, {}, False),             # absent: positive is false
    ({"StringEqualsIfExists": {"kms:ViaService": "a"}}, {}, True),
    ({"StringEqualsIfExists": {"kms:ViaService": "a"}}, {"kms:ViaService": "b"}, False),
    ({"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}, {"kms:ViaService": "s3.us-east-1.amazonaws.com"}, True),
    ({"StringLike": {"kms:ViaService": "s3.?.x"}}, {"kms:ViaService": "s3.ab.x"}, False),
    ({"StringNotLike": {"kms:ViaService": "ec2.*"}}, {"kms:ViaService": "s3.x"}, True),
    ({"NumericLessThanEquals": {"kms:ScheduleKeyDeletionPendingWindowInDays": "30"}},
     {"kms:ScheduleKeyDeletionPendingWindowInDays": 30}, True),
    ({"NumericGreaterThan": {"kms:RotationPeriodInDays": 365}}, {"kms:RotationPeriodInDays": 180}, False),
    ({"NumericNotEquals": {"kms:RotationPeriodInDays": 365}}, {"kms:RotationPeriodInDays": 180}, True),
    ({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
     {"aws:CurrentTime": datetime(2026, 1, 1, tzinfo=UTC)}, True),
    ({"DateGreaterThan": {"kms:ValidTo": "2030-01-01T00:00:00Z"}}, {"kms:ValidTo": 1893456000 + 1}, True),
    ({"Bool": {"kms:GrantIsForAWSResource": True}}, {"kms:GrantIsForAWSResource": True}, True),
    ({"Bool": {"kms:GrantIsForAWSResource": "true"}}, {"kms:GrantIsForAWSResource": False}, False),
    ({"Bool": {"kms:GrantIsForAWSResource": "true"}}, {}, False),
    ({"Null": {"kms:ViaService": "true"}}, {}, True),
    ({"Null": {"kms:ViaService": "false"}}, {}, False),
    ({"Null": {"kms:ViaService": "false"}}, {"kms:ViaService": "x"}, True),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.9"}, True),
    ({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "198.51.100.1"}, True),
    ({"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}, {"aws:SourceIp": "2001:db8::1"}, True),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::bucket-*"}}, {"aws:SourceArn": "arn:aws:s3:::bucket-1"}, True),
    ({"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::b"}}, {"aws:SourceArn": "arn:aws:s3:::c"}, False),
    ({"ArnNotLike": {"aws:SourceArn": "arn:aws:s3:::*"}}, {"aws:SourceArn": "arn:aws:sns:us-east-1:1:t"}, True),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:*:*:*:*"}}, {"aws:SourceArn": "not-an-arn"}, False),
    ({"BinaryEquals": {"x:blob": "aGVsbG8="}}, {"x:blob": b"hello"}, True),
    # several keys: AND
    ({"StringEquals": {"kms:ViaService": "a", "kms:CallerAccount": ACCT}}, {"kms:ViaService": "a"}, True),
    ({"StringEquals": {"kms:ViaService": "a", "kms:CallerAccount": "999999999999"}}, {"kms:ViaService": "a"}, False),
    # condition key names are case-insensitive
    ({"StringEquals": {"KMS:VIASERVICE": "a"}}, {"kms:ViaService": "a"}, True),
    # set operators on a multi-valued key
    ({"ForAnyValue:StringLike": {"kms:ResourceAliases": "alias/prod-*"}},
     {"kms:ResourceAliases": ["alias/a", "alias/prod-db"]}, True),
    ({"ForAllValues:StringLike": {"kms:ResourceAliases": "alias/prod-*"}},
     {"kms:ResourceAliases": ["alias/a", "alias/prod-db"]}, False),
    ({"ForAllValues:StringLike": {"kms:ResourceAliases": "alias/prod-*"}}, {}, True),
    ({"ForAnyValue:StringLike": {"kms:ResourceAliases": "alias/prod-*"}}, {"kms:ResourceAliases": []}, False),
    ({"ForAnyValue:StringNotEquals": {"aws:TagKeys": "Owner"}}, {"aws:TagKeys": ["Owner", "x"]}, True),
    ({"ForAllValues:StringNotEquals": {"aws:TagKeys": "Owner"}}, {"aws:TagKeys": ["Owner", "x"]}, False),
    # request tags and resource tags
    ({"StringEquals": {"aws:ResourceTag/Project": "Alpha"}}, {"aws:ResourceTag/Project": "Alpha"}, True),
]


@pytest.mark.parametrize("condition,keys,expected", CASES, ids=[json.dumps(c[0]) for c in CASES])
def test_condition_operators(condition, keys, expected):
    assert allowed(condition, conditions=keys) is expected


def test_principal_keys_come_from_the_caller():
    assert allowed({"StringEquals": {"aws:PrincipalArn": alice.arn, "aws:PrincipalType": "User",
                                     "aws:username": "alice", "aws:PrincipalAccount": ACCT,
                                     "kms:CallerAccount": ACCT, "aws:RequestedRegion": "us-east-1"}})
    role = Principal(f"arn:aws:sts::{ACCT}:assumed-role/App/s", ACCT, "AssumedRole", "s",
                     "AROAAPP:s", role_arn=f"arn:aws:iam::{ACCT}:role/App")
    assert allowed({"StringEquals": {"aws:PrincipalArn": f"arn:aws:iam::{ACCT}:role/App"}}, principal=role)
    assert allowed({"Null": {"aws:username": "true"}}, principal=role)


def test_policy_variables_in_condition_values():
    cond = {"StringEquals": {"kms:EncryptionContext:user": "${aws:username}"}}
    assert allowed(cond, ec={"user": "alice"})
    assert not allowed(cond, ec={"user": "bob"})


def test_encryption_context_keys_from_the_encryption_context():
    assert allowed({"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "Dept"}}, ec={"Dept": "x"})
    assert allowed({"Null": {"kms:EncryptionContextKeys": "true"}}, ec={})
    assert not allowed({"Null": {"kms:EncryptionContextKeys": "true"}}, ec={"a": "b"})
