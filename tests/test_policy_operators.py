"""Every IAM condition operator on both sides of its boundary, and its negation, through the lab.

Source: IAM User Guide "IAM JSON policy elements: Condition operators" (string,
numeric, date, Boolean, binary, IP address and ARN operators, ``...IfExists``,
the absent-key rule), "Single-valued vs. multivalued context keys" (``ForAnyValue``,
``ForAllValues``) and "IAM policy elements: Variables and tags" (variables with no
value, default values, Version 2008-10-17). Each case is a key policy statement
that allows alice only under the condition: a case that must not match is a
refusal, and the explanation names the condition and the request's value.
"""

import json
import os
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

import kmslab
from kmslab import errors
from kmslab.identity import aws_service

A = "111122223333"
ROOT = {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "kms:*", "Resource": "*"}
ALICE = f"arn:aws:iam::{A}:user/alice"
T = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)  # the boundary of the Date cases
T_TEXT, T_EPOCH = "2026-03-01T12:00:00Z", 1772366400
SECOND = timedelta(seconds=1)
ABSENT = object()


def doc(*statements, version="2012-10-17"):
    return json.dumps({"Version": version, "Statement": list(statements)})


def under_test(condition, action="kms:Encrypt", principal=ALICE):
    return {"Sid": "UnderTest", "Effect": "Allow", "Principal": {"AWS": principal},
            "Action": action, "Resource": "*", "Condition": condition}


@pytest.fixture(scope="module")
def lab():
    lab = kmslab.Lab(seed=31, start=T)
    lab.add_user("alice")
    lab.add_role("App")
    return lab


def explain(lab, condition, *, action="kms:Encrypt", context=None, conditions=None,
            source_ip=None, who="alice", version="2012-10-17"):
    """lab.explain for alice (or ``who``) on a fresh key whose policy holds ``condition``."""
    key = lab.client().create_key(Policy=doc(ROOT, under_test(condition, action), version=version))
    return lab.explain(who, action, key["KeyMetadata"]["KeyId"], context, conditions=conditions,
                       source_ip=source_ip)


def row(decision):
    return next(r for r in decision.records() if r["sid"] == "UnderTest")


# ------------------------------------------------------------- the operator table
# (condition, request value of the key, expected); the key is in the condition, the value
# goes where the request carries that key (encryption context, parameter, global key)
EC = "kms:EncryptionContext:Dept"
WINDOW = "kms:ScheduleKeyDeletionPendingWindowInDays"
ARN = "aws:SourceArn"
NOW = "aws:CurrentTime"
CASES = [
    # string: exact, case-sensitive; IgnoreCase folds; Like is a whole-value glob
    ({"StringEquals": {EC: "IT"}}, "IT", True),
    ({"StringEquals": {EC: "IT"}}, "it", False),
    ({"StringEquals": {EC: "IT"}}, "IT ", False),
    ({"StringEquals": {EC: ["HR", "IT"]}}, "IT", True),
    ({"StringEquals": {EC: "IT"}}, ABSENT, False),
    ({"StringNotEquals": {EC: "IT"}}, "IT", False),
    ({"StringNotEquals": {EC: "IT"}}, "HR", True),
    ({"StringNotEquals": {EC: "IT"}}, "it", True),          # case-sensitive, as StringEquals
    ({"StringNotEquals": {EC: ["HR", "IT"]}}, "IT", False),
    ({"StringNotEquals": {EC: "IT"}}, ABSENT, True),
    ({"StringEqualsIgnoreCase": {EC: "IT"}}, "it", True),
    ({"StringEqualsIgnoreCase": {EC: "IT"}}, "HR", False),
    ({"StringEqualsIgnoreCase": {EC: "IT"}}, ABSENT, False),
    ({"StringNotEqualsIgnoreCase": {EC: "IT"}}, "it", False),
    ({"StringNotEqualsIgnoreCase": {EC: "IT"}}, "HR", True),
    ({"StringNotEqualsIgnoreCase": {EC: "IT"}}, ABSENT, True),
    ({"StringLike": {EC: "prod-*"}}, "prod-db", True),
    ({"StringLike": {EC: "prod"}}, "prod-db", False),      # the whole value, not a prefix
    ({"StringLike": {EC: "db"}}, "prod-db", False),        # nor a substring
    ({"StringLike": {EC: "*-db"}}, "prod-db", True),
    ({"StringLike": {EC: "Prod-*"}}, "prod-db", False),    # case-sensitive
    ({"StringLike": {EC: "prod-?"}}, "prod-1", True),
    ({"StringLike": {EC: "prod-?"}}, "prod-12", False),    # ? is exactly one character
    ({"StringLike": {EC: "prod-*"}}, "prod-a\nb", True),   # * spans any character
    ({"StringLike": {EC: "prod-*"}}, ABSENT, False),
    ({"StringNotLike": {EC: "prod-*"}}, "prod-db", False),
    ({"StringNotLike": {EC: "prod-*"}}, "dev-db", True),
    ({"StringNotLike": {EC: "prod"}}, "prod-db", True),
    ({"StringNotLike": {EC: "Prod-*"}}, "prod-db", True),
    ({"StringNotLike": {EC: "prod-*"}}, ABSENT, True),
    # numeric: the boundary itself, one below, one above
    ({"NumericEquals": {WINDOW: "14"}}, 14, True),
    ({"NumericEquals": {WINDOW: 14}}, 15, False),
    ({"NumericEquals": {WINDOW: "14"}}, ABSENT, False),
    ({"NumericNotEquals": {WINDOW: "14"}}, 14, False),
    ({"NumericNotEquals": {WINDOW: "14"}}, 15, True),
    ({"NumericNotEquals": {WINDOW: "14"}}, ABSENT, True),
    ({"NumericLessThan": {WINDOW: "14"}}, 13, True),
    ({"NumericLessThan": {WINDOW: "14"}}, 14, False),
    ({"NumericLessThan": {WINDOW: "14"}}, 15, False),
    ({"NumericLessThanEquals": {WINDOW: "14"}}, 14, True),
    ({"NumericLessThanEquals": {WINDOW: "14"}}, 15, False),
    ({"NumericGreaterThan": {WINDOW: "14"}}, 15, True),
    ({"NumericGreaterThan": {WINDOW: "14"}}, 14, False),
    ({"NumericGreaterThan": {WINDOW: "14"}}, 13, False),
    ({"NumericGreaterThanEquals": {WINDOW: "14"}}, 14, True),
    ({"NumericGreaterThanEquals": {WINDOW: "14"}}, 13, False),
    ({"NumericLessThan": {WINDOW: "14.5"}}, 14, True),
    # date: ISO 8601 text or epoch seconds in the policy; the request's time
    ({"DateEquals": {NOW: T_TEXT}}, T, True),
    ({"DateEquals": {NOW: T_TEXT}}, T + SECOND, False),
    ({"DateEquals": {NOW: T_EPOCH}}, T, True),
    ({"DateEquals": {NOW: str(T_EPOCH)}}, T - SECOND, False),
    ({"DateNotEquals": {NOW: T_TEXT}}, T, False),
    ({"DateNotEquals": {NOW: T_TEXT}}, T + SECOND, True),
    ({"DateLessThan": {NOW: T_TEXT}}, T - SECOND, True),
    ({"DateLessThan": {NOW: T_TEXT}}, T, False),
    ({"DateLessThanEquals": {NOW: T_TEXT}}, T, True),
    ({"DateLessThanEquals": {NOW: T_TEXT}}, T + SECOND, False),
    ({"DateGreaterThan": {NOW: T_TEXT}}, T + SECOND, True),
    ({"DateGreaterThan": {NOW: T_TEXT}}, T, False),
    ({"DateGreaterThanEquals": {NOW: T_TEXT}}, T, True),
    ({"DateGreaterThanEquals": {NOW: T_TEXT}}, T - SECOND, False),
    ({"DateLessThan": {NOW: "2026-03-01T13:00:00+01:00"}}, T, False),  # the same instant
    ({"DateGreaterThan": {"aws:EpochTime": T_EPOCH}}, T_EPOCH + 1, True),
    ({"DateGreaterThan": {"aws:EpochTime": T_EPOCH}}, T_EPOCH, False),
    # Boolean and binary
    ({"Bool": {"kms:GrantIsForAWSResource": "true"}}, True, True),
    ({"Bool": {"kms:GrantIsForAWSResource": "true"}}, False, False),
    ({"Bool": {"kms:GrantIsForAWSResource": "false"}}, False, True),
    ({"Bool": {"kms:GrantIsForAWSResource": "false"}}, ABSENT, False),
    ({"BinaryEquals": {"x:blob": "aGVsbG8="}}, b"hello", True),
    ({"BinaryEquals": {"x:blob": "aGVsbG8="}}, b"hellO", False),
    # ARN operators compare each of the six parts; ArnEquals takes wildcards as ArnLike does
    ({"ArnEquals": {ARN: "arn:aws:s3:::reports"}}, "arn:aws:s3:::reports", True),
    ({"ArnEquals": {ARN: "arn:aws:s3:::reports"}}, "arn:aws:s3:::reports-2", False),
    ({"ArnEquals": {ARN: "arn:aws:s3:::reports-*"}}, "arn:aws:s3:::reports-2", True),
    ({"ArnEquals": {ARN: "arn:aws:s3:::reports"}}, ABSENT, False),
    ({"ArnLike": {ARN: f"arn:aws:cloudtrail:*:{A}:trail/*"}},
     f"arn:aws:cloudtrail:us-west-2:{A}:trail/audit", True),
    ({"ArnLike": {ARN: f"arn:aws:cloudtrail:*:{A}:trail/*"}},
     "arn:aws:cloudtrail:us-west-2:444455556666:trail/audit", False),
    ({"ArnLike": {ARN: "arn:aws:s3:::reports-?"}}, "arn:aws:s3:::reports-22", False),
    ({"ArnNotEquals": {ARN: "arn:aws:s3:::reports"}}, "arn:aws:s3:::reports", False),
    ({"ArnNotEquals": {ARN: "arn:aws:s3:::reports"}}, "arn:aws:s3:::other", True),
    ({"ArnNotEquals": {ARN: "arn:aws:s3:::reports-*"}}, "arn:aws:s3:::reports-2", False),
    ({"ArnNotEquals": {ARN: "arn:aws:s3:::reports"}}, ABSENT, True),
    ({"ArnNotLike": {ARN: "arn:aws:s3:::reports-*"}}, "arn:aws:s3:::reports-2", False),
    ({"ArnNotLike": {ARN: "arn:aws:s3:::reports-*"}}, "arn:aws:s3:::other", True),
    ({"ArnNotLike": {ARN: "arn:aws:s3:::reports-*"}}, ABSENT, True),
    # a request value the operator cannot read satisfies no positive operator
    ({"NumericLessThan": {"kms:EncryptionContext:size": "14"}}, "many", False),
    ({"DateLessThan": {"kms:EncryptionContext:until": T_TEXT}}, "soon", False),
    ({"DateLessThan": {"kms:EncryptionContext:until": T_TEXT}}, "2026-02-28T00:00:00Z", True),
    ({"ArnLike": {ARN: "arn:aws:s3:::*"}}, "reports", False),
]


def _ids(case):
    condition, value, _ = case
    (op, body), = condition.items()
    (key, expected), = body.items()
    shown = "absent" if value is ABSENT else value
    return f"{op}:{key}={expected!r}|{shown!r}"


def _shown(value) -> str:
    """A request value as explanations show it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return repr(value)


def _request(key, value):
    """explain() keyword arguments that put ``value`` under ``key`` in the request."""
    if value is ABSENT:
        return {}
    if key.startswith("kms:EncryptionContext:"):
        return {"context": {key.split(":", 2)[2]: value}}
    return {"conditions": {key: value}}


@pytest.mark.parametrize("condition,value,expected", CASES, ids=[_ids(c) for c in CASES])
def test_operator_on_each_side_of_its_boundary(lab, condition, value, expected):
    (op, body), = condition.items()
    (key, _), = body.items()
    d = explain(lab, condition, **_request(key, value))
    assert d.allowed is expected, d.text()
    r = row(d)
    assert r["condition_match"] is expected
    if expected:
        assert r["detail"] == "covers this request (all conditions hold)"
        assert d.reason == "the key policy allows the caller kms:Encrypt directly"
    else:
        have = f"the request has no {key}" if value is ABSENT else f"the request has {key} = {_shown(value)}"
        assert r["detail"] == f"condition {op}: {{\"{key}\": {json.dumps(body[key])}}} is false: {have}"
        assert d.outcome == "ImplicitDeny"


@pytest.mark.parametrize("source_ip,in_range", [("203.0.113.9", True), ("203.0.113.255", True),
                                                ("203.0.114.0", False), ("2001:db8::1", False)])
def test_ip_address_and_its_negation(lab, source_ip, in_range):
    ranges = {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.7"]}
    assert explain(lab, {"IpAddress": ranges}, source_ip=source_ip).allowed is in_range
    assert explain(lab, {"NotIpAddress": ranges}, source_ip=source_ip).allowed is not in_range
    single = {"aws:SourceIp": "198.51.100.7"}  # a bare address is a /32
    assert explain(lab, {"IpAddress": single}, source_ip="198.51.100.7").allowed
    assert not explain(lab, {"IpAddress": single}, source_ip="198.51.100.8").allowed


def test_ip_address_on_an_unreadable_or_absent_address(lab):
    ranges = {"aws:SourceIp": "203.0.113.0/24"}
    assert not explain(lab, {"IpAddress": ranges}, conditions={"aws:SourceIp": "not-an-ip"}).allowed
    assert not explain(lab, {"IpAddress": {"x:ip": "203.0.113.0/24"}}).allowed
    assert explain(lab, {"NotIpAddress": {"x:ip": "203.0.113.0/24"}}).allowed


@pytest.mark.parametrize("condition", [
    {"NumericLessThan": {WINDOW: "2030-01-01T00:00:00Z"}},
    {"NumericEquals": {WINDOW: "seven"}},
    {"DateLessThan": {NOW: "next week"}},
    {"DateEquals": {NOW: "true"}},
    {"IpAddress": {"aws:SourceIp": "203.0.113.0/33"}},
    {"StringEqualsIfExists": {EC: {"nested": "object"}}},
])
def test_a_value_the_operator_cannot_read_is_a_malformed_policy(lab, condition):
    kms = lab.client()
    before = len(kms.list_keys()["Keys"])
    with pytest.raises(errors.MalformedPolicyDocumentException) as info:
        kms.create_key(Policy=doc(ROOT, under_test(condition)))
    (op, body), = condition.items()
    (key, _), = body.items()
    assert key in info.value.message and (op in info.value.message
                                          or "string, number or boolean" in info.value.message)
    assert len(kms.list_keys()["Keys"]) == before


# ------------------------------------------------------------- IfExists
IF_EXISTS = [
    ({"StringEqualsIfExists": {EC: "IT"}}, ABSENT, True),
    ({"StringEqualsIfExists": {EC: "IT"}}, "IT", True),
    ({"StringEqualsIfExists": {EC: "IT"}}, "HR", False),
    ({"StringNotEqualsIfExists": {EC: "IT"}}, ABSENT, True),
    ({"StringNotEqualsIfExists": {EC: "IT"}}, "IT", False),
    ({"StringLikeIfExists": {EC: "prod-*"}}, "dev-1", False),
    ({"NumericLessThanIfExists": {WINDOW: "14"}}, ABSENT, True),
    ({"NumericLessThanIfExists": {WINDOW: "14"}}, 14, False),
    ({"NumericLessThanIfExists": {WINDOW: "14"}}, 13, True),
    ({"DateLessThanIfExists": {"aws:TokenIssueTime": T_TEXT}}, ABSENT, True),
    ({"DateLessThanIfExists": {"aws:TokenIssueTime": T_TEXT}}, T, False),
    ({"ArnLikeIfExists": {ARN: "arn:aws:s3:::reports-*"}}, ABSENT, True),
    ({"ArnLikeIfExists": {ARN: "arn:aws:s3:::reports-*"}}, "arn:aws:s3:::other", False),
    ({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}, ABSENT, True),
    ({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}, False, False),
]


@pytest.mark.parametrize("condition,value,expected", IF_EXISTS, ids=[_ids(c) for c in IF_EXISTS])
def test_if_exists_is_true_on_an_absent_key_and_the_operator_otherwise(lab, condition, value, expected):
    (_, body), = condition.items()
    (key, _), = body.items()
    assert explain(lab, condition, **_request(key, value)).allowed is expected


# ------------------------------------------------------------- set operators
KEYS = "kms:EncryptionContextKeys"
SETS = [
    # (operator, policy values, encryption context keys or None, expected)
    ("ForAnyValue:StringNotEquals", "Dept", None, False),        # absent: ForAnyValue is false,
    ("ForAnyValue:StringNotLike", "Dept*", None, False),         # even for a negated operator
    ("ForAnyValue:StringNotEquals", "Dept", ["Dept"], False),
    ("ForAnyValue:StringNotEquals", "Dept", ["Dept", "Project"], True),
    ("ForAnyValue:StringEquals", "Dept", ["Project"], False),
    ("ForAllValues:StringNotEquals", "Dept", None, True),        # absent: ForAllValues is true
    ("ForAllValues:StringNotEquals", "Dept", ["Project"], True),
    ("ForAllValues:StringNotEquals", "Dept", ["Dept", "Project"], False),
    ("ForAllValues:StringNotLike", "Dept*", ["Project", "Stage"], True),
    ("ForAllValues:StringNotLike", "Dept*", ["Project", "Dept-2"], False),
    ("ForAllValues:StringEquals", ["Dept", "Project"], ["Project"], True),
    ("ForAllValues:StringEquals", ["Dept", "Project"], ["Project", "Stage"], False),
]


@pytest.mark.parametrize("operator,values,keys,expected", SETS,
                         ids=[f"{o}={v}|{k}" for o, v, k, _ in SETS])
def test_set_operators_on_encryption_context_keys(lab, operator, values, keys, expected):
    context = {k: "x" for k in keys} if keys else None
    d = explain(lab, {operator: {KEYS: values}}, context=context)
    assert d.allowed is expected, d.text()


def test_a_key_that_is_absent_fails_every_positive_operator_and_is_named(lab):
    d = explain(lab, {"StringEquals": {EC: "IT"}, "NumericLessThan": {WINDOW: 30}},
                context={"Dept": "IT"})
    assert not d.allowed
    assert row(d)["detail"] == (f'condition NumericLessThan: {{"{WINDOW}": 30}} is false: '
                                f"the request has no {WINDOW}")


# ------------------------------------------------------------- through the client
@pytest.fixture
def world():
    lab = kmslab.Lab(seed=32, start=T - SECOND)
    lab.add_user("alice")
    return lab


def test_string_like_through_encrypt_is_a_whole_value_case_sensitive_match(world):
    key = world.client().create_key(Policy=doc(ROOT, under_test(
        {"StringLike": {"kms:EncryptionContext:Project": "alpha-*"}})))["KeyMetadata"]["KeyId"]
    alice = world.client(as_="alice")
    blob = alice.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"Project": "alpha-1"})
    assert blob["KeyId"].endswith(key)
    for project in ("alpha", "Alpha-1", "beta-alpha-1"):
        with pytest.raises(errors.AccessDeniedException) as info:
            alice.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"Project": project})
        assert info.value.message.endswith("because no identity-based policy allows the kms:Encrypt action")
        assert f"the request has kms:EncryptionContext:Project = {project!r}" in \
            info.value.explanation.text()


@pytest.mark.parametrize("operator,allowed_days", [
    ("NumericLessThan", (7, 13)), ("NumericLessThanEquals", (7, 13, 14)),
    ("NumericGreaterThan", (15, 30)), ("NumericGreaterThanEquals", (14, 15, 30)),
    ("NumericEquals", (14,)), ("NumericNotEquals", (7, 13, 15, 30)),
])
def test_numeric_operators_on_the_deletion_window(world, operator, allowed_days):
    """AWS KMS's kms:ScheduleKeyDeletionPendingWindowInDays example, at 14 days."""
    kms = world.client()
    statement = under_test({operator: {WINDOW: "14"}}, action="kms:ScheduleKeyDeletion")
    for days in (7, 13, 14, 15, 30):
        key = kms.create_key(Policy=doc(ROOT, statement))["KeyMetadata"]["KeyId"]
        call = lambda key=key, days=days: world.client(as_="alice").schedule_key_deletion(  # noqa: E731
            KeyId=key, PendingWindowInDays=days)
        if days in allowed_days:
            assert call()["KeyState"] == "PendingDeletion"
        else:
            with pytest.raises(errors.AccessDeniedException):
                call()
            assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"


@pytest.mark.parametrize("operator,allowed_at", [
    ("DateLessThan", (-1,)), ("DateLessThanEquals", (-1, 0)), ("DateEquals", (0,)),
    ("DateNotEquals", (-1, 1)), ("DateGreaterThanEquals", (0, 1)), ("DateGreaterThan", (1,)),
])
def test_date_operators_on_the_lab_clock(operator, allowed_at):
    """aws:CurrentTime one second before, at and after the policy's instant, moved by the clock."""
    lab = kmslab.Lab(seed=33, start=T - SECOND)
    lab.add_user("alice")
    key = lab.client().create_key(Policy=doc(ROOT, under_test({operator: {NOW: T_TEXT}})))
    key_id = key["KeyMetadata"]["KeyId"]
    for offset in (-1, 0, 1):
        assert lab.clock.now() == T + offset * SECOND
        alice = lab.client(as_="alice")
        if offset in allowed_at:
            alice.encrypt(KeyId=key_id, Plaintext=b"x")
        else:
            with pytest.raises(errors.AccessDeniedException):
                alice.encrypt(KeyId=key_id, Plaintext=b"x")
        lab.clock.advance(seconds=1)


# ------------------------------------------------------------- policy variables
@pytest.mark.parametrize("operator,who,allowed", [
    ("StringEquals", "alice", True), ("StringEquals", "bob", False),
    ("StringNotEquals", "alice", False), ("StringNotEquals", "bob", True),
    ("StringLike", "alice", True), ("StringNotLike", "alice", False),
])
def test_a_variable_takes_the_callers_value(lab, operator, who, allowed):
    d = explain(lab, {operator: {"kms:EncryptionContext:owner": "${aws:username}"}},
                context={"owner": who})
    assert d.allowed is allowed


@pytest.mark.parametrize("operator,allowed", [
    ("StringEquals", False), ("StringLike", False), ("StringEqualsIgnoreCase", False),
    ("StringNotEquals", True), ("StringNotLike", True), ("ArnLike", False), ("ArnNotLike", True),
])
def test_a_variable_without_a_value_matches_nothing(lab, operator, allowed):
    """IAM: operators like StringEquals do not match a variable with no value; inverted
    operators like StringNotEquals do. A role session has no aws:username."""
    key = ARN if operator.startswith("Arn") else "kms:EncryptionContext:owner"
    value = "arn:aws:s3:::${aws:username}" if operator.startswith("Arn") else "${aws:username}"
    request = ({"conditions": {ARN: "arn:aws:s3:::"}} if operator.startswith("Arn")
               else {"context": {"owner": ""}})
    statement_principal = f"arn:aws:iam::{A}:role/App"
    kms = lab.client()
    policy = doc(ROOT, under_test({operator: {key: value}}, principal=statement_principal))
    key_id = kms.create_key(Policy=policy)["KeyMetadata"]["KeyId"]
    d = lab.explain("App", "kms:Encrypt", key_id, request.get("context"),
                    conditions=request.get("conditions"))
    assert d.allowed is allowed, d.text()


def test_a_variables_default_value_stands_in_when_it_has_none(lab):
    statement = under_test({"StringEquals": {"kms:EncryptionContext:owner":
                                             "${aws:username, 'shared'}"}},
                           principal=f"arn:aws:iam::{A}:role/App")
    key = lab.client().create_key(Policy=doc(ROOT, statement))["KeyMetadata"]["KeyId"]
    assert lab.explain("App", "kms:Encrypt", key, {"owner": "shared"}).allowed
    assert not lab.explain("App", "kms:Encrypt", key, {"owner": "${aws:username, 'shared'}"}).allowed
    assert not lab.explain("App", "kms:Encrypt", key, {"owner": "'shared'"}).allowed
    # a user has a username: the default does not apply
    by_user = under_test({"StringEquals": {"kms:EncryptionContext:owner":
                                           "${aws:username, 'shared'}"}})
    key = lab.client().create_key(Policy=doc(ROOT, by_user))["KeyMetadata"]["KeyId"]
    assert lab.explain("alice", "kms:Encrypt", key, {"owner": "alice"}).allowed
    assert not lab.explain("alice", "kms:Encrypt", key, {"owner": "shared"}).allowed


@pytest.mark.parametrize("value,allowed", [("alice", False), ("${aws:username}", True)])
def test_variables_are_literal_text_in_2008_10_17_conditions(lab, value, allowed):
    d = explain(lab, {"StringEquals": {"kms:EncryptionContext:owner": "${aws:username}"}},
                context={"owner": value}, version="2008-10-17")
    assert d.allowed is allowed


@pytest.mark.parametrize("pattern,value,allowed", [
    ("${*}", "*", True), ("${*}", "anything", False), ("a${?}", "a?", True), ("a${?}", "ab", False),
    ("${$}x", "$x", True), ("${$}x", "x", False),
])
def test_special_characters_in_equality_are_literal(lab, pattern, value, allowed):
    d = explain(lab, {"StringEquals": {"kms:EncryptionContext:path": pattern}},
                context={"path": value})
    assert d.allowed is allowed


def test_a_service_principal_statement_is_not_the_services_of_other_names(lab):
    """A key policy statement for one service principal covers that service only."""
    statement = {"Sid": "UnderTest", "Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"},
                 "Action": "kms:Encrypt", "Resource": "*",
                 "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                           f"arn:aws:logs:us-east-1:{A}:log-group:app-*"}}}
    key = lab.client().create_key(Policy=doc(ROOT, statement))["KeyMetadata"]["KeyId"]
    logs, other = aws_service("logs.amazonaws.com", A), aws_service("s3.amazonaws.com", A)
    context = {"aws:logs:arn": f"arn:aws:logs:us-east-1:{A}:log-group:app-1"}
    assert lab.explain(logs, "kms:Encrypt", key, context).allowed
    assert not lab.explain(other, "kms:Encrypt", key, context).allowed
    assert not lab.explain(logs, "kms:Encrypt", key, {
        "aws:logs:arn": f"arn:aws:logs:us-east-1:{A}:log-group:db-1"}).allowed


# ------------------------------------------------------------- how values are read
def test_a_multivalued_key_is_no_value_as_a_variable(lab):
    """IAM: only single-valued keys can be policy variables; kms:EncryptionContextKeys is not."""
    variable = "${kms:EncryptionContextKeys}"
    context = {"first": "first"}
    assert not explain(lab, {"StringEquals": {"kms:EncryptionContext:first": variable}},
                       context=context).allowed
    assert explain(lab, {"StringNotEquals": {"kms:EncryptionContext:first": variable}},
                   context=context).allowed
    with_default = "${kms:EncryptionContextKeys, 'first'}"
    assert explain(lab, {"StringEquals": {"kms:EncryptionContext:first": with_default}},
                   context=context).allowed


@pytest.mark.parametrize("default", ["ops,eu", "X-team", "team-X"])
def test_a_default_value_is_the_text_between_its_quotes(lab, default):
    d = explain(lab, {"StringEquals": {"kms:EncryptionContext:owner": f"${{aws:PrincipalTag/team, '{default}'}}"}},
                context={"owner": default})
    assert d.allowed, d.text()


@pytest.mark.parametrize("condition", [
    {"NumericLessThan": {WINDOW: "${aws:EpochTime}"}},
    {"DateGreaterThan": {NOW: "${aws:TokenIssueTime}"}},
    {"IpAddress": {"aws:SourceIp": "${aws:SourceIp}"}},
])
def test_variables_are_read_only_by_string_and_arn_operators(lab, condition):
    """Elsewhere ``${...}`` is the value as written, which a number, date or address is not."""
    (op, body), = condition.items()
    (key, _), = body.items()
    with pytest.raises(errors.MalformedPolicyDocumentException,
                       match=rf"a value of {key} is not valid for the {op} condition operator"):
        lab.client().create_key(Policy=doc(ROOT, under_test(condition)))


@pytest.fixture(params=["Asia/Tokyo", "America/Los_Angeles"])
def machine_zone(request):
    """The process's local time zone set to somewhere other than UTC, for one test."""
    original = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    yield request.param
    if original is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = original
    time.tzset()


def test_dates_without_a_zone_are_utc_whatever_the_machines_zone(lab, machine_zone):
    assert time.localtime(T.timestamp()).tm_gmtoff != 0
    naive_policy = {"DateEquals": {NOW: "2026-03-01T12:00:00"}}
    assert explain(lab, naive_policy, conditions={NOW: T}).allowed
    naive_request = T.replace(tzinfo=None)
    assert explain(lab, {"DateEquals": {NOW: T_TEXT}}, conditions={NOW: naive_request}).allowed
    tokyo = T.astimezone(timezone(timedelta(hours=9)))  # the same instant, another zone
    assert explain(lab, {"DateEquals": {NOW: T_TEXT}}, conditions={NOW: tokyo}).allowed
    assert not explain(lab, {"DateEquals": {NOW: T_TEXT}},
                       conditions={NOW: tokyo.replace(tzinfo=UTC)}).allowed


@pytest.mark.parametrize("pattern,arn,matches", [
    # each of the six parts on its own: a wildcard does not reach into the next part...
    ("arn:aws:kms:*:key/1", f"arn:aws:kms:us-east-1:{A}:key/1", False),
    ("arn:aws:s3:::*", "arn:aws:sns:us-east-1:1:t", False),
    # ...except in the last one, the resource, which may hold colons
    (f"arn:aws:logs:us-east-1:{A}:*", f"arn:aws:logs:us-east-1:{A}:log-group:app:*", True),
    (f"arn:aws:logs:us-east-1:{A}:log-group:app-*",
     f"arn:aws:logs:us-east-1:{A}:log-group:app-1:log-stream:x", True),
    (f"arn:aws:logs:*:{A}:log-group:app-*", f"arn:aws:logs:eu-west-1:{A}:log-group:db", False),
])
def test_arn_operators_compare_part_by_part(lab, pattern, arn, matches):
    for op in ("ArnLike", "ArnEquals"):
        assert explain(lab, {op: {ARN: pattern}}, conditions={ARN: arn}).allowed is matches
        assert explain(lab, {op.replace("Arn", "ArnNot"): {ARN: pattern}},
                       conditions={ARN: arn}).allowed is not matches


@pytest.mark.parametrize("condition,value,expected", [
    ({"StringEquals": {"aws:MultiFactorAuthPresent": "false"}}, False, True),
    ({"StringEquals": {"aws:MultiFactorAuthPresent": "true"}}, True, True),
    ({"StringEquals": {"aws:MultiFactorAuthPresent": "true"}}, False, False),
    ({"StringEquals": {"aws:MultiFactorAuthPresent": "TRUE"}}, True, False),
    ({"BinaryEquals": {"x:blob": "aGVsbG8="}}, "aGVsbG8=", True),
    ({"BinaryEquals": {"x:blob": "aGVsbG8="}}, "hello", False),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.9/24"}}, "203.0.113.200", True),  # host bits set
    ({"IpAddress": {"aws:SourceIp": "203.0.113.9/24"}}, "203.0.114.1", False),
])
def test_values_of_another_type_are_read_as_the_operator_reads_them(lab, condition, value, expected):
    (_, body), = condition.items()
    (key, _), = body.items()
    assert explain(lab, condition, conditions={key: value}).allowed is expected


@pytest.mark.parametrize("condition,message", [
    ({"StringEquals": "kms:ViaService"}, "condition operator StringEquals must map condition keys to values."),
    ({"StringEquals": {}}, "condition operator StringEquals must map condition keys to values."),
    ({"StringEquals": {"ViaService": "x"}},
     "'ViaService' is not a valid condition key (expected prefix:name, such as kms:ViaService)."),
    ({"StringEquals": {"kms:ViaService": [{"a": 1}]}},
     "condition key kms:ViaService under StringEquals needs a string, number or boolean value, "
     "or a list of them."),
])
def test_a_malformed_condition_block_says_what_is_wrong(lab, condition, message):
    with pytest.raises(errors.MalformedPolicyDocumentException) as info:
        lab.client().create_key(Policy=doc(ROOT, under_test(condition)))
    assert info.value.message == f'Statement 2 (Sid "UnderTest"): {message}'


@pytest.mark.parametrize("owner,path,allowed", [
    ("team-a", "team-a/q1", True), ("team-a", "team-b/q1", False),
    ("a*", "a*/q1", True), ("a*", "abc/q1", False),     # a substituted * is a literal *
    ("a?", "a?/q1", True), ("a?", "ab/q1", False),      # and a substituted ? a literal ?
])
def test_a_substituted_value_is_literal_in_string_like(lab, owner, path, allowed):
    d = explain(lab, {"StringLike": {"kms:EncryptionContext:path": "${kms:EncryptionContext:owner}/*"}},
                context={"owner": owner, "path": path})
    assert d.allowed is allowed


NUMERIC = ["NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
           "NumericGreaterThan", "NumericGreaterThanEquals"]
DATE = ["DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
        "DateGreaterThanEquals"]


@pytest.mark.parametrize("operator", NUMERIC + DATE)
def test_a_number_operator_takes_no_date_and_a_date_operator_no_word(lab, operator):
    value = "1970-01-01T00:00:14Z" if operator in NUMERIC else "fourteen"
    with pytest.raises(errors.MalformedPolicyDocumentException,
                       match=f"is not valid for the {operator} condition operator"):
        lab.client().create_key(Policy=doc(ROOT, under_test({operator: {WINDOW: value}})))


@pytest.mark.parametrize("operator,seconds", [
    ("NumericEquals", 14), ("NumericLessThan", 13), ("NumericLessThanEquals", 14),
    ("NumericGreaterThan", 15), ("NumericGreaterThanEquals", 14)])
def test_a_date_is_not_a_number_in_the_request_either(lab, operator, seconds):
    """Read as epoch seconds the value would satisfy the operator; it is not a number."""
    assert not explain(lab, {operator: {"kms:EncryptionContext:n": "14"}},
                       context={"n": f"1970-01-01T00:00:{seconds:02d}Z"}).allowed
    assert explain(lab, {operator: {"kms:EncryptionContext:n": "14"}},
                   context={"n": str(seconds)}).allowed


def test_a_condition_shows_what_it_tests(lab):
    from kmslab.policy.conditions import compile_conditions
    (single,) = compile_conditions({"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
                                   variables=True, where="Statement 1")
    assert repr(single) == "Condition('StringEquals', 'kms:ViaService', ['s3.us-east-1.amazonaws.com'])"
    assert single.describe() == 'StringEquals: {"kms:ViaService": "s3.us-east-1.amazonaws.com"}'
    (several,) = compile_conditions({"ForAnyValue:StringLike": {"aws:TagKeys": ["a*", "b"]}},
                                    variables=True, where="Statement 1")
    assert several.describe() == 'ForAnyValue:StringLike: {"aws:TagKeys": ["a*", "b"]}'
