"""A snapshot's journal: what changed since the snapshot, appended in sealed records."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kmslab
from kmslab import snapshot
from kmslab.crypto import sealing
from kmslab.crypto.sealing import SealingKey
from kmslab.snapshot import journal
from kmslab.snapshot.autosave import AutoSaver

PASS = "journal"
KEY = SealingKey.derive(PASS, log_n=10)


def _fresh(lab):
    return json.loads(json.dumps(snapshot.to_document(lab)))


@pytest.fixture
def served(tmp_path):
    """A lab, its saver, and a first whole snapshot."""
    lab = kmslab.Lab(seed=4)
    kms = lab.client()
    kms.create_alias(AliasName="alias/first", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    saver = AutoSaver(tmp_path / "class.kmslab", KEY)
    saver.watch(lab)
    saver.save_now()
    return lab, kms, saver


def _records(path):
    """The journal's records as (offset, length) of each frame."""
    data = Path(journal.path_of(path)).read_bytes()
    out, offset = [], 30
    while offset < len(data):
        (length,) = struct.unpack_from(">I", data, offset)
        out.append((offset, 4 + length))
        offset += 4 + length
    return data, out


def test_calls_that_change_no_key_go_to_the_journal_and_load_back(served):
    lab, kms, saver = served
    for n in range(3):
        key = kms.create_key(Description=f"key {n}")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=f"alias/k{n}", TargetKeyId=key)
        kms.encrypt(KeyId=key, Plaintext=b"x")
        saver.save_now()
    assert saver.full_saves == 1 and saver.saves == 4
    assert len(_records(saver.path)[1]) == 3
    back = kmslab.Lab.load(saver.path, PASS)
    assert _fresh(back) == _fresh(lab)
    kms.tag_resource(KeyId=key, Tags=[{"TagKey": "t", "TagValue": "v"}])  # a key changes:
    saver.save_now()                                                         # the whole snapshot
    assert saver.full_saves == 2 and _records(saver.path)[1] == []
    assert _fresh(kmslab.Lab.load(saver.path, PASS)) == _fresh(lab)


def test_keys_in_a_new_region_go_to_the_journal(served):
    lab, kms, saver = served
    west = lab.client(region_name="eu-west-1")
    key = west.create_key(Description="west")["KeyMetadata"]["KeyId"]
    saver.save_now()
    assert saver.full_saves == 1 and len(_records(saver.path)[1]) == 1
    back = kmslab.Lab.load(saver.path, PASS)
    assert _fresh(back) == _fresh(lab)
    assert back.client(region_name="eu-west-1").describe_key(KeyId=key)["KeyMetadata"]["Description"] == "west"


def test_keys_that_changed_otherwise_than_by_adding_are_saved_whole(served):
    """A record holds keys added since the last save; a key gone (whatever removed it) cannot
    be said by one, so the whole snapshot is written, every key looked at."""
    lab, kms, saver = served
    gone = kms.create_key(Description="gone")["KeyMetadata"]["KeyId"]
    saver.save_now()
    assert saver.full_saves == 1
    svc = lab.kms_service(lab.default_account, lab.default_region)
    with lab.lock:
        del svc.keys[gone]
    kms.create_key(Description="new")       # as many keys as before, the last one new
    saver.save_now()
    assert saver.full_saves == 2 and _records(saver.path)[1] == []
    back = kmslab.Lab.load(saver.path, PASS)
    assert gone not in back.kms_service(back.default_account, back.default_region).keys
    assert _fresh(back) == _fresh(lab)


def _saves_until_whole(saver, step, limit=200):
    """Run ``step`` and save until a save writes the whole snapshot; the journal's size before
    each save, and the snapshot's size the journal continued."""
    base = os.path.getsize(saver.path)
    full, sizes = saver.full_saves, []
    for _ in range(limit):
        step()
        sizes.append(os.path.getsize(journal.path_of(saver.path)))
        saver.save_now()
        if saver.full_saves > full:
            return sizes, base
    raise AssertionError("the whole snapshot was never written again")


def test_a_lab_that_only_grows_is_written_whole_when_the_journal_reaches_its_ratio(served, monkeypatch):
    lab, kms, saver = served
    from kmslab.snapshot import autosave
    monkeypatch.setattr(autosave, "JOURNAL_MIN", 0)
    sizes, base = _saves_until_whole(
        saver, lambda: [kms.create_key(Description="x" * 2000) for _ in range(20)])
    assert sizes[-1] >= autosave.JOURNAL_RATIO * base > sizes[-2]  # at the first save past it
    assert _records(saver.path)[1] == []
    assert _fresh(kmslab.Lab.load(saver.path, PASS)) == _fresh(lab)


def test_parts_written_again_bring_the_whole_snapshot_back_when_they_add_up_to_it(served, monkeypatch):
    """A Region's aliases are written whole when they change: the copies before are out of date."""
    lab, kms, saver = served
    from kmslab.snapshot import autosave
    monkeypatch.setattr(autosave, "JOURNAL_MIN", 0)
    for n in range(40):
        kms.create_alias(AliasName=f"alias/a{n}", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    saver.save_now(whole=True)
    keys = [k["KeyId"] for k in kms.list_keys()["Keys"]]
    turn = iter(range(10_000))
    sizes, base = _saves_until_whole(
        saver, lambda: kms.update_alias(AliasName="alias/a0", TargetKeyId=keys[next(turn) % len(keys)]))
    assert len(sizes) > 2 and sizes[-1] < autosave.JOURNAL_RATIO * base / 2
    assert _fresh(kmslab.Lab.load(saver.path, PASS)) == _fresh(lab)


def test_a_record_cut_short_by_a_crash_is_what_the_crash_lost(served):
    lab, kms, saver = served
    kms.create_key(Description="kept")
    saver.save_now()
    kept = _fresh(lab)
    kms.create_key(Description="lost")
    saver.save_now()
    data, records = _records(saver.path)
    offset, length = records[-1]
    for cut in (offset + 2, offset + length // 2, offset + length - 1):
        Path(journal.path_of(saver.path)).write_bytes(data[:cut])
        assert _fresh(kmslab.Lab.load(saver.path, PASS)) == kept
    # a last record written in full but never flushed (zeros) is an unfinished record too
    Path(journal.path_of(saver.path)).write_bytes(data[:offset + 4] + b"\0" * (length - 4))
    assert _fresh(kmslab.Lab.load(saver.path, PASS)) == kept


def test_a_changed_reordered_or_foreign_record_is_refused(served, tmp_path):
    lab, kms, saver = served
    for n in range(3):
        kms.create_key(Description=f"{n}")
        saver.save_now()
    data, records = _records(saver.path)
    (a, la), (b, lb), _ = records
    flipped = bytearray(data)
    flipped[a + 20] ^= 1
    swapped = data[:a] + data[b:b + lb] + data[a:a + la] + data[b + lb:]
    for damaged, why in ((bytes(flipped), "modified"), (swapped, "modified")):
        Path(journal.path_of(saver.path)).write_bytes(damaged)
        with pytest.raises(snapshot.SnapshotError, match=why):
            kmslab.Lab.load(saver.path, PASS)
    Path(journal.path_of(saver.path)).write_bytes(b"not a journal at all")
    with pytest.raises(snapshot.SnapshotError, match="not a kmslab journal"):
        kmslab.Lab.load(saver.path, PASS)


def test_a_journal_of_another_writing_of_the_snapshot_is_ignored(served):
    lab, kms, saver = served
    kms.create_key()
    saver.save_now()
    old_journal = Path(journal.path_of(saver.path)).read_bytes()
    kms.disable_key(KeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    saver.save_now()  # the whole snapshot again, a new journal
    Path(journal.path_of(saver.path)).write_bytes(old_journal)  # (a crash before it was replaced)
    assert _fresh(kmslab.Lab.load(saver.path, PASS)) == _fresh(lab)


def test_lab_save_leaves_no_journal_behind(served):
    lab, kms, saver = served
    kms.create_key()
    saver.save_now()
    assert os.path.exists(journal.path_of(saver.path))
    lab.save(saver.path, PASS)
    assert not os.path.exists(journal.path_of(saver.path))
    assert _fresh(kmslab.Lab.load(saver.path, PASS)) == _fresh(lab)


def _append_record(path, record):
    data = Path(path).read_bytes()
    number = len(_records(path)[1])
    journal.append(path, sealing.open_sealed(data, PASS)[1], sealing.sealed_id(data), number,
                   record)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10 ** 6) | st.text(max_size=12)
    | st.sampled_from(["111122223333", "us-east-1", "AAAA", "keys", "audit"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["sections", "services", "audit", "account", "region", "keys", "aliases",
                         "hidden_keys", "key_id", "from", "rows", "lab", "clock", "x"]),
        children, max_size=4),
    max_leaves=10)


@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(json_values)
def test_crafted_records_give_a_snapshot_error_or_a_lab(served, record):
    """A record sealed with the passphrase can hold anything: only SnapshotError or a lab."""
    lab, kms, saver = served
    path = saver.path
    Path(journal.path_of(path)).write_bytes(Path(journal.path_of(path)).read_bytes()[:30])
    _append_record(path, record)
    try:
        back = kmslab.Lab.load(path, PASS)
    except snapshot.SnapshotError:
        return
    # a lab that loaded answers as a lab does
    assert isinstance(back.client().list_keys()["Keys"], list)
    back.audit.records()
    back.frame("keys")


def test_saving_on_demand_writes_the_whole_snapshot(served):
    """POST /_kmslab/save and a server's shutdown: the file alone then holds the lab."""
    lab, kms, saver = served
    kms.create_key()
    saver.save_now()
    assert len(_records(saver.path)[1]) == 1
    saver.save_now(whole=True)
    assert _records(saver.path)[1] == []
    os.remove(journal.path_of(saver.path))
    assert _fresh(kmslab.Lab.load(saver.path, PASS)) == _fresh(lab)


def test_a_record_is_the_same_json_whichever_encoder_writes_it(served):
    """orjson writes a record in one pass, embedding the parts encoded already; what it leaves
    (a lone surrogate) goes to the piece-by-piece encoder: either way the same values."""
    from kmslab.snapshot.document import marks, write_delta
    lab, kms, _ = served
    since = marks(lab)
    key = kms.create_key(Description="café ☕", Tags=[{"TagKey": "k", "TagValue": "v"}])
    kms.create_alias(AliasName="alias/second", TargetKeyId=key["KeyMetadata"]["KeyId"])
    kms.encrypt(KeyId=key["KeyMetadata"]["KeyId"], Plaintext=b"x", EncryptionContext={"a": "b"})
    record, _, rewritten = write_delta(lab, since, {})
    assert rewritten > 0  # the Region's aliases, written again
    pieces: list[bytes] = []
    journal._encode(record, pieces)
    whole = journal._record_bytes(record)
    assert json.loads(whole) == json.loads(b"".join(pieces))
    assert json.loads(whole)["services"][0]["keys"][0]["description"] == "café ☕"
    odd = {**record, "sections": {"lab": {"note": "\ud800"}}}
    assert json.loads(journal._record_bytes(odd))["sections"]["lab"]["note"] == "\ud800"


def test_alias_changes_reach_the_journal_when_alias_texts_are_reused(served):
    """A save reuses an alias's text while its target and times are the same; an alias moved
    to another key, deleted, or deleted and made again under the same name is seen."""
    lab, kms, saver = served
    west = lab.client(region_name="us-west-2")
    one, two = (kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(2))
    kms.create_alias(AliasName="alias/moving", TargetKeyId=one)
    kms.create_alias(AliasName="alias/going", TargetKeyId=one)
    west.create_alias(AliasName="alias/moving", TargetKeyId=west.create_key()["KeyMetadata"]["KeyId"])
    saver.save_now()

    def move():
        lab.clock.advance(seconds=1)
        kms.update_alias(AliasName="alias/moving", TargetKeyId=two)

    steps = [move,
             lambda: kms.update_alias(AliasName="alias/moving", TargetKeyId=one),  # same instant
             move,
             lambda: kms.delete_alias(AliasName="alias/going"),
             lambda: kms.create_alias(AliasName="alias/going", TargetKeyId=two),
             lambda: kms.encrypt(KeyId="alias/going", Plaintext=b"x")]  # aliases unchanged
    for step in steps:
        step()
        saver.save_now()
        assert _fresh(kmslab.Lab.load(saver.path, PASS)) == _fresh(lab)
    assert saver.full_saves == 1  # every change above went to the journal
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in
               kmslab.Lab.load(saver.path, PASS).client().list_aliases()["Aliases"]}
    assert aliases["alias/moving"] == two and aliases["alias/going"] == two


def test_a_regions_head_is_the_same_json_written_from_alias_texts_or_whole(served):
    from kmslab.plaindata import compact_json_bytes
    from kmslab.snapshot.document import _Writer

    lab, kms, saver = served
    for n in range(5):
        kms.create_alias(AliasName=f"alias/n{n}", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    lab.kms_service(lab.default_account, lab.default_region).hidden_keys.add("hidden-key-id")
    cache: dict = {}
    for _ in range(2):  # without texts, then with the texts of the first pass
        writer = _Writer(lab, cache)
        for svc in lab._services.values():
            assert writer.head_json(svc) == compact_json_bytes(writer.service(svc, keys=False))
    assert len(cache["aliases"][(lab.default_account, lab.default_region)]) == 6


def test_a_whole_snapshot_of_a_growing_lab_writes_only_the_keys_added_since(served, monkeypatch):
    """While no key changes, a whole snapshot reuses the texts the journal's records wrote and
    encodes only the keys added since the last save, in every Region; after a key changes,
    every key is written afresh. Each time, what loads is the lab."""
    from kmslab.snapshot import autosave
    from kmslab.snapshot.document import _Writer

    lab, kms, saver = served
    west = lab.client(region_name="eu-west-1")
    encoded: list[str] = []
    real_key = _Writer.key
    monkeypatch.setattr(_Writer, "key", lambda self, key: encoded.append(key.key_id)
                        or real_key(self, key))
    for step in range(3):
        for client in (kms, west):
            for _ in range(3):
                client.create_key(Description=f"step {step}")
        saver.save_now()  # a record: the six new keys, once each
    assert saver.full_saves == 1 and len(encoded) == len(set(encoded)) == 18
    new = [kms.create_key()["KeyMetadata"]["KeyId"], west.create_key()["KeyMetadata"]["KeyId"]]
    encoded.clear()
    monkeypatch.setattr(autosave, "JOURNAL_RATIO", 0)  # the journal is "full": a whole snapshot
    monkeypatch.setattr(autosave, "JOURNAL_MIN", 0)
    saver.save_now()
    assert saver.full_saves == 2 and sorted(encoded) == sorted(new)
    assert _fresh(kmslab.Lab.load(saver.path, PASS)) == _fresh(lab)
    monkeypatch.undo()
    monkeypatch.setattr(_Writer, "key", lambda self, key: encoded.append(key.key_id)
                        or real_key(self, key))
    encoded.clear()
    kms.tag_resource(KeyId=new[0], Tags=[{"TagKey": "t", "TagValue": "v"}])  # a key changes
    saver.save_now()
    assert saver.full_saves == 3 and len(encoded) == sum(len(s.keys) for s in lab._services.values())
    assert _fresh(kmslab.Lab.load(saver.path, PASS)) == _fresh(lab)
    for client in (kms, west):  # and records go on from the texts written afresh
        client.create_key()
    saver.save_now()
    assert saver.full_saves == 3 and _fresh(kmslab.Lab.load(saver.path, PASS)) == _fresh(lab)
