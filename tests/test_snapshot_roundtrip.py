"""A lab holding everything (IAM, policies, grants, every key type, rotations, imports,
metrics, events, audit) saves and loads with every observable identical."""

import dataclasses
import hmac
import json
import sys
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

import kmslab
from kmslab import errors, snapshot
from kmslab.crypto import sealing
from kmslab.snapshot import actions

sys.path.insert(0, str(Path(__file__).parent))
from snapshot_scenario import build_rich_lab, observables, start_actions_in_flight  # noqa: E402

PASS = "snapshot round trip"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A rich lab, its sealed file, and what must still work after loading."""
    lab = kmslab.Lab(seed=21)
    keep = build_rich_lab(lab)
    path = tmp_path_factory.mktemp("snap") / "class.kmslab"
    lab.save(path, passphrase=PASS)
    return lab, keep, path


def _diff(a: dict, b: dict) -> list:
    return [k for k in a if a[k] != b.get(k)]


def test_every_observable_is_identical_after_load(saved):
    lab, _, path = saved
    back = kmslab.Lab.load(path, passphrase=PASS)
    original = kmslab.Lab.load(path, passphrase=PASS)  # the saved state, untouched since
    assert _diff(observables(original), observables(back)) == []


def test_the_loaded_lab_is_the_live_lab():
    """Not only two loads of one file: the lab that was saved and the lab loaded agree."""
    lab = kmslab.Lab(seed=21)
    build_rich_lab(lab)
    back = kmslab.Lab.from_bytes(lab.to_bytes(PASS), PASS)
    assert _diff(observables(lab), observables(back)) == []


def test_an_unseeded_lab_holding_everything_round_trips():
    lab = kmslab.Lab()
    keep = build_rich_lab(lab)
    back = kmslab.Lab.from_bytes(lab.to_bytes(PASS), PASS)
    assert _diff(observables(lab), observables(back)) == []
    kms = back.client()
    assert kms.decrypt(CiphertextBlob=keep["blob_v2"])["Plaintext"] == b"after rotation"


def test_every_kind_of_scheduled_action_survives_while_in_flight():
    """Grants taking effect, an on-demand rotation, a store connecting, a replica being
    created, a primary Region changing, deletions, expiries, rotations: saved as data, and
    they happen alike in the lab and its copy."""
    lab = kmslab.Lab(seed=8)
    keep = build_rich_lab(lab)
    start_actions_in_flight(lab, keep)
    kinds = {e["action"]["kind"] for e in snapshot.to_document(lab)["clock"]["events"]}
    assert kinds == set(actions.ACTIONS)
    back = kmslab.Lab.from_bytes(lab.to_bytes(PASS), PASS)
    assert [(e.when, e.seq, e.label) for e in back.clock.pending()] == \
        [(e.when, e.seq, e.label) for e in lab.clock.pending()]
    assert _diff(observables(lab), observables(back)) == []
    for each in (lab, back):
        each.clock.advance(minutes=1, seconds=30)  # some actions done, others still due
    assert _diff(observables(lab), observables(back)) == []
    for each in (lab, back):
        each.clock.advance(days=400)
    assert _diff(observables(lab), observables(back)) == []


def test_a_loaded_lab_writes_back_the_document_it_was_read_from(saved):
    """Loading is faithful down to the document: saving a loaded lab gives what was read."""
    _, _, path = saved
    document = snapshot.payload.decode(sealing.unseal(path.read_bytes(), PASS))[1]
    assert snapshot.to_document(kmslab.Lab.load(path, PASS)) == document


def test_a_savers_cache_writes_what_a_fresh_save_writes():
    """An autosaver reuses what did not change; after each change its document is the
    document a fresh save would write."""
    lab = kmslab.Lab(seed=4)
    keep = build_rich_lab(lab)
    kms = lab.client()
    cache: dict = {}
    steps = [lambda: None,
             lambda: kms.tag_resource(KeyId=keep["keys"]["off"], Tags=[{"TagKey": "a", "TagValue": "b"}]),
             lambda: kms.encrypt(KeyId=keep["keys"]["app"], Plaintext=b"x"),
             lambda: kms.update_key_description(KeyId=keep["keys"]["app"], Description="new"),
             lambda: lab.clock.advance(days=6),  # the doomed key is deleted
             lambda: kms.rotate_key_on_demand(KeyId=keep["keys"]["app"]),
             lambda: kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY"),
             lambda: lab.client(region_name="us-west-2").disable_key(KeyId=keep["keys"]["mrk"])]
    for step in steps:
        step()
        cached = snapshot.payload.encode(snapshot.to_document(lab, cache=cache), "")
        fresh = json.loads(json.dumps(snapshot.to_document(lab)))
        assert snapshot.payload.decode(cached)[1] == fresh


def test_the_comparison_sees_a_difference(saved):
    """The walk is not blind: one tag more on one key shows."""
    _, keep, path = saved
    a, b = kmslab.Lab.load(path, PASS), kmslab.Lab.load(path, PASS)
    b.client().tag_resource(KeyId=keep["keys"]["off"], Tags=[{"TagKey": "x", "TagValue": "y"}])
    a.client().list_keys()  # the same number of audited calls on both sides
    assert ("111122223333", "us-east-1") in _diff(observables(a), observables(b))


def test_ciphertexts_signatures_and_macs_from_before_save_work_after(saved):
    _, keep, path = saved
    back = kmslab.Lab.load(path, passphrase=PASS)
    kms = back.client()
    keys = keep["keys"]
    payroll = {"app": "payroll"}
    assert kms.decrypt(CiphertextBlob=keep["blob_v1"],
                       EncryptionContext=payroll)["Plaintext"] == b"salary table"
    assert kms.decrypt(CiphertextBlob=keep["blob_v2"])["Plaintext"] == b"after rotation"
    assert kms.decrypt(CiphertextBlob=keep["ext_blob"])["Plaintext"] == b"imported"
    assert kms.decrypt(KeyId=keys["RSA_2048"], CiphertextBlob=keep["rsa_blob"],
                       EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"] == b"rsa secret"
    assert kms.decrypt(CiphertextBlob=keep["hsm_blob"])["Plaintext"] == b"in the hsm"
    assert kms.decrypt(CiphertextBlob=keep["xks_blob"])["Plaintext"] == b"hold your own"
    west = back.client(region_name="us-west-2")  # the replica shares the primary's material
    assert west.decrypt(CiphertextBlob=keep["mrk_blob"])["Plaintext"] == b"everywhere"
    assert back.service("s3").get_object(Bucket="reports", Key="q1.csv")["Body"].read() == b"a,b\n1,2\n"
    data_key = keep["data_key"]
    assert kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"],
                       EncryptionContext={"app": "payroll"})["Plaintext"] == data_key["Plaintext"]
    for spec, (alg, signature) in keep["signatures"].items():
        assert kms.verify(KeyId=keys[spec], Message=b"signed", Signature=signature,
                          SigningAlgorithm=alg)["SignatureValid"] is True
    assert kms.verify_mac(KeyId=keys["HMAC_256"], Message=b"mac me", Mac=keep["mac"],
                          MacAlgorithm="HMAC_SHA_256")["MacValid"] is True
    kem_ct, secret = keep["kem"]
    assert kms.decapsulate(KeyId=keys["ML_KEM_768"], SharedSecretCiphertextBlob=kem_ct,
                           EncapsulationAlgorithm="ML_KEM")["SharedSecret"] == secret


def test_public_keys_are_the_same_keys_outside_kmslab(saved):
    """The ECDSA signature from before the save verifies with plain cryptography
    against the public key the loaded lab hands out."""
    _, keep, path = saved
    back = kmslab.Lab.load(path, passphrase=PASS)
    der = back.client().get_public_key(KeyId=keep["keys"]["ECC_NIST_P256"])["PublicKey"]
    public = serialization.load_der_public_key(der)
    signature = keep["signatures"]["ECC_NIST_P256"][1]
    assert public.verify(signature, b"signed", ec.ECDSA(hashes.SHA256())) is None  # raises if not
    with pytest.raises(InvalidSignature):
        public.verify(signature, b"signeD", ec.ECDSA(hashes.SHA256()))
    # and a new signature made after loading verifies with the same key
    rsa_der = back.client().get_public_key(KeyId=keep["keys"]["RSA_3072"])["PublicKey"]
    sig = back.client().sign(KeyId=keep["keys"]["RSA_3072"], Message=b"new",
                             SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")["Signature"]
    rsa_public = serialization.load_der_public_key(rsa_der)
    assert rsa_public.verify(sig, b"new", padding.PKCS1v15(), hashes.SHA256()) is None
    with pytest.raises(InvalidSignature):
        rsa_public.verify(sig, b"old", padding.PKCS1v15(), hashes.SHA256())


def test_credentials_grant_tokens_and_sessions_survive(saved):
    _, keep, path = saved
    back = kmslab.Lab.load(path, passphrase=PASS)
    principal, secret = back.resolve_access_key(keep["alice_key"]["AccessKeyId"])
    assert principal.arn.endswith(":user/alice")
    assert hmac.compare_digest(secret, keep["alice_key"]["SecretAccessKey"])
    session = back.iam.access_keys[keep["session_key"]]  # issued for an hour, two days ago
    assert session.principal.arn.endswith(":assumed-role/auditor/audit-1")
    assert session.expiration == saved[0].iam.access_keys[keep["session_key"]].expiration
    with pytest.raises(errors.ExpiredTokenException):
        back.resolve_access_key(keep["session_key"])
    bob = back.client(as_="bob")
    out = bob.decrypt(CiphertextBlob=keep["blob_v1"], EncryptionContext={"app": "payroll"},
                      GrantTokens=[keep["grant_token"]])
    assert out["Plaintext"] == b"salary table"
    with pytest.raises(errors.AccessDeniedException):  # the grant needs the context
        bob.encrypt(KeyId=keep["keys"]["app"], Plaintext=b"x")


def test_role_sessions_keep_their_issue_time_and_mfa():
    """A session's issue time (aws:TokenIssueTime) and the time its MFA code was checked
    (aws:MultiFactorAuthPresent, aws:MultiFactorAuthAge) are part of its credentials: a key
    policy that demands a recent MFA decides alike before and after a load."""
    lab = kmslab.Lab(seed=5)
    lab.add_user("alice")
    role = lab.add_role("auditor", trusted=["alice"], policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]})
    sts = lab.client("sts", as_="alice")
    with_mfa, without = (sts.assume_role(RoleArn=role.arn, RoleSessionName=name)["Credentials"]
                         ["AccessKeyId"] for name in ("with-mfa", "without-mfa"))
    access_key = lab.iam.access_keys[with_mfa]  # a session made with an MFA code
    access_key.principal = dataclasses.replace(access_key.principal,
                                               mfa_authenticated_at=lab.clock.now())
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{lab.default_account}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}}}]}
    key = lab.client().create_key(Policy=json.dumps(policy))["KeyMetadata"]["KeyId"]
    lab.clock.advance(minutes=30)
    back = kmslab.Lab.from_bytes(lab.to_bytes(PASS), PASS)
    for who in (with_mfa, without):
        assert back.principal(who) == lab.principal(who)
        assert back.explain(who, "kms:Encrypt", key).context() == \
            lab.explain(who, "kms:Encrypt", key).context()
    context = dict(back.explain(with_mfa, "kms:Encrypt", key).context())
    assert context["aws:MultiFactorAuthAge"] == "1800"
    assert context["aws:TokenIssueTime"] == \
        dict(lab.explain(with_mfa, "kms:Encrypt", key).context())["aws:TokenIssueTime"]
    assert dict(back.explain(without, "kms:Encrypt", key).context())[
        "aws:MultiFactorAuthPresent"] == "false"
    assert back.client(as_=with_mfa).encrypt(KeyId=key, Plaintext=b"x")["KeyId"]
    with pytest.raises(errors.AccessDeniedException, match="explicit deny"):
        back.client(as_=without).encrypt(KeyId=key, Plaintext=b"x")
    session = back.principal(with_mfa)  # (its credentials expire with the hour)
    back.clock.advance(minutes=31)  # the MFA code is now over an hour old
    with pytest.raises(errors.AccessDeniedException, match="explicit deny"):
        back.client(as_=session).encrypt(KeyId=key, Plaintext=b"x")


def test_scheduled_events_fire_at_the_same_moments_in_both_labs(saved):
    """Deletion (day 7), imported-material expiry (day 30), automatic rotation (day 90)
    and the session expiry happen at the same instants in the original and the copy."""
    _, keep, path = saved
    original, back = kmslab.Lab.load(path, PASS), kmslab.Lab.load(path, PASS)
    doomed, ext, app = keep["keys"]["doomed"], keep["keys"]["ext"], keep["keys"]["app"]
    for lab in (original, back):
        kms = lab.client()
        lab.clock.advance(days=4, hours=23)
        assert kms.describe_key(KeyId=doomed)["KeyMetadata"]["KeyState"] == "PendingDeletion"
        lab.clock.advance(hours=1)
        with pytest.raises(errors.NotFoundException):
            kms.describe_key(KeyId=doomed)
        lab.clock.advance(days=24)
        assert kms.describe_key(KeyId=ext)["KeyMetadata"]["KeyState"] == "PendingImport"
        lab.clock.advance(days=61)
        versions = kms.list_key_rotations(KeyId=app)["Rotations"]
        assert [r["RotationType"] for r in versions] == ["ON_DEMAND", "AUTOMATIC"]
    assert [e["detail-type"] for e in back.events] == [e["detail-type"] for e in original.events]
    assert "KMS Imported Key Material Expiration" in [e["detail-type"] for e in back.events]
    assert back.metrics.alarm_history("reimport-soon") == original.metrics.alarm_history("reimport-soon")
    assert [h["to"] for h in back.metrics.alarm_history("reimport-soon")][-1] == "ALARM"
    assert _diff(observables(original), observables(back)) == []


def test_ids_continue_identically(saved):
    _, _, path = saved
    a, b = kmslab.Lab.load(path, PASS), kmslab.Lab.load(path, PASS)
    for lab in (a, b):
        lab.client().create_key()
    made = [lab.client().create_key()["KeyMetadata"]["KeyId"] for lab in (a, b)]
    assert made[0] == made[1]
    assert a.audit.records()[-1]["requestID"] == b.audit.records()[-1]["requestID"]


def test_key_material_is_the_same_not_new(saved):
    """The loaded HMAC key computes the very MAC of before: material restored, not regenerated."""
    _, keep, path = saved
    back = kmslab.Lab.load(path, PASS)
    mac = back.client().generate_mac(KeyId=keep["keys"]["HMAC_256"], Message=b"mac me",
                                     MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert mac == keep["mac"]


def test_loading_leaves_other_labs_and_the_default_lab_alone(saved):
    _, _, path = saved
    default_kms = kmslab.client()
    default_key = default_kms.create_key(Description="default lab")["KeyMetadata"]["KeyId"]
    other = kmslab.Lab(seed=3)
    other_key = other.client().create_key()["KeyMetadata"]["KeyId"]
    before = (observables(other), kmslab.default_lab().clock.now(),
              [k["KeyId"] for k in default_kms.list_keys()["Keys"]])
    back = kmslab.Lab.load(path, PASS)
    back.client().create_key()
    back.clock.advance(days=400)
    assert kmslab.default_lab() is not back
    assert default_kms.describe_key(KeyId=default_key)["KeyMetadata"]["KeyState"] == "Enabled"
    assert other.client().describe_key(KeyId=other_key)["KeyMetadata"]["KeyState"] == "Enabled"
    # replaying the same reads on a second copy of ``other`` gives the same answers
    after = (observables(other), kmslab.default_lab().clock.now(),
             [k["KeyId"] for k in default_kms.list_keys()["Keys"]])
    assert after[1:] == before[1:]
    assert after[0]["111122223333", "us-east-1"]["keys"] == before[0]["111122223333", "us-east-1"]["keys"]


def test_alarm_actions_are_attachments_not_state(lab):
    """An alarm's action (often a lambda in a notebook) is not saved; the alarm is."""
    calls = []
    lab.metrics.put_metric_alarm("a", "SecondsUntilKeyMaterialExpiration", {"KeyId": "k"},
                                 threshold=1, action=lambda alarm: calls.append(alarm))
    back = kmslab.Lab.from_bytes(lab.to_bytes(PASS), PASS)
    assert back.metrics.describe_alarms() == lab.metrics.describe_alarms()
    assert lab.metrics._alarms["a"].action is not None  # the original keeps its action
