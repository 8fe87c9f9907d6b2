"""Rotation: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand,
ListKeyRotations, automatic rotation on the clock, and the events and trail records it leaves."""

from datetime import timedelta

import pytest

import kmslab
from kmslab import errors
from kmslab.crypto.symmetric import parse_blob

from shapes import check_response

LAB_SEED = 5


def new_key(kms, **params):
    return kms.create_key(**params)["KeyMetadata"]["KeyId"]


def rotations(kms, key_id, **params):
    return kms.list_key_rotations(KeyId=key_id, **params)["Rotations"]


# ------------------------------------------------------------------ status and schedule
def test_rotation_is_off_by_default(kms):
    key = new_key(kms)
    status = kms.get_key_rotation_status(KeyId=key)
    check_response("GetKeyRotationStatus", status)
    assert status["KeyRotationEnabled"] is False
    assert "NextRotationDate" not in status and "RotationPeriodInDays" not in status


def test_enable_default_period_first_rotation_one_period_after_enable(lab, kms):
    key = new_key(kms)
    lab.clock.advance(days=10)
    check_response("EnableKeyRotation", kms.enable_key_rotation(KeyId=key))
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 365
    assert status["NextRotationDate"] == lab.clock.now() + timedelta(days=365)
    assert status["KeyId"].endswith(key)


@pytest.mark.parametrize("days", [89, 2561, 0])
def test_rotation_period_outside_90_2560_is_refused(kms, days):
    key = new_key(kms)
    with pytest.raises(errors.ValidationException):
        kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=days)
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False


@pytest.mark.parametrize("days", [90, 2560])
def test_rotation_period_bounds_accepted(kms, days):
    key = new_key(kms)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=days)
    assert kms.get_key_rotation_status(KeyId=key)["RotationPeriodInDays"] == days


def test_changing_the_period_rebases_the_schedule(lab, kms):
    key = new_key(kms)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=365)
    lab.clock.advance(days=100)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    assert kms.get_key_rotation_status(KeyId=key)["NextRotationDate"] == lab.clock.now() + timedelta(days=90)
    lab.clock.advance(days=89)
    assert rotations(kms, key) == []
    lab.clock.advance(days=1)
    assert len(rotations(kms, key)) == 1


def test_automatic_rotation_happens_in_one_big_advance(lab, kms):
    key = new_key(kms)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=100)
    start = lab.clock.now()
    lab.clock.advance(days=1000)
    entries = rotations(kms, key)
    assert [e["RotationDate"] for e in entries] == [start + timedelta(days=100 * i) for i in range(1, 11)]
    assert {e["RotationType"] for e in entries} == {"AUTOMATIC"}
    assert [e["KeyMaterialState"] for e in entries] == ["NON_CURRENT"] * 9 + ["CURRENT"]


def test_disable_key_rotation_stops_rotation(lab, kms):
    key = new_key(kms)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    check_response("DisableKeyRotation", kms.disable_key_rotation(KeyId=key))
    lab.clock.advance(days=400)
    assert rotations(kms, key) == []
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False


def test_rotation_changes_material_not_identity_and_old_ciphertext_decrypts(lab, kms):
    key = new_key(kms)
    before = kms.describe_key(KeyId=key)["KeyMetadata"]
    old = kms.encrypt(KeyId=key, Plaintext=b"old", EncryptionContext={"a": "b"})
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    lab.clock.advance(days=90)
    after = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert after["Arn"] == before["Arn"]
    assert after["CurrentKeyMaterialId"] != before["CurrentKeyMaterialId"]
    new = kms.encrypt(KeyId=key, Plaintext=b"new")  # Encrypt's response has no KeyMaterialId
    assert parse_blob(new["CiphertextBlob"]).key_material_id == after["CurrentKeyMaterialId"]
    assert kms.generate_data_key(KeyId=key, KeySpec="AES_256")["KeyMaterialId"] == after["CurrentKeyMaterialId"]
    back = kms.decrypt(CiphertextBlob=old["CiphertextBlob"], EncryptionContext={"a": "b"})
    assert back["Plaintext"] == b"old" and back["KeyMaterialId"] == before["CurrentKeyMaterialId"]
    re = kms.re_encrypt(CiphertextBlob=old["CiphertextBlob"], SourceEncryptionContext={"a": "b"},
                        DestinationKeyId=key)
    assert re["SourceKeyMaterialId"] == before["CurrentKeyMaterialId"]
    assert re["DestinationKeyMaterialId"] == after["CurrentKeyMaterialId"]


# ------------------------------------------------------------------ unsupported keys
@pytest.mark.parametrize("spec,usage", [("RSA_2048", "ENCRYPT_DECRYPT"), ("ECC_NIST_P256", "SIGN_VERIFY"),
                                        ("HMAC_256", "GENERATE_VERIFY_MAC")])
def test_asymmetric_and_hmac_keys_cannot_rotate(kms, spec, usage):
    key = new_key(kms, KeySpec=spec, KeyUsage=usage)
    for call in (lambda: kms.enable_key_rotation(KeyId=key),
                 lambda: kms.disable_key_rotation(KeyId=key),
                 lambda: kms.rotate_key_on_demand(KeyId=key),
                 lambda: kms.list_key_rotations(KeyId=key)):
        with pytest.raises(errors.UnsupportedOperationException):
            call()
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False


def test_imported_keys_have_no_automatic_rotation(kms):
    key = new_key(kms, Origin="EXTERNAL")
    with pytest.raises(errors.UnsupportedOperationException, match="origin is EXTERNAL"):
        kms.enable_key_rotation(KeyId=key)
    with pytest.raises(errors.UnsupportedOperationException):
        kms.get_key_rotation_status(KeyId=key)  # PendingImport: footnote 6


# ------------------------------------------------------------------ disabled and pending deletion
def test_disabled_key_is_not_rotated_and_its_status_cannot_change(lab, kms):
    key = new_key(kms)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    kms.disable_key(KeyId=key)
    with pytest.raises(errors.DisabledException):
        kms.disable_key_rotation(KeyId=key)
    with pytest.raises(errors.DisabledException):
        kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=200)
    with pytest.raises(errors.DisabledException):
        kms.rotate_key_on_demand(KeyId=key)
    assert kms.get_key_rotation_status(KeyId=key)["RotationPeriodInDays"] == 90
    lab.clock.advance(days=200)
    assert rotations(kms, key) == []


def test_reenabled_key_rotates_at_once_if_overdue_then_every_period(lab, kms):
    key = new_key(kms)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    kms.disable_key(KeyId=key)
    lab.clock.advance(days=200)
    kms.enable_key(KeyId=key)
    entries = rotations(kms, key)
    assert [e["RotationDate"] for e in entries] == [lab.clock.now()]
    assert kms.get_key_rotation_status(KeyId=key)["NextRotationDate"] == lab.clock.now() + timedelta(days=90)


def test_reenabled_key_resumes_schedule_if_not_overdue(lab, kms):
    key = new_key(kms)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    due = kms.get_key_rotation_status(KeyId=key)["NextRotationDate"]
    kms.disable_key(KeyId=key)
    lab.clock.advance(days=30)
    kms.enable_key(KeyId=key)
    assert rotations(kms, key) == []
    assert kms.get_key_rotation_status(KeyId=key)["NextRotationDate"] == due
    lab.clock.advance(days=60)
    assert len(rotations(kms, key)) == 1


def test_pending_deletion_reads_false_and_cancel_restores(lab, kms):
    key = new_key(kms)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=30)
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False
    with pytest.raises(errors.KMSInvalidStateException):
        kms.enable_key_rotation(KeyId=key)
    with pytest.raises(errors.KMSInvalidStateException):
        kms.disable_key_rotation(KeyId=key)
    kms.cancel_key_deletion(KeyId=key)
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90


def test_no_rotation_while_pending_deletion_and_catch_up_after_cancel(lab, kms):
    key = new_key(kms)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    lab.clock.advance(days=80)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=20)
    lab.clock.advance(days=15)
    assert rotations(kms, key) == []
    kms.cancel_key_deletion(KeyId=key)  # back Disabled: still no rotation
    assert rotations(kms, key) == []
    kms.enable_key(KeyId=key)
    assert len(rotations(kms, key)) == 1


def test_deleted_key_rotation_events_are_cancelled(lab, kms):
    key = new_key(kms)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    lab.clock.advance(days=400)
    assert [e["detail-type"] for e in lab.events] == ["KMS CMK Deletion"]
    with pytest.raises(errors.NotFoundException):
        kms.describe_key(KeyId=key)


# ------------------------------------------------------------------ on demand
def test_on_demand_rotation_does_not_shift_the_automatic_schedule(lab, kms):
    key = new_key(kms)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=730)
    due = kms.get_key_rotation_status(KeyId=key)["NextRotationDate"]
    lab.clock.advance(days=726)
    check_response("RotateKeyOnDemand", kms.rotate_key_on_demand(KeyId=key))
    assert kms.get_key_rotation_status(KeyId=key)["NextRotationDate"] == due
    lab.clock.advance(days=4)
    assert [e["RotationType"] for e in rotations(kms, key)] == ["ON_DEMAND", "AUTOMATIC"]


def test_on_demand_rotation_without_automatic_rotation(kms):
    key = new_key(kms)
    first = kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]
    kms.rotate_key_on_demand(KeyId=key)
    entries = rotations(kms, key)
    assert len(entries) == 1 and entries[0]["RotationType"] == "ON_DEMAND"
    assert entries[0]["KeyMaterialId"] != first
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False


def test_on_demand_limit_is_25_per_key(kms):
    key = new_key(kms)
    for _ in range(25):
        kms.rotate_key_on_demand(KeyId=key)
    with pytest.raises(errors.LimitExceededException):
        kms.rotate_key_on_demand(KeyId=key)
    assert len(rotations(kms, key, Limit=1000)) == 25
    kms.rotate_key_on_demand(KeyId=new_key(kms))  # the quota is per key


def test_conflict_when_automatic_rotation_due_within_20_minutes(lab, kms):
    key = new_key(kms)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    lab.clock.advance(timedelta(days=90) - timedelta(minutes=20))
    with pytest.raises(errors.ConflictException):
        kms.rotate_key_on_demand(KeyId=key)
    assert rotations(kms, key) == []
    lab.clock.advance(minutes=21)
    kms.rotate_key_on_demand(KeyId=key)  # the automatic one is done; next is 90 days away
    assert [e["RotationType"] for e in rotations(kms, key)] == ["AUTOMATIC", "ON_DEMAND"]


def test_asynchronous_on_demand_rotation(lab, kms):
    lab.on_demand_rotation_delay = timedelta(minutes=1)
    key = new_key(kms)
    first = kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]
    kms.rotate_key_on_demand(KeyId=key)
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["OnDemandRotationStartDate"] == lab.clock.now()
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"] == first
    with pytest.raises(errors.ConflictException):
        kms.rotate_key_on_demand(KeyId=key)
    lab.clock.advance(minutes=1)
    assert "OnDemandRotationStartDate" not in kms.get_key_rotation_status(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"] != first


# ------------------------------------------------------------------ ListKeyRotations
def test_list_key_rotations_include_all_and_paging(kms):
    key = new_key(kms)
    first = kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]
    for _ in range(5):
        kms.rotate_key_on_demand(KeyId=key)
    everything = rotations(kms, key, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    assert len(everything) == 6
    assert everything[0] == {"KeyId": key, "KeyMaterialId": first, "KeyMaterialState": "NON_CURRENT"}
    page = kms.list_key_rotations(KeyId=key, Limit=2)
    check_response("ListKeyRotations", page)
    assert page["Truncated"] is True and len(page["Rotations"]) == 2
    pages = list(kms.get_paginator("list_key_rotations").paginate(KeyId=key, Limit=2))
    ids = [e["KeyMaterialId"] for p in pages for e in p["Rotations"]]
    assert ids == [e["KeyMaterialId"] for e in everything[1:]]
    assert all(len(i) == 64 and int(i, 16) >= 0 for i in ids)
    with pytest.raises(errors.InvalidMarkerException):
        kms.list_key_rotations(KeyId=key, Marker="nonsense")


# ------------------------------------------------------------------ events and trail
def test_rotation_event_and_cloudtrail_service_event(lab, kms):
    key = new_key(kms)
    arn = kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"]
    first = kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    lab.clock.advance(days=90)
    second = kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]
    (event,) = list(lab.events)
    assert event["detail-type"] == "KMS CMK Rotation" and event["source"] == "aws.kms"
    assert event["resources"] == [arn] and event["time"] == lab.clock.now()
    assert event["detail"] == {"key-id": key, "key-origin": "AWS_KMS", "rotation-type": "AUTOMATIC",
                               "previous-key-material-id": first, "current-key-material-id": second}
    record = next(r for r in lab.audit.records() if r["eventName"] == "RotateKey")
    assert record["eventType"] == "AwsServiceEvent"
    assert record["userIdentity"] == {"accountId": "111122223333", "invokedBy": "AWS Internal"}
    assert record["requestParameters"] is None and record["responseElements"] is None
    assert record["serviceEventDetails"] == {  # ct-rotatekey
        "rotationType": "AUTOMATIC", "keyOrigin": "AWS_KMS", "previousKeyMaterialId": first,
        "currentKeyMaterialId": second, "keyId": key}
    assert record["resources"] == [{"accountId": "111122223333", "type": "AWS::KMS::Key", "ARN": arn}]
    frame = lab.events.frame()
    assert list(frame["detail.rotation-type"]) == ["AUTOMATIC"]


def test_seeded_labs_give_the_same_material_ids():
    def run():
        lab = kmslab.Lab(seed=42)
        kms = lab.client()
        key = new_key(kms)
        kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
        lab.clock.advance(days=200)
        return [e["KeyMaterialId"] for e in rotations(kms, key)]
    assert run() == run()
