"""KeyTimeline: buttons move the lab clock; deletion and rotations appear as they happen."""

import pytest

from kmslab.widgets import KeyTimeline


def test_buttons_advance_the_lab_clock(lab, key_id):
    timeline = KeyTimeline(lab, key_id)
    start = lab.clock.now()
    timeline.step_buttons[2].click()  # +30 days
    assert (lab.clock.now() - start).days == 30
    assert f"{lab.clock.now():%Y-%m-%d}" in timeline.now.value
    timeline.days.value = 5
    timeline.advance_button.click()
    assert (lab.clock.now() - start).days == 35
    assert timeline.plot.value[:8] == b"\x89PNG\r\n\x1a\n"


def test_deletion_happens_when_the_window_ends(lab, kms, key_id):
    timeline = KeyTimeline(lab, key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    timeline.advance(6)
    assert timeline.state == "PendingDeletion"
    timeline.advance(1)
    assert timeline.state == "Deleted"
    assert "Deleted" in timeline.summary.value
    assert timeline.events[-1][1] == "DeleteKey by KMS"
    with pytest.raises(kms.exceptions.NotFoundException):
        kms.describe_key(KeyId=key_id)


def test_rotations_appear_as_the_clock_moves(lab, kms, key_id):
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    timeline = KeyTimeline(lab, key_id)
    assert len(timeline.versions) == 1
    timeline.advance(365)
    assert len(timeline.versions) == 5
    assert [v["KeyMaterialState"] for v in timeline.versions][-1] == "CURRENT"
    assert sum("RotateKey" in what for _, what in timeline.events) == 4
    assert "rotates every 90 days" in timeline.summary.value
