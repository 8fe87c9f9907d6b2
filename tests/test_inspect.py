"""kmslab.inspect: the public view of what tutorials take apart, read from the same data the
service uses, and refusing what is not a blob, a message or a snapshot."""

import pytest

import kmslab
from kmslab import envelope, errors
from kmslab.crypto.sealing import SealError
from kmslab.inspect import key_states, parse_blob, parse_message, snapshot_version
from kmslab.service import states


def test_a_blob_names_the_key_and_material_that_made_it(kms, key_id):
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"hello")["CiphertextBlob"]
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    parts = parse_blob(blob)
    assert parts.key_arn == meta["Arn"] and parts.key_id == key_id
    assert parts.describe()["encrypted data (bytes)"] == 5
    assert parts.describe()["total (bytes)"] == len(blob)


@pytest.mark.parametrize("blob", [b"", b"\x01", b"\x02" + bytes(80), b"not a blob at all, just text"])
def test_anything_else_is_an_invalid_ciphertext(blob):
    with pytest.raises(errors.InvalidCiphertextException):
        parse_blob(blob)


def test_the_key_state_tables_are_the_ones_the_service_checks():
    assert key_states.TABLE is states.TABLE and key_states.TRANSITIONS is states.TRANSITIONS
    assert key_states.error("Encrypt", "Enabled") is None
    assert key_states.error("Encrypt", "Disabled") == "DisabledException"
    assert key_states.error("Encrypt", "PendingDeletion") == "KMSInvalidStateException"
    assert key_states.error("CancelKeyDeletion", "Enabled") == "KMSInvalidStateException"
    assert ("Enabled", "DisableKey", "Disabled") in key_states.transition_table()
    with pytest.raises(TypeError):
        key_states.TABLE["Encrypt"] = {}


def test_the_table_says_what_a_disabled_key_gets(kms, key_id):
    kms.disable_key(KeyId=key_id)
    with pytest.raises(errors.DisabledException):
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    assert key_states.error("Encrypt", "Disabled") == "DisabledException"
    kms.describe_key(KeyId=key_id)  # allowed in every state, as the table says
    assert key_states.error("DescribeKey", "Disabled") is None


def test_an_envelope_message_shows_its_wrapping_key_and_frames(kms, key_id):
    message = envelope.encrypt(kms, b"x" * 10_000, [key_id], {"purpose": "test"})
    info = parse_message(message)
    arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    assert [k.key_arn for k in info.encrypted_data_keys] == [arn]
    assert info.encryption_context["purpose"] == "test"
    assert sum(f.plaintext_length for f in info.frames) == 10_000
    with pytest.raises(envelope.EnvelopeError):
        parse_message(b"\x02" + bytes(40))


def test_a_saved_lab_says_its_format_version_without_the_passphrase(lab):
    assert snapshot_version(lab.to_bytes("a passphrase")) >= 1
    with pytest.raises(SealError):
        snapshot_version(b"PK\x03\x04 not a snapshot")


def test_inspect_is_public_and_documented():
    import pathlib
    listed = (pathlib.Path(__file__).parents[1] / "docs" / "site" / "public-api.txt").read_text()
    assert "\nkmslab.inspect " in listed
    assert all(getattr(kmslab.inspect, name).__doc__ for name in kmslab.inspect.__all__)
