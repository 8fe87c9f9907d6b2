"""Properties of decide() that hold for any policy (hypothesis)."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from kmslab.identity import Principal
from kmslab.policy import RequestContext, decide, parse_policy

ACCT = "111122223333"
KEY = f"arn:aws:kms:us-east-1:{ACCT}:key/k1"
ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:ScheduleKeyDeletion",
           "kms:PutKeyPolicy", "kms:CreateGrant", "kms:GenerateDataKey", "kms:Sign"]
PATTERNS = ACTIONS + ["kms:*", "*", "kms:Describe*", "kms:Generate*", "kms:*Key*"]
USERS = [f"arn:aws:iam::{ACCT}:user/{n}" for n in ("alice", "bob")]
PRINCIPALS = USERS + [f"arn:aws:iam::{ACCT}:root", "*"]
alice = Principal(USERS[0], ACCT, "IAMUser", "alice", "AIDAALICE")

conditions = st.one_of(st.none(), st.builds(
    lambda op, v: {op: {"kms:EncryptionContext:Dept": v}},
    st.sampled_from(["StringEquals", "StringNotEquals", "StringLike"]), st.sampled_from(["IT", "I*", "HR"])))

statements = st.builds(
    lambda effect, principal, actions, not_action, cond: {
        k: v for k, v in {"Effect": effect, "Principal": {"AWS": principal},
                          ("NotAction" if not_action else "Action"): actions,
                          "Resource": "*", "Condition": cond}.items() if v is not None},
    st.sampled_from(["Allow", "Deny"]), st.sampled_from(PRINCIPALS),
    st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=3), st.booleans(), conditions)

identity_statements = st.builds(
    lambda effect, actions: {"Effect": effect, "Action": actions, "Resource": "*"},
    st.sampled_from(["Allow", "Deny"]), st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=2))


def key_policy(stmts):
    return parse_policy(json.dumps({"Version": "2012-10-17", "Statement": stmts}))


def identity(stmts):
    return (parse_policy(json.dumps({"Version": "2012-10-17", "Statement": stmts}), kind="identity"),) if stmts else ()


def run(stmts, ident, action, ec):
    ctx = RequestContext(action, alice, KEY, encryption_context=ec)
    return decide(ctx, key_policy=key_policy(stmts), identity_policies=identity(ident))


ECS = st.one_of(st.none(), st.fixed_dictionaries({"Dept": st.sampled_from(["IT", "HR"])}))


@settings(max_examples=60, deadline=None)
@given(st.lists(statements, min_size=0, max_size=5), st.lists(identity_statements, max_size=3),
       st.sampled_from(ACTIONS), ECS)
def test_denying_kms_star_denies_every_action(stmts, ident, action, ec):
    deny = {"Effect": "Deny", "Principal": {"AWS": USERS[0]}, "Action": "kms:*", "Resource": "*"}
    d = run(stmts + [deny], ident, action, ec)
    assert d.outcome == "ExplicitDeny"


@settings(max_examples=80, deadline=None)
@given(st.lists(statements, min_size=1, max_size=5), st.lists(identity_statements, max_size=3),
       st.sampled_from(ACTIONS), ECS, st.data())
def test_removing_an_allow_never_turns_deny_into_allow(stmts, ident, action, ec, data):
    before = run(stmts, ident, action, ec)
    allows = [i for i, s in enumerate(stmts) if s["Effect"] == "Allow"]
    if not allows:
        return
    i = data.draw(st.sampled_from(allows))
    after = run(stmts[:i] + stmts[i + 1:] or [{"Effect": "Deny", "Principal": {"AWS": USERS[1]},
                                               "Action": "kms:Sign", "Resource": "*"}],
                ident, action, ec)
    if not before.allowed:
        assert not after.allowed


@settings(max_examples=80, deadline=None)
@given(st.lists(statements, min_size=1, max_size=5), st.lists(identity_statements, max_size=3),
       st.sampled_from(ACTIONS), ECS, statements)
def test_adding_a_deny_never_turns_deny_into_allow(stmts, ident, action, ec, extra):
    extra = dict(extra, Effect="Deny")
    before = run(stmts, ident, action, ec)
    after = run(stmts + [extra], ident, action, ec)
    if not before.allowed:
        assert not after.allowed
    if after.allowed:
        assert before.allowed
