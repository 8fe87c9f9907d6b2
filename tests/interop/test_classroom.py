"""Classroom mode: learner accounts, their profiles, cross-account exercises over HTTP."""

from __future__ import annotations

import configparser
import json
import os
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import kmslab
from kmslab.interop.classroom import create_classroom, write_profiles
from kmslab.interop.server import ServerThread

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture(scope="module")
def classroom():
    lab = kmslab.Lab(seed=21)
    learners = create_classroom(lab, 3)
    with ServerThread(lab) as url:
        yield lab, url, learners


def profile_client(directory: Path, profile: str):
    """A client configured only by the written files, as the AWS CLI would be."""
    session = botocore.session.Session(profile=profile)
    session.set_config_variable("credentials_file", str(directory / "credentials"))
    session.set_config_variable("config_file", str(directory / "config"))
    return boto3.session.Session(botocore_session=session).client("kms", config=NO_RETRY)


def test_each_learner_has_an_account_a_user_and_a_key(classroom):
    lab, _url, learners = classroom
    assert [x.profile for x in learners] == ["learner1", "learner2", "learner3"]
    accounts = {x.account_id for x in learners}
    assert len(accounts) == 3 and lab.default_account not in accounts
    for learner in learners:
        assert learner.user_arn == f"arn:aws:iam::{learner.account_id}:user/learner"
        principal, secret = lab.resolve_access_key(learner.access_key_id)
        assert principal.arn == learner.user_arn and secret == learner.secret_access_key
        assert learner.secret_access_key not in repr(learner)


def test_learners_work_in_their_own_accounts(classroom):
    _lab, url, learners = classroom
    one, two = (x.boto3_client(url, config=NO_RETRY) for x in learners[:2])
    arn = one.create_key()["KeyMetadata"]["Arn"]
    assert f":{learners[0].account_id}:key/" in arn
    assert arn not in [k["KeyArn"] for k in two.list_keys()["Keys"]]
    with pytest.raises(ClientError) as caught:  # the default key policy trusts only its account
        two.encrypt(KeyId=arn, Plaintext=b"not mine")
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"


def test_cross_account_key_policy_lets_another_learner_encrypt(classroom):
    lab, url, learners = classroom
    owner, partner = learners[0], learners[1]
    kms_owner = owner.boto3_client(url, config=NO_RETRY)
    kms_partner = partner.boto3_client(url, config=NO_RETRY)
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Owner", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{owner.account_id}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "Partner", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{partner.account_id}:root"},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], "Resource": "*"}]}
    arn = kms_owner.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    blob = kms_partner.encrypt(KeyId=arn, Plaintext=b"shared secret")["CiphertextBlob"]
    assert kms_owner.decrypt(CiphertextBlob=blob)["Plaintext"] == b"shared secret"
    records = [r for r in lab.audit.records() if r["eventName"] == "Encrypt"
               and r["userIdentity"]["arn"] == partner.user_arn]
    assert any(r["resources"][0]["ARN"] == arn and "errorCode" not in r for r in records)
    with pytest.raises(ClientError) as caught:  # the policy did not grant GenerateDataKey
        kms_partner.generate_data_key(KeyId=arn, KeySpec="AES_256")
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
    assert kms_owner.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Enabled"
    # a third learner, not named in the policy, is refused
    third = learners[2].boto3_client(url, config=NO_RETRY)
    with pytest.raises(ClientError) as caught:
        third.encrypt(KeyId=arn, Plaintext=b"x")
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"


def test_profiles_reach_the_server_with_no_other_option(classroom, tmp_path):
    _lab, url, learners = classroom
    credentials, config = write_profiles(learners, tmp_path, endpoint_url=url)
    for path in (credentials, config):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    parsed = configparser.ConfigParser()
    parsed.read(credentials)
    assert parsed["learner2"]["aws_access_key_id"] == learners[1].access_key_id
    kms = profile_client(tmp_path, "learner2")
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    assert f":{learners[1].account_id}:key/" in arn


def test_serve_classroom_command(tmp_path):
    port = _free_port()
    directory = tmp_path / "room"
    process = subprocess.Popen(
        [sys.executable, "-m", "kmslab", "serve", "--port", str(port), "--seed", "4",
         "--classroom", "2", "--classroom-dir", str(directory), "--log-level", "warning"],
        env={**os.environ, "PYTHONPATH": SRC}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        _wait_until_up(f"http://127.0.0.1:{port}", process)
        banner = [process.stdout.readline() for _ in range(4)]
        assert any(str((directory / "credentials").resolve()) in line for line in banner)
        one = profile_client(directory, "learner1")
        two = profile_client(directory, "learner2")
        assert one.meta.endpoint_url == f"http://127.0.0.1:{port}"
        key = one.create_key()["KeyMetadata"]
        assert two.list_keys()["Keys"] == []
        assert key["KeyId"] in [k["KeyId"] for k in one.list_keys()["Keys"]]
    finally:
        process.terminate()
        process.wait(10)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, process) -> None:
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/_kmslab/health", timeout=1).read()
            return
        except OSError:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read()) from None
            time.sleep(0.05)
    raise AssertionError("server did not start")
