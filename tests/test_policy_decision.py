"""decide(): AWS KMS's documented examples as a decision table, plus grants and messages."""

import json
from dataclasses import dataclass

import pytest

from kmslab import errors
from kmslab.identity import Principal, account_root, aws_service
from kmslab.policy import (
    LOCKOUT_MESSAGE,
    RequestContext,
    console_key_policy,
    decide,
    default_key_policy,
    parse_policy,
    would_lock_out,
)

ACCT, OTHER = "111122223333", "444455556666"
KEY = f"arn:aws:kms:us-west-2:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROOT_ARN = f"arn:aws:iam::{ACCT}:root"
ADMIN_ROLE, APP_ROLE = f"arn:aws:iam::{ACCT}:role/KeyAdmin", f"arn:aws:iam::{ACCT}:role/App"

root = account_root(ACCT)
alice = Principal(f"arn:aws:iam::{ACCT}:user/alice", ACCT, "IAMUser", "alice", "AIDAALICE")
admin = Principal(f"arn:aws:sts::{ACCT}:assumed-role/KeyAdmin/s1", ACCT, "AssumedRole", "s1",
                  "AROAADMIN:s1", role_arn=ADMIN_ROLE, session_name="s1")
app = Principal(f"arn:aws:sts::{ACCT}:assumed-role/App/job", ACCT, "AssumedRole", "job",
                "AROAAPP:job", role_arn=APP_ROLE, session_name="job")
ext_user = Principal(f"arn:aws:iam::{OTHER}:user/erin", OTHER, "IAMUser", "erin", "AIDAERIN")
ext_root = account_root(OTHER)


def key_policy(*statements):
    return parse_policy(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))


def iam(*statements, name=""):
    return parse_policy(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
                        kind="identity", name=name)


def allow(principal, actions, sid=None, **extra):
    s = {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": actions, "Resource": "*"}
    s.update(extra)
    return {k: v for k, v in s.items() if v is not None}


ROOT_STMT = allow({"AWS": ROOT_ARN}, "kms:*", "Enable IAM User Permissions")
USE = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]

P = {
    "default": parse_policy(default_key_policy(ACCT)),
    "console": parse_policy(console_key_policy(ACCT, administrators=[ADMIN_ROLE], users=[APP_ROLE])),
    "users-only": key_policy(allow({"AWS": APP_ROLE}, USE, "Allow use of the key")),
    "ec-dept": key_policy(ROOT_STMT, allow({"AWS": APP_ROLE}, "kms:Decrypt", "DeptIT", Condition={
        "StringEquals": {"kms:EncryptionContext:Dept": "IT"}})),
    "eckeys-any": key_policy(allow({"AWS": APP_ROLE}, "kms:Encrypt", "AnyAppName", Condition={
        "ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "AppName"}})),
    "eckeys-all": key_policy(allow({"AWS": APP_ROLE}, "kms:Encrypt", "OnlyDeptProject", Condition={
        "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Dept", "Project"]}})),
    # conditions-kms: "Allow access through EBS for all principals in the account"
    "via-ebs": key_policy(allow({"AWS": "*"}, USE + ["kms:CreateGrant"], "ViaEBS", Condition={
        "StringEquals": {"kms:CallerAccount": ACCT, "kms:ViaService": "ec2.us-west-2.amazonaws.com"}})),
    "cross-account": key_policy(ROOT_STMT, allow({"AWS": f"arn:aws:iam::{OTHER}:root"}, USE,
                                                 "Allow an external account to use this KMS key")),
    "cross-user": key_policy(ROOT_STMT, allow({"AWS": ext_user.arn}, USE, "ErinDirect")),
    "deny-alice": key_policy(ROOT_STMT, allow({"AWS": alice.arn}, "kms:*", "AliceAll"),
                             {"Sid": "NoAlice", "Effect": "Deny", "Principal": {"AWS": alice.arn},
                              "Action": "kms:*", "Resource": "*"}),
    "not-action": key_policy(allow({"AWS": alice.arn}, None, "AllButDeletion",
                                   NotAction=["kms:ScheduleKeyDeletion", "kms:Disable*"])),
    "not-principal": key_policy(ROOT_STMT, {
        "Sid": "OnlyAdminDeletes", "Effect": "Deny",
        "NotPrincipal": {"AWS": [ADMIN_ROLE, admin.arn, ROOT_ARN]},
        "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}),
    "stage-deny": key_policy(allow({"AWS": APP_ROLE}, "kms:GenerateDataKey", "AppGDK"), {
        "Sid": "NoRestricted", "Effect": "Deny", "Principal": {"AWS": APP_ROLE},
        "Action": "kms:GenerateDataKey", "Resource": "*",
        "Condition": {"StringEquals": {"kms:EncryptionContext:Stage": ["Restricted", "Production"]}}}),
    "service": key_policy(ROOT_STMT, allow({"Service": "cloudtrail.amazonaws.com"},
                                           "kms:GenerateDataKey*", "CloudTrail")),
}

IDENTITIES = {
    "none": (),
    "use": (iam({"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"],
                 "Resource": f"arn:aws:kms:*:{ACCT}:key/*"}, name="kms-use"),),
    "all": (iam({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}, name="admin"),),
    "ext-use": (iam({"Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt"],
                     "Resource": KEY}, name="use-partner-key"),),
    "deny-decrypt": (iam({"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
                         {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"},
                         name="no-decrypt"),),
    "other-key": (iam({"Effect": "Allow", "Action": "kms:*",
                       "Resource": f"arn:aws:kms:us-west-2:{ACCT}:key/other"}),),
}

EBS = {"kms:ViaService": "ec2.us-west-2.amazonaws.com"}

# (id, principal, action, policy, identity, encryption context, extra condition keys,
#  expected outcome, decisive source/sid)
TABLE = [
    # default key policy: the root, and IAM users through IAM policies
    ("default-root", root, "kms:Encrypt", "default", "none", None, None, "Allow", "Enable IAM User Permissions"),
    ("default-root-admin-op", root, "kms:ScheduleKeyDeletion", "default", "none", None, None, "Allow", "Enable IAM User Permissions"),
    ("default-user-no-iam", alice, "kms:Encrypt", "default", "none", None, None, "ImplicitDeny", None),
    ("default-user-iam", alice, "kms:Encrypt", "default", "use", None, None, "Allow", "Enable IAM User Permissions"),
    ("default-user-iam-other-action", alice, "kms:ScheduleKeyDeletion", "default", "use", None, None, "ImplicitDeny", None),
    ("default-user-iam-other-key", alice, "kms:Encrypt", "default", "other-key", None, None, "ImplicitDeny", None),
    ("default-role-session-iam", app, "kms:Decrypt", "default", "all", None, None, "Allow", "Enable IAM User Permissions"),
    # console policy: administrators manage, users use
    ("console-admin-manages", admin, "kms:DisableKey", "console", "none", None, None, "Allow", "Allow access for Key Administrators"),
    ("console-admin-cannot-encrypt", admin, "kms:Encrypt", "console", "none", None, None, "ImplicitDeny", None),
    ("console-user-encrypts", app, "kms:Encrypt", "console", "none", None, None, "Allow", "Allow use of the key"),
    ("console-user-cannot-disable", app, "kms:DisableKey", "console", "none", None, None, "ImplicitDeny", None),
    ("console-user-grant-for-aws", app, "kms:CreateGrant", "console", "none", None, {"kms:GrantIsForAWSResource": True}, "Allow", "Allow attachment of persistent resources"),
    ("console-user-grant-not-aws", app, "kms:CreateGrant", "console", "none", None, {"kms:GrantIsForAWSResource": False}, "ImplicitDeny", None),
    # IAM allow without the account statement has no effect
    ("no-root-stmt-iam-allow", alice, "kms:Encrypt", "users-only", "all", None, None, "ImplicitDeny", None),
    ("no-root-stmt-root", root, "kms:PutKeyPolicy", "users-only", "none", None, None, "ImplicitDeny", None),
    ("no-root-stmt-role-direct", app, "kms:Encrypt", "users-only", "none", None, None, "Allow", "Allow use of the key"),
    # encryption context conditions
    ("ec-match", app, "kms:Decrypt", "ec-dept", "none", {"Dept": "IT", "Other": "x"}, None, "Allow", "DeptIT"),
    ("ec-key-case-insensitive", app, "kms:Decrypt", "ec-dept", "none", {"dept": "IT"}, None, "Allow", "DeptIT"),
    ("ec-value-case-sensitive", app, "kms:Decrypt", "ec-dept", "none", {"Dept": "it"}, None, "ImplicitDeny", None),
    ("ec-missing", app, "kms:Decrypt", "ec-dept", "none", None, None, "ImplicitDeny", None),
    ("eckeys-any-yes", app, "kms:Encrypt", "eckeys-any", "none", {"AppName": "x", "B": "y"}, None, "Allow", "AnyAppName"),
    ("eckeys-any-key-case-sensitive", app, "kms:Encrypt", "eckeys-any", "none", {"appname": "x"}, None, "ImplicitDeny", None),
    ("eckeys-any-empty", app, "kms:Encrypt", "eckeys-any", "none", None, None, "ImplicitDeny", None),
    ("eckeys-all-subset", app, "kms:Encrypt", "eckeys-all", "none", {"Dept": "IT"}, None, "Allow", "OnlyDeptProject"),
    ("eckeys-all-extra-key", app, "kms:Encrypt", "eckeys-all", "none", {"Dept": "IT", "Stage": "x"}, None, "ImplicitDeny", None),
    ("eckeys-all-empty-is-true", app, "kms:Encrypt", "eckeys-all", "none", None, None, "Allow", "OnlyDeptProject"),
    ("ec-deny-one-of-values", app, "kms:GenerateDataKey", "stage-deny", "none", {"Stage": "Production"}, None, "ExplicitDeny", "NoRestricted"),
    ("ec-deny-other-value", app, "kms:GenerateDataKey", "stage-deny", "none", {"Stage": "Test"}, None, "Allow", "AppGDK"),
    # kms:ViaService + kms:CallerAccount with Principal "*"
    ("via-ebs-yes", alice, "kms:Decrypt", "via-ebs", "none", None, EBS, "Allow", "ViaEBS"),
    ("via-ebs-direct-call", alice, "kms:Decrypt", "via-ebs", "none", None, None, "ImplicitDeny", None),
    ("via-ebs-other-service", alice, "kms:Decrypt", "via-ebs", "none", None, {"kms:ViaService": "s3.us-west-2.amazonaws.com"}, "ImplicitDeny", None),
    ("via-ebs-other-account", ext_user, "kms:Decrypt", "via-ebs", "all", None, EBS, "ImplicitDeny", None),
    # cross-account: key policy AND the external account's IAM policy
    ("cross-account-with-iam", ext_user, "kms:Decrypt", "cross-account", "ext-use", None, None, "Allow", "Allow an external account to use this KMS key"),
    ("cross-account-without-iam", ext_user, "kms:Decrypt", "cross-account", "none", None, None, "ImplicitDeny", None),
    ("cross-account-iam-beyond-key-policy", ext_user, "kms:ScheduleKeyDeletion", "cross-account", "all", None, None, "ImplicitDeny", None),
    ("cross-account-external-root", ext_root, "kms:Decrypt", "cross-account", "none", None, None, "Allow", "Allow an external account to use this KMS key"),
    ("cross-account-not-named", ext_user, "kms:Decrypt", "default", "all", None, None, "ImplicitDeny", None),
    ("cross-user-named-still-needs-iam", ext_user, "kms:Decrypt", "cross-user", "none", None, None, "ImplicitDeny", None),
    ("cross-user-named-with-iam", ext_user, "kms:Decrypt", "cross-user", "ext-use", None, None, "Allow", "ErinDirect"),
    # explicit deny beats allows
    ("deny-beats-direct-allow", alice, "kms:Encrypt", "deny-alice", "all", None, None, "ExplicitDeny", "NoAlice"),
    ("iam-deny-beats-key-allow", alice, "kms:Decrypt", "deny-alice", "deny-decrypt", None, None, "ExplicitDeny", "NoAlice"),
    ("iam-deny-alone", app, "kms:Decrypt", "console", "deny-decrypt", None, None, "ExplicitDeny", None),
    ("iam-deny-other-action", app, "kms:Encrypt", "console", "deny-decrypt", None, None, "Allow", "Allow use of the key"),
    # NotAction / NotPrincipal
    ("notaction-allows-others", alice, "kms:Encrypt", "not-action", "none", None, None, "Allow", "AllButDeletion"),
    ("notaction-excludes", alice, "kms:ScheduleKeyDeletion", "not-action", "none", None, None, "ImplicitDeny", None),
    ("notaction-wildcard-excludes", alice, "kms:DisableKeyRotation", "not-action", "none", None, None, "ImplicitDeny", None),
    ("notprincipal-denies-others", alice, "kms:ScheduleKeyDeletion", "not-principal", "all", None, None, "ExplicitDeny", "OnlyAdminDeletes"),
    ("notprincipal-exempts-listed", admin, "kms:ScheduleKeyDeletion", "not-principal", "all", None, None, "Allow", "Enable IAM User Permissions"),
    ("notprincipal-exempts-root", root, "kms:ScheduleKeyDeletion", "not-principal", "none", None, None, "Allow", "Enable IAM User Permissions"),
    ("notprincipal-other-action", alice, "kms:Encrypt", "not-principal", "all", None, None, "Allow", "Enable IAM User Permissions"),
    # service principals
    ("service-principal", aws_service("cloudtrail.amazonaws.com", ACCT), "kms:GenerateDataKey", "service", "none", None, None, "Allow", "CloudTrail"),
    ("other-service-principal", aws_service("s3.amazonaws.com", ACCT), "kms:GenerateDataKey", "service", "none", None, None, "ImplicitDeny", None),
]


@pytest.mark.parametrize("row", TABLE, ids=[r[0] for r in TABLE])
def test_decision_table(row):
    _, principal, action, pol, ident, ec, cond, outcome, decisive = row
    ctx = RequestContext(action, principal, KEY, region="us-west-2", encryption_context=ec,
                         conditions=cond)
    d = decide(ctx, key_policy=P[pol], identity_policies=IDENTITIES[ident])
    assert d.outcome == outcome, d.text()
    assert d.allowed == (outcome == "Allow")
    if decisive is not None:
        assert decisive in [getattr(s.statement, "sid", None) for s in d.decided_by], d.text()
    assert len(d.records()) == len(d.steps)
    assert sum(r["decisive"] for r in d.records()) == len(d.decided_by)


# ------------------------------------------------------------------ messages
def msg(principal, action, pol, ident, resource=KEY, **kw):
    return decide(RequestContext(action, principal, resource), key_policy=P[pol],
                  identity_policies=IDENTITIES[ident], **kw)


def test_access_denied_messages_use_awss_wording():
    no_resource_policy = msg(alice, "kms:Encrypt", "users-only", "all").access_denied_message()
    assert no_resource_policy == (
        f"User: {alice.arn} is not authorized to perform: kms:Encrypt on resource: {KEY} "
        "because no resource-based policy allows the kms:Encrypt action")
    no_identity_policy = msg(alice, "kms:Encrypt", "default", "none").access_denied_message()
    assert no_identity_policy.endswith("because no identity-based policy allows the kms:Encrypt action")
    explicit_key = msg(alice, "kms:Encrypt", "deny-alice", "all").access_denied_message()
    assert explicit_key.endswith("on resource: " + KEY + " with an explicit deny in a resource-based policy")
    explicit_iam = msg(app, "kms:Decrypt", "console", "deny-decrypt").access_denied_message()
    assert explicit_iam.endswith("with an explicit deny in an identity-based policy")
    listkeys = msg(alice, "kms:ListKeys", "default", "none", resource="*", key_policy_applies=False)
    assert listkeys.access_denied_message() == (
        f"User: {alice.arn} is not authorized to perform: kms:ListKeys on resource: * "
        "because no identity-based policy allows the kms:ListKeys action")


def test_role_sessions_are_named_by_their_session_arn_in_messages():
    d = msg(app, "kms:ScheduleKeyDeletion", "console", "none")
    assert d.access_denied_message().startswith(f"User: {app.arn} is not authorized")


def test_error_carries_the_explanation():
    d = msg(alice, "kms:Encrypt", "users-only", "none")
    exc = d.error("Encrypt")
    assert isinstance(exc, errors.AccessDeniedException) and exc.explanation is d
    assert exc.response["Error"]["Code"] == "AccessDeniedException"
    assert "Encrypt operation" in str(exc)
    with pytest.raises(ValueError):
        msg(root, "kms:Encrypt", "default", "none").access_denied_message()


def test_explanation_names_the_failed_condition():
    d = decide(RequestContext("kms:Decrypt", app, KEY, encryption_context={"Dept": "HR"}),
               key_policy=P["ec-dept"], identity_policies=())
    row = next(r for r in d.records() if r["sid"] == "DeptIT")
    assert row["condition_match"] is False and row["principal_match"] == "caller"
    assert "kms:EncryptionContext:Dept" in row["detail"] and "'HR'" in row["detail"]
    text = d.text()
    assert "ImplicitDeny" in text and "DeptIT" in text and "does not apply" in text
    assert "<table>" in d._repr_html_()


# ------------------------------------------------------------------ IAM-only actions
@pytest.mark.parametrize("action", ["kms:CreateKey", "kms:ListKeys", "kms:ListAliases",
                                    "kms:GenerateRandom", "kms:CreateCustomKeyStore"])
def test_iam_only_actions_need_only_an_identity_policy(action):
    def run(principal, ident):
        return decide(RequestContext(action, principal, "*", key_account=ACCT),
                      key_policy=None, identity_policies=IDENTITIES[ident], key_policy_applies=False)
    assert run(alice, "all").allowed
    assert not run(alice, "none").allowed
    assert not run(alice, "use").allowed
    assert run(root, "none").allowed  # the root user has its account's IAM permissions


def test_alias_half_of_create_alias_is_iam_only():
    alias_arn = f"arn:aws:kms:us-west-2:{ACCT}:alias/app"
    scoped = (iam({"Effect": "Allow", "Action": "kms:CreateAlias",
                   "Resource": f"arn:aws:kms:us-west-2:{ACCT}:alias/app*"}),)
    ctx = RequestContext("kms:CreateAlias", alice, alias_arn)
    assert decide(ctx, key_policy=None, identity_policies=scoped, key_policy_applies=False).allowed
    other = RequestContext("kms:CreateAlias", alice, f"arn:aws:kms:us-west-2:{ACCT}:alias/prod")
    assert not decide(other, key_policy=None, identity_policies=scoped, key_policy_applies=False).allowed


# ------------------------------------------------------------------ grants
@dataclass
class Grant:
    grant_id: str
    grantee_principal: str
    operations: tuple
    constraints: dict | None = None
    name: str | None = None
    key_arn: str = KEY
    retiring_principal: str | None = None
    issuing_account: str = ROOT_ARN


def grant_decision(principal, action, grants, ec=None, policy="users-only", ident="none", op=None):
    ctx = RequestContext(action, principal, KEY, encryption_context=ec, grant_operation=op)
    return decide(ctx, key_policy=P[policy], identity_policies=IDENTITIES[ident], grants=grants)


def test_grant_allows_its_grantee_its_operations_only():
    g = Grant("g1", alice.arn, ("Decrypt", "Encrypt"))
    d = grant_decision(alice, "kms:Decrypt", [g])
    assert d.allowed and d.decided_by[0].grant is g
    assert d.records()[-1]["source"] == "grant g1" and d.records()[-1]["decisive"]
    assert not grant_decision(alice, "kms:GenerateDataKey", [g]).allowed
    assert not grant_decision(Principal(f"arn:aws:iam::{ACCT}:user/bob", ACCT), "kms:Decrypt", [g]).allowed


def test_grant_to_a_role_covers_its_sessions():
    assert grant_decision(admin, "kms:Decrypt", [Grant("g", ADMIN_ROLE, ("Decrypt",))]).allowed


def test_reencrypt_needs_reencrypt_from_or_to():
    g = Grant("g", alice.arn, ("ReEncryptFrom",))
    assert grant_decision(alice, "kms:ReEncryptFrom", [g], op="ReEncryptFrom").allowed
    assert not grant_decision(alice, "kms:ReEncryptTo", [g], op="ReEncryptTo").allowed


def test_grant_encryption_context_equals_is_exact():
    g = Grant("g", alice.arn, ("Decrypt",), {"EncryptionContextEquals": {"Dept": "IT"}})
    assert grant_decision(alice, "kms:Decrypt", [g], ec={"Dept": "IT"}).allowed
    assert not grant_decision(alice, "kms:Decrypt", [g], ec={"Dept": "IT", "x": "y"}).allowed
    assert not grant_decision(alice, "kms:Decrypt", [g], ec={"Dept": "it"}).allowed
    assert not grant_decision(alice, "kms:Decrypt", [g]).allowed
    # "the key in each key-value pair is not case sensitive, but the value is" (GrantConstraints)
    assert grant_decision(alice, "kms:Decrypt", [g], ec={"dept": "IT"}).allowed


def test_grant_encryption_context_subset():
    g = Grant("g", alice.arn, ("Decrypt", "DescribeKey"), {"EncryptionContextSubset": {"Dept": "IT"}})
    assert grant_decision(alice, "kms:Decrypt", [g], ec={"Dept": "IT", "Project": "A"}).allowed
    denied = grant_decision(alice, "kms:Decrypt", [g], ec={"Project": "A"})
    assert not denied.allowed and "EncryptionContextSubset" in denied.records()[-1]["detail"]
    # constraints do not apply to operations without an encryption context
    assert grant_decision(alice, "kms:DescribeKey", [g]).allowed


def test_explicit_deny_beats_grants():
    g = Grant("g", alice.arn, ("Encrypt",))
    d = grant_decision(alice, "kms:Encrypt", [g], policy="deny-alice")
    assert d.outcome == "ExplicitDeny"
    d = grant_decision(app, "kms:Decrypt", [Grant("g", APP_ROLE, ("Decrypt",))], ident="deny-decrypt")
    assert d.outcome == "ExplicitDeny"


def test_grant_to_an_account_is_delegated_through_iam():
    g = Grant("g", f"arn:aws:iam::{OTHER}:root", ("Decrypt",))
    assert grant_decision(ext_root, "kms:Decrypt", [g]).allowed
    assert not grant_decision(ext_user, "kms:Decrypt", [g]).allowed
    assert grant_decision(ext_user, "kms:Decrypt", [g], ident="ext-use").allowed


# ------------------------------------------------------------------ lockout
def test_lockout_safety_check():
    assert LOCKOUT_MESSAGE == "The new key policy will not allow you to update the key policy in the future."
    users_only = P["users-only"]
    assert would_lock_out(users_only, alice, IDENTITIES["all"], KEY)
    assert would_lock_out(users_only, root, (), KEY)
    assert not would_lock_out(P["default"], alice, IDENTITIES["all"], KEY)
    assert would_lock_out(P["default"], alice, (), KEY)
    assert not would_lock_out(P["console"], admin, (), KEY)  # admins have kms:Put*
    assert would_lock_out(P["console"], app, (), KEY)
