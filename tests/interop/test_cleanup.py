"""What a tutorial leaves in an account: tagged keys and its aliases, removed by ``kmslab.clean_up``.

The account is a served lab (``kmslab serve`` over HTTP, SigV4 with the admin's access key),
reached by ``kmslab.connect(..., tutorial=...)`` as a notebook run against AWS reaches it.
"""

from __future__ import annotations

import boto3
import pytest

import kmslab
from kmslab.interop import cleanup
from kmslab.interop.server import ServerThread

ACCOUNT = "111122223333"
TAG = cleanup.TAG_KEY


@pytest.fixture
def served(monkeypatch):
    """A served lab, the kernel's environment pointing at it, and no tutorial remembered yet."""
    lab = kmslab.Lab(seed=27)
    key = lab.client("iam").create_access_key(UserName="admin")["AccessKey"]
    for name in ("KMSLAB_BACKEND", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setattr(cleanup, "_TUTORIALS", {})
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # it keeps the credentials it first read
    with ServerThread(lab) as url:
        monkeypatch.setenv("KMSLAB_ENDPOINT_URL", url)
        yield lab


def key_in(lab, arn):
    region, key_id = arn.split(":")[3], arn.rpartition("/")[2]
    return lab.kms_service(ACCOUNT, region).keys.get(key_id)


def test_keys_a_tutorial_creates_carry_its_tag(served):
    kms = kmslab.connect("us-east-1", tutorial="01_getting_started")
    plain = kms.create_key()["KeyMetadata"]["Arn"]
    mine = [{"TagKey": "team", "TagValue": "payments"}]
    tagged = kms.create_key(Tags=mine)["KeyMetadata"]["Arn"]
    own = kms.create_key(Tags=[{"TagKey": TAG, "TagValue": "chosen"}])["KeyMetadata"]["Arn"]
    primary = kms.create_key(MultiRegion=True)["KeyMetadata"]["Arn"]
    replica = kms.replicate_key(KeyId=primary, ReplicaRegion="eu-west-1")["ReplicaKeyMetadata"]["Arn"]
    assert key_in(served, plain).tags == {TAG: "01_getting_started"}
    assert key_in(served, tagged).tags == {"team": "payments", TAG: "01_getting_started"}
    assert mine == [{"TagKey": "team", "TagValue": "payments"}], "the caller's list is left alone"
    assert key_in(served, own).tags == {TAG: "chosen"}, "a tag the request names itself wins"
    assert key_in(served, replica).tags == {TAG: "01_getting_started"}
    resources = cleanup.resources_of("01_getting_started")
    assert list(resources.keys) == [plain, tagged, own, primary, replica]


def test_a_refused_create_key_is_not_remembered(served):
    kms = kmslab.connect(tutorial="02_envelope_encryption")
    with pytest.raises(kms.exceptions.ClientError):
        kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="ENCRYPT_DECRYPT")
    assert cleanup.resources_of("02_envelope_encryption").keys == {}


def test_a_lab_client_is_neither_tagged_nor_cleaned(served, capsys):
    lab = kmslab.Lab(seed=1)
    kms = kmslab.connect(lab=lab, backend="kmslab", tutorial="03")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kmslab.clean_up(kms)
    assert capsys.readouterr().out == ""
    assert lab.kms_service(ACCOUNT, "us-east-1").keys[key_id].state == "Enabled"
    assert lab.kms_service(ACCOUNT, "us-east-1").keys[key_id].tags == {}
    assert cleanup._TUTORIALS == {}


def test_clean_up_schedules_the_deletion_of_every_key_and_deletes_the_aliases(served, capsys):
    east = kmslab.connect("us-east-1", tutorial="15_multi_region_keys")
    west = kmslab.connect("us-west-2", tutorial="15_multi_region_keys")
    a = east.create_key()["KeyMetadata"]["Arn"]
    b = west.create_key()["KeyMetadata"]["Arn"]
    gone = east.create_key()["KeyMetadata"]["Arn"]
    east.schedule_key_deletion(KeyId=gone, PendingWindowInDays=30)
    east.create_alias(AliasName="alias/orders", TargetKeyId=a)
    west.create_alias(AliasName="alias/orders", TargetKeyId=b)
    east.create_alias(AliasName="alias/dropped", TargetKeyId=a)
    east.delete_alias(AliasName="alias/dropped")
    other = served.client().create_key()["KeyMetadata"]["Arn"]   # not the tutorial's
    kmslab.clean_up(west)
    assert capsys.readouterr().out == (
        "clean-up (kmslab-tutorial=15_multi_region_keys): 2 keys scheduled for deletion in 7 days "
        "(the minimum), 1 already pending deletion; 2 aliases deleted: alias/orders in us-east-1, "
        "alias/orders in us-west-2\n")
    for arn in (a, b):
        key = key_in(served, arn)
        assert key.state == "PendingDeletion" and key.pending_window_days == 7
    assert key_in(served, gone).pending_window_days == 30, "a deletion already scheduled is left as it is"
    assert key_in(served, other).state == "Enabled"
    for region in ("us-east-1", "us-west-2"):
        assert served.kms_service(ACCOUNT, region).aliases == {} or \
            "alias/orders" not in served.kms_service(ACCOUNT, region).aliases
    deletes = [r for r in served.audit.records() if r["eventName"] == "DeleteAlias"]
    assert len(deletes) == 3 and all(not r.get("errorCode") for r in deletes)
    kmslab.clean_up(east)  # again: nothing left to do
    assert capsys.readouterr().out.endswith(
        "0 keys scheduled for deletion in 7 days (the minimum), 3 already pending deletion; "
        "no alias to delete\n")


def test_clean_up_finds_what_an_interrupted_run_left(served, capsys, monkeypatch):
    first = kmslab.connect(tutorial="05_rotation_and_key_versions")
    left = first.create_key()["KeyMetadata"]["Arn"]
    first.create_alias(AliasName="alias/app", TargetKeyId=left)
    other_tutorial = kmslab.connect(tutorial="06_bring_your_own_key").create_key()["KeyMetadata"]["Arn"]
    monkeypatch.setattr(cleanup, "_TUTORIALS", {})  # a new kernel: nothing remembered
    again = kmslab.connect(tutorial="05_rotation_and_key_versions")
    kmslab.clean_up(again)
    assert capsys.readouterr().out == (
        "clean-up (kmslab-tutorial=05_rotation_and_key_versions): 1 key scheduled for deletion in "
        "7 days (the minimum); 1 alias deleted: alias/app\n")
    assert key_in(served, left).state == "PendingDeletion"
    assert key_in(served, other_tutorial).state == "Enabled"


def test_what_clean_up_cannot_do_it_says(served, capsys):
    kms = kmslab.connect(tutorial="15_multi_region_keys")
    primary = kms.create_key(MultiRegion=True)["KeyMetadata"]["Arn"]
    replica = kms.replicate_key(KeyId=primary, ReplicaRegion="eu-west-1")["ReplicaKeyMetadata"]["Arn"]
    served.clock.advance(seconds=10)
    kms.update_primary_region(KeyId=primary, PrimaryRegion="eu-west-1")
    kmslab.clean_up(kms)   # the served lab's clock stands still: both keys are still Updating
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("clean-up (kmslab-tutorial=15_multi_region_keys): 0 keys scheduled")
    assert out[1:] == [f"clean-up could not finish: ScheduleKeyDeletion {arn}: "
                       f"KMSInvalidStateException: {arn} is updating." for arn in (primary, replica)]
    assert {key_in(served, arn).state for arn in (primary, replica)} == {"Updating"}
    served.clock.advance(seconds=10)
    kmslab.clean_up(kms)   # once the update is done, running the cell again finishes the job
    assert capsys.readouterr().out.startswith(
        "clean-up (kmslab-tutorial=15_multi_region_keys): 2 keys scheduled for deletion in 7 days")
    assert {key_in(served, arn).state for arn in (primary, replica)} <= {
        "PendingDeletion", "PendingReplicaDeletion"}


def test_in_a_notebook_the_report_is_a_note():
    done = cleanup.CleanUpReport("01_getting_started", scheduled=["k1", "k2"], aliases_deleted=["alias/<x>"])
    assert repr(done) == ("clean-up (kmslab-tutorial=01_getting_started): 2 keys scheduled for deletion "
                          "in 7 days (the minimum); 1 alias deleted: alias/<x>")
    assert "alias/&lt;x&gt;" in done._repr_html_() and "#1a7f37" in done._repr_html_()
    stuck = cleanup.CleanUpReport("15", failed=["ScheduleKeyDeletion k: KMSInvalidStateException"])
    assert repr(stuck).splitlines()[1] == "clean-up could not finish: ScheduleKeyDeletion k: KMSInvalidStateException"
    assert "#9a6700" in stuck._repr_html_()
