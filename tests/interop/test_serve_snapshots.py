"""``kmslab serve --snapshot``: start from a saved lab, save on demand and on shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

import kmslab
from kmslab.interop.server import ServerThread, cli_serve
from kmslab.snapshot import save as save_snapshot

ROOT = Path(__file__).resolve().parents[2]
SRC = str(ROOT / "src")
SEED = str(ROOT / "examples" / "classroom_seed.json")
PASS = "class of 2025"


def post(url, path, token="teacher"):
    request = urllib.request.Request(url + path, data=b"{}", method="POST",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def kms(url):
    return boto3.session.Session().client(
        "kms", endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIAANY",
        aws_secret_access_key="any", config=Config(retries={"total_max_attempts": 1}))


def test_save_endpoint_writes_a_snapshot_that_loads(tmp_path):
    path = tmp_path / "served.kmslab"

    def save(lab):
        save_snapshot(lab, path, PASS)
        return str(path)

    with ServerThread(kmslab.Lab(seed=3), admin_token="teacher", accept_any_signature=True,
                      save=save) as url:
        key_id = kms(url).create_key(Description="made over HTTP")["KeyMetadata"]["KeyId"]
        with pytest.raises(urllib.error.HTTPError) as refused:
            post(url, "/_kmslab/save", token="student")
        assert refused.value.code == 403 and not path.exists()
        reply = post(url, "/_kmslab/save")
        assert reply["saved"] == str(path)
    back = kmslab.Lab.load(path, PASS)
    assert back.client().describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "made over HTTP"


def test_save_endpoint_without_a_snapshot_says_so():
    with ServerThread(kmslab.Lab(seed=3), admin_token="teacher") as url:
        with pytest.raises(urllib.error.HTTPError) as refused:
            post(url, "/_kmslab/save")
    assert refused.value.code == 400
    assert "--snapshot" in json.loads(refused.value.read())["message"]


def test_snapshot_needs_a_passphrase_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("KMSLAB_SNAPSHOT_PASSPHRASE", raising=False)
    with pytest.raises(SystemExit, match="environment variable KMSLAB_SNAPSHOT_PASSPHRASE"):
        cli_serve(["--snapshot", str(tmp_path / "x.kmslab")])
    with pytest.raises(SystemExit):  # there is no option that takes it on the command line
        cli_serve(["--snapshot", str(tmp_path / "x.kmslab"), "--passphrase", PASS])


def test_a_wrong_passphrase_refuses_to_start(tmp_path, monkeypatch):
    path = tmp_path / "lab.kmslab"
    kmslab.Lab(seed=1).save(path, PASS)
    monkeypatch.setenv("CLASS_PASS", "not it")
    with pytest.raises(SystemExit, match="wrong passphrase"):
        cli_serve(["--snapshot", str(path), "--passphrase-env", "CLASS_PASS"])


def _start(args, env, port=None, *, any_signature=True):
    """``kmslab serve`` in a process of its own, once it answers; ``any_signature=False``
    serves signed requests only (no --accept-any-signature)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = port or sock.getsockname()[1]
    signatures = ["--accept-any-signature"] if any_signature else []
    process = subprocess.Popen(
        [sys.executable, "-m", "kmslab", "serve", "--port", str(port), "--admin-token", "teacher",
         *signatures, "--log-level", "warning", *args],
        env={**os.environ, "PYTHONPATH": SRC, **env}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            urllib.request.urlopen(url + "/_kmslab/health", timeout=1).read()
            return url, process
        except OSError:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read()) from None
            time.sleep(0.05)
    process.kill()
    raise AssertionError("the server did not start")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_seed_file_start_then_save_on_shutdown_and_resume(tmp_path, stop):
    path = tmp_path / "class.kmslab"
    env = {"CLASS_PASS": PASS}
    args = ["--snapshot", str(path), "--passphrase-env", "CLASS_PASS", "--seed-file", SEED]
    url, process = _start(args, env)
    client = kms(url)
    assert client.describe_key(KeyId="alias/class-data")["KeyMetadata"]["KeyId"] == \
        "1234abcd-12ab-34cd-56ef-1234567890ab"
    key_id = client.create_key(Description="homework")["KeyMetadata"]["KeyId"]
    blob = client.encrypt(KeyId=key_id, Plaintext=b"essay")["CiphertextBlob"]
    process.send_signal(stop)
    out, err = process.communicate(timeout=30)
    assert f"lab saved to {path}" in out, err
    assert PASS not in out + err
    # started again from the snapshot: the learner's key and ciphertext are back
    url, process = _start(args, env)
    try:
        client = kms(url)
        assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == b"essay"
        assert client.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "homework"
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=30)
    assert "started from snapshot" in out


# ----------------------------------------------------------------- saving while serving

def _wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def _loads(path):
    try:
        return kmslab.Lab.load(path, PASS)
    except kmslab.snapshot.SnapshotError:
        return None


def test_changes_are_saved_while_serving_without_asking(tmp_path):
    from kmslab.crypto.sealing import SealingKey
    from kmslab.snapshot.autosave import AutoSaver

    path = tmp_path / "served.kmslab"
    saver = AutoSaver(path, SealingKey.derive(PASS, log_n=10), interval=0.2).start()
    try:
        with ServerThread(kmslab.Lab(), admin_token="teacher", accept_any_signature=True,
                          autosave=saver) as url:
            key_id = kms(url).create_key(Description="saved by itself")["KeyMetadata"]["KeyId"]

            def has_key():
                lab = _loads(path) if path.exists() else None
                return lab is not None and key_id in lab.kms_service(
                    lab.default_account, "us-east-1").keys
            _wait_for(has_key)
            post(url, "/_kmslab/clock/advance", "teacher")  # admin changes count too
            saves = saver.saves
            _wait_for(lambda: saver.saves > saves)
            lab = kmslab.Lab.load(path, PASS)
            assert lab.client().describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == \
                "saved by itself"
    finally:
        saver.stop()
    assert "AutoSaver" in repr(saver) and PASS not in repr(saver)


def _learners(directory: Path):
    import configparser
    credentials = configparser.ConfigParser()
    credentials.read(directory / "credentials")
    return {name: (section["aws_access_key_id"], section["aws_secret_access_key"])
            for name, section in credentials.items() if name.startswith("learner")}


def _signed(url, access_key, secret):
    return boto3.session.Session().client(
        "kms", endpoint_url=url, region_name="us-east-1", aws_access_key_id=access_key,
        aws_secret_access_key=secret, config=Config(retries={"total_max_attempts": 1}))


def _start_class(args, env, port=None):
    """``kmslab serve`` with signed requests only (no --accept-any-signature)."""
    return _start(args, env, port, any_signature=False)


#: the most a killed server may lose: the saver's interval (0.5 s) and a save, with room
#: for a loaded machine (the server saves at least every second under this workload)
LOSS_WINDOW = 2.0


@pytest.mark.parametrize("seed", [["--seed", "5"], []], ids=["seeded", "unseeded"])
def test_a_class_survives_kill_9_of_its_server(tmp_path, seed):
    """Learners create keys and aliases and encrypt; the server is killed outright mid-work.
    Started again from its snapshot, everything made before the last second is back, and
    every ciphertext under those keys decrypts."""
    import threading

    path = tmp_path / "class.kmslab"
    env = {"CLASS_PASS": PASS}
    args = ["--snapshot", str(path), "--passphrase-env", "CLASS_PASS", "--classroom", "3",
            "--classroom-dir", str(tmp_path / "profiles"), *seed]
    url, process = _start_class(args, env)
    learners = _learners(tmp_path / "profiles")
    made: list[tuple[str, str, str, bytes, bytes, float]] = []  # who, key, alias, text, blob, when
    stop = threading.Event()
    failures = []

    clients = {name: _signed(url, *creds) for name, creds in learners.items()}

    def learner(name):
        client = clients[name]
        n = 0
        while not stop.is_set():
            try:
                key_id = client.create_key(Description=f"{name} {n}")["KeyMetadata"]["KeyId"]
                alias = f"alias/{name}-{n}"
                client.create_alias(AliasName=alias, TargetKeyId=key_id)
                text = f"{name} essay {n}".encode()
                blob = client.encrypt(KeyId=alias, Plaintext=text)["CiphertextBlob"]
                made.append((name, key_id, alias, text, blob, time.monotonic()))
                n += 1
            except Exception as exc:  # the server was killed mid-call (or something went wrong)
                failures.append((time.monotonic(), exc))
                return

    threads = [threading.Thread(target=learner, args=(name,)) for name in learners]
    for t in threads:
        t.start()
    _wait_for(lambda: len(made) >= 30 or failures, timeout=120)
    assert not failures, failures
    time.sleep(LOSS_WINDOW)  # and a little more work, which may be lost
    killed_at = time.monotonic()
    process.send_signal(signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join(30)
    process.communicate(timeout=30)
    assert not [exc for when, exc in failures if when < killed_at] and len(made) > 10

    url, process = _start_class(args, env)
    try:  # started again: the file loads, and no temporary of the killed server is left
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".kmslab-snapshot")]
        clients = {name: _signed(url, *creds) for name, creds in learners.items()}
        early = [m for m in made if m[5] < killed_at - LOSS_WINDOW]
        assert len(early) >= 30
        for name, key_id, alias, text, blob, _ in early:
            client = clients[name]
            assert client.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == key_id
            assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == text
        restored = set()
        for client in clients.values():
            restored |= {k["KeyId"] for k in client.list_keys(Limit=1000)["Keys"]}
        for name, key_id, _alias, text, blob, _ in made:  # whatever came back works too
            if key_id in restored:
                assert clients[name].decrypt(CiphertextBlob=blob)["Plaintext"] == text
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=30)
    assert "started from snapshot" in out


def test_a_crafted_snapshot_runs_nothing_in_kmslab_serve(tmp_path):
    """The attack from outside: a classmate seals a lab whose values are code and the
    teacher serves it. The server starts, serves, saves, and nothing runs."""
    sys.path.insert(0, str(ROOT / "tests"))
    from kmslab.crypto.sealing import SealingKey
    from kmslab.snapshot import seal_document, to_document

    from snapshot_attacks import crafted
    from snapshot_scenario import build_rich_lab

    marker = tmp_path / "pwned"
    lab = kmslab.Lab(seed=9)
    keep = build_rich_lab(lab)
    path = tmp_path / "gift.kmslab"
    path.write_bytes(seal_document(crafted(to_document(lab), marker),
                                   SealingKey.derive(PASS, log_n=10)))
    env = {"CLASS_PASS": PASS}
    url, process = _start(["--snapshot", str(path), "--passphrase-env", "CLASS_PASS"], env)
    try:
        client = kms(url)
        client.list_keys()  # the first recorded call: where the old format ran the payload
        key = client.describe_key(KeyId=keep["keys"]["app"])["KeyMetadata"]
        assert "touch" in key["Description"]  # the crafted text is there, as text
        blob = client.encrypt(KeyId=key["KeyId"], Plaintext=b"x",
                              EncryptionContext={"app": "payroll"})["CiphertextBlob"]
        client.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "payroll"})
        client.create_key(Description="new")
        post(url, "/_kmslab/clock/advance", "teacher")
        post(url, "/_kmslab/save")
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert "lab saved to" in out, err
    assert not marker.exists()


def test_a_pickled_snapshot_does_not_start_kmslab_serve(tmp_path):
    import pickle

    from kmslab.crypto import sealing

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "old.kmslab"
    path.write_bytes(sealing.seal(json.dumps({"kmslab": "0.1.0", "format": 1}).encode() + b"\n"
                                  + pickle.dumps(Evil()), PASS, log_n=10))
    env = {**os.environ, "PYTHONPATH": SRC, "CLASS_PASS": PASS}
    done = subprocess.run([sys.executable, "-m", "kmslab", "serve", "--snapshot", str(path),
                           "--passphrase-env", "CLASS_PASS", "--port", "0"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "payload format 1" in done.stderr and "from_seed" in done.stderr
    assert not marker.exists()


def test_an_unseeded_server_keeps_its_lab_across_restarts(tmp_path):
    path = tmp_path / "unseeded.kmslab"
    env = {"CLASS_PASS": PASS}
    args = ["--snapshot", str(path), "--passphrase-env", "CLASS_PASS"]
    url, process = _start(args, env)
    key_id = kms(url).create_key(Description="no seed")["KeyMetadata"]["KeyId"]
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert f"lab saved to {path}" in out, err
    url, process = _start(args, env)
    try:
        assert kms(url).describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "no seed"
    finally:
        process.terminate()
        process.communicate(timeout=30)
