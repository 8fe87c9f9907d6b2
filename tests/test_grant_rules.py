"""Grant rules, both sides of each: who may retire and revoke, what CreateGrant accepts,
grant tokens, the operations a grant may carry for each kind of key, the grant quota.

AWS's texts: CreateGrant, RetireGrant, RevokeGrant and ListRetirableGrants in the API
Reference; "Grants in AWS KMS" and "Retiring and revoking grants" in the Developer Guide;
"Grants per KMS key: 50,000" in "Resource quotas".
"""

import json
from datetime import timedelta
from functools import partial

import botocore.session
import pytest

import kmslab
from kmslab import errors
from kmslab.service import grants as grants_module

A, B = "111122223333", "444455556666"
#: botocore's KMS model: the GrantOperation values and the operation names
MODEL = botocore.session.get_session().get_service_model("kms")


@pytest.fixture
def world():
    lab = kmslab.Lab(seed=41)
    lab.add_account(B)
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]
    users = {name: lab.add_user(name) for name in ("bob", "carol", "dave")}
    return lab, kms, key, users


def _grant_ids(kms, key):
    return [g["GrantId"] for g in kms.list_grants(KeyId=key["KeyId"])["Grants"]]


def _refused_retire(client, kms, key, grant):
    with pytest.raises(errors.AccessDeniedException) as caught:
        client.retire_grant(KeyId=key["Arn"], GrantId=grant["GrantId"])
    assert "kms:RetireGrant" in caught.value.message
    assert grant["GrantId"] in _grant_ids(kms, key), "a refused RetireGrant leaves the grant"


# ------------------------------------------------------------------ who may retire
def test_the_retiring_principal_may_retire_and_nobody_else_named_in_the_grant(world):
    lab, kms, key, users = world
    bob, carol, dave = (lab.client(as_=n) for n in ("bob", "carol", "dave"))
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=users["bob"].arn,
                             RetiringPrincipal=users["carol"].arn, Operations=["Encrypt"])
    _refused_retire(bob, kms, key, grant)      # the grantee, without RetireGrant in the grant
    _refused_retire(dave, kms, key, grant)     # a user of the same account, no permission
    carol.retire_grant(KeyId=key["Arn"], GrantId=grant["GrantId"])
    assert _grant_ids(kms, key) == []


def test_the_grantee_may_retire_only_when_the_grant_includes_retire_grant(world):
    lab, kms, key, users = world
    bob = lab.client(as_="bob")
    without = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=users["bob"].arn,
                               Operations=["Encrypt", "Decrypt"])
    with_retire = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=users["bob"].arn,
                                   Operations=["Encrypt", "RetireGrant"])
    _refused_retire(bob, kms, key, without)
    bob.retire_grant(KeyId=key["Arn"], GrantId=with_retire["GrantId"])
    assert _grant_ids(kms, key) == [without["GrantId"]]
    # RetireGrant in a grant to someone else gives bob nothing
    other = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=users["carol"].arn,
                             Operations=["Encrypt", "RetireGrant"])
    _refused_retire(bob, kms, key, other)


def test_an_account_as_retiring_principal_is_its_root_user(world):
    lab, kms, key, users = world
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=users["bob"].arn,
                             RetiringPrincipal=f"arn:aws:iam::{B}:root", Operations=["Encrypt"])
    other_user = lab.add_user("erin", account=B)
    _refused_retire(lab.client(as_=other_user), kms, key, grant)   # a user of B: not its root
    lab.client(as_="root", account=B).retire_grant(KeyId=key["Arn"], GrantId=grant["GrantId"])
    assert _grant_ids(kms, key) == []


def test_the_issuing_accounts_root_may_retire_any_grant_another_accounts_root_may_not(world):
    lab, kms, key, users = world
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=users["bob"].arn,
                             RetiringPrincipal=users["carol"].arn, Operations=["Encrypt"])
    _refused_retire(lab.client(as_="root", account=B), kms, key, grant)
    lab.client(as_="root").retire_grant(KeyId=key["Arn"], GrantId=grant["GrantId"])
    assert _grant_ids(kms, key) == []


def test_a_user_of_the_issuing_account_retires_with_an_iam_allow_of_retire_grant(world):
    lab, kms, key, users = world
    lab.add_user("ops", policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:RetireGrant", "Resource": "*"}]})
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=users["bob"].arn,
                             Operations=["Encrypt"])
    _refused_retire(lab.client(as_="dave"), kms, key, grant)
    lab.client(as_="ops").retire_grant(KeyId=key["Arn"], GrantId=grant["GrantId"])
    assert _grant_ids(kms, key) == []


def test_revoke_needs_kms_revoke_grant_on_the_key_whoever_the_grant_names(world):
    lab, kms, key, users = world
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=users["bob"].arn,
                             RetiringPrincipal=users["bob"].arn,
                             Operations=["Encrypt", "RetireGrant"])
    with pytest.raises(errors.AccessDeniedException) as caught:
        lab.client(as_="bob").revoke_grant(KeyId=key["KeyId"], GrantId=grant["GrantId"])
    assert "kms:RevokeGrant" in caught.value.message
    assert _grant_ids(kms, key) == [grant["GrantId"]]
    kms.revoke_grant(KeyId=key["KeyId"], GrantId=grant["GrantId"])
    assert _grant_ids(kms, key) == []


# ------------------------------------------------------------------ naming a grant
def test_retire_grant_names_its_grant_by_token_or_key_and_id(world):
    lab, kms, key, users = world
    with pytest.raises(errors.ValidationException) as caught:
        kms.retire_grant(GrantId="a" * 64)
    assert caught.value.message == "Either GrantToken, or both KeyId and GrantId, must be specified."
    with pytest.raises(errors.ValidationException):
        kms.retire_grant(KeyId=key["Arn"])
    with pytest.raises(errors.InvalidGrantIdException) as caught:
        kms.retire_grant(KeyId=key["Arn"], GrantId="A" * 64)   # upper case: not a grant id
    assert caught.value.message == f"Invalid grant ID {'A' * 64}"
    with pytest.raises(errors.NotFoundException) as caught:
        kms.retire_grant(KeyId=key["Arn"], GrantId="a" * 64)
    assert caught.value.message == f"Grant ID {'a' * 64} not found for key {key['Arn']}."
    with pytest.raises(errors.InvalidGrantTokenException) as caught:
        kms.retire_grant(GrantToken="not-a-token")
    assert caught.value.message == "The grant token is not valid."


def test_a_revoked_grants_token_no_longer_names_or_allows_anything(world):
    lab, kms, key, users = world
    lab.grant_delay = timedelta(minutes=5)
    bob = lab.client(as_="bob")
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=users["bob"].arn,
                             Operations=["Encrypt"])
    token = grant["GrantToken"]
    assert bob.encrypt(KeyId=key["KeyId"], Plaintext=b"x", GrantTokens=[token])
    kms.revoke_grant(KeyId=key["KeyId"], GrantId=grant["GrantId"])
    with pytest.raises(errors.AccessDeniedException):
        bob.encrypt(KeyId=key["KeyId"], Plaintext=b"x", GrantTokens=[token])
    with pytest.raises(errors.NotFoundException) as caught:
        kms.retire_grant(GrantToken=token)
    assert caught.value.message == f"Grant {grant['GrantId']} does not exist."
    lab.clock.advance(minutes=10)   # the grant's delay ends: nothing comes back
    with pytest.raises(errors.AccessDeniedException):
        bob.encrypt(KeyId=key["KeyId"], Plaintext=b"x")


def test_a_token_retires_its_grant_even_across_accounts(world):
    lab, kms, key, users = world
    erin = lab.add_user("erin", account=B)
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=erin.arn,
                             RetiringPrincipal=erin.arn, Operations=["Encrypt"])
    lab.client(as_=erin).retire_grant(GrantToken=grant["GrantToken"])
    assert _grant_ids(kms, key) == []


def test_retiring_a_grant_before_it_takes_effect_cancels_its_pending_effect(world):
    lab, kms, key, users = world
    lab.grant_delay = timedelta(minutes=5)
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=users["bob"].arn,
                             Operations=["Encrypt"])
    service_key = lab.kms_service(A, "us-east-1").keys[key["KeyId"]]
    assert f"grant {grant['GrantId']}" in service_key.scheduled
    kms.retire_grant(KeyId=key["Arn"], GrantId=grant["GrantId"])
    assert f"grant {grant['GrantId']}" not in service_key.scheduled
    lab.clock.advance(minutes=10)
    with pytest.raises(errors.AccessDeniedException):
        lab.client(as_="bob").encrypt(KeyId=key["KeyId"], Plaintext=b"x")


# ------------------------------------------------------------------ what CreateGrant accepts
@pytest.mark.parametrize("arn", [
    f"arn:aws:iam::{A[:-1]}:user/bob",         # 11 digits
    f"arn:aws:iam::{A}:group/bob",             # not a principal type
    f"arn:aws:s3:::{A}-bucket",                # not IAM or STS
    f"arn:aws:iam::{A}:user/",                 # no name
    f"arn:aws:sts::{A}:assumed-role/app",      # no session
    f"arn:aws:sts::{A}:assumed-role/app/",     # an empty session name
    f"arn:aws:sts::{A}:federated-user/",       # no federated user's name
    f"arn:aws:iam::{A}:role/",                 # no role name
    f"xarn:aws:iam::{A}:user/bob",             # anything before
    f"arn:aws:iam::{A}:root/x",                # anything after root
])
def test_a_malformed_principal_arn_is_refused(world, arn):
    lab, kms, key, users = world
    lab.add_role("app", trusted=[f"arn:aws:iam::{A}:root"])
    for field in ("GranteePrincipal", "RetiringPrincipal"):
        params = {"GranteePrincipal": users["bob"].arn, field: arn}
        with pytest.raises(errors.InvalidArnException) as caught:
            kms.create_grant(KeyId=key["KeyId"], Operations=["Encrypt"], **params)
        assert caught.value.message == f"{field} {arn} is not a valid principal."
    with pytest.raises(errors.InvalidArnException) as caught:
        kms.list_retirable_grants(RetiringPrincipal=arn)
    assert caught.value.message == f"RetiringPrincipal {arn} is not a valid ARN."
    assert _grant_ids(kms, key) == []


def test_each_principal_form_is_accepted(world):
    lab, kms, key, users = world
    role = lab.add_role("app", trusted=[f"arn:aws:iam::{A}:root"])
    for arn in (users["bob"].arn, f"arn:aws:iam::{A}:root", f"arn:aws:iam::{B}:root", role.arn,
                f"arn:aws:sts::{A}:assumed-role/app/session-1", f"arn:aws:sts::{A}:federated-user/carol"):
        out = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=arn, RetiringPrincipal=arn,
                               Operations=["Encrypt"])
        assert out["GrantId"] in _grant_ids(kms, key)


def test_grantee_and_retiring_principals_one_of_each_kind(world):
    lab, kms, key, users = world
    bob = users["bob"].arn
    source = {"SourceArn": f"arn:aws:cloudtrail:us-east-1:{A}:trail/audit"}
    cases = [
        (dict(GranteePrincipal=bob, GranteeServicePrincipal="cloudtrail.amazonaws.com"),
         "You must specify either GranteePrincipal or GranteeServicePrincipal, but not both."),
        (dict(),
         "You must specify either GranteePrincipal or GranteeServicePrincipal, but not both."),
        (dict(GranteePrincipal=bob, RetiringPrincipal=bob,
              RetiringServicePrincipal="cloudtrail.amazonaws.com"),
         "You can specify either RetiringPrincipal or RetiringServicePrincipal, but not both."),
        (dict(GranteeServicePrincipal="cloudtrail.amazonaws.com", Constraints=source),
         "A grant for a GranteeServicePrincipal must have a RetiringPrincipal or a "
         "RetiringServicePrincipal."),
        (dict(GranteeServicePrincipal="cloudtrail.amazonaws.com", RetiringPrincipal=bob),
         "A grant for a GranteeServicePrincipal must have a SourceArn constraint."),
        (dict(GranteeServicePrincipal="cloudtrail.amazonaws.com", RetiringPrincipal=bob,
              Constraints={"EncryptionContextSubset": {"a": "b"}}),
         "A grant for a GranteeServicePrincipal must have a SourceArn constraint."),
    ]
    for params, message in cases:
        with pytest.raises(errors.ValidationException) as caught:
            kms.create_grant(KeyId=key["KeyId"], Operations=["Encrypt"], **params)
        assert caught.value.message == message, params
    assert _grant_ids(kms, key) == []
    for retiring in (dict(RetiringPrincipal=bob),
                     dict(RetiringServicePrincipal="cloudtrail.amazonaws.com")):
        out = kms.create_grant(KeyId=key["KeyId"], Operations=["Encrypt"], Constraints=source,
                               GranteeServicePrincipal="cloudtrail.amazonaws.com", **retiring)
        entry = kms.list_grants(KeyId=key["KeyId"], GrantId=out["GrantId"])["Grants"][0]
        assert entry["GranteeServicePrincipal"] == "cloudtrail.amazonaws.com"
        assert entry["Constraints"] == source and "GranteePrincipal" not in entry
        assert {k: entry[k] for k in retiring} == retiring
    by_service = kms.list_grants(KeyId=key["KeyId"], GranteeServicePrincipal="cloudtrail.amazonaws.com")
    assert len(by_service["Grants"]) == 2
    assert kms.list_grants(KeyId=key["KeyId"], GranteeServicePrincipal="s3.amazonaws.com")["Grants"] == []
    retirable = kms.list_retirable_grants(RetiringServicePrincipal="cloudtrail.amazonaws.com")["Grants"]
    assert len(retirable) == 1 and retirable[0]["RetiringServicePrincipal"] == "cloudtrail.amazonaws.com"
    for params in ({}, {"RetiringPrincipal": bob, "RetiringServicePrincipal": "cloudtrail.amazonaws.com"}):
        with pytest.raises(errors.ValidationException) as caught:
            kms.list_retirable_grants(**params)
        assert caught.value.message == ("You must specify either RetiringPrincipal or "
                                        "RetiringServicePrincipal, but not both.")


def test_operations_a_grant_may_carry(world):
    lab, kms, key, users = world
    bob = users["bob"].arn
    with pytest.raises(errors.ValidationException) as caught:
        kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=bob, Operations=["CreateGrant"])
    assert caught.value.message == "Grants must not contain only the CreateGrant operation."
    assert kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=bob,
                            Operations=["CreateGrant", "Encrypt"])["GrantId"]


KINDS = {
    "symmetric": dict(),
    "rsa-encrypt": dict(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT"),
    "ecc-sign": dict(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY"),
    "hmac": dict(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC"),
    "agreement": dict(KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT"),
}
EVERY_KEY = {"DescribeKey", "CreateGrant", "RetireGrant"}
DATA_KEYS = {"GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
             "GenerateDataKeyPairWithoutPlaintext"}
#: CreateGrant's Operations, as the API Reference lists them for each kind of key
VALID = {
    "symmetric": EVERY_KEY | DATA_KEYS | {"Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo"},
    "rsa-encrypt": EVERY_KEY | {"Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey"},
    "ecc-sign": EVERY_KEY | {"Sign", "Verify", "GetPublicKey"},
    "hmac": EVERY_KEY | {"GenerateMac", "VerifyMac"},
    "agreement": EVERY_KEY | {"DeriveSharedSecret", "GetPublicKey"},
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_grant_carries_exactly_the_operations_its_key_serves(world, kind):
    lab, kms, _, users = world
    key = kms.create_key(**KINDS[kind])["KeyMetadata"]
    bob = users["bob"].arn
    every = set().union(*VALID.values())
    assert grants_module.grant_operations_for(
        lab.kms_service(A, "us-east-1").keys[key["KeyId"]]) & every == VALID[kind]
    for op in sorted(every - VALID[kind]):
        with pytest.raises(errors.ValidationException) as caught:
            kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=bob, Operations=["DescribeKey", op])
        assert caught.value.message == (
            f"Grant operations ['{op}'] are not valid for a KMS key with key spec "
            f"{key['KeySpec']} and key usage {key['KeyUsage']}."), (kind, op)
    out = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=bob, Operations=sorted(VALID[kind]))
    assert _grant_ids(kms, key) == [out["GrantId"]]


def test_encryption_context_constraints_only_for_symmetric_encryption_keys(world):
    lab, kms, key, users = world
    rsa = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    for kind in ("EncryptionContextEquals", "EncryptionContextSubset"):
        with pytest.raises(errors.ValidationException) as caught:
            kms.create_grant(KeyId=rsa["KeyId"], GranteePrincipal=users["bob"].arn,
                             Operations=["Decrypt"], Constraints={kind: {"a": "b"}})
        assert caught.value.message == ("Encryption context grant constraints are valid only "
                                        "for symmetric encryption KMS keys.")
        assert kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=users["bob"].arn,
                                Operations=["Decrypt"], Constraints={kind: {"a": "b"}})


@pytest.mark.parametrize("kind", ["EncryptionContextEquals", "EncryptionContextSubset"])
def test_constraint_sizes_at_and_past_the_documented_limits(world, kind):
    lab, kms, key, users = world
    grant = lambda context: kms.create_grant(  # noqa: E731
        KeyId=key["KeyId"], GranteePrincipal=users["bob"].arn, Operations=["Decrypt"],
        Constraints={kind: context})
    assert grant({f"k{i}": "v" for i in range(8)})["GrantId"]
    assert grant({"k": "v" * 384})["GrantId"]
    with pytest.raises(errors.ValidationException) as caught:
        grant({f"k{i}": "v" for i in range(9)})
    assert caught.value.message == (f"The {kind} grant constraint has 9 encryption context pairs; "
                                    "each constraint can include up to 8.")
    with pytest.raises(errors.ValidationException) as caught:
        grant({"k": "v" * 385})
    assert caught.value.message == (f"The value of 'k' in the {kind} grant constraint has 385 "
                                    "characters; an encryption context value in a constraint "
                                    "cannot exceed 384.")
    assert len(_grant_ids(kms, key)) == 2


# ------------------------------------------------------------------ idempotence and the quota
def test_a_name_returns_the_same_grant_only_for_the_same_parameters(world):
    lab, kms, key, users = world
    bob, carol = users["bob"].arn, users["carol"].arn
    base = dict(KeyId=key["KeyId"], GranteePrincipal=bob, Operations=["Encrypt", "Decrypt"],
                Name="app", RetiringPrincipal=carol,
                Constraints={"EncryptionContextSubset": {"a": "b"}})
    first = kms.create_grant(**base)["GrantId"]
    # the same parameters, operations in another order: the same grant
    assert kms.create_grant(**dict(base, Operations=["Decrypt", "Encrypt"]))["GrantId"] == first
    variants = [dict(GranteePrincipal=carol), dict(RetiringPrincipal=bob),
                dict(Operations=["Encrypt"]), dict(Constraints={"EncryptionContextSubset": {"a": "c"}}),
                dict(Constraints=None), dict(Name="other")]
    ids = {first}
    for change in variants:
        params = {k: v for k, v in dict(base, **change).items() if v is not None}
        ids.add(kms.create_grant(**params)["GrantId"])
    assert len(ids) == 1 + len(variants)
    # without a Name, the same parameters make another grant
    unnamed = {k: v for k, v in base.items() if k != "Name"}
    assert kms.create_grant(**unnamed)["GrantId"] != kms.create_grant(**unnamed)["GrantId"]


def test_the_grant_quota_is_awss_and_a_repeated_named_grant_does_not_count(world, monkeypatch):
    assert grants_module.MAX_GRANTS_PER_KEY == 50_000     # "Grants per KMS key: 50,000"
    lab, kms, key, users = world
    monkeypatch.setattr(grants_module, "MAX_GRANTS_PER_KEY", 3)
    args = dict(KeyId=key["KeyId"], GranteePrincipal=users["bob"].arn, Operations=["Encrypt"])
    named = kms.create_grant(Name="n", **args)["GrantId"]
    kms.create_grant(**args)
    kms.create_grant(**args)               # the third grant: at the quota, allowed
    with pytest.raises(errors.LimitExceededException) as caught:
        kms.create_grant(**args)
    assert caught.value.message == (f"The request was rejected because the key {key['Arn']} "
                                    "has reached the limit of 3 grants.")
    assert kms.create_grant(Name="n", **args)["GrantId"] == named
    assert len(_grant_ids(kms, key)) == 3


def test_list_grants_refuses_a_malformed_grant_id(world):
    lab, kms, key, users = world
    with pytest.raises(errors.InvalidGrantIdException) as caught:
        kms.list_grants(KeyId=key["KeyId"], GrantId="g" * 64)
    assert caught.value.message == f"Invalid grant ID {'g' * 64}"
    assert kms.list_grants(KeyId=key["KeyId"], GrantId="0" * 64)["Grants"] == []


def test_a_grant_entry_shows_its_name_and_constraints(world):
    lab, kms, key, users = world
    out = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=users["bob"].arn, Name="app",
                           Operations=["Decrypt"], Constraints={"EncryptionContextEquals": {"a": "b"}})
    entry = kms.list_grants(KeyId=key["KeyId"])["Grants"][0]
    assert entry["GrantId"] == out["GrantId"] and entry["Name"] == "app"
    assert entry["Constraints"] == {"EncryptionContextEquals": {"a": "b"}}
    assert list(entry) == ["KeyId", "GrantId", "Name", "CreationDate", "GranteePrincipal",
                           "IssuingAccount", "Operations", "Constraints"]


def test_a_name_returns_the_same_service_grant_only_for_the_same_service_principals(world):
    lab, kms, key, users = world
    base = dict(KeyId=key["KeyId"], Name="trail", Operations=["GenerateDataKey"],
                GranteeServicePrincipal="cloudtrail.amazonaws.com",
                RetiringServicePrincipal="cloudtrail.amazonaws.com",
                Constraints={"SourceArn": f"arn:aws:cloudtrail:us-east-1:{A}:trail/audit"})
    first = kms.create_grant(**base)["GrantId"]
    assert kms.create_grant(**base)["GrantId"] == first
    assert kms.create_grant(**dict(base, GranteeServicePrincipal="s3.amazonaws.com"))["GrantId"] != first
    assert kms.create_grant(**dict(base, RetiringServicePrincipal="s3.amazonaws.com"))["GrantId"] != first
    assert len(_grant_ids(kms, key)) == 3


def test_a_grant_shows_itself_without_its_token(world):
    lab, kms, key, users = world
    out = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=users["bob"].arn,
                           Operations=["Encrypt", "Decrypt"])
    grant = lab.kms_service(A, "us-east-1").keys[key["KeyId"]].grants[out["GrantId"]]
    assert repr(grant) == f"<Grant {out['GrantId'][:12]}... {users['bob'].arn} ['Encrypt', 'Decrypt']>"
    service = kms.create_grant(KeyId=key["KeyId"], GranteeServicePrincipal="cloudtrail.amazonaws.com",
                               RetiringPrincipal=users["bob"].arn, Operations=["Encrypt"],
                               Constraints={"SourceArn": f"arn:aws:cloudtrail:us-east-1:{A}:trail/a"})
    grant = lab.kms_service(A, "us-east-1").keys[key["KeyId"]].grants[service["GrantId"]]
    assert repr(grant) == f"<Grant {service['GrantId'][:12]}... cloudtrail.amazonaws.com ['Encrypt']>"


def test_revoke_grant_names_a_grant_of_the_key(world):
    lab, kms, key, users = world
    other = kms.create_key()["KeyMetadata"]
    grant = kms.create_grant(KeyId=other["KeyId"], GranteePrincipal=users["bob"].arn,
                             Operations=["Encrypt"])["GrantId"]
    with pytest.raises(errors.InvalidGrantIdException) as caught:
        kms.revoke_grant(KeyId=key["KeyId"], GrantId="not-a-grant")
    assert caught.value.message == "Invalid grant ID not-a-grant"
    with pytest.raises(errors.NotFoundException) as caught:
        kms.revoke_grant(KeyId=key["KeyId"], GrantId=grant)   # a grant of another key
    assert caught.value.message == f"Grant ID {grant} not found for key {key['Arn']}."
    assert _grant_ids(kms, other) == [grant]


@pytest.fixture
def key_without_root(world):
    """A key whose policy speaks for the administrator only: the account's root user gets
    nothing from the policy, so only the grant rules let it retire."""
    lab, kms, _, users = world
    admin = lab.principal().arn
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": admin}, "Action": "kms:*", "Resource": "*"}]}
    key = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]
    root = lab.client(as_="root")
    with pytest.raises(errors.AccessDeniedException):
        root.describe_key(KeyId=key["Arn"])
    return key, root


def test_the_issuing_accounts_root_retires_even_when_the_key_policy_gives_it_nothing(
        world, key_without_root):
    lab, kms, _, users = world
    key, root = key_without_root
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=users["bob"].arn,
                             Operations=["Encrypt"])
    root.retire_grant(KeyId=key["Arn"], GrantId=grant["GrantId"])
    assert _grant_ids(kms, key) == []


def test_an_account_named_as_retiring_principal_retires_through_its_root_user(
        world, key_without_root):
    lab, kms, _, users = world
    key, _ = key_without_root
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=users["bob"].arn,
                             RetiringPrincipal=f"arn:aws:iam::{B}:root", Operations=["Encrypt"])
    _refused_retire(lab.client(as_="dave"), kms, key, grant)      # a user of the issuing account
    lab.client(as_="root", account=B).retire_grant(KeyId=key["Arn"], GrantId=grant["GrantId"])
    assert _grant_ids(kms, key) == []


# ------------------------------------------------------------------ what a grant allows
#: every kind of key above, and an ML-KEM key (Encapsulate and Decapsulate)
ALL_KINDS = {**KINDS, "kem": dict(KeySpec="ML_KEM_768", KeyUsage="ENCAPSULATE_DECAPSULATE")}
ALL_VALID = {**VALID, "kem": EVERY_KEY | {"Encapsulate", "Decapsulate", "GetPublicKey"}}
GRANT_OPERATIONS = sorted(set().union(*ALL_VALID.values()))
#: the grant operations whose requests carry an encryption context (API Reference, CreateGrant:
#: "Constraints ... supported only on grant operations that use a symmetric encryption key"; they
#: are ignored for DescribeKey and RetireGrant)
EC_OPERATIONS = {"Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey",
                 "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair",
                 "GenerateDataKeyPairWithoutPlaintext"}


def test_the_grant_operations_are_the_models():
    """Each of CreateGrant's GrantOperation values is valid for some kind of key."""
    assert GRANT_OPERATIONS == sorted(MODEL.shape_for("GrantOperation").enum)


@pytest.fixture
def grant_world(world):
    """bob, who has no IAM policy and is not named in the key policy: only grants let him in; a
    symmetric partner key on which grants let him ReEncrypt from and to."""
    lab, kms, _, users = world
    partner = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_grant(KeyId=partner, GranteePrincipal=users["bob"].arn,
                     Operations=["ReEncryptFrom", "ReEncryptTo"])
    return lab, kms, lab.client(as_="bob"), users, partner


def _inputs(kms, kind, key_id, partner, context=None):
    """What bob's calls need, made by the key's administrator (a ciphertext, a signature...)."""
    ec = {"EncryptionContext": context} if context else {}
    made = {}
    if kind == "symmetric":
        made["ciphertext"] = kms.encrypt(KeyId=key_id, Plaintext=b"x", **ec)["CiphertextBlob"]
    elif kind == "rsa-encrypt":
        made["ciphertext"] = kms.encrypt(KeyId=key_id, Plaintext=b"x",
                                         EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    elif kind == "ecc-sign":
        made["signature"] = kms.sign(KeyId=key_id, Message=b"m",
                                     SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    elif kind == "hmac":
        made["mac"] = kms.generate_mac(KeyId=key_id, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    elif kind == "agreement":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec as curves
        made["peer"] = curves.generate_private_key(curves.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    elif kind == "kem":
        made["kem"] = kms.encapsulate(KeyId=key_id, EncapsulationAlgorithm="ML_KEM")[
            "SharedSecretCiphertextBlob"]
    partner_ec = {"EncryptionContext": {"partner": "yes"}}
    made["partner_ciphertext"] = kms.encrypt(KeyId=partner, Plaintext=b"x", **partner_ec)["CiphertextBlob"]
    return made


def _grant_calls(bob, kind, key, partner, made, carol, context=None):
    """grant operation -> bob's call that needs it (on the key, with ``context`` where the
    request carries an encryption context)."""
    key_id = key["KeyId"]
    rsa = kind == "rsa-encrypt"
    alg = {"EncryptionAlgorithm": "RSAES_OAEP_SHA_256"} if rsa else {}
    ec = {"EncryptionContext": context} if context else {}
    return {
        "DescribeKey": lambda: bob.describe_key(KeyId=key_id),
        "Encrypt": lambda: bob.encrypt(KeyId=key_id, Plaintext=b"x", **alg, **ec),
        "Decrypt": lambda: bob.decrypt(KeyId=key_id, CiphertextBlob=made["ciphertext"], **alg, **ec),
        "ReEncryptFrom": lambda: bob.re_encrypt(
            CiphertextBlob=made["ciphertext"], SourceKeyId=key_id, DestinationKeyId=partner,
            **({"SourceEncryptionAlgorithm": "RSAES_OAEP_SHA_256"} if rsa else {}),
            **({"SourceEncryptionContext": context} if context else {})),
        "ReEncryptTo": lambda: bob.re_encrypt(
            CiphertextBlob=made["partner_ciphertext"], SourceKeyId=partner,
            SourceEncryptionContext={"partner": "yes"}, DestinationKeyId=key_id,
            **({"DestinationEncryptionAlgorithm": "RSAES_OAEP_SHA_256"} if rsa else {}),
            **({"DestinationEncryptionContext": context} if context else {})),
        "GenerateDataKey": lambda: bob.generate_data_key(KeyId=key_id, KeySpec="AES_256", **ec),
        "GenerateDataKeyWithoutPlaintext": lambda: bob.generate_data_key_without_plaintext(
            KeyId=key_id, KeySpec="AES_256", **ec),
        "GenerateDataKeyPair": lambda: bob.generate_data_key_pair(
            KeyId=key_id, KeyPairSpec="ECC_NIST_P256", **ec),
        "GenerateDataKeyPairWithoutPlaintext": lambda: bob.generate_data_key_pair_without_plaintext(
            KeyId=key_id, KeyPairSpec="ECC_NIST_P256", **ec),
        "Sign": lambda: bob.sign(KeyId=key_id, Message=b"m", SigningAlgorithm="ECDSA_SHA_256"),
        "Verify": lambda: bob.verify(KeyId=key_id, Message=b"m", Signature=made["signature"],
                                     SigningAlgorithm="ECDSA_SHA_256"),
        "GetPublicKey": lambda: bob.get_public_key(KeyId=key_id),
        "GenerateMac": lambda: bob.generate_mac(KeyId=key_id, Message=b"m", MacAlgorithm="HMAC_SHA_256"),
        "VerifyMac": lambda: bob.verify_mac(KeyId=key_id, Message=b"m", Mac=made["mac"],
                                            MacAlgorithm="HMAC_SHA_256"),
        "DeriveSharedSecret": lambda: bob.derive_shared_secret(
            KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=made["peer"]),
        "Encapsulate": lambda: bob.encapsulate(KeyId=key_id, EncapsulationAlgorithm="ML_KEM"),
        "Decapsulate": lambda: bob.decapsulate(KeyId=key_id, SharedSecretCiphertextBlob=made["kem"],
                                               EncapsulationAlgorithm="ML_KEM"),
        "CreateGrant": lambda: bob.create_grant(
            KeyId=key_id, GranteePrincipal=carol, Operations=["DescribeKey"],
            **({"Constraints": {"EncryptionContextEquals": context}} if context else {})),
    }


def _allowed(call, operation) -> bool:
    """True if the call passed authorization; False on AccessDeniedException for ``operation``."""
    try:
        call()
    except errors.AccessDeniedException as e:
        # Decrypt and ReEncrypt refused the ciphertext's key say so without naming the action
        assert f"kms:{operation} " in e.message or e.message == (
            "The ciphertext refers to a customer master key that does not exist, does not exist "
            "in this region, or you are not allowed to access."), e.message
        return False
    return True


@pytest.mark.parametrize("kind", sorted(ALL_KINDS))
def test_a_grant_lets_its_grantee_call_what_it_lists_and_nothing_else(grant_world, kind):
    lab, kms, bob, users, partner = grant_world
    key = kms.create_key(**ALL_KINDS[kind])["KeyMetadata"]
    made = _inputs(kms, kind, key["KeyId"], partner)
    calls = _grant_calls(bob, kind, key, partner, made, users["carol"].arn)
    # without a grant, bob may do nothing with the key
    assert {op: _allowed(calls[op], op) for op in sorted(ALL_VALID[kind] - {"RetireGrant"})} == \
        dict.fromkeys(sorted(ALL_VALID[kind] - {"RetireGrant"}), False)
    for granted in sorted(ALL_VALID[kind]):
        # a grant of CreateGrant alone is refused: with DescribeKey, the operation it passes on
        operations = ["CreateGrant", "DescribeKey"] if granted == "CreateGrant" else [granted]
        grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=users["bob"].arn,
                                 Operations=operations)
        answers = {op: _allowed(calls[op], op) for op in sorted(ALL_VALID[kind] - {"RetireGrant"})}
        assert answers == {op: op in operations for op in answers}, granted
        retired = _allowed(partial(bob.retire_grant, KeyId=key["Arn"], GrantId=grant["GrantId"]),
                           "RetireGrant")
        assert retired == (granted == "RetireGrant"), granted
        assert (grant["GrantId"] in _grant_ids(kms, key)) == (not retired)
        for g in kms.list_grants(KeyId=key["KeyId"])["Grants"]:
            kms.revoke_grant(KeyId=key["KeyId"], GrantId=g["GrantId"])


def test_a_grant_names_only_operations_of_the_grant_operation_list(world):
    """Operations that are not grant operations (key management, listing, GenerateRandom...)
    cannot be named in CreateGrant: ValidationException, and no grant is made."""
    lab, kms, key, users = world
    not_grantable = sorted(set(MODEL.operation_names) - set(GRANT_OPERATIONS))
    assert {"EnableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "ListGrants", "RevokeGrant",
            "ReEncrypt", "GenerateRandom"} <= set(not_grantable)
    for op in not_grantable:
        with pytest.raises(errors.ValidationException) as caught:
            kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=users["bob"].arn,
                             Operations=["DescribeKey", op])
        assert f"Value '{op}' at 'operations.2.member' failed to satisfy constraint: Member must " \
               "satisfy enum value set" in caught.value.message, op
    assert _grant_ids(kms, key) == []


def test_encryption_context_constraints_bind_exactly_the_operations_with_an_encryption_context(
        grant_world):
    lab, kms, bob, users, partner = grant_world
    key = kms.create_key()["KeyMetadata"]
    same, other = {"purpose": "test"}, {"purpose": "other"}
    for granted in sorted(VALID["symmetric"] - {"RetireGrant"}):
        operations = ["CreateGrant", "DescribeKey"] if granted == "CreateGrant" else [granted]
        kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=users["bob"].arn, Operations=operations,
                         Constraints={"EncryptionContextEquals": same})
        # CreateGrant: "any grants created with the CreateGrant permission have an equally
        # strict or stricter encryption context constraint" (the same one here)
        cases = [(same, True)] + ([] if granted == "CreateGrant" else [(other, granted not in EC_OPERATIONS)])
        for context, allowed in cases:
            made = _inputs(kms, "symmetric", key["KeyId"], partner, context)
            call = _grant_calls(bob, "symmetric", key, partner, made, users["carol"].arn, context)[granted]
            assert _allowed(call, granted) == allowed, (granted, context)
        for g in kms.list_grants(KeyId=key["KeyId"])["Grants"]:
            kms.revoke_grant(KeyId=key["KeyId"], GrantId=g["GrantId"])
    # RetireGrant ignores the constraint too: bob retires his constrained grant
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=users["bob"].arn,
                             Operations=["RetireGrant", "Decrypt"],
                             Constraints={"EncryptionContextEquals": same})
    bob.retire_grant(KeyId=key["Arn"], GrantId=grant["GrantId"])
    assert _grant_ids(kms, key) == []


def test_an_encryption_context_condition_on_create_grant_reads_the_grants_constraint(world):
    """kms:EncryptionContext:<key> in a CreateGrant request is the encryption context of the
    grant's constraint (AWS KMS condition keys: kms:EncryptionContext:context-key)."""
    lab, kms, key, users = world
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "kms:CreateGrant", "Resource": key["Arn"],
        "Condition": {"StringEquals": {"kms:EncryptionContext:dept": "it"}}}]}
    lab.add_user("erin", policy=policy)
    erin = lab.client(as_="erin")
    grant = dict(KeyId=key["Arn"], GranteePrincipal=users["bob"].arn, Operations=["Decrypt"])
    for kind in ("EncryptionContextEquals", "EncryptionContextSubset"):
        assert erin.create_grant(**grant, Constraints={kind: {"dept": "it"}})["GrantId"]
        for refused in ({kind: {"dept": "hr"}}, None):
            with pytest.raises(errors.AccessDeniedException) as caught:
                erin.create_grant(**grant, **({"Constraints": refused} if refused else {}))
            assert "kms:CreateGrant" in caught.value.message
    assert len(_grant_ids(kms, key)) == 2
