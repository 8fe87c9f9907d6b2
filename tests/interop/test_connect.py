"""``kmslab.connect``: the lab's client by default, boto3's real client when configured."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import botocore.client
import pytest

import kmslab
from kmslab.interop.connect import SkipNote
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
    monkeypatch.setenv("KMSLAB_ENDPOINT_URL", "http://127.0.0.1:1")
    assert isinstance(kmslab.connect(backend="kmslab"), kmslab.KMSClient)
    monkeypatch.delenv("KMSLAB_BACKEND")
    assert kmslab.connect("eu-west-1").meta.endpoint_url == "http://127.0.0.1:1"


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


@pytest.fixture
def aws_kms(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    return kmslab.connect("eu-west-1", backend="aws")


def test_a_guard_says_what_is_skipped_and_what_aws_offers(aws_kms, capsys):
    assert kmslab.requires_lab(aws_kms, "the lab's audit trail",
                               aws="CloudTrail's LookupEvents shows the calls.") is False
    assert kmslab.requires_lab(aws_kms) is False
    assert capsys.readouterr().out.splitlines() == [
        "skipped: needs the kmslab lab (the lab's audit trail). On AWS: CloudTrail's LookupEvents "
        "shows the calls.",
        "skipped: needs the kmslab lab"]
    lab_kms = kmslab.connect(lab=kmslab.Lab(seed=1))
    assert kmslab.requires_lab(lab_kms, "the lab's audit trail", aws="CloudTrail") is True
    assert capsys.readouterr().out == ""


def test_a_lab_only_function_runs_in_the_lab_and_says_why_not_elsewhere(aws_kms, capsys):
    calls = []

    def check(answer):
        calls.append(answer)
        return f"checked {answer}"

    lab_kms = kmslab.connect(lab=kmslab.Lab(seed=1))
    in_lab = kmslab.lab_only(lab_kms, "reads the trail")(check)
    elsewhere = kmslab.lab_only(aws_kms, "reads the trail", aws="CloudTrail")(check)
    assert in_lab(...) == "checked Ellipsis" and calls == [...]
    assert elsewhere(1) is None and calls == [...], "the function does not run"
    assert capsys.readouterr().out == "skipped: needs the kmslab lab (reads the trail). On AWS: CloudTrail.\n"
    assert elsewhere.__name__ == "check"


def test_now_is_the_labs_clock_or_the_real_time(aws_kms):
    lab = kmslab.Lab(seed=1)
    lab.clock.advance(days=3)
    assert kmslab.now(kmslab.connect(lab=lab)) == lab.clock.now()
    assert kmslab.now(kmslab.connect(lab=lab, backend="botocore")) == lab.clock.now()
    assert abs(kmslab.now(aws_kms) - datetime.now(UTC)) < timedelta(minutes=1)


def test_in_a_notebook_the_skip_line_is_a_muted_note_that_escapes_what_it_shows():
    note = SkipNote("reads <the trail>", aws="CloudTrail & Athena.")
    assert repr(note) == "skipped: needs the kmslab lab (reads <the trail>). On AWS: CloudTrail & Athena."
    shown = note._repr_html_()
    assert "(reads &lt;the trail&gt;)" in shown and "CloudTrail &amp; Athena." in shown
    assert "<the trail>" not in shown and shown.startswith("<div class='kmslab-skipped'")
