"""AutoSaver: a lab saved shortly after it changes, coalesced, and always saved as it is."""

from __future__ import annotations

import gc
import json
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kmslab
from kmslab import snapshot
from kmslab.crypto import asymmetric
from kmslab.crypto.sealing import SealingKey
from kmslab.snapshot.autosave import KEY_PRESERVING, AutoSaver

sys.path.insert(0, str(Path(__file__).parent))
from snapshot_scenario import build_rich_lab  # noqa: E402

PASS = "autosave"
KEY = SealingKey.derive(PASS, log_n=10)


def _saved_document(path):
    """What a load of ``path`` reads: the snapshot with its journal applied."""
    return snapshot.read_document(path, PASS)


def _fresh_document(lab):
    return json.loads(json.dumps(snapshot.to_document(lab)))


def test_every_save_holds_the_lab_as_it_is_whatever_changed_since_the_last(tmp_path):
    """Saves that skip the keys (only calls that never change a key since the last save) and
    saves that look at every key both write exactly what a fresh save writes."""
    lab = kmslab.Lab(seed=6)
    keep = build_rich_lab(lab)
    saver = AutoSaver(tmp_path / "lab.kmslab", KEY)
    saver.watch(lab)
    kms = lab.client()
    app, off = keep["keys"]["app"], keep["keys"]["off"]
    steps = [
        lambda: kms.encrypt(KeyId=app, Plaintext=b"x"),                      # keys untouched
        lambda: kms.create_key(Description="new"),                           # a new key
        lambda: kms.create_alias(AliasName="alias/more", TargetKeyId=off),   # an alias
        lambda: kms.tag_resource(KeyId=off, Tags=[{"TagKey": "a", "TagValue": "b"}]),
        lambda: kms.encrypt(KeyId=app, Plaintext=b"y"),
        lambda: kms.disable_key(KeyId=app),
        lambda: kms.describe_key(KeyId=app),
        lambda: lab.clock.advance(days=6),                                   # a key is deleted
        lambda: kms.update_alias(AliasName="alias/more", TargetKeyId=app),
        lambda: kms.schedule_key_deletion(KeyId=off, PendingWindowInDays=7),
        lambda: kms.generate_data_key(KeyId=keep["keys"]["mrk"], KeySpec="AES_256"),
    ]
    for step in steps:
        step()
        saver.save_now()
        assert _saved_document(saver.path) == _fresh_document(lab)


def test_a_change_made_without_a_call_is_saved_once_noted(tmp_path):
    lab = kmslab.Lab(seed=6)
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    saver = AutoSaver(tmp_path / "lab.kmslab", KEY)
    saver.watch(lab)
    saver.save_now()
    lab.kms_service("111122223333", "us-east-1").keys[key].description = "changed by hand"
    kms.encrypt(KeyId=key, Plaintext=b"x")  # a call that never changes a key
    saver.changed()                         # ... and the change said
    saver.save_now()
    assert _saved_document(saver.path) == _fresh_document(lab)


def test_the_operations_that_skip_the_keys_are_kmslabs_own():
    from kmslab.service.registry import OPERATIONS
    assert KEY_PRESERVING <= set(OPERATIONS)
    changes_keys = {"TagResource", "UntagResource", "UpdateKeyDescription", "PutKeyPolicy",
                    "EnableKey", "DisableKey", "ScheduleKeyDeletion", "CancelKeyDeletion",
                    "EnableKeyRotation", "DisableKeyRotation", "RotateKeyOnDemand", "CreateGrant",
                    "RetireGrant", "RevokeGrant", "ImportKeyMaterial", "GetParametersForImport",
                    "DeleteImportedKeyMaterial", "ReplicateKey", "UpdatePrimaryRegion",
                    "ConnectCustomKeyStore", "DisconnectCustomKeyStore", "UpdateCustomKeyStore"}
    assert not KEY_PRESERVING & changes_keys


def test_a_read_that_makes_an_aws_managed_key_is_saved_as_a_change(tmp_path):
    """DescribeKey of alias/aws/ebs creates the AWS managed key: saved within the change
    interval, not the reads' one."""
    lab = kmslab.Lab(seed=3)
    saver = AutoSaver(tmp_path / "lab.kmslab", KEY, interval=0.2, read_interval=60)
    saver.watch(lab)
    saver.save_now()
    saver.start()
    try:
        lab.client().list_keys()  # a read: waits for the reads' interval
        time.sleep(0.6)
        assert saver.saves == 1
        key_id = lab.client().describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]["KeyId"]
        deadline = time.monotonic() + 10
        while saver.saves < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        saver.stop()
    assert saver.saves == 2
    back = kmslab.Lab.load(saver.path, PASS)
    assert back.client().describe_key(KeyId=key_id)["KeyMetadata"]["KeyManager"] == "AWS"
    assert _saved_document(saver.path) == _fresh_document(lab)


def test_a_burst_of_changes_costs_few_saves(tmp_path):
    lab = kmslab.Lab(seed=2)
    saver = AutoSaver(tmp_path / "burst.kmslab", KEY, interval=0.5)
    saver.watch(lab)
    saver.start()
    try:
        client = lab.client()
        for _ in range(200):
            client.create_key()
        deadline = time.monotonic() + 10
        while saver.saves < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.7)
    finally:
        saver.stop()
    assert 1 <= saver.saves <= 4  # coalesced, not one save per call
    back = kmslab.Lab.load(tmp_path / "burst.kmslab", PASS)
    assert len(back.client().list_keys(Limit=1000)["Keys"]) == 200


def test_a_failed_save_is_reported_keeps_the_file_and_is_tried_again(tmp_path, monkeypatch):
    lab = kmslab.Lab(seed=2)
    lab.client().create_key()
    errors = []
    saver = AutoSaver(tmp_path / "lab.kmslab", KEY, on_error=errors.append)
    saver.watch(lab)
    saver.save_now()
    before = _saved_document(saver.path)
    from kmslab.snapshot import autosave

    def full_disk(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(autosave, "write_atomic", full_disk)
    monkeypatch.setattr(autosave.journal, "append", full_disk)
    key_id = lab.client().create_key()["KeyMetadata"]["KeyId"]  # a journal record
    with pytest.raises(OSError):
        saver.save_now()
    lab.client().tag_resource(KeyId=key_id, Tags=[{"TagKey": "t", "TagValue": "v"}])  # whole
    with pytest.raises(OSError):
        saver.save_now()
    assert _saved_document(saver.path) == before
    monkeypatch.undo()
    saver.save_now()
    back = kmslab.Lab.load(saver.path, PASS)
    assert back.client().describe_key(KeyId=key_id)
    assert _saved_document(saver.path) == _fresh_document(lab)


def test_a_saver_needs_a_derived_key_and_a_lab(tmp_path):
    with pytest.raises(TypeError):
        AutoSaver(tmp_path / "x.kmslab", PASS)
    with pytest.raises(RuntimeError, match="watches no lab"):
        AutoSaver(tmp_path / "x.kmslab", KEY).save_now()


@pytest.mark.parametrize("whole", [False, True])
def test_a_key_pair_still_being_generated_is_waited_for_outside_the_labs_lock(
        tmp_path, monkeypatch, whole):
    """CreateKey returns before an RSA prime search ends; a save that meets the key waits for
    it with the lab's lock released (other calls go on), then saves the key's very material."""
    for _ in range(3000):  # keys earlier tests started in the background finish first
        if asymmetric.background_generations() == 0:
            break
        time.sleep(0.01)
    release, waiting = threading.Event(), threading.Event()
    real_generation, real_wait = asymmetric._rsa_private_key, asymmetric.AsymmetricMaterial.wait

    def held_generation(bits):
        assert release.wait(30)
        return real_generation(bits)

    def noted_wait(material):
        waiting.set()
        real_wait(material)

    monkeypatch.setattr(asymmetric, "_rsa_private_key", held_generation)
    monkeypatch.setattr(asymmetric.AsymmetricMaterial, "wait", noted_wait)
    lab = kmslab.Lab(seed=9)
    kms = lab.client()
    saver = AutoSaver(tmp_path / "lab.kmslab", KEY)
    saver.watch(lab)
    saver.save_now()
    key_id = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    thread = threading.Thread(target=saver.save_now, kwargs={"whole": whole}, daemon=True)
    thread.start()
    try:
        assert waiting.wait(30), "the save did not wait for the key pair"
        assert lab.lock.acquire(timeout=5), "the save held the lab's lock while waiting"
        lab.lock.release()
        assert kms.list_keys()["Keys"] and saver.saves == 1
    finally:
        release.set()
        thread.join(30)
    assert saver.saves == 2
    assert _saved_document(saver.path) == _fresh_document(lab)
    back = kmslab.Lab.load(saver.path, PASS)
    assert back.client().get_public_key(KeyId=key_id)["PublicKey"] == \
        kms.get_public_key(KeyId=key_id)["PublicKey"]


def test_time_passing_alone_keeps_the_journal_a_fired_event_writes_the_whole_snapshot(tmp_path):
    """kmslab serve's wall clock moves the lab's time before every call: that alone changes no
    key, so saves keep appending to the journal; a scheduled event that fires (a deletion at
    the end of its waiting period) makes the next save look at every key again."""
    lab = kmslab.Lab(seed=7)
    kms = lab.client()
    doomed = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
    saver = AutoSaver(tmp_path / "lab.kmslab", KEY)
    saver.watch(lab)
    saver.save_now()
    assert saver.full_saves == 1
    for _ in range(3):
        lab.clock.advance(seconds=1.5)
        kms.create_key()
        saver.save_now()
        assert saver.full_saves == 1  # journal records
        assert _saved_document(saver.path) == _fresh_document(lab)
    lab.clock.advance(days=7)  # the deletion fires
    kms.list_keys()
    saver.save_now()
    assert saver.full_saves == 2
    assert _saved_document(saver.path) == _fresh_document(lab)
    back = kmslab.Lab.load(saver.path, PASS)
    assert doomed not in [k["KeyId"] for k in back.client().list_keys()["Keys"]]


def _steps(lab):
    """Named steps a class might take, each on whatever the lab holds at that moment."""
    kms, west = lab.client(), lab.client(region_name="eu-west-1")
    names = iter(range(10_000))

    def some_key(client=kms):
        metadata = [client.describe_key(KeyId=k["KeyId"])["KeyMetadata"]
                    for k in client.list_keys()["Keys"]]
        keys = [m for m in metadata if m["KeyState"] == "Enabled" and m["KeyManager"] == "CUSTOMER"]
        return keys[len(keys) // 2]["KeyId"] if keys else client.create_key()["KeyMetadata"]["KeyId"]

    def aliases(client=kms):
        return [a["AliasName"] for a in client.list_aliases()["Aliases"] if "TargetKeyId" in a
                and not a["AliasName"].startswith("alias/aws/")]

    def grant():
        key = some_key()
        return key, kms.create_grant(KeyId=key, GranteePrincipal=lab.principal("root").arn,
                                     Operations=["Encrypt"])

    return {
        "create key": lambda: kms.create_key(Description=f"k{next(names)}"),
        "create key west": lambda: west.create_key(),
        "create alias": lambda: kms.create_alias(AliasName=f"alias/a{next(names)}",
                                                 TargetKeyId=some_key()),
        "update alias": lambda: [kms.update_alias(AliasName=a, TargetKeyId=some_key())
                                 for a in aliases()[:1]],
        "delete alias": lambda: [kms.delete_alias(AliasName=a) for a in aliases()[-1:]],
        "encrypt": lambda: kms.encrypt(KeyId=some_key(), Plaintext=b"x", EncryptionContext={"a": "b"}),
        "data key": lambda: west.generate_data_key(KeyId=some_key(west), KeySpec="AES_256"),
        "tag": lambda: kms.tag_resource(KeyId=some_key(), Tags=[{"TagKey": "t", "TagValue": "v"}]),
        "disable": lambda: kms.disable_key(KeyId=some_key()),
        "schedule deletion": lambda: kms.schedule_key_deletion(KeyId=some_key(), PendingWindowInDays=7),
        "a week passes": lambda: lab.clock.advance(days=8),
        "an hour passes": lambda: lab.clock.advance(hours=1),
        "grant": grant,
        "revoke": lambda: (lambda kg: kms.revoke_grant(KeyId=kg[0], GrantId=kg[1]["GrantId"]))(grant()),
        "aws managed key": lambda: kms.describe_key(KeyId="alias/aws/s3"),
        "ecc data key pair": lambda: kms.generate_data_key_pair(KeyId=some_key(), KeyPairSpec="ECC_NIST_P256"),
    }


_STEP_NAMES = sorted(_steps(kmslab.Lab(seed=1)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from(_STEP_NAMES), min_size=1, max_size=4), min_size=1, max_size=6))
def test_any_sequence_of_calls_and_saves_loads_back_as_the_lab_is(tmp_path, batches):
    """Journal records and whole snapshots, in whatever order a class's calls bring them: after
    every save, what a load reads is what a fresh save of the lab writes."""
    lab = kmslab.Lab(seed=7)
    steps = _steps(lab)
    path = tmp_path / f"lab-{time.monotonic_ns()}.kmslab"
    saver = AutoSaver(path, KEY)
    saver.watch(lab)
    saver.save_now()
    for batch in batches:
        for name in batch:
            steps[name]()
        saver.save_now()
        assert _saved_document(saver.path) == _fresh_document(lab), batch


@pytest.mark.parametrize("whole", [False, True], ids=["journal record", "whole snapshot"])
def test_a_save_does_not_make_the_garbage_collector_run(tmp_path, whole):
    """What a save encodes is thousands of short-lived objects, freed before the collector runs
    again: they do not make it collect (in a large served lab every thread pays for a
    collection). At most one collection of the youngest objects follows a save (objects freed
    into Python's free lists leave the collector's count where it was). The collector is left
    as it was found, on or off."""
    lab = kmslab.Lab(seed=8)
    saver = AutoSaver(tmp_path / "lab.kmslab", KEY)
    saver.watch(lab)
    saver.save_now()
    kms = lab.client()
    for _ in range(2000):
        kms.create_key()
    collections: list[int] = []

    def count(phase, info):
        if phase == "start":
            collections.append(info["generation"])

    gc.collect()
    gc.callbacks.append(count)
    try:
        saver.save_now(whole=whole)
        assert collections in ([], [0]) and gc.isenabled()
        gc.disable()
        kms.create_key()
        saver.save_now(whole=whole)
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.callbacks.remove(count)
    assert saver.full_saves == (3 if whole else 1)
    assert len(kmslab.Lab.load(saver.path, PASS).client().list_keys(Limit=1000)["Keys"]) == 1000
