"""EnvelopeExplorer and LatencyLab: each step shown, the data key never."""

import base64

import kmslab.envelope
from kmslab.widgets import EnvelopeExplorer, LatencyLab


class SpyClient:
    """A client that remembers every plaintext data key KMS handed out."""

    def __init__(self, kms):
        self._kms = kms
        self.data_keys = []

    def __getattr__(self, name):
        method = getattr(self._kms, name)
        if name != "generate_data_key":
            return method

        def call(**params):
            response = method(**params)
            self.data_keys.append(bytes(response["Plaintext"]))
            return response
        return call


def _all_html(widget):
    return "".join(child.value for child in widget.steps) + widget.error.value


def test_steps_show_the_data_key_length_never_its_bytes(kms, key_id):
    spy = SpyClient(kms)
    explorer = EnvelopeExplorer(spy)
    explorer.text.value = "a secret for the test"
    explorer.encrypt_button.click()
    assert not explorer.error.shown, explorer.error.value
    html = _all_html(explorer)
    assert "32 bytes (hidden)" in html
    assert len(spy.data_keys) == 1
    key = spy.data_keys[0]
    for form in (key.hex(), key.hex().upper(), base64.b64encode(key).decode()):
        assert form not in html
    assert f"key/{key_id}" in explorer.steps[1].value  # the blob names the KMS key


def test_message_layout_and_round_trip(kms, key_id):
    explorer = EnvelopeExplorer(kms)
    explorer.context.value = "purpose=test, team=a"
    assert explorer.run()
    assert "frame" in explorer.steps[2].value.lower()
    assert "the same text" in explorer.steps[3].value
    assert kmslab.envelope.decrypt(kms, explorer.message, {"purpose": "test", "team": "a"}) == \
        explorer.text.value.encode()


def test_a_disabled_key_shows_disabled_exception(kms, key_id):
    explorer = EnvelopeExplorer(kms)
    kms.disable_key(KeyId=key_id)
    assert not explorer.run()
    assert explorer.error.code == "DisabledException"


def test_only_enabled_symmetric_encryption_keys_are_offered(kms, key_id):
    kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    explorer = EnvelopeExplorer(kms)
    assert [v for _, v in explorer.key.options] == [key_id]


def test_latency_lab_sliders_update_the_table(lab):
    view = LatencyLab(lab, requests=2)
    assert not view.error.shown, view.error.value
    direct = view.frame[(view.frame["strategy"] == "direct") & (view.frame["size_bytes"] == 1 << 20)]
    assert int(direct["kms_calls"].iloc[0]) == 2 * 256  # 1 MiB in 4 KiB pieces, two messages
    before = view.table.value
    view.rtt.value = 200
    assert view.table.value != before and set(view.frame["rtt_ms"]) == {200}
    view.caching.value = False
    assert "envelope+cache" not in view.table.value


def test_show_message_takes_apart_a_message_and_names_a_bad_one(kms, key_id):
    explorer = EnvelopeExplorer(kms)
    message = kmslab.envelope.encrypt(kms, b"shown, not decrypted", [key_id], {"a": "b"})
    assert explorer.show_message(message)
    assert "0x0578" in explorer.steps[2].value and "ECDSA P-384" in explorer.steps[2].value
    assert explorer.steps[0].value == explorer.steps[3].value == ""
    assert not explorer.show_message(b"not a message at all")
    assert explorer.error.shown and "UnsupportedFormatError" in explorer.error.value


def test_latency_lab_starts_at_aws_default_quota_for_the_labs_region():
    virginia = LatencyLab(kmslab.Lab(seed=1), requests=1)
    assert virginia.quota.value == 100_000 and "us-east-1: 100,000 /s" in virginia.quota_note.value
    assert "(AWS default)" in virginia.summary.value
    london = LatencyLab(kmslab.Lab(seed=1, region="eu-west-2"), requests=1)
    assert london.quota.value == 20_000 and "eu-west-2: 20,000 /s" in london.quota_note.value
    london.quota.value = 10_000
    assert "(AWS default)" not in london.summary.value
