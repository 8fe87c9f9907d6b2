"""A snapshot sealed with the class passphrase cannot run code, whatever it holds.

The attack this guards against: a file whose *values* become code when the
lab uses them (an audit pool value compiled into source on the next recorded
call, a name looked up as a function, a pickle). Loading such a file either
refuses it (SnapshotError) or gives a lab whose values are only ever data:
nothing runs, and no source kmslab compiles ever contains them.
"""

from __future__ import annotations

import builtins
import json
import sys
from pathlib import Path

import pytest

import kmslab
from kmslab import audit, errors, snapshot
from kmslab.crypto.sealing import SealingKey
from kmslab.frames import FRAMES

sys.path.insert(0, str(Path(__file__).parent))
from snapshot_attacks import crafted, payloads  # noqa: E402
from snapshot_scenario import build_rich_lab, observables, start_actions_in_flight  # noqa: E402

PASS = "the whole class knows this"
KEY = SealingKey.derive(PASS, log_n=10)


@pytest.fixture(scope="module")
def document():
    lab = kmslab.Lab(seed=13)
    keep = build_rich_lab(lab)
    start_actions_in_flight(lab, keep)
    return snapshot.to_document(lab), keep


@pytest.fixture
def compiled(monkeypatch):
    """Every source text compiled, executed or evaluated while the test runs."""
    seen: list[str] = []
    real_compile, real_exec, real_eval = builtins.compile, builtins.exec, builtins.eval

    def spy_compile(source, *args, **kwargs):
        seen.append(source if isinstance(source, str) else repr(source))
        return real_compile(source, *args, **kwargs)

    def spy_exec(source, *args, **kwargs):
        seen.append(source if isinstance(source, str) else repr(source))
        return real_exec(source, *args, **kwargs)

    def spy_eval(source, *args, **kwargs):
        seen.append(source if isinstance(source, str) else repr(source))
        return real_eval(source, *args, **kwargs)

    monkeypatch.setattr(builtins, "compile", spy_compile)
    monkeypatch.setattr(builtins, "exec", spy_exec)
    monkeypatch.setattr(builtins, "eval", spy_eval)
    audit._alike_function.cache_clear()  # generated again while watched
    return seen


def _use(lab, keep):
    """What a learner does with a loaded lab: every read, new calls, time passing, exports."""
    observables(lab)
    kms = lab.client()
    blob = kms.encrypt(KeyId=keep["keys"]["app"], Plaintext=b"x",
                       EncryptionContext={"app": "payroll"})["CiphertextBlob"]
    kms.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "payroll"})
    kms.create_key(Description="after loading")
    with pytest.raises(errors.NotFoundException):
        kms.describe_key(KeyId="alias/nothing")
    lab.clock.advance(days=400)  # every scheduled action (with its crafted label) fires
    for what in [*FRAMES, "audit"]:
        lab.frame(what)
    lab.audit.filter(principal="admin", success=True).frame(expand_context=True)
    json.loads(json.dumps(lab.audit.to_cloudtrail()))
    lab.audit.to_jsonl()
    lab.events.frame()
    lab.to_bytes(PASS)


def test_values_that_try_to_become_code_stay_data(document, compiled, tmp_path):
    doc, keep = document
    marker = tmp_path / "pwned"
    evil = crafted(doc, marker)
    lab = kmslab.Lab.from_bytes(snapshot.seal_document(evil, KEY), PASS)
    # the crafted values were loaded (the test is not vacuous) ...
    described = lab.client().describe_key(KeyId=keep["keys"]["app"])["KeyMetadata"]["Description"]
    assert described in payloads(marker)
    assert lab.audit.records()[0]["eventName"] in payloads(marker)
    _use(lab, keep)
    # ... and nothing ran them, nor ever compiled source holding them
    assert not marker.exists()
    assert any("def alike(call, request, outcome)" in s for s in compiled)  # generated, watched
    assert not [s for s in compiled if str(marker) in s]


@pytest.mark.parametrize("path, value", [
    (("clock", "events", 0, "action", "kind"), "os.system"),
    (("clock", "events", 0, "action", "kind"), "kmslab.snapshot.save"),
    (("clock", "events", 0, "action", "key"), "__import__('os').system('touch {marker}')"),
    (("services", 0, "keys", 0, "versions", 0, "material", "type"), "pickle"),
    (("services", 0, "keys", 0, "versions", 0, "material"),
     {"type": "symmetric", "key": "gASVIAAAAAAAAACMAm9zlIwGc3lzdGVtlJOUjAV0b3VjaJSFlFKULg=="}),
    (("services", 0, "keys", 0, "key_spec"), "__import__('os')"),
    (("services", 0, "keys", 0, "policy"), "__import__('os').system('touch {marker}')"),
    (("metrics", "gauges", 0, "value", "kind"), "builtins.eval"),
    (("audit", "events", 0, 1), "__import__('os').system('touch {marker}')"),
    (("audit", "shapes", 0, 0), "__import__('os')"),
    (("audit", "shape"), "__import__('os').system('touch {marker}')"),
    (("ids", "rng"), {"version": 3, "state": "__import__('os')", "gauss_next": None}),
])
def test_code_where_kmslab_expects_a_name_or_a_number_is_refused(document, compiled, tmp_path,
                                                                  path, value):
    doc, _ = document
    marker = tmp_path / "pwned"
    evil = json.loads(json.dumps(doc).replace("{marker}", str(marker)))
    target = evil
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = json.loads(json.dumps(value).replace("{marker}", str(marker)))
    with pytest.raises(snapshot.SnapshotError) as refused:
        kmslab.Lab.from_bytes(snapshot.seal_document(evil, KEY), PASS)
    assert "lab." in str(refused.value)  # the message names the place
    assert not marker.exists()
    assert not [s for s in compiled if str(marker) in s]


def test_a_document_that_is_code_everywhere_is_refused(document, tmp_path):
    doc, _ = document
    marker = tmp_path / "pwned"
    touch = json.dumps(payloads(marker)[0])

    def poison(value):
        if isinstance(value, dict):
            return {k: poison(v) for k, v in value.items()}
        if isinstance(value, list):
            return [poison(v) for v in value]
        return json.loads(touch) if isinstance(value, str) else value

    with pytest.raises(snapshot.SnapshotError):
        kmslab.Lab.from_bytes(snapshot.seal_document(poison(doc), KEY), PASS)
    assert not marker.exists()


def test_the_generated_audit_code_depends_on_the_operation_only(lab):
    """The one generated function per operation is built from AWS's model of it: the same
    source whatever the trail holds, and its only constant is the operation's name."""
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"a": "b"})
    alike = audit._alike_function("Encrypt")
    assert alike.__globals__["OPERATION"] == "Encrypt"
    assert set(alike.__globals__) <= {"_freeze", "OPERATION", "alike", "__builtins__"}
    assert alike.__code__.co_consts.count("Encrypt") == 0  # the name is data, not source
