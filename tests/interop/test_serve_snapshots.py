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


def _start(args, env):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "kmslab", "serve", "--port", str(port), "--admin-token", "teacher",
         "--accept-any-signature", "--log-level", "warning", *args],
        env={**os.environ, "PYTHONPATH": SRC, **env}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            urllib.request.urlopen(url + "/_kmslab/health", timeout=1).read()
            return url, process
        except OSError:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read())
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
