"""What a decision says, through the lab: the verdict, why, every statement and grant it weighed.

Each branch of AWS KMS's authorization (AWS KMS Developer Guide "Determining
access to an AWS KMS key": explicit deny, key policy, IAM policies with the
account's key policy statement, cross-account access, grants, IAM-only
permissions) has its own reason; a learner reads it in ``lab.explain`` and in
the explanation an AccessDeniedException carries. Grants with a SourceArn
constraint for a service principal, and encryption context constraints on the
operations that take one, are decided here too.
"""

import json
from dataclasses import dataclass

import pytest

import kmslab
from kmslab import errors
from kmslab.identity import Principal, aws_service
from kmslab.policy import RequestContext, decide, parse_policy, would_lock_out

A, B = "111122223333", "444455556666"
ALICE = f"arn:aws:iam::{A}:user/alice"
ROOT = {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "kms:*", "Resource": "*"}
ROOT_APPLIES = ("names the caller's account 111122223333: IAM policies in that account can "
                "allow the request")


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def iam(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


@pytest.fixture(scope="module")
def world():
    """Users with and without IAM policies in two accounts, and one key per kind of key policy."""
    lab = kmslab.Lab(seed=41)
    lab.add_account(B)
    lab.add_user("alice")
    lab.add_user("bob", policy=iam({"Sid": "UseKeys", "Effect": "Allow", "Resource": "*",
                                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:CreateKey"]}))
    lab.add_user("carol", policy=iam({"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
                                     {"Sid": "NoDecrypt", "Effect": "Deny", "Action": "kms:Decrypt",
                                      "Resource": "*"}))
    lab.add_user("erin", account=B, policy=iam({"Effect": "Allow", "Action": "kms:Decrypt",
                                                "Resource": f"arn:aws:kms:us-east-1:{A}:key/*"}))
    lab.add_user("frank", account=B)
    lab.add_role("App", policy=iam({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}))
    kms = lab.client()
    keys = {
        "default": kms.create_key(),
        "deny": kms.create_key(Policy=doc(ROOT, {
            "Sid": "NoAliceEncrypt", "Effect": "Deny", "Principal": {"AWS": ALICE},
            "Action": "kms:Encrypt", "Resource": "*"})),
        "direct": kms.create_key(Policy=doc(ROOT, {
            "Sid": "AliceEncrypt", "Effect": "Allow", "Principal": {"AWS": ALICE},
            "Action": "kms:Encrypt", "Resource": "*"}, {
            "Sid": "AliceUse", "Effect": "Allow", "Principal": {"AWS": ALICE},
            "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"})),
        "cross": kms.create_key(Policy=doc(ROOT, {
            "Sid": "PartnerDecrypt", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
            "Action": "kms:Decrypt", "Resource": "*"})),
        "app-only": kms.create_key(Policy=doc({
            "Sid": "AppOnly", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:role/App"},
            "Action": "kms:*", "Resource": "*"}), BypassPolicyLockoutSafetyCheck=True),
    }
    lab.keys_by_name = {name: k["KeyMetadata"]["Arn"] for name, k in keys.items()}
    app = lab.client(as_="App")
    lab.grant_ids = {
        "alice-reads": app.create_grant(KeyId=lab.keys_by_name["app-only"], GranteePrincipal=ALICE,
                                        Operations=["Decrypt"], Name="alice-reads")["GrantId"],
        "partner": app.create_grant(KeyId=lab.keys_by_name["app-only"], Operations=["Decrypt"],
                                    GranteePrincipal=f"arn:aws:iam::{B}:root")["GrantId"],
    }
    return lab


def explain(lab, who, action, key=None, context=None, **kw):
    account = B if who in ("erin", "frank") else None
    return lab.explain(lab.principal(who, account), action,
                       lab.keys_by_name[key] if key else None, context, **kw)


# ------------------------------------------------------------- one reason per branch
REASONS = [
    ("alice", "kms:Encrypt", "deny", "ExplicitDeny", "resource-based",
     "an explicit Deny in the key policy applies; a Deny overrides every Allow and every grant"),
    ("carol", "kms:Decrypt", "default", "ExplicitDeny", "identity-based",
     "an explicit Deny in an IAM policy of the caller applies; a Deny overrides every Allow and "
     "every grant"),
    ("bob", "kms:CreateKey", None, "Allow", None,
     "an IAM policy of the caller allows kms:CreateKey (an IAM-only permission: no key policy is "
     "involved)"),
    ("root", "kms:CreateKey", None, "Allow", None,
     "the account's root user has every IAM permission in its own account (and kms:CreateKey is an "
     "IAM-only permission)"),
    ("alice", "kms:CreateKey", None, "ImplicitDeny", "identity-based",
     "kms:CreateKey is an IAM-only permission and no IAM policy of the caller allows it"),
    ("alice", "kms:Encrypt", "direct", "Allow", None,
     "the key policy allows the caller kms:Encrypt directly"),
    ("bob", "kms:Encrypt", "default", "Allow", None,
     "the key policy allows the caller's account, and an IAM policy of the caller allows "
     "kms:Encrypt on this key"),
    ("erin", "kms:Decrypt", "cross", "Allow", None,
     f"cross-account: the key policy of account {A} allows the caller (or its account {B}), and "
     "the caller's own IAM policy allows kms:Decrypt"),
    ("frank", "kms:Decrypt", "cross", "ImplicitDeny", "identity-based",
     f"cross-account: the key policy allows the caller's account, but no IAM policy in account {B} "
     "allows kms:Decrypt on this key"),
    ("alice", "kms:Decrypt", "default", "ImplicitDeny", "identity-based",
     "the key policy allows the caller's account, so IAM policies could allow the request, but no "
     "IAM policy of the caller allows kms:Decrypt on this key"),
    ("bob", "kms:Encrypt", "app-only", "ImplicitDeny", "resource-based",
     "an IAM policy of the caller allows the request, but IAM policies take effect only when the "
     f"key policy allows the caller's account (arn:aws:iam::{A}:root), and it does not"),
    ("alice", "kms:Encrypt", "app-only", "ImplicitDeny", "resource-based",
     "no statement of the key policy allows kms:Encrypt for the caller, and no grant does either"),
    ("alice", "kms:Decrypt", "deny", "ImplicitDeny", "identity-based",
     "the key policy allows the caller's account, so IAM policies could allow the request, but no "
     "IAM policy of the caller allows kms:Decrypt on this key"),
]


@pytest.mark.parametrize("who,action,key,outcome,policy_type,reason", REASONS,
                         ids=[f"{r[0]}-{r[1]}-{r[2]}" for r in REASONS])
def test_each_branch_gives_its_reason(world, who, action, key, outcome, policy_type, reason):
    d = explain(world, who, action, key)
    assert (d.outcome, d.policy_type, d.reason) == (outcome, policy_type, reason)
    assert d.allowed is (outcome == "Allow") and bool(d) is d.allowed
    assert f"Decision: {outcome}\nWhy: {reason}\n" in d.text()
    if outcome != "Allow":
        assert f"AWS says: {d.access_denied_message()}\n" in d.text()
    else:
        assert "AWS says" not in d.text()


def test_no_grant_is_named_when_the_key_has_none(world):
    kms = world.client()
    key = kms.create_key(Policy=doc({"Sid": "AppOnly", "Effect": "Allow", "Resource": "*",
                                     "Principal": {"AWS": f"arn:aws:iam::{A}:role/App"},
                                     "Action": "kms:*"}),
                         BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["Arn"]
    d = world.explain("alice", "kms:Encrypt", key)
    assert d.reason == "no statement of the key policy allows kms:Encrypt for the caller"


# ------------------------------------------------------------- the whole text
def test_text_of_an_allow_through_the_account_and_an_iam_policy(world):
    key = world.keys_by_name["default"]
    d = explain(world, "bob", "kms:Encrypt", "default")
    head, context = d.text().split("Request context:\n")
    assert head == (
        f"kms:Encrypt by arn:aws:iam::{A}:user/bob\n"
        f"  on {key}\n"
        "Decision: Allow\n"
        "Why: the key policy allows the caller's account, and an IAM policy of the caller allows "
        "kms:Encrypt on this key\n"
        "Considered:\n"
        f' => key policy, Sid "Enable IAM User Permissions" [Allow]: applies: {ROOT_APPLIES}\n'
        f' => IAM policy policy of arn:aws:iam::{A}:user/bob, Sid "UseKeys" [Allow]: applies: '
        "covers this request\n")
    assert context.splitlines() == [f"  {k} = {v}" for k, v in d.context()]
    assert [s.statement.sid for s in d.decided_by] == ["Enable IAM User Permissions", "UseKeys"]


def test_text_of_a_cross_account_denial_with_grants(world):
    key, ids = world.keys_by_name["app-only"], world.grant_ids
    d = explain(world, "frank", "kms:Decrypt", "app-only")
    head = d.text().split("Request context:\n")[0]
    assert head == (
        f"kms:Decrypt by arn:aws:iam::{B}:user/frank\n"
        f"  on {key} (cross-account)\n"
        "Decision: ImplicitDeny\n"
        "Why: no statement of the key policy allows kms:Decrypt for the caller, and no grant does "
        "either\n"
        f"AWS says: User: arn:aws:iam::{B}:user/frank is not authorized to perform: kms:Decrypt on "
        f"resource: {key} because no resource-based policy allows the kms:Decrypt action\n"
        "Considered:\n"
        f'    key policy, Sid "AppOnly" [Allow]: does not apply: principal arn:aws:iam::{A}:role/App '
        f"does not cover arn:aws:iam::{B}:user/frank\n"
        f'    grant {ids["alice-reads"]} ("alice-reads") [Allow]: does not apply: grantee {ALICE} '
        "is not the caller\n"
        f'    grant {ids["partner"]} [Allow]: does not apply: grantee is the account {B}, and no '
        "IAM policy of the caller allows kms:Decrypt\n")
    # the account's grant does not reach a principal its IAM policies do not speak for
    assert [r["principal_match"] for r in d.records()] == ["no", "no", "no"]


def test_text_of_an_allow_by_grant(world):
    key, ids = world.keys_by_name["app-only"], world.grant_ids
    d = explain(world, "alice", "kms:Decrypt", "app-only")
    assert d.reason == f"grant {ids['alice-reads']} gives the caller Decrypt on this key"
    assert d.text().split("Considered:\n")[1].split("Request context:")[0] == (
        f'    key policy, Sid "AppOnly" [Allow]: does not apply: principal arn:aws:iam::{A}:role/App '
        f"does not cover {ALICE}\n"
        f' => grant {ids["alice-reads"]} ("alice-reads") [Allow]: applies: grants this operation\n')
    assert f"  on {key}\n" in d.text()


def test_only_the_first_of_several_allowing_statements_decides(world):
    d = explain(world, "alice", "kms:Encrypt", "direct")
    assert [s.statement.sid for s in d.decided_by] == ["AliceEncrypt"]
    marks = [line[:3] for line in d.text().split("Considered:\n")[1].splitlines()[:3]]
    assert marks == ["   ", " =>", "   "]
    assert [r["decisive"] for r in d.records()] == [False, True, False]


def test_the_deny_that_applies_decides(world):
    d = explain(world, "carol", "kms:Decrypt", "default")
    assert [s.statement.sid for s in d.decided_by] == ["NoDecrypt"]
    assert [(r["source"], r["effect"], r["principal_match"], r["decisive"]) for r in d.records()] == [
        ("key policy", "Allow", "caller's account", False),
        (f"IAM policy policy of arn:aws:iam::{A}:user/carol", "Allow", "n/a", False),
        (f"IAM policy policy of arn:aws:iam::{A}:user/carol", "Deny", "n/a", True)]


# ------------------------------------------------------------- rows, HTML, context
def test_records_of_grants(world):
    ids = world.grant_ids
    rows = explain(world, "erin", "kms:Decrypt", "app-only").records()
    assert rows[0]["principal_match"] == "no" and rows[0]["sid"] == "AppOnly"
    assert rows[1]["source"] == f"IAM policy policy of arn:aws:iam::{B}:user/erin"
    assert rows[2:] == [
        {"source": f"grant {ids['alice-reads']}", "sid": "alice-reads", "effect": "Allow",
         "principal_match": "no", "action_match": True, "resource_match": True,
         "condition_match": None, "detail": f"grantee {ALICE} is not the caller", "decisive": False},
        {"source": f"grant {ids['partner']}", "sid": None, "effect": "Allow",
         "principal_match": "caller's account", "action_match": True, "resource_match": True,
         "condition_match": True, "detail": "grants this operation", "decisive": True}]
    alice = explain(world, "alice", "kms:Encrypt", "app-only").records()
    assert alice[1]["principal_match"] == "caller" and alice[1]["action_match"] is False
    assert alice[1]["detail"] == "Encrypt is not among the grant operations ['Decrypt']"


def test_html_marks_the_verdict_and_the_deciding_rows(world):
    allowed = explain(world, "alice", "kms:Encrypt", "direct")._repr_html_()
    assert allowed.startswith("<p><b style='color:#1a7f37'>Allow</b> <code>kms:Encrypt</code> by "
                              f"<code>{ALICE}</code><br>the key policy allows the caller kms:Encrypt "
                              "directly</p><table><tr><th>source</th><th>sid</th><th>effect</th>")
    assert allowed.count("<tr style='font-weight:bold'><td>key policy</td><td>AliceEncrypt</td>") == 1
    assert allowed.count("<tr><td>key policy</td>") == 2
    assert "</tr></table><details><summary>Request context (" in allowed
    denied = explain(world, "alice", "kms:Encrypt", "deny")._repr_html_()
    assert denied.startswith("<p><b style='color:#cf222e'>ExplicitDeny</b>")
    assert "<td>Deny</td><td>caller</td><td>True</td><td>True</td><td>True</td><td>covers this request</td>" in denied
    pairs = explain(world, "alice", "kms:Encrypt", "deny").context()
    assert f"<summary>Request context ({len(pairs)} keys)</summary><table><tr><td><code>" in denied
    assert "<tr><td><code>aws:username</code></td><td>alice</td></tr>" in denied


def test_context_is_sorted_by_name_whatever_the_case(world):
    d = explain(world, "alice", "kms:Encrypt", "direct", {"b": "2", "A": "1"})
    names = [name for name, _ in d.context()]
    assert names == sorted(names, key=str.lower) and names != sorted(names)
    values = dict(d.context())
    assert values["kms:EncryptionContextKeys"] == "[b, A]"
    assert values["aws:SecureTransport"] == "true" and values["aws:ViaAWSService"] == "false"
    assert values["aws:CurrentTime"] == world.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------- grants: service principals
@pytest.fixture
def service_grant():
    lab = kmslab.Lab(seed=42)
    kms = lab.client()
    key = kms.create_key(Policy=doc(ROOT))["KeyMetadata"]["Arn"]
    trail = f"arn:aws:cloudtrail:us-east-1:{A}:trail/audit"
    grant = kms.create_grant(KeyId=key, GranteeServicePrincipal="cloudtrail.amazonaws.com",
                             RetiringPrincipal=f"arn:aws:iam::{A}:root",
                             Operations=["GenerateDataKey", "DescribeKey"],
                             Constraints={"SourceArn": trail})["GrantId"]
    return lab, key, trail, grant


def test_a_service_grant_holds_for_its_source_arn_only(service_grant):
    lab, key, trail, grant = service_grant
    cloudtrail = aws_service("cloudtrail.amazonaws.com", A)
    d = lab.explain(cloudtrail, "kms:GenerateDataKey", key, conditions={"aws:SourceArn": trail})
    assert d.allowed and d.reason == f"grant {grant} gives the caller GenerateDataKey on this key"
    assert d.records()[-1]["detail"] == "grants this operation and its constraints hold"
    other_trail = trail.replace("audit", "other")
    for source, shown in ((other_trail, repr(other_trail)), (None, "None")):
        d = lab.explain(cloudtrail, "kms:GenerateDataKey", key,
                        conditions={"aws:SourceArn": source} if source else None)
        assert not d.allowed
        assert d.records()[-1]["condition_match"] is False
        assert d.records()[-1]["detail"] == (f"SourceArn constraint {trail} does not match the "
                                             f"request's aws:SourceArn {shown}")
    # the constraint holds for every operation, not only those with an encryption context
    assert not lab.explain(cloudtrail, "kms:DescribeKey", key).allowed
    assert lab.explain(cloudtrail, "kms:DescribeKey", key, conditions={"aws:SourceArn": trail}).allowed


def test_a_service_grant_is_for_that_service_only(service_grant):
    lab, key, trail, _ = service_grant
    for other in (aws_service("logs.amazonaws.com", A), aws_service("s3.amazonaws.com", A)):
        d = lab.explain(other, "kms:GenerateDataKey", key, conditions={"aws:SourceArn": trail})
        assert not d.allowed
        assert d.records()[-1]["detail"] == "grantee cloudtrail.amazonaws.com is not the caller"
    lab.add_user("cloudtrail")  # a user of that name is not the service
    assert not lab.explain("cloudtrail", "kms:GenerateDataKey", key,
                           conditions={"aws:SourceArn": trail}).allowed


def test_a_service_named_in_a_key_policy_needs_no_iam_policy_across_accounts():
    """A service principal acting for another account is allowed by the key policy alone."""
    policy = parse_policy(doc(ROOT, {"Sid": "Logs", "Effect": "Allow",
                                     "Principal": {"Service": "logs.amazonaws.com"},
                                     "Action": "kms:Encrypt", "Resource": "*"}))
    key = f"arn:aws:kms:us-east-1:{A}:key/k"
    d = decide(RequestContext("kms:Encrypt", aws_service("logs.amazonaws.com", B), key),
               key_policy=policy, identity_policies=())
    assert d.allowed and d.ctx.cross_account
    assert d.reason.startswith(f"cross-account: the key policy of account {A} allows the caller")


# ------------------------------------------------------------- grants: encryption context
EC_OPERATIONS = ["Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey",
                 "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
                 "GenerateDataKeyPairWithoutPlaintext"]


@pytest.fixture(scope="module")
def constrained():
    lab = kmslab.Lab(seed=43)
    lab.add_user("alice")
    kms = lab.client()
    key = kms.create_key(Policy=doc(ROOT))["KeyMetadata"]["Arn"]
    grant = kms.create_grant(KeyId=key, GranteePrincipal=ALICE,
                             Operations=EC_OPERATIONS + ["DescribeKey"],
                             Constraints={"EncryptionContextEquals": {"Dept": "IT"}})["GrantId"]
    return lab, key, grant


@pytest.mark.parametrize("operation", EC_OPERATIONS)
def test_encryption_context_constraints_apply_to_every_operation_that_takes_one(constrained, operation):
    lab, key, grant = constrained
    assert lab.explain("alice", operation, key, {"Dept": "IT"}).allowed
    for context in ({"Dept": "HR"}, None, {"Dept": "IT", "Project": "A"}):
        d = lab.explain("alice", operation, key, context)
        assert not d.allowed, (operation, context)
        assert d.records()[-1]["detail"].startswith("EncryptionContextEquals {'Dept': 'IT'} is not "
                                                    "exactly the request's encryption context")


def test_encryption_context_constraints_do_not_apply_to_other_operations(constrained):
    lab, key, grant = constrained
    d = lab.explain("alice", "kms:DescribeKey", key)
    assert d.allowed
    assert d.records()[-1]["detail"] == ("grants this operation (encryption context constraints "
                                         "do not apply to it)")


def test_a_grant_for_another_key_does_not_apply():
    @dataclass
    class Grant:
        grant_id: str
        grantee_principal: str
        operations: tuple
        key_arn: str
        constraints: dict | None = None
        name: str | None = None

    alice = Principal(ALICE, A, "IAMUser", "alice", "AIDAALICE")
    key = f"arn:aws:kms:us-east-1:{A}:key/k"
    g = Grant("g", ALICE, ("Encrypt",), key.replace("/k", "/other"))
    d = decide(RequestContext("kms:Encrypt", alice, key), key_policy=parse_policy(doc(ROOT)),
               identity_policies=(), grants=[g])
    assert not d.allowed
    assert (d.steps[-1].key, d.records()[-1]["resource_match"]) == (False, False)
    assert d.records()[-1]["detail"] == "the grant is for another KMS key"
    assert d.records()[-1]["principal_match"] == "caller"


# ------------------------------------------------------------- IAM-only and lockout
def test_an_iam_only_permission_ignores_the_key_policy():
    deny_all = parse_policy(doc(ROOT, {"Sid": "DenyAll", "Effect": "Deny", "Principal": "*",
                                       "Action": "kms:*", "Resource": "*"}))
    bob = Principal(f"arn:aws:iam::{A}:user/bob", A, "IAMUser", "bob", "AIDABOB")
    allow = parse_policy(json.dumps(iam({"Effect": "Allow", "Action": "kms:CreateAlias",
                                         "Resource": "*"})), kind="identity", name="aliases")
    ctx = RequestContext("kms:CreateAlias", bob, f"arn:aws:kms:us-east-1:{A}:alias/app")
    d = decide(ctx, key_policy=deny_all, identity_policies=(allow,), key_policy_applies=False)
    assert d.allowed and [r["source"] for r in d.records()] == [f"IAM policy aliases of {bob.arn}"]
    assert d.ctx is ctx


REGION_ONLY = {"Sid": "ManageInEurope", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
               "Action": "kms:*", "Resource": "*",
               "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}


def test_the_lockout_check_evaluates_the_keys_own_region():
    lab = kmslab.Lab(seed=44)
    eu = lab.client(region_name="eu-west-1")
    assert eu.create_key(Policy=doc(REGION_ONLY))["KeyMetadata"]["Arn"].startswith(
        "arn:aws:kms:eu-west-1:")
    us = lab.client()
    before = us.list_keys()["Keys"]
    with pytest.raises(errors.MalformedPolicyDocumentException, match="update the key policy"):
        us.create_key(Policy=doc(REGION_ONLY))
    assert us.list_keys()["Keys"] == before
    policy = parse_policy(doc(REGION_ONLY))
    root = lab.principal("root")
    key = f"arn:aws:kms:us-east-1:{A}:key/k"
    assert would_lock_out(policy, root, (), key)  # us-east-1 unless told
    assert not would_lock_out(policy, root, (), key.replace("us-east-1", "eu-west-1"), region="eu-west-1")


# ------------------------------------------------------------- resources and values
def test_a_statement_for_other_resources_says_which(world):
    lab = world
    lab.add_user("dave", policy=iam(
        {"Sid": "OtherKey", "Effect": "Allow", "Action": "kms:Encrypt",
         "Resource": f"arn:aws:kms:us-east-1:{A}:key/other"},
        {"Sid": "ByTag", "Effect": "Allow", "Action": "kms:Encrypt",
         "Resource": f"arn:aws:kms:us-east-1:{A}:key/${{aws:ResourceTag/Owner}}"},
        {"Sid": "NotThis", "Effect": "Allow", "Action": "kms:Encrypt",
         "NotResource": [f"arn:aws:kms:us-east-1:{A}:key/*", f"arn:aws:kms:us-east-1:{A}:alias/*"]},
        {"Sid": "NotTagged", "Effect": "Allow", "Action": "kms:Encrypt",
         "NotResource": f"arn:aws:kms:us-east-1:{A}:key/${{aws:ResourceTag/Owner}}"}))
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]["Arn"]
    by_tag = f"arn:aws:kms:us-east-1:{A}:key/${{aws:ResourceTag/Owner}}"

    def details():
        return {r["sid"]: r["detail"] for r in lab.explain("dave", "kms:Encrypt", key).records()}

    untagged = details()
    assert untagged["OtherKey"] == f"{key} does not match arn:aws:kms:us-east-1:{A}:key/other"
    assert untagged["ByTag"] == (f"{key} does not match {by_tag} ({by_tag} has a policy variable "
                                 "without a value)")
    assert untagged["NotThis"] == (f"{key} is excluded by NotResource arn:aws:kms:us-east-1:{A}:key/*, "
                                   f"arn:aws:kms:us-east-1:{A}:alias/*")
    assert untagged["NotTagged"] == (f"NotResource {by_tag} ({by_tag} has a policy variable without "
                                     "a value): the statement does not apply")
    kms.tag_resource(KeyId=key, Tags=[{"TagKey": "Owner", "TagValue": "bob"}])
    tagged = details()
    assert tagged["ByTag"] == (f"{key} does not match {by_tag} (arn:aws:kms:us-east-1:{A}:key/bob "
                               "for this request)")
    assert tagged["NotTagged"] == "covers this request"


def test_an_empty_list_is_no_value():
    alice = Principal(ALICE, A, "IAMUser", "alice", "AIDAALICE")
    policy = parse_policy(doc({"Sid": "Tagged", "Effect": "Allow", "Principal": {"AWS": ALICE},
                               "Action": "kms:TagResource", "Resource": "*",
                               "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": "Owner"}}}))
    ctx = RequestContext("kms:TagResource", alice, f"arn:aws:kms:us-east-1:{A}:key/k",
                         conditions={"aws:TagKeys": []})
    d = decide(ctx, key_policy=policy, identity_policies=())
    assert d.records()[0]["detail"] == ('condition ForAnyValue:StringEquals: {"aws:TagKeys": "Owner"} '
                                        "is false: the request has no aws:TagKeys")


def test_an_allowed_request_has_no_access_denied_message(world):
    d = explain(world, "alice", "kms:Encrypt", "direct")
    with pytest.raises(ValueError, match="^the request is allowed; there is no AccessDenied message$"):
        d.access_denied_message()


def test_html_rows_follow_each_other(world):
    html = explain(world, "alice", "kms:Encrypt", "direct")._repr_html_()
    assert "</td></tr><tr><td>key policy</td><td>AliceUse</td>" in html
    assert "<th>detail</th></tr><tr style='font-weight:bold'><td>key policy</td>" not in html
    assert "<th>detail</th></tr><tr><td>key policy</td><td>Enable IAM User Permissions</td>" in html
    assert "</td></tr></table><details>" in html
    assert "</code></td><td>alice</td></tr><tr><td><code>" in html


# ------------------------------------------------------------- which statements decide
KEY = f"arn:aws:kms:us-east-1:{A}:key/k"


def _allow(principal, sid, action="kms:Encrypt"):
    return {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": principal}, "Action": action,
            "Resource": "*"}


def _identity(*sids, name=""):
    return parse_policy(json.dumps(iam(*({"Sid": s, "Effect": "Allow", "Action": "kms:*",
                                          "Resource": "*"} for s in sids))),
                        kind="identity", name=name)


def test_the_first_account_statement_and_the_first_iam_allow_decide():
    bob = Principal(f"arn:aws:iam::{A}:user/bob", A, "IAMUser", "bob", "AIDABOB")
    policy = parse_policy(doc(_allow(f"arn:aws:iam::{A}:root", "Root1"), _allow(A, "Root2")))
    d = decide(RequestContext("kms:Encrypt", bob, KEY), key_policy=policy,
               identity_policies=(_identity("I1", "I2"), _identity("I3")))
    assert [s.statement.sid for s in d.decided_by] == ["Root1", "I1"]
    assert [r["source"] for r in d.records()][2:] == [f"IAM policy of {bob.arn}"] * 3


def test_across_accounts_the_first_key_statement_and_the_first_iam_allow_decide():
    erin = Principal(f"arn:aws:iam::{B}:user/erin", B, "IAMUser", "erin", "AIDAERIN")
    policy = parse_policy(doc(ROOT, _allow(f"arn:aws:iam::{B}:root", "Partner1"),
                              _allow(B, "Partner2")))
    d = decide(RequestContext("kms:Encrypt", erin, KEY), key_policy=policy,
               identity_policies=(_identity("E1", "E2", name="partner-use"),))
    assert [s.statement.sid for s in d.decided_by] == ["Partner1", "E1"]
    assert d.records()[-1]["source"] == f"IAM policy partner-use of {erin.arn}"
