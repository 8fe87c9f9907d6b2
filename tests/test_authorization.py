"""Authorization through the real client: AWS KMS's documented cases as a decision table.

Each row: principal, operation, key, encryption context (and ViaService) ->
allowed, or AccessDeniedException with AWS's message; a denied request
changes nothing.
"""

import json

import pytest

import kmslab
from kmslab import errors
from kmslab.policy import console_key_policy
from kmslab.service.authorization import OpenAuthorizer

A, B = "111122223333", "444455556666"
USE = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
ROOT = {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "kms:*", "Resource": "*"}


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def iam_allow(actions, resource="*"):
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}


@pytest.fixture(scope="module")
def world():
    lab = kmslab.Lab(seed=4)
    lab.add_account(B)
    lab.add_user("alice")
    lab.add_user("bob", policy=iam_allow(["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"]))
    carol = lab.add_user("carol", policy=iam_allow("kms:*"))
    lab.iam.put_policy(carol, "no-decrypt", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}]}))
    key_admin = lab.add_role("KeyAdmin")
    app = lab.add_role("App")
    lab.add_user("erin", policy=iam_allow(["kms:Encrypt", "kms:DescribeKey"]), account=B)
    lab.add_user("frank", account=B)
    kms = lab.client()
    alice_arn = f"arn:aws:iam::{A}:user/alice"
    policies = {
        "default": None,
        "console": console_key_policy(A, administrators=[key_admin.arn], users=[app.arn]),
        "users-only": doc({"Sid": "Allow use of the key", "Effect": "Allow",
                           "Principal": {"AWS": app.arn}, "Action": USE, "Resource": "*"}),
        "ec": doc(ROOT, {"Sid": "DeptIT", "Effect": "Allow", "Principal": {"AWS": app.arn},
                         "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
                         "Condition": {"StringEquals": {"kms:EncryptionContext:dept": "it"}}}),
        "via": doc(ROOT, {"Sid": "ViaEC2", "Effect": "Allow", "Principal": {"AWS": "*"},
                          "Action": USE, "Resource": "*", "Condition": {"StringEquals": {
                              "kms:CallerAccount": A,
                              "kms:ViaService": "ec2.us-east-1.amazonaws.com"}}}),
        "cross": doc(ROOT, {"Sid": "External", "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{B}:root"}, "Action": USE,
                            "Resource": "*"}),
        "deny-alice": doc(ROOT, {"Sid": "NoAlice", "Effect": "Deny",
                                 "Principal": {"AWS": alice_arn}, "Action": "kms:*",
                                 "Resource": "*"}),
    }
    keys = {}
    for name, policy in policies.items():
        params = {"Description": name}
        if policy is not None:
            params.update(Policy=policy, BypassPolicyLockoutSafetyCheck=True)
        keys[name] = kms.create_key(**params)["KeyMetadata"]
    # grants: alice may use "default" only with dept=it; alice has a grant on "deny-alice" too
    for key, constraints in (("default", {"EncryptionContextEquals": {"dept": "it"}}),
                             ("deny-alice", None)):
        kms.create_grant(KeyId=keys[key]["KeyId"], GranteePrincipal=alice_arn,
                         Operations=["Encrypt", "Decrypt"],
                         **({"Constraints": constraints} if constraints else {}))
    return lab, keys


def ciphertext(lab, key, context):
    """A ciphertext made without policy checks (the row tests Decrypt, not Encrypt)."""
    saved, lab.authorizer = lab.authorizer, OpenAuthorizer()
    try:
        return lab.client().encrypt(KeyId=key["Arn"], Plaintext=b"secret",
                                    EncryptionContext=context or {})["CiphertextBlob"]
    finally:
        lab.authorizer = saved


def call(lab, who, op, key, context, via):
    caller = lab.principal(who, B if who in ("erin", "frank", "root-B") else None) \
        if who != "root-B" else lab.principal("root", B)
    params = {"KeyId": key["Arn"]}
    if op == "Encrypt":
        params["Plaintext"] = b"secret"
    if op == "Decrypt":
        params = {"CiphertextBlob": ciphertext(lab, key, context)}
    if op in ("Encrypt", "Decrypt") and context:
        params["EncryptionContext"] = context
    if op == "ScheduleKeyDeletion":
        params["PendingWindowInDays"] = 7
    return lab.handle(op, params, caller=caller, via_service=via)


EC2 = "ec2.us-east-1.amazonaws.com"
NO_RESOURCE, NO_IDENTITY = "no resource-based", "no identity-based"
DENY_RESOURCE, DENY_IDENTITY = "explicit deny in a resource-based", "explicit deny in an identity-based"
CIPHERTEXT_KEY_DENIED = ("The ciphertext refers to a customer master key that does not exist, does "
                         "not exist in this region, or you are not allowed to access.")

# principal, operation, key, encryption context, ViaService -> expected
TABLE = [
    # default key policy: the account's IAM decides
    ("admin", "Encrypt", "default", None, None, "allow"),
    ("root", "ScheduleKeyDeletion", "default", None, None, "allow"),
    ("bob", "Encrypt", "default", None, None, "allow"),
    ("bob", "ScheduleKeyDeletion", "default", None, None, NO_IDENTITY),
    ("alice", "DescribeKey", "default", None, None, NO_IDENTITY),
    # IAM allows only when the key policy allows the account
    ("bob", "Encrypt", "users-only", None, None, NO_RESOURCE),
    ("admin", "DescribeKey", "users-only", None, None, NO_RESOURCE),
    ("App", "Encrypt", "users-only", None, None, "allow"),
    # key administrators vs key users (the console's policy)
    ("KeyAdmin", "DescribeKey", "console", None, None, "allow"),
    ("KeyAdmin", "ScheduleKeyDeletion", "console", None, None, "allow"),
    ("KeyAdmin", "Encrypt", "console", None, None, NO_IDENTITY),
    ("App", "Encrypt", "console", None, None, "allow"),
    ("App", "Decrypt", "console", None, None, "allow"),
    ("App", "ScheduleKeyDeletion", "console", None, None, NO_IDENTITY),
    # encryption-context conditions
    ("App", "Encrypt", "ec", {"dept": "it"}, None, "allow"),
    ("App", "Decrypt", "ec", {"dept": "it"}, None, "allow"),
    ("App", "Encrypt", "ec", {"dept": "hr"}, None, NO_IDENTITY),
    ("App", "Encrypt", "ec", None, None, NO_IDENTITY),
    # kms:ViaService
    ("alice", "Encrypt", "via", None, EC2, "allow"),
    ("alice", "Encrypt", "via", None, None, NO_IDENTITY),
    ("alice", "Encrypt", "via", None, "rds.us-east-1.amazonaws.com", NO_IDENTITY),
    # cross-account: the key policy allows account B, B's IAM must allow too
    ("erin", "Encrypt", "cross", None, None, "allow"),
    ("erin", "DescribeKey", "cross", None, None, "allow"),
    ("frank", "Encrypt", "cross", None, None, NO_IDENTITY),
    ("root-B", "Encrypt", "cross", None, None, "allow"),
    ("erin", "Encrypt", "default", None, None, NO_RESOURCE),
    # grants with constraints
    ("alice", "Encrypt", "default", {"dept": "it"}, None, "allow"),
    ("alice", "Decrypt", "default", {"dept": "it"}, None, "allow"),
    ("alice", "Encrypt", "default", {"dept": "it", "x": "y"}, None, NO_IDENTITY),
    ("alice", "Encrypt", "default", None, None, NO_IDENTITY),
    # explicit deny beats grants and allows
    ("alice", "Encrypt", "deny-alice", None, None, DENY_RESOURCE),
    ("carol", "Encrypt", "default", None, None, "allow"),
    ("carol", "Decrypt", "default", None, None, DENY_IDENTITY),
]


@pytest.mark.parametrize("who,op,key,context,via,expected", TABLE,
                         ids=[f"{r[0]}-{r[1]}-{r[2]}-{i}" for i, r in enumerate(TABLE)])
def test_decision_table(world, who, op, key, context, via, expected):
    lab, keys = world
    meta = keys[key]
    before = lab.kms_service(A, "us-east-1").keys[meta["KeyId"]].state
    if expected == "allow":
        call(lab, who, op, meta, context, via)
        if op == "ScheduleKeyDeletion":
            lab.client().cancel_key_deletion(KeyId=meta["KeyId"])
            lab.client().enable_key(KeyId=meta["KeyId"])
        return
    with pytest.raises(errors.AccessDeniedException) as info:
        call(lab, who, op, meta, context, via)
    err = info.value
    caller = lab.principal("root", B) if who == "root-B" else \
        lab.principal(who, B if who in ("erin", "frank") else None)
    assert err.response["Error"]["Code"] == "AccessDeniedException"
    denial = err.explanation.access_denied_message()
    assert denial.startswith(
        f"User: {caller.arn} is not authorized to perform: kms:{op} on resource: {meta['Arn']} ")
    assert expected in denial
    if op == "Decrypt":  # the key came from the ciphertext: AWS does not say whether it exists
        assert err.message == CIPHERTEXT_KEY_DENIED
    else:
        assert err.message == denial
    assert err.explanation is not None and not err.explanation.allowed
    assert lab.kms_service(A, "us-east-1").keys[meta["KeyId"]].state == before
    last = lab.audit.records()[-1]
    assert last["errorCode"] == "AccessDenied" and last["eventName"] == op  # CloudTrail's code
    assert last["userIdentity"]["arn"] == caller.arn


def test_deny_all_denies_every_operation(world):
    """A key policy that denies kms:* to a principal denies every key operation."""
    lab, keys = world
    alice = lab.principal("alice")
    lab.iam.put_policy(lab.iam.user(A, "alice"), "all", json.dumps(iam_allow("kms:*")))
    try:
        key = keys["deny-alice"]
        blob = ciphertext(lab, key, None)
        ops = {"Encrypt": {"Plaintext": b"x"}, "Decrypt": {"CiphertextBlob": blob},
               "GenerateDataKey": {"KeySpec": "AES_256"}, "DescribeKey": {},
               "DisableKey": {}, "ScheduleKeyDeletion": {}, "GetKeyPolicy": {},
               "PutKeyPolicy": {"Policy": doc(ROOT)}, "ListGrants": {},
               "CreateGrant": {"GranteePrincipal": alice.arn, "Operations": ["Encrypt"]},
               "TagResource": {"Tags": [{"TagKey": "a", "TagValue": "b"}]},
               "UpdateKeyDescription": {"Description": "x"}}
        for op, params in ops.items():
            if op != "Decrypt":
                params = {"KeyId": key["Arn"], **params}
            with pytest.raises(errors.AccessDeniedException) as info:
                lab.handle(op, params, caller=alice)
            assert DENY_RESOURCE in info.value.explanation.access_denied_message()
        assert lab.kms_service(A, "us-east-1").keys[key["KeyId"]].state == "Enabled"
    finally:
        lab.iam.delete_policy(lab.iam.user(A, "alice"), "all")


def test_iam_only_operations():
    lab = kmslab.Lab(seed=5)
    lab.add_user("dave", policy=iam_allow(["kms:ListKeys"]))
    dave = lab.client(as_="dave")
    assert dave.list_keys()["Keys"] == []
    with pytest.raises(errors.AccessDeniedException) as info:
        dave.create_key()
    assert info.value.message == (
        f"User: arn:aws:iam::{A}:user/dave is not authorized to perform: kms:CreateKey on "
        "resource: * because no identity-based policy allows the kms:CreateKey action")
    assert lab.client().list_keys()["Keys"] == []  # nothing was created


def test_create_alias_needs_alias_permission_and_key_permission():
    lab = kmslab.Lab(seed=6)
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]
    lab.add_user("ed", policy=iam_allow("kms:CreateAlias", f"arn:aws:kms:us-east-1:{A}:key/*"))
    with pytest.raises(errors.AccessDeniedException) as info:
        lab.client(as_="ed").create_alias(AliasName="alias/ed", TargetKeyId=key["KeyId"])
    assert f"on resource: arn:aws:kms:us-east-1:{A}:alias/ed" in info.value.message
    assert [a for a in kms.list_aliases()["Aliases"] if "TargetKeyId" in a] == []
    lab.iam.put_policy(lab.iam.user(A, "ed"), "policy", json.dumps(iam_allow("kms:CreateAlias")))
    lab.client(as_="ed").create_alias(AliasName="alias/ed", TargetKeyId=key["KeyId"])
    assert [a["AliasName"] for a in kms.list_aliases()["Aliases"] if "TargetKeyId" in a] == ["alias/ed"]


def test_request_alias_condition():
    lab = kmslab.Lab(seed=7)
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/app", TargetKeyId=key["KeyId"])
    lab.add_user("gus", policy={"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*",
        "Condition": {"StringEquals": {"kms:RequestAlias": "alias/app"}}}]})
    gus = lab.client(as_="gus")
    gus.encrypt(KeyId="alias/app", Plaintext=b"x")
    with pytest.raises(errors.AccessDeniedException):
        gus.encrypt(KeyId=key["KeyId"], Plaintext=b"x")


def test_reencrypt_decides_on_both_keys():
    lab = kmslab.Lab(seed=8)
    kms = lab.client()
    src = kms.create_key()["KeyMetadata"]["Arn"]
    dst = kms.create_key()["KeyMetadata"]["Arn"]
    blob = kms.encrypt(KeyId=src, Plaintext=b"x")["CiphertextBlob"]
    lab.add_user("hal", policy=iam_allow("kms:ReEncryptTo"))
    with pytest.raises(errors.AccessDeniedException) as info:
        lab.client(as_="hal").re_encrypt(CiphertextBlob=blob, DestinationKeyId=dst)
    # the source key came from the ciphertext: AWS's answer does not say whether it exists
    assert info.value.message == CIPHERTEXT_KEY_DENIED
    assert f"kms:ReEncryptFrom on resource: {src}" in info.value.explanation.access_denied_message()
    lab.add_user("ida", policy=iam_allow("kms:ReEncryptFrom"))
    with pytest.raises(errors.AccessDeniedException,  # the destination is named: the usual message
                       match=f"kms:ReEncryptTo on resource: {dst} because"):
        lab.client(as_="ida").re_encrypt(CiphertextBlob=blob, DestinationKeyId=dst)
    lab.iam.put_policy(lab.iam.user(A, "hal"), "policy",
                       json.dumps(iam_allow(["kms:ReEncryptFrom", "kms:ReEncryptTo"])))
    assert lab.client(as_="hal").re_encrypt(CiphertextBlob=blob, DestinationKeyId=dst)["KeyId"] == dst


def test_explain_without_a_request():
    lab = kmslab.Lab(seed=9)
    key = lab.client().create_key()["KeyMetadata"]
    lab.add_user("ivy")
    records = len(lab.audit)
    decision = lab.explain("ivy", "Encrypt", key["KeyId"], {"dept": "it"})
    assert not decision.allowed and decision.outcome == "ImplicitDeny"
    assert "Enable IAM User Permissions" in decision.text()
    assert {r["source"] for r in decision.records()} == {"key policy"}
    assert lab.explain("admin", "kms:Encrypt", key["Arn"]).allowed
    assert lab.explain("root", "kms:CreateKey", None).allowed
    assert len(lab.audit) == records


def test_assumed_role_audit_identity():
    lab = kmslab.Lab(seed=10)
    lab.add_user("jo", policy=iam_allow("sts:AssumeRole"))
    role = lab.add_role("Worker", policy=iam_allow("kms:*"))
    creds = lab.client("sts", as_="jo").assume_role(RoleArn=role.arn, RoleSessionName="job1")
    worker = lab.client(as_=creds["Credentials"]["AccessKeyId"])
    worker.create_key()
    ident = lab.audit.records()[-1]["userIdentity"]
    assert ident["type"] == "AssumedRole"
    assert ident["arn"] == f"arn:aws:sts::{A}:assumed-role/Worker/job1"
    assert ident["principalId"] == f"{role.role_id}:job1"
    assert ident["accessKeyId"] == creds["Credentials"]["AccessKeyId"]
    issuer = ident["sessionContext"]["sessionIssuer"]
    assert issuer == {"type": "Role", "principalId": role.role_id, "arn": role.arn,
                      "accountId": A, "userName": "Worker"}
    assert ident["sessionContext"]["attributes"]["mfaAuthenticated"] == "false"
