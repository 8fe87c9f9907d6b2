"""AuditLogViewer: newest first, filters, live mode through the lab's request hooks."""

from datetime import UTC, datetime

import pytest

from kmslab.widgets import AuditLogViewer


def _failing_encrypt(kms, key_id):
    kms.disable_key(KeyId=key_id)
    with pytest.raises(kms.exceptions.DisabledException):
        kms.encrypt(KeyId=key_id, Plaintext=b"x")


def test_records_newest_first(lab, kms, key_id):
    kms.describe_key(KeyId=key_id)
    viewer = AuditLogViewer(lab)
    names = [r["eventName"] for r in viewer.filtered()]
    assert names == ["DescribeKey", "CreateKey"]
    assert viewer.table.value.index("DescribeKey") < viewer.table.value.index("CreateKey")


def test_outcome_and_operation_filters(lab, kms, key_id):
    _failing_encrypt(kms, key_id)
    viewer = AuditLogViewer(lab)
    viewer.outcome.value = "failure"
    assert [r["eventName"] for r in viewer.filtered()] == ["Encrypt"]
    assert "DisabledException" in viewer.table.value
    viewer.outcome.value = "success"
    assert "Encrypt" not in [r["eventName"] for r in viewer.filtered()]
    viewer.outcome.value = "all"
    viewer.operation.value = "DisableKey"
    assert [r["eventName"] for r in viewer.filtered()] == ["DisableKey"]


def test_key_principal_and_time_filters(lab, kms, key_id):
    lab.clock.advance(days=2)
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    viewer = AuditLogViewer(lab)
    viewer.key.value = other
    assert len(viewer.filtered()) == 1
    viewer.key.value = "(all)"
    viewer.principal.value = lab.admin().arn
    assert len(viewer.filtered()) == 2
    viewer.since.value = datetime(2025, 1, 2, tzinfo=UTC)
    assert [r["resources"][0]["ARN"].endswith(other) for r in viewer.filtered()] == [True]
    viewer.since.value = None
    viewer.until.value = datetime(2025, 1, 2, tzinfo=UTC)
    assert [r["resources"][0]["ARN"].endswith(key_id) for r in viewer.filtered()] == [True]


def test_not_live_needs_refresh(lab, kms):
    viewer = AuditLogViewer(lab)
    kms.create_key()
    assert viewer.filtered() == []
    viewer.refresh_button.click()
    assert len(viewer.filtered()) == 1


def test_live_follows_requests_and_stops(lab, kms):
    viewer = AuditLogViewer(lab, live=True)
    kms.create_key()
    assert len(viewer.filtered()) == 1 and ("CreateKey", "CreateKey") in viewer.operation.options
    viewer.stop_live()
    assert not lab.hooks.active
    kms.create_key()
    assert len(viewer.filtered()) == 1
    viewer.refresh()
    assert len(viewer.filtered()) == 2


def test_service_events_are_shown(lab, kms, key_id):
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    lab.clock.advance(days=8)
    viewer = AuditLogViewer(lab)
    newest = viewer.filtered()[0]
    assert newest["eventName"] == "DeleteKey" and newest["eventType"] == "AwsServiceEvent"
    assert "AWS Internal" in viewer.principal.options[1:] or "AWS Internal" in viewer.table.value
