"""Grants: CreateGrant rules, tokens, listing, retiring and revoking, enforcement."""

from datetime import timedelta

import pytest

import kmslab
from kmslab import errors

A = "111122223333"


@pytest.fixture
def world():
    lab = kmslab.Lab(seed=31)
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]
    bob = lab.add_user("bob")
    return lab, kms, key, bob


def test_grant_allows_its_operations_only(world):
    lab, kms, key, bob = world
    b = lab.client(as_="bob")
    with pytest.raises(errors.AccessDeniedException):
        b.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    out = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=bob.arn,
                           Operations=["Encrypt", "DescribeKey"])
    assert len(out["GrantId"]) == 64 and out["GrantToken"]
    b.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    b.describe_key(KeyId=key["KeyId"])
    with pytest.raises(errors.AccessDeniedException) as info:
        b.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    assert any("not among the grant operations" in r["detail"]
               for r in info.value.explanation.records())


def test_constraints(world):
    lab, kms, key, bob = world
    b = lab.client(as_="bob")
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=bob.arn, Operations=["Encrypt"],
                     Constraints={"EncryptionContextSubset": {"app": "web"}})
    b.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext={"app": "web", "n": "1"})
    with pytest.raises(errors.AccessDeniedException):
        b.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext={"app": "api"})
    with pytest.raises(errors.ValidationException, match="not both"):
        kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=bob.arn, Operations=["Encrypt"],
                         Constraints={"EncryptionContextSubset": {"a": "b"},
                                      "EncryptionContextEquals": {"a": "b"}})


def test_operations_must_fit_the_key_type(world):
    lab, kms, key, bob = world
    for ops in (["Sign"], ["GetPublicKey"], ["GenerateMac"], ["CreateGrant"]):
        with pytest.raises(errors.ValidationException):
            kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=bob.arn, Operations=ops)
    assert kms.list_grants(KeyId=key["KeyId"])["Grants"] == []


def test_principals_must_exist(world):
    lab, kms, key, bob = world
    with pytest.raises(errors.InvalidArnException):
        kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=f"arn:aws:iam::{A}:user/ghost",
                         Operations=["Encrypt"])
    with pytest.raises(errors.ValidationException):
        kms.create_grant(KeyId=key["KeyId"], Operations=["Encrypt"])


def test_name_idempotence(world):
    lab, kms, key, bob = world
    args = dict(KeyId=key["KeyId"], GranteePrincipal=bob.arn, Operations=["Encrypt"], Name="web")
    first, second = kms.create_grant(**args), kms.create_grant(**args)
    assert first["GrantId"] == second["GrantId"]
    assert first["GrantToken"] != second["GrantToken"]
    third = kms.create_grant(**dict(args, Operations=["Decrypt"]))
    assert third["GrantId"] != first["GrantId"]
    assert len(kms.list_grants(KeyId=key["KeyId"])["Grants"]) == 2


def test_list_grants_shape_filters_and_paging(world):
    lab, kms, key, bob = world
    carol = lab.add_user("carol")
    ids = [kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=p, Operations=["Decrypt"],
                            RetiringPrincipal=bob.arn)["GrantId"]
           for p in (bob.arn, carol.arn, carol.arn)]
    grants = kms.list_grants(KeyId=key["KeyId"])["Grants"]
    assert [g["GrantId"] for g in grants] == ids
    assert grants[0] == {"KeyId": key["Arn"], "GrantId": ids[0], "CreationDate": lab.clock.now(),
                         "GranteePrincipal": bob.arn, "RetiringPrincipal": bob.arn,
                         "IssuingAccount": f"arn:aws:iam::{A}:root", "Operations": ["Decrypt"]}
    assert len(kms.list_grants(KeyId=key["KeyId"], GranteePrincipal=carol.arn)["Grants"]) == 2
    assert [g["GrantId"] for g in kms.list_grants(KeyId=key["KeyId"], GrantId=ids[1])["Grants"]] \
        == [ids[1]]
    page = kms.list_grants(KeyId=key["KeyId"], Limit=2)
    assert page["Truncated"] and len(page["Grants"]) == 2
    rest = kms.list_grants(KeyId=key["KeyId"], Marker=page["NextMarker"])
    assert [g["GrantId"] for g in rest["Grants"]] == ids[2:]
    retirable = kms.list_retirable_grants(RetiringPrincipal=bob.arn)["Grants"]
    assert [g["GrantId"] for g in retirable] == ids


def test_retire_and_revoke(world):
    lab, kms, key, bob = world
    carol = lab.add_user("carol")
    b, c = lab.client(as_="bob"), lab.client(as_="carol")
    g1 = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=bob.arn, Operations=["Encrypt"],
                          RetiringPrincipal=carol.arn)
    g2 = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=bob.arn,
                          Operations=["Encrypt", "RetireGrant"])
    g3 = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=bob.arn, Operations=["Decrypt"])
    with pytest.raises(errors.AccessDeniedException):  # bob is grantee without RetireGrant
        b.retire_grant(KeyId=key["Arn"], GrantId=g1["GrantId"])
    c.retire_grant(KeyId=key["Arn"], GrantId=g1["GrantId"])  # the retiring principal
    b.retire_grant(GrantToken=g2["GrantToken"])              # the grantee with RetireGrant
    with pytest.raises(errors.AccessDeniedException):
        b.revoke_grant(KeyId=key["KeyId"], GrantId=g3["GrantId"])
    assert [g["GrantId"] for g in kms.list_grants(KeyId=key["KeyId"])["Grants"]] == [g3["GrantId"]]
    kms.revoke_grant(KeyId=key["KeyId"], GrantId=g3["GrantId"])
    assert kms.list_grants(KeyId=key["KeyId"])["Grants"] == []
    with pytest.raises(errors.NotFoundException):
        kms.revoke_grant(KeyId=key["KeyId"], GrantId=g3["GrantId"])
    with pytest.raises(errors.InvalidGrantIdException):
        kms.revoke_grant(KeyId=key["KeyId"], GrantId="nope")
    with pytest.raises(errors.AccessDeniedException):  # the grant is gone: bob is denied again
        b.encrypt(KeyId=key["KeyId"], Plaintext=b"x")


def test_grant_tokens_and_propagation_delay(world):
    lab, kms, key, bob = world
    lab.grant_delay = timedelta(minutes=2)
    b = lab.client(as_="bob")
    out = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=bob.arn, Operations=["Encrypt"])
    with pytest.raises(errors.AccessDeniedException):
        b.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    b.encrypt(KeyId=key["KeyId"], Plaintext=b"x", GrantTokens=[out["GrantToken"]])
    with pytest.raises(errors.InvalidGrantTokenException):
        b.encrypt(KeyId=key["KeyId"], Plaintext=b"x", GrantTokens=["not-a-token"])
    lab.clock.advance(minutes=2)
    b.encrypt(KeyId=key["KeyId"], Plaintext=b"x")


def test_explicit_deny_beats_a_grant():
    lab = kmslab.Lab(seed=32)
    kms = lab.client()
    bob = lab.add_user("bob", policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}]})
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_grant(KeyId=key, GranteePrincipal=bob.arn, Operations=["Encrypt", "Decrypt"])
    b = lab.client(as_="bob")
    blob = b.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(errors.AccessDeniedException) as info:
        b.decrypt(CiphertextBlob=blob)
    # the key came from the ciphertext: the message does not say whether it exists; the
    # explanation says why
    assert "does not exist in this region, or you are not allowed to access" in info.value.message
    assert "explicit deny in an identity-based" in info.value.explanation.access_denied_message()


def test_dry_run_creates_nothing(world):
    lab, kms, key, bob = world
    with pytest.raises(errors.DryRunOperationException):
        kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=bob.arn, Operations=["Encrypt"],
                         DryRun=True)
    assert kms.list_grants(KeyId=key["KeyId"])["Grants"] == []


def test_grant_limit(world, monkeypatch):
    from kmslab.service import grants
    lab, kms, key, bob = world
    monkeypatch.setattr(grants, "MAX_GRANTS_PER_KEY", 2)
    for _ in range(2):
        kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=bob.arn, Operations=["Encrypt"])
    with pytest.raises(errors.LimitExceededException):
        kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=bob.arn, Operations=["Encrypt"])
    assert len(kms.list_grants(KeyId=key["KeyId"])["Grants"]) == 2


def test_cross_account_grant():
    lab = kmslab.Lab(seed=33)
    other = lab.add_account("444455556666")
    erin = lab.add_user("erin", account=other, policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"}]})
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]["Arn"]
    e = lab.client(as_=erin)
    with pytest.raises(errors.AccessDeniedException):
        e.encrypt(KeyId=key, Plaintext=b"x")
    kms.create_grant(KeyId=key, GranteePrincipal=erin.arn, Operations=["Encrypt"])
    assert e.encrypt(KeyId=key, Plaintext=b"x")["KeyId"] == key
