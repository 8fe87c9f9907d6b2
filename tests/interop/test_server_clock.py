"""The served lab's clock: ``kmslab serve`` moves it with real time, so what AWS does "after a
few seconds" happens by itself for tools that poll (ReplicateKey's replica leaves Creating);
``--clock manual`` (and the Python API's default) moves it only on the admin route."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest
from botocore.config import Config

import kmslab
from kmslab.interop import server
from kmslab.interop.server import ServerThread, WallClockPace

from interop_fakes import FakeLab

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


class FakeMonotonic:
    """Real time that a test moves."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def kms(endpoint, region):
    return boto3.session.Session().client(
        "kms", endpoint_url=endpoint, region_name=region, aws_access_key_id="AKIAANY",
        aws_secret_access_key="any", config=NO_RETRY)


def test_the_pace_moves_the_lab_clock_by_the_real_time_that_passed():
    lab, real = kmslab.Lab(seed=1), FakeMonotonic()
    pace = WallClockPace(real)
    start = lab.clock.now()
    pace.catch_up(lab)
    assert lab.clock.now() == start  # no time has passed
    real.now += 2.5
    pace.catch_up(lab)
    real.now += 0.5
    pace.catch_up(lab)
    assert lab.clock.now() == start + timedelta(seconds=3)
    real.now += 60
    pace.restart()  # a new lab: the minute before it does not count
    pace.catch_up(lab)
    assert lab.clock.now() == start + timedelta(seconds=3)


@pytest.mark.parametrize("clock", ["wall", "manual"])
def test_a_replica_becomes_enabled_a_few_seconds_later_over_http(clock):
    """ReplicateKey: "the new replica key has a transient key state of Creating. This key state
    changes to Enabled ... after a few seconds" (botocore's ReplicateKey text)."""
    lab = kmslab.Lab(seed=4)
    served = ServerThread(lab, accept_any_signature=True, clock=clock)
    real = FakeMonotonic()
    if clock == "wall":
        served.app.pace = WallClockPace(real)  # real time, as the test moves it
    endpoint = served.start()
    try:
        east, west = kms(endpoint, "us-east-1"), kms(endpoint, "us-west-2")
        key_id = east.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        replica = east.replicate_key(KeyId=key_id, ReplicaRegion="us-west-2")["ReplicaKeyMetadata"]
        assert replica["KeyState"] == "Creating" and replica["Enabled"] is False
        real.now += 3
        assert west.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Creating"
        with pytest.raises(west.exceptions.KMSInvalidStateException):
            west.replicate_key(KeyId=key_id, ReplicaRegion="eu-west-1")
        real.now += 10
        state = west.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]
        if clock == "wall":
            assert state == "Enabled"
            with pytest.raises(west.exceptions.UnsupportedOperationException,
                               match="is a replica key"):  # what the probe's tool saw at last
                west.replicate_key(KeyId=key_id, ReplicaRegion="eu-west-1")
        else:  # only the admin route moves the clock: timestamps repeat run after run
            assert state == "Creating"
            assert lab.clock.now() == kmslab.clock.DEFAULT_START
    finally:
        served.stop()


def test_an_admin_advance_adds_to_the_real_time():
    lab = kmslab.Lab(seed=5)
    real = FakeMonotonic()
    app = server.KmsApp(server.LabHolder(lab), clock="wall")
    app.pace = WallClockPace(real)
    real.now += 30
    now = app._advance_clock({"days": 1})
    assert now == kmslab.clock.DEFAULT_START + timedelta(days=1, seconds=30)
    app.close()


def test_kmslab_serve_follows_the_wall_clock_unless_told_otherwise(monkeypatch):
    served_with = {}
    monkeypatch.setattr(server, "serve", lambda lab, *args, **options: served_with.update(options))
    assert server.cli_serve([], lab_factory=FakeLab) == 0
    assert served_with["clock"] == "wall"
    assert server.cli_serve(["--clock", "manual"], lab_factory=FakeLab) == 0
    assert served_with["clock"] == "manual"
    with pytest.raises(SystemExit):
        server.cli_serve(["--clock", "sometimes"], lab_factory=FakeLab)
    with pytest.raises(ValueError):
        server.KmsApp(server.LabHolder(FakeLab()), clock="sometimes")
