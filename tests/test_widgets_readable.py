"""What keeps the widgets readable and honest: their own reads carry their own user agent and
never fail; the audit viewer pages, scrolls and hides those reads; the console shows
descriptions; the timeline shows a deleted key's material as destroyed, with labelled events;
the policy simulator names what decided."""

from __future__ import annotations

import json

import pytest

from kmslab.byok import import_key_material
from kmslab.widgets import (
    AuditLogViewer,
    EnvelopeExplorer,
    KeyConsole,
    KeyTimeline,
    LatencyLab,
    PolicySimulator,
    SignVerifyPlayground,
)

LAB_SEED = 18
WIDGETS = ("KeyConsole", "KeyTimeline", "PolicySimulator", "SignVerifyPlayground",
           "EnvelopeExplorer", "LatencyLab")


def _keys_in_every_kind_of_state(lab, kms):
    """Keys a learner might have: enabled, disabled, pending deletion, deleted, pending import,
    asymmetric, HMAC, multi-Region, in a disconnected custom key store, with imported material."""
    made = {}
    made["enabled"] = kms.create_key(Description="enabled")["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=made["enabled"])
    made["disabled"] = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=made["disabled"])
    made["pending"] = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=made["pending"], PendingWindowInDays=30)
    made["doomed"] = kms.create_key()["KeyMetadata"]["KeyId"]
    made["import"] = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    made["imported"] = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    import_key_material(kms, made["imported"], b"\x01" * 32)
    made["signing"] = kms.create_key(KeySpec="ECC_NIST_P256",
                                     KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    made["hmac"] = kms.create_key(KeySpec="HMAC_256",
                                  KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    made["multi"] = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    cluster = lab.create_cloudhsm_cluster()
    store = kms.create_custom_key_store(
        CustomKeyStoreName="hsm", CloudHsmClusterId=cluster,
        TrustAnchorCertificate=lab.cloudhsm.cluster(cluster).trust_anchor_certificate,
        KeyStorePassword="kmsPswd1")["CustomKeyStoreId"]
    kms.connect_custom_key_store(CustomKeyStoreId=store)
    lab.clock.advance(minutes=5)
    made["hsm"] = kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId=store)["KeyMetadata"]["KeyId"]
    kms.disconnect_custom_key_store(CustomKeyStoreId=store)
    lab.clock.advance(minutes=5)
    return made


def _widget_records(lab):
    return [r for r in lab.audit.records() if str(r.get("userAgent", "")).startswith("kmslab-widgets/")]


def test_widgets_read_with_their_own_user_agent_and_never_fail(lab, kms):
    made = _keys_in_every_kind_of_state(lab, kms)
    timelines = [KeyTimeline(lab, key_id) for key_id in made.values()]
    kms.schedule_key_deletion(KeyId=made["doomed"], PendingWindowInDays=7)
    for timeline in timelines[:2]:
        timeline.advance(4)                    # moves the lab clock: 8 days, the doomed key goes
    console = KeyConsole(lab)
    simulator = PolicySimulator(lab)
    for _, key_id in simulator.key.options:   # the policy of every key, as a learner clicks through
        simulator.key.value = key_id
    playground = SignVerifyPlayground(kms)
    explorer = EnvelopeExplorer(kms)
    LatencyLab(lab, requests=2)
    for widget in (*timelines, console, simulator, playground, explorer):
        widget.refresh()
    assert {t.state for t in timelines} >= {"Deleted", "PendingDeletion", "PendingImport",
                                            "Unavailable", "Disabled"}

    mine = _widget_records(lab)
    agents = {r["userAgent"] for r in mine}
    assert agents == {f"kmslab-widgets/{name}" for name in WIDGETS}
    failures = [(r["userAgent"], r["eventName"], r["errorCode"]) for r in mine if "errorCode" in r]
    assert failures == []
    assert not any("errorCode" in r for r in lab.audit.records()), "only the learner fails"


def test_what_a_learner_asks_for_is_their_own_request(lab, kms):
    console = KeyConsole(lab)
    console.create_button.click()
    console.window.value = 3
    console.schedule_button.click()
    mine = [r for r in lab.audit.records() if r["eventName"] in ("CreateKey", "ScheduleKeyDeletion")]
    assert [(r["eventName"], r["userAgent"], r.get("errorCode")) for r in mine] == [
        ("CreateKey", "kmslab", None), ("ScheduleKeyDeletion", "kmslab", "ValidationException")]


def test_the_viewer_hides_widget_calls_by_default_and_shows_them_on_request(lab, kms, key_id):
    KeyConsole(lab)
    viewer = AuditLogViewer(lab)
    assert viewer.hide_widget_calls.value is True
    assert [r["eventName"] for r in viewer.filtered()] == ["CreateKey"]
    assert "widget calls hidden" in viewer.summary.value
    viewer.hide_widget_calls.value = False
    shown = viewer.filtered()
    assert len(shown) == len(lab.audit) > 1
    assert "kmslab-widgets/KeyConsole" in {r["userAgent"] for r in shown}


def test_the_viewer_pages_in_a_scrolling_box_with_one_line_times(lab, kms, key_id):
    for _ in range(30):
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    viewer = AuditLogViewer(lab, page_size=10)
    assert viewer.table.value.count("<tr>") == 1 + 10
    assert "the newest 10 are shown" in viewer.summary.value
    viewer.more_button.click()
    assert viewer.table.value.count("<tr>") == 1 + 20
    viewer.more_button.click()
    assert viewer.table.value.count("<tr>") == 1 + 30 and not viewer.more_button.disabled
    viewer.more_button.click()
    assert viewer.table.value.count("<tr>") == 1 + 31 and viewer.more_button.disabled
    viewer.operation.value = "Encrypt"           # a new filter starts again at one page
    assert viewer.table.value.count("<tr>") == 1 + 10 and not viewer.more_button.disabled
    assert viewer.table.layout.max_height and viewer.table.layout.overflow == "auto"
    assert "2025-01-01 09:00:00</td>" in viewer.table.value and "T09:00" not in viewer.table.value
    assert "white-space:nowrap'>2025-01-01 09:00:00" in viewer.table.value


def test_the_console_shows_each_keys_description(lab, kms):
    kms.create_key(Description="orders database")
    console = KeyConsole(lab)
    assert "<th style='text-align:left;padding:2px 8px'>Description</th>" in console.table.value
    assert "orders database" in console.table.value


def test_a_deleted_keys_material_is_destroyed_and_events_are_labelled(lab, kms, key_id):
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    timeline = KeyTimeline(lab, key_id)
    timeline.advance(100)
    assert [v["KeyMaterialState"] for v in timeline.versions] == ["NON_CURRENT", "CURRENT"]
    assert "CURRENT" in timeline.versions_table.value
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    timeline.advance(7)
    assert timeline.state == "Deleted"
    assert timeline.versions_table.value.count("DESTROYED (key deleted)") == 2
    assert "CURRENT<" not in timeline.versions_table.value
    labels = [t.get_text() for t in timeline.figure().axes[0].texts]
    assert {"created", "rotation on", "rotated", "deletion scheduled", "deleted"} <= set(labels)
    assert " material destroyed" in labels


def test_the_verdict_names_what_allowed_or_denied(lab, kms, key_id):
    alice = lab.add_user("alice")
    simulator = PolicySimulator(lab)
    simulator.principal.value = alice.arn
    simulator.evaluate()
    assert "Deny</b> (implicit): no statement or grant allows it" in simulator.verdict.value
    assert "Why: the key policy allows the caller&#x27;s account" in simulator.verdict.value
    policy = json.loads(simulator.policy.value)
    policy["Statement"].append({"Sid": "Alice encrypts", "Effect": "Allow",
                                "Principal": {"AWS": alice.arn}, "Action": "kms:Encrypt",
                                "Resource": "*"})
    simulator.policy.value = json.dumps(policy)
    simulator.apply_button.click()
    assert "Allow</b> by key policy, Sid &quot;Alice encrypts&quot;" in simulator.verdict.value
    assert "(Allow)" not in simulator.verdict.value
    assert "white-space:pre-wrap" in simulator.explanation.value


@pytest.mark.parametrize("who", ["admin"])
def test_an_allow_through_iam_names_both_statements(lab, key_id, who):
    simulator = PolicySimulator(lab)
    simulator.principal.value = who
    simulator.evaluate()
    assert "key policy, Sid &quot;Enable IAM User Permissions&quot; and IAM policy" in \
        simulator.verdict.value


def test_a_restricted_callers_widgets_ask_only_what_it_may(lab, kms, key_id):
    kms.create_key(Description="second")
    nobody = lab.client(as_=lab.add_user("nobody").arn)
    reader_only = lab.add_user("reader", policy={"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["kms:ListKeys", "kms:DescribeKey"], "Resource": "*"}]})
    reader = lab.client(as_=reader_only.arn)
    empty = KeyConsole(nobody)
    assert empty.rows == [] and "may not ListKeys" in empty.table.value
    console = KeyConsole(reader)
    assert len(console.rows) == 2 and {r["Rotation"] for r in console.rows} == {"-"}
    SignVerifyPlayground(nobody)
    EnvelopeExplorer(reader)
    assert [(r["eventName"], r["errorCode"]) for r in lab.audit.records() if "errorCode" in r] == []
    assert {r["userIdentity"]["arn"] for r in _widget_records(lab)} == {reader_only.arn}
    console.create_button.click()          # the learner's own request: refused, and shown
    assert console.error.code == "AccessDeniedException"
