"""``kmslab serve`` as a command: options, start-up banner, admin calls."""

from __future__ import annotations

import json
import os
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

SRC = str(Path(__file__).resolve().parents[2] / "src")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "kmslab", "serve", "--port", str(port), "--seed", "5",
         "--account-id", "444455556666", "--region", "eu-west-1", "--region", "us-east-1",
         "--admin-token", "teacher", "--accept-any-signature", "--log-level", "warning"],
        env={**os.environ, "PYTHONPATH": SRC}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/_kmslab/health", timeout=1).read()
            break
        except OSError:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read()) from None
            time.sleep(0.05)
    yield url, process
    process.terminate()
    process.wait(10)


def kms(url, region="eu-west-1"):
    return boto3.session.Session().client(
        "kms", endpoint_url=url, region_name=region, aws_access_key_id="AKIAANY",
        aws_secret_access_key="any", config=Config(retries={"total_max_attempts": 1}))


def admin(url, path, body=b"{}", token="teacher"):
    request = urllib.request.Request(url + path, data=body, method="POST",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_options_shape_the_lab(served):
    url, _ = served
    meta = kms(url).create_key()["KeyMetadata"]
    assert meta["Arn"].startswith("arn:aws:kms:eu-west-1:444455556666:key/")
    assert kms(url, "us-east-1").list_keys()["Keys"] == []


def test_region_outside_the_options_is_refused(served):
    url, _ = served
    client = kms(url, "ap-south-1")
    with pytest.raises(client.exceptions.ClientError):
        client.list_keys()


def test_admin_clock_and_reset(served):
    url, _ = served
    client = kms(url)
    key_id = client.create_key()["KeyMetadata"]["KeyId"]
    client.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    admin(url, "/_kmslab/clock/advance", b'{"days": 8}')
    with pytest.raises(client.exceptions.NotFoundException):
        client.describe_key(KeyId=key_id)
    assert admin(url, "/_kmslab/reset")["reset"] is True
    assert client.list_keys()["Keys"] == []
    with pytest.raises(urllib.error.HTTPError) as refused:
        admin(url, "/_kmslab/reset", token="student")
    assert refused.value.code == 403


def test_the_connection_cap_per_client_is_an_option(monkeypatch, tmp_path):
    from kmslab.interop import server

    from interop_fakes import FakeLab

    served_with = {}
    monkeypatch.setattr(server, "serve", lambda lab, *args, **options: served_with.update(options))
    assert server.cli_serve(["--max-connections-per-client", "200"], lab_factory=FakeLab) == 0
    assert served_with["limits"].per_client == 200
    assert server.cli_serve([], lab_factory=FakeLab) == 0
    assert served_with["limits"].per_client == server.MAX_CONNECTIONS_PER_CLIENT == 64


def test_a_seed_file_is_read_once_and_every_reset_builds_from_it(monkeypatch, tmp_path):
    from kmslab.interop import server

    path = tmp_path / "class.json"
    path.write_text(json.dumps({"seed": 3, "accounts": [{"id": "111122223333", "keys": [
        {"key_id": "1234abcd-12ab-34cd-56ef-1234567890ab"}]}]}))
    served_with = {}
    monkeypatch.setattr(server, "serve", lambda lab, *args, **options: served_with.update(
        options, lab=lab))
    assert server.cli_serve(["--seed-file", str(path)]) == 0
    path.write_text("not a seed any more")  # a reset does not read the file again
    again = served_with["reset"]()
    for lab in (served_with["lab"], again):
        assert [k["KeyId"] for k in lab.client().list_keys()["Keys"]] == [
            "1234abcd-12ab-34cd-56ef-1234567890ab"]
