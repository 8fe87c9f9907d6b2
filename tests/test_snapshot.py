"""Save and restore a lab: encrypted, authenticated, atomic, and complete."""

import io
import json
import os
import pickle
import struct

import pytest

import kmslab
from kmslab import errors, snapshot
from kmslab.crypto import sealing

PASS = "correct horse battery staple"


def _observables(lab):
    kms = lab.client()
    keys = sorted(k["KeyId"] for k in kms.list_keys()["Keys"])
    out = {"now": lab.clock.now(), "keys": keys, "aliases": kms.list_aliases()["Aliases"],
           "audit": lab.audit.records(), "events": list(lab.events)}
    for key in keys:
        out[key] = (kms.describe_key(KeyId=key)["KeyMetadata"],
                    kms.get_key_policy(KeyId=key)["Policy"],
                    kms.list_resource_tags(KeyId=key)["Tags"])
    return out


@pytest.fixture
def rich_lab():
    lab = kmslab.Lab(seed=11)
    kms = lab.client()
    a = kms.create_key(Description="app", Tags=[{"TagKey": "team", "TagValue": "blue"}])["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/app", TargetKeyId=a)
    kms.create_key(KeySpec="HMAC_384", KeyUsage="GENERATE_VERIFY_MAC")
    kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    kms.create_key(Origin="EXTERNAL", Description="waiting for import")
    doomed = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId="alias/app", Plaintext=b"kept safe", EncryptionContext={"k": "v"})["CiphertextBlob"]
    doomed_blob = kms.encrypt(KeyId=doomed, Plaintext=b"soon gone")["CiphertextBlob"]
    kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
    kms.disable_key(KeyId=a)
    with pytest.raises(errors.DisabledException):
        kms.encrypt(KeyId=a, Plaintext=b"x")
    kms.enable_key(KeyId=a)
    lab.clock.advance(days=2)
    return lab, blob, doomed, doomed_blob


def test_round_trip_keeps_every_observable(rich_lab, tmp_path):
    lab, blob, doomed, doomed_blob = rich_lab
    path = tmp_path / "lab.kmslab"
    lab.save(path, passphrase=PASS)
    back = kmslab.Lab.load(path, passphrase=PASS)
    assert _observables(back) == _observables(lab)
    kms = back.client()
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"k": "v"})["Plaintext"] == b"kept safe"
    with pytest.raises(errors.KMSInvalidStateException):  # pending deletion, as before saving
        kms.decrypt(CiphertextBlob=doomed_blob)


def test_time_based_events_still_fire_after_load(rich_lab):
    lab, blob, doomed, doomed_blob = rich_lab
    back = kmslab.Lab.from_bytes(lab.to_bytes(PASS), PASS)
    kms = back.client()
    back.clock.advance(days=4, hours=23)
    assert kms.describe_key(KeyId=doomed)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    back.clock.advance(hours=1)
    with pytest.raises(errors.NotFoundException):
        kms.describe_key(KeyId=doomed)
    with pytest.raises(errors.AccessDeniedException):  # the key no longer exists
        kms.decrypt(CiphertextBlob=doomed_blob)
    # the original lab is untouched by what happened to its copy
    assert lab.client().describe_key(KeyId=doomed)["KeyMetadata"]["KeyState"] == "PendingDeletion"


def test_ids_continue_reproducibly_after_load(rich_lab):
    lab, *_ = rich_lab
    back = kmslab.Lab.from_bytes(lab.to_bytes(PASS), PASS)
    assert back.client().create_key()["KeyMetadata"]["KeyId"] == lab.client().create_key()["KeyMetadata"]["KeyId"]


@pytest.mark.parametrize("damage", ["wrong passphrase", "truncated", "flipped bit", "version", "not a snapshot"])
def test_damaged_snapshots_are_refused(rich_lab, damage):
    lab, *_ = rich_lab
    data = bytearray(lab.to_bytes(PASS))
    passphrase = PASS
    if damage == "wrong passphrase":
        passphrase = "Correct horse battery staple"
    elif damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "flipped bit":
        data[len(data) // 2] ^= 0x01
    elif damage == "version":
        data[16:18] = struct.pack(">H", 2)
    else:
        data = bytearray(b"PK\x03\x04 this is a zip file, not a lab")
    with pytest.raises(snapshot.SnapshotError) as exc:
        kmslab.Lab.from_bytes(bytes(data), passphrase)
    if damage == "version":
        assert "format version 2" in str(exc.value) and "upgrade kmslab" in str(exc.value)


def test_interrupted_save_keeps_the_previous_snapshot(rich_lab, tmp_path):
    lab, *_ = rich_lab
    path = tmp_path / "lab.kmslab"
    lab.save(path, passphrase=PASS)
    before = path.read_bytes()
    lab.client().create_key(Description="not saved")

    def failing_writer(fh, data):
        fh.write(data[:100])
        raise OSError("disk full")

    with pytest.raises(OSError):
        snapshot.save(lab, path, PASS, _writer=failing_writer)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["lab.kmslab"]  # no temp file left behind
    kmslab.Lab.load(path, passphrase=PASS)


def test_key_material_is_not_readable_in_the_file(rich_lab, tmp_path):
    lab, *_ = rich_lab
    data = lab.to_bytes(PASS)
    assert b"SymmetricMaterial" not in data and b"alias/app" not in data


def test_a_crafted_pickle_cannot_run_code(tmp_path):
    """Even with the passphrase, only kmslab's own classes and plain data are rebuilt."""
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    body = json.dumps({"kmslab": "0.1.0", "format": 1}).encode() + b"\n" + pickle.dumps(Evil())
    sealed = sealing.seal(body, PASS, log_n=10)
    with pytest.raises(snapshot.SnapshotError, match="does not load"):
        kmslab.Lab.from_bytes(sealed, PASS)
    # a GLOBAL opcode reaching a module that kmslab imported (kmslab.snapshot.os)
    sneaky = json.dumps({"kmslab": "0.1.0", "format": 1}).encode() + b"\n" + b"ckmslab.snapshot\nos\n."
    with pytest.raises(snapshot.SnapshotError, match="does not load"):
        kmslab.Lab.from_bytes(sealing.seal(sneaky, PASS, log_n=10), PASS)


def test_lambdas_cannot_be_saved_and_say_so(lab):
    lab.clock.schedule(lab.clock.now(), lambda: None)
    with pytest.raises(snapshot.SnapshotError, match="lambda"):
        lab.to_bytes(PASS)


def test_bound_methods_of_kmslab_objects_survive(lab):
    key = lab.client().create_key()["KeyMetadata"]["KeyId"]
    svc = lab.kms_service("111122223333", "us-east-1")
    lab.clock.schedule(lab.clock.now(), svc.keys[key].metadata, label="harmless")
    back = kmslab.Lab.from_bytes(lab.to_bytes(PASS), PASS)
    (event,) = [e for e in back.clock.pending() if e.label == "harmless"]
    # the method is bound to the loaded lab's key, not to a copy of the saved one
    assert event.action.__self__ is back.kms_service("111122223333", "us-east-1").keys[key]
    back.clock.advance(seconds=1)
    assert "harmless" not in [e.label for e in back.clock.pending()]


def test_a_lab_saved_by_kmslab_0_1_0_loads_with_its_trail():
    """tests/data/lab-0.1.0.kmslab was written by kmslab 0.1.0 (one audit column per field)."""
    data = os.path.join(os.path.dirname(__file__), "data")
    with open(os.path.join(data, "lab-0.1.0.json")) as f:
        expected = json.load(f)
    lab = kmslab.Lab.load(os.path.join(data, "lab-0.1.0.kmslab"), passphrase="correct horse")
    assert lab.audit.records() == expected["records"]
    kms = lab.client()
    usage = kms.get_key_last_usage(KeyId=expected["key_id"])["KeyLastUsage"]
    assert usage["CloudTrailEventId"] == expected["last_usage"]
    # the loaded lab keeps recording, request ids continue, and last usage moves on
    blob = kms.encrypt(KeyId="alias/app", Plaintext=b"x", EncryptionContext={"Project": "Alpha"})
    rec = lab.audit.records()[-1]
    assert rec["eventName"] == "Encrypt" and rec["requestID"] == blob["ResponseMetadata"]["RequestId"]
    assert rec["requestID"] not in {r.get("requestID") for r in expected["records"]}
    usage = kms.get_key_last_usage(KeyId=expected["key_id"])["KeyLastUsage"]
    assert usage["CloudTrailEventId"] == rec["eventID"]
    assert len(lab.audit.filter(event_name="Decrypt", success=False)) == 1
