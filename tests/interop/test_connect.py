"""``kmslab.connect``: the lab's client by default, boto3's real client when configured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import botocore.client
import pytest

import kmslab
from kmslab.interop.server import ServerThread

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("KMSLAB_BACKEND", "KMSLAB_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def test_default_is_the_labs_client():
    lab = kmslab.Lab(seed=1)
    kms = kmslab.connect(lab=lab, as_="root")
    assert isinstance(kms, kmslab.KMSClient)
    assert kms.lab is lab and kms.caller.arn == "arn:aws:iam::111122223333:root"
    assert kmslab.requires_lab(kms) is True


def test_default_lab_when_none_is_given():
    assert kmslab.connect().lab is kmslab.default_lab()


def test_botocore_backend_is_a_genuine_client_on_the_lab():
    lab = kmslab.Lab(seed=1)
    kms = kmslab.connect("eu-west-1", lab=lab, backend="botocore")
    assert isinstance(kms, botocore.client.BaseClient)
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    assert arn.startswith("arn:aws:kms:eu-west-1:111122223333:key/")
    assert kmslab.lab_of(kms) is lab and kmslab.requires_lab(kms)


def test_aws_backend_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("KMSLAB_BACKEND", "aws")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    with pytest.warns(UserWarning, match="as_ is ignored"):
        kms = kmslab.connect("eu-central-1", lab=kmslab.Lab(), as_="alice")
    assert isinstance(kms, botocore.client.BaseClient)
    assert kms.meta.endpoint_url == "https://kms.eu-central-1.amazonaws.com"
    assert kmslab.lab_of(kms) is None
    assert kmslab.requires_lab(kms, "moves the virtual clock") is False
    assert capsys.readouterr().out == "skipped: needs the kmslab lab (moves the virtual clock)\n"


def test_endpoint_url_reaches_a_running_server(monkeypatch):
    lab = kmslab.Lab(seed=2)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAANY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "any")
    with ServerThread(lab, accept_any_signature=True) as url:
        monkeypatch.setenv("KMSLAB_ENDPOINT_URL", url)
        kms = kmslab.connect("us-east-1")
        assert kms.meta.endpoint_url == url
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        assert key_id in lab.kms_service("111122223333", "us-east-1").keys
        assert kmslab.requires_lab(kms) is False  # over HTTP: the lab is another process's


def test_the_argument_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("KMSLAB_BACKEND", "aws")
    assert isinstance(kmslab.connect(backend="kmslab"), kmslab.KMSClient)


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match="unknown KMS backend 'azure'"):
        kmslab.connect(backend="azure")
    with pytest.raises(ValueError, match="endpoint_url needs backend 'aws'"):
        kmslab.connect(backend="kmslab", endpoint_url="http://127.0.0.1:1")


def test_import_kmslab_does_not_load_the_front_ends():
    code = ("import sys, kmslab; loaded = ['kmslab.interop' in sys.modules]; kmslab.connect; "
            "loaded += ['kmslab.interop' in sys.modules, 'uvicorn' in sys.modules]; print(loaded)")
    out = subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": SRC},
                         capture_output=True, text=True).stdout
    # before kmslab.connect: no front end; after it: the interop package, still no server
    assert out.strip() == "[False, True, False]"
