"""parse_policy: validation as KMS CreateKey/PutKeyPolicy does it, and the default policies."""

import json

import pytest

from kmslab import errors
from kmslab.policy import (
    INVALID_PRINCIPALS,
    KEY_POLICY_MAX_BYTES,
    console_key_policy,
    default_key_policy,
    parse_policy,
)

ACCT = "111122223333"
ROOT = f"arn:aws:iam::{ACCT}:root"


def doc(*statements, **top):
    return json.dumps({"Version": "2012-10-17", **top, "Statement": list(statements)}, ensure_ascii=False)


def stmt(**kw):
    base = {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


# ---------------------------------------------------------------- default policies
def test_default_key_policy_is_awss_document():
    text = default_key_policy(ACCT)
    assert json.loads(text) == {
        "Version": "2012-10-17", "Id": "key-default-1",
        "Statement": [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                       "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}]}
    # AWS's pretty printer: "Key" : value
    assert '"Version" : "2012-10-17"' in text
    policy = parse_policy(text)
    assert policy.text == text and policy.id == "key-default-1"


def test_console_policy_statements_per_key_type():
    admin, user = f"arn:aws:iam::{ACCT}:role/Admin", f"arn:aws:iam::{ACCT}:role/App"
    sym = json.loads(console_key_policy(ACCT, administrators=[admin], users=[user]))
    sids = [s["Sid"] for s in sym["Statement"]]
    assert sids == ["Enable IAM User Permissions", "Allow access for Key Administrators",
                    "Allow use of the key", "Allow attachment of persistent resources"]
    admin_actions = sym["Statement"][1]["Action"]
    assert "kms:Encrypt" not in admin_actions and "kms:ScheduleKeyDeletion" in admin_actions
    assert sym["Statement"][3]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    sign = json.loads(console_key_policy(ACCT, users=[user], key_spec="ECC_NIST_P256",
                                         key_usage="SIGN_VERIFY"))
    assert set(sign["Statement"][1]["Action"]) == {"kms:Sign", "kms:Verify", "kms:GetPublicKey",
                                                   "kms:DescribeKey"}
    hmac = json.loads(console_key_policy(ACCT, users=[user], key_spec="HMAC_256",
                                         key_usage="GENERATE_VERIFY_MAC"))
    assert set(hmac["Statement"][1]["Action"]) == {"kms:GenerateMac", "kms:VerifyMac",
                                                   "kms:DescribeKey"}
    ext = json.loads(console_key_policy(ACCT, administrators=[admin], origin="EXTERNAL"))
    assert "kms:ImportKeyMaterial" in ext["Statement"][1]["Action"]
    for text in (console_key_policy(ACCT, administrators=[admin], users=[user]),):
        parse_policy(text)


def test_text_kept_verbatim_and_single_statement_object_accepted():
    text = '{"Statement": {"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}}'
    policy = parse_policy(text)
    assert policy.text == text and len(policy.statements) == 1 and policy.version is None


# ---------------------------------------------------------------- malformed documents
MALFORMED = [
    ("not json", "{not json", "not valid JSON"),
    ("not an object", "[]", "JSON object"),
    ("unknown top-level", doc(stmt(), Colour="red"), "Colour"),
    ("bad version", json.dumps({"Version": "2020-01-01", "Statement": [stmt()]}), "Version"),
    ("no statement", json.dumps({"Version": "2012-10-17"}), "Statement"),
    ("empty statement list", doc(), "Statement"),
    ("unknown statement element", doc(stmt(Effects="Allow")), "Effects"),
    ("missing effect", doc(stmt(Effect=None)), "Effect"),
    ("effect not allow/deny", doc(stmt(Effect="allow")), "Effect"),
    ("no principal in key policy", doc(stmt(Principal=None)), "Principal"),
    ("action and notaction", doc(stmt(NotAction="kms:Decrypt")), "NotAction"),
    ("principal and notprincipal", doc(stmt(NotPrincipal={"AWS": ROOT})), "NotPrincipal"),
    ("resource and notresource", doc(stmt(NotResource="*")), "NotResource"),
    ("bad action", doc(stmt(Action="Encrypt")), "action"),
    ("bad resource", doc(stmt(Resource="key/1")), "resource"),
    ("bad operator", doc(stmt(Condition={"StringEqualz": {"kms:ViaService": "x"}})), "StringEqualz"),
    ("null with ifexists", doc(stmt(Condition={"NullIfExists": {"kms:ViaService": "true"}})),
     "NullIfExists"),
    ("bad set operator", doc(stmt(Condition={"ForSomeValues:StringEquals": {"kms:ViaService": "x"}})),
     "ForSomeValues"),
    ("bad numeric value", doc(stmt(Condition={"NumericLessThan": {"kms:RotationPeriodInDays": "abc"}})),
     "NumericLessThan"),
    ("bad ip", doc(stmt(Condition={"IpAddress": {"aws:SourceIp": "300.1.1.1/8"}})), "IpAddress"),
    ("condition not an object", doc(stmt(Condition=["x"])), "Condition"),
    ("condition value object", doc(stmt(Condition={"StringEquals": {"kms:ViaService": {"a": 1}}})),
     "kms:ViaService"),
    ("forallvalues on encryption context", doc(stmt(Condition={
        "ForAllValues:StringEquals": {"kms:EncryptionContext:Dept": "IT"}})),
     "OverlyPermissiveCondition"),
    ("forallvalues on request tag", doc(stmt(Condition={
        "ForAllValues:StringEquals": {"aws:RequestTag/Project": "Alpha"}})),
     "OverlyPermissiveCondition"),
    ("control character", doc(stmt()).replace(", ", ",\u0001", 1), "character"),
    ("character above U+00FF", doc(stmt(Sid="\u20ac")), "character"),
    ("duplicate element", '{"Statement": [], "Statement": []}', "more than once"),
]


@pytest.mark.parametrize("text,needle", [(t, n) for _, t, n in MALFORMED],
                         ids=[name for name, _, _ in MALFORMED])
def test_malformed_documents_are_refused_with_a_useful_message(text, needle):
    with pytest.raises(errors.MalformedPolicyDocumentException) as exc:
        parse_policy(text)
    assert exc.value.code == "MalformedPolicyDocumentException"
    assert needle in exc.value.message


def test_forallvalues_on_encryption_context_uses_awss_wording():
    with pytest.raises(errors.MalformedPolicyDocumentException) as exc:
        parse_policy(doc(stmt(Condition={"ForAllValues:StringLike": {"kms:encryptioncontext:x": "*"}})))
    assert exc.value.message.startswith("OverlyPermissiveCondition:EncryptionContext: Using the "
                                        "ForAllValues set operator with a single-valued condition key")
    assert exc.value.message.endswith("To fix, remove ForAllValues.")


def test_forallvalues_on_encryption_context_keys_is_fine():
    policy = parse_policy(doc(stmt(Condition={
        "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["a"]}})))
    (condition,) = policy.statements[0].conditions
    assert (condition.operator, condition.key, condition.values) == (
        "ForAllValues:StringEquals", "kms:EncryptionContextKeys", ("a",))


@pytest.mark.parametrize("principal", [
    {"AWS": "arn:aws:iam::111122223333:user/*"},   # no wildcards inside ARNs
    {"AWS": "bob"},
    {"AWS": "12345"},
    {"AWS": []},
    {"Group": "x"},
    "arn:aws:iam::111122223333:root",                # must be {"AWS": ...} unless "*"
    {"Service": "not a service"},
])
def test_invalid_principals(principal):
    with pytest.raises(errors.MalformedPolicyDocumentException) as exc:
        parse_policy(doc(stmt(Principal=principal)))
    assert exc.value.message == INVALID_PRINCIPALS


def test_principals_that_do_not_exist_are_refused():
    known = {ROOT, f"arn:aws:iam::{ACCT}:user/alice"}
    exists = known.__contains__
    parse_policy(doc(stmt(Principal={"AWS": [ACCT, f"arn:aws:iam::{ACCT}:user/alice"]})),
                 principal_exists=exists)
    with pytest.raises(errors.MalformedPolicyDocumentException) as exc:
        parse_policy(doc(stmt(), stmt(Principal={"AWS": f"arn:aws:iam::{ACCT}:user/mallory"})),
                     principal_exists=exists)
    assert exc.value.message == "Policy contains a statement with one or more invalid principals."


def test_size_limit_is_32768_bytes():
    filler = " " * (KEY_POLICY_MAX_BYTES - len(doc(stmt())))
    exact = doc(stmt())[:-1] + filler + "}"
    assert len(exact.encode()) == KEY_POLICY_MAX_BYTES
    parse_policy(exact)
    with pytest.raises(errors.LimitExceededException):
        parse_policy(exact[:-1] + " }")


def test_size_counts_utf8_bytes():
    sid = "\u00e9" * 16_380  # two bytes each in UTF-8
    with pytest.raises(errors.LimitExceededException):
        parse_policy(doc(stmt(Sid=sid)))


def test_identity_policies_have_no_principal_and_need_action_and_resource():
    with pytest.raises(errors.MalformedPolicyDocumentException, match="Principal"):
        parse_policy(doc(stmt()), kind="identity")
    with pytest.raises(errors.MalformedPolicyDocumentException, match="Resource"):
        parse_policy(doc({"Effect": "Allow", "Action": "kms:*"}), kind="identity")
    parse_policy(doc({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}), kind="identity")


def test_key_policy_statement_without_action_or_resource_is_accepted():
    policy = parse_policy(doc({"Effect": "Allow", "Principal": {"AWS": ROOT}}))
    assert policy.statements[0].action is None
