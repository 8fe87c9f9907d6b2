"""PolicySimulator: the key policy editor applies with PutKeyPolicy; decisions come from lab.explain."""

import json

from kmslab.widgets import PolicySimulator


def test_editor_shows_the_key_policy(lab, kms, key_id):
    sim = PolicySimulator(lab)
    assert sim.key.value == key_id
    assert json.loads(sim.policy.value) == json.loads(
        kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])


def test_malformed_policy_is_refused_inline_and_the_policy_is_unchanged(lab, kms, key_id):
    sim = PolicySimulator(lab)
    before = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    sim.policy.value = "{not json"
    sim.apply_button.click()
    assert sim.error.code == "MalformedPolicyDocumentException"
    assert kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"] == before


def test_apply_puts_the_edited_policy(lab, kms, key_id):
    sim = PolicySimulator(lab)
    policy = json.loads(sim.policy.value)
    policy["Statement"][0]["Sid"] = "Edited"
    sim.policy.value = json.dumps(policy)
    sim.apply_button.click()
    assert not sim.error.shown
    stored = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert stored["Statement"][0]["Sid"] == "Edited"


def test_bad_context_text_is_shown_inline(lab, key_id):
    sim = PolicySimulator(lab)
    sim.context.value = "no-equals-sign"
    sim.evaluate_button.click()
    assert sim.error.code == "ValueError"


def test_admin_allowed_user_denied_then_allowed_by_an_edited_policy(lab, kms, key_id):
    user = lab.add_user("alice")
    sim = PolicySimulator(lab)
    sim.principal.value = user.arn
    sim.action.value = "kms:Encrypt"
    decision = sim.evaluate()
    assert not decision.allowed and "Deny" in sim.verdict.value
    assert "kms:Encrypt" in sim.explanation.value
    policy = json.loads(sim.policy.value)
    policy["Statement"].append({"Sid": "Alice encrypts", "Effect": "Allow",
                                "Principal": {"AWS": user.arn}, "Action": "kms:Encrypt",
                                "Resource": "*"})
    sim.policy.value = json.dumps(policy)
    sim.apply_button.click()
    assert not sim.error.shown
    assert "Allow" in sim.verdict.value and "Alice encrypts" in sim.explanation.value
    sim.principal.value = "admin"
    assert sim.evaluate().allowed

