"""The key-state table: one row per operation, AWS's errors per state."""

import botocore.session
import pytest

from kmslab import errors
from kmslab.service import states
from kmslab.service.registry import ROUTES

MODEL = botocore.session.get_session().get_service_model("kms")


def test_table_rows_are_real_operations_with_all_states():
    for op, row in states.TABLE.items():
        assert op in MODEL.operation_names, op
        assert set(row) == set(states.STATES)
    assert set(states.STATES) == set(MODEL.shape_for("KeyState").enum)


def test_every_operation_naming_a_key_is_in_the_table():
    for name, route in ROUTES.items():
        spec = route.spec
        if spec.key is not None and spec.key.action is not None:
            assert name in states.TABLE, name
        else:
            assert name not in states.TABLE, name


@pytest.mark.parametrize("state, error, text", [
    ("Disabled", errors.DisabledException, "is disabled."),
    ("PendingDeletion", errors.KMSInvalidStateException, "is pending deletion."),
    ("PendingReplicaDeletion", errors.KMSInvalidStateException, "is pending replica deletion."),
    ("PendingImport", errors.KMSInvalidStateException, "is pending import."),
    ("Unavailable", errors.KMSInvalidStateException, "is unavailable."),
    ("Creating", errors.KMSInvalidStateException, "is creating."),
])
def test_crypto_operations_per_state(state, error, text):
    for op in ("Encrypt", "Decrypt", "GenerateDataKey", "Sign", "Verify", "GenerateMac"):
        with pytest.raises(error, match=text):
            states.check(op, state, "arn:aws:kms:us-east-1:111122223333:key/k")
    states.check("Encrypt", "Enabled", "arn")
    states.check("Encrypt", "Updating", "arn")


def test_cancel_key_deletion_only_when_pending():
    for state in states.STATES:
        if state in ("PendingDeletion", "PendingReplicaDeletion"):
            states.check("CancelKeyDeletion", state, "arn")
        else:
            with pytest.raises(errors.KMSInvalidStateException, match="not pending deletion"):
                states.check("CancelKeyDeletion", state, "arn")


def test_management_reads_work_in_every_state():
    for op in ("DescribeKey", "GetKeyPolicy", "ListResourceTags", "ListGrants", "PutKeyPolicy"):
        for state in states.STATES:
            assert states.check(op, state, "arn") is None, (op, state)  # no error raised


def test_state_checks_leave_state_unchanged(kms, key_id):
    kms.disable_key(KeyId=key_id)
    for call in (lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x"),
                 lambda: kms.generate_data_key(KeyId=key_id, NumberOfBytes=8)):
        with pytest.raises(errors.DisabledException):
            call()
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
