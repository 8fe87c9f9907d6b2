"""KeyConsole: the form creates keys, buttons drive the lifecycle, errors show AWS's code inline."""

import pytest

from kmslab.widgets import KeyConsole


@pytest.fixture
def console(lab):
    return KeyConsole(lab)


def test_create_key_via_form_appears_in_table_and_is_selected(console, kms):
    console.description.value = "orders"
    console.create_button.click()
    key_id = console.key.value
    assert key_id and not console.error.shown
    assert key_id.split("-")[0] in console.table.value
    assert console.state_of(key_id) == "Enabled"
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["Description"] == "orders" and meta["KeySpec"] == "SYMMETRIC_DEFAULT"


def test_form_creates_the_spec_and_origin_chosen(console, kms):
    console.key_spec.value = "HMAC_256"
    console.key_usage.value = "GENERATE_VERIFY_MAC"
    console.create_button.click()
    assert kms.describe_key(KeyId=console.key.value)["KeyMetadata"]["KeyUsage"] == "GENERATE_VERIFY_MAC"
    console.key_spec.value, console.key_usage.value = "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"
    console.origin.value = "EXTERNAL"
    console.create_button.click()
    assert console.state_of(console.key.value) == "PendingImport"


def test_incompatible_form_values_show_the_aws_error(console, kms):
    console.key_spec.value = "HMAC_256"
    console.key_usage.value = "ENCRYPT_DECRYPT"
    console.create_button.click()
    assert console.error.code == "ValidationException"
    assert "ValidationException" in console.error.value
    assert kms.list_keys()["Keys"] == []


def test_disable_and_enable_change_the_table_and_the_service(console, kms, key_id):
    console.refresh()
    console.key.value = key_id
    console.disable_button.click()
    assert console.state_of(key_id) == "Disabled"
    assert "Disabled" in console.table.value
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    console.enable_button.click()
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_schedule_and_cancel_deletion(console, kms, key_id):
    console.refresh()
    console.key.value = key_id
    console.window.value = 7
    console.schedule_button.click()
    assert console.state_of(key_id) == "PendingDeletion"
    assert "PendingDeletion (deletion on 2025-01-08)" in console.table.value
    console.enable_button.click()  # not allowed while pending deletion
    assert console.error.code == "KMSInvalidStateException"
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    console.cancel_button.click()
    assert not console.error.shown
    assert console.state_of(key_id) == "Disabled"


def test_invalid_deletion_window_is_refused_inline_and_state_unchanged(console, kms, key_id):
    console.refresh()
    console.key.value = key_id
    console.window.value = 3
    console.schedule_button.click()
    assert console.error.code == "ValidationException"
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_add_alias_shows_it_and_a_duplicate_is_refused(console, kms, key_id):
    console.refresh()
    console.key.value = key_id
    console.alias_name.value = "orders"
    console.alias_button.click()
    assert "alias/orders" in console.table.value
    assert console.key.label.endswith("(alias/orders)")
    console.alias_button.click()
    assert console.error.code == "AlreadyExistsException"


def test_rotate_now_rotates_on_demand(console, kms, key_id):
    console.refresh()
    console.key.value = key_id
    console.rotate_button.click()
    assert not console.error.shown
    rotations = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["ON_DEMAND"]


def test_a_client_acting_as_someone_else_is_accepted(lab):
    console = KeyConsole(lab.client())
    console.create_button.click()
    assert console.rows and console.rows[0]["KeyState"] == "Enabled"
