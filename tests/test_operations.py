"""The operation table: one home per fact, checked against the texts of AWS's own model.

Every fact the API Reference states in its text (which key forms an operation takes,
cross-account use, the permission and the policy that grants it, List operations' Limit,
DryRun) must agree with the table; every consumer (pipeline, authorizer, audit, quotas,
grants, client) must read the table rather than keep its own copy.
"""

import ast
import pathlib
import re

import botocore.session
import pytest

import kmslab
from kmslab import operations
from kmslab.operations import model
from kmslab.service.registry import ROUTES

MODEL = botocore.session.get_session().get_service_model("kms")
SPECS = operations.specs()
ROOT = pathlib.Path(kmslab.__file__).parent


def test_the_table_has_every_operation_of_the_model_and_nothing_else():
    assert set(SPECS) == set(MODEL.operation_names)
    assert set(ROUTES) == set(SPECS)
    assert all(ROUTES[name].spec is SPECS[name] for name in SPECS)


def test_botocores_model_is_loaded_once_and_shared():
    from kmslab.interop import protocol
    from kmslab.service import model as validation
    assert protocol.service_model() is model.kms_model() is validation.kms_model()
    assert kmslab.client().meta.service_model is model.kms_model()
    for name, spec in SPECS.items():
        assert spec.input_shape is model.operation_model(name).input_shape or \
            spec.input_shape == model.operation_model(name).input_shape


def test_unknown_columns_are_refused():
    with pytest.raises(ValueError, match="unknown columns"):
        operations._compile("Encrypt", {"key": "KeyId", "cross_acount": True})


# ------------------------------------------------------------------ facts the model's text states
def _forms_from_text(text: str) -> set[str]:
    if "alias name, or alias ARN" in text or "alias ARN in the value of the KeyId" in text:
        return {"key_id", "key_arn", "alias_name", "alias_arn"}
    if "key ARN" in text:
        return {"key_id", "key_arn"}
    return set()


@pytest.mark.parametrize("name", sorted(n for n, s in SPECS.items() if s.key and s.key.param))
def test_key_forms_agree_with_the_key_members_text(name):
    spec = SPECS[name]
    text = model.member_text(name, spec.key.param) + " " + model.operation_text(name)
    from_member = _forms_from_text(model.member_text(name, spec.key.param))
    expected = from_member or _forms_from_text(model.operation_text(name))
    assert expected, f"{name}: the model's text says nothing of the key's forms"
    assert set(spec.key.forms) == expected, (name, text[:200])


@pytest.mark.parametrize("name", sorted(SPECS))
def test_cross_account_use_agrees_with_the_operations_text(name):
    text = model.operation_text(name)
    m = re.search(r"Cross-account use\s*:\s*(Yes|No)", text)
    if m is None:  # ListRetirableGrants: "You must specify a principal in your ... account"
        assert SPECS[name].cross_account is False
        return
    assert SPECS[name].cross_account == (m.group(1) == "Yes")


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_permission_and_its_policy_agree_with_required_permissions(name):
    spec = SPECS[name]
    text = model.operation_text(name)
    required = re.search(r"Required permissions\s*:?\s*(.*?)(?:Related operations|$)", text).group(1)
    if spec.policy == "grant":
        assert "determined primarily by the grant" in required
        return
    at = required.index(spec.action)  # the action is named ...
    policy = "IAM policy" if spec.policy == "iam" else "key policy"
    assert policy in required[at:at + 160], required  # ... with the policy that grants it


@pytest.mark.parametrize("name", sorted(SPECS))
def test_dry_run_comes_from_the_model(name):
    shape = model.operation_model(name).input_shape
    assert SPECS[name].dry_run == (shape is not None and "DryRun" in shape.members)


@pytest.mark.parametrize("name", sorted(n for n, s in SPECS.items()
                                        if s.input_shape is not None and "Limit" in s.input_shape.members))
def test_every_list_operation_has_its_documented_limit(name):
    lo, hi, default = SPECS[name].limit
    text = model.member_text(name, "Limit")
    m = re.search(r"must be between (\d+) and (\d+), inclusive\. If you do not include a value, "
                  r"it defaults to (\d+)", text)
    if m:
        assert (lo, hi, default) == tuple(int(g) for g in m.groups())
    meta = SPECS[name].input_shape.members["Limit"].metadata
    assert meta["min"] <= lo <= hi <= meta["max"]


def test_only_describe_key_creates_aws_managed_keys():
    assert [n for n, s in SPECS.items() if s.creates_aws_managed_key] == ["DescribeKey"]
    assert "to create Amazon Web Services managed keys from a predefined" in \
        model.operation_text("DescribeKey")


def test_every_fact_cites_its_source():
    for name, spec in SPECS.items():
        sources = spec.sources
        for column in operations.table.OPERATIONS[name]:
            assert column in sources, (name, column)
        assert "dry_run" in sources and "cross_account" in sources
        for quote in (sources["cross_account"], sources.get("forms", "")):
            m = re.search(r'"(.*)"', quote)
            if m:  # a quotation of the model's text is in the model's text
                assert m.group(1) in model.operation_text(name) + " ".join(
                    model.member_text(name, member) for member in (spec.input_shape.members
                                                                   if spec.input_shape else ()))


# ------------------------------------------------------------------ facts the model lists
def test_grant_operations_are_the_models_grant_operations():
    assert set(operations.GRANT_OPERATIONS) == set(MODEL.shape_for("GrantOperation").enum)


def test_tracked_operations_are_the_models_key_last_usage_operations():
    tracked = {n for n, s in SPECS.items() if s.audit.tracked}
    assert tracked == set(MODEL.shape_for("KeyLastUsageTrackingOperation").enum)


def test_encryption_context_grant_operations_are_those_with_an_encryption_context():
    for grant_op in operations.GRANT_OPERATIONS:
        spec, slot = operations.slot_for_action(f"kms:{grant_op}")
        members = spec.input_shape.members
        has_context = slot.context is not None and slot.context in members and \
            slot.context.endswith("EncryptionContext")
        assert (grant_op in operations.EC_GRANT_OPERATIONS) == has_context, grant_op


def test_condition_members_exist_in_the_request():
    for name, spec in SPECS.items():
        for slot_conditions in [spec.conditions] + [s.conditions for s in spec.slots]:
            for key, source in slot_conditions.items():
                if source[0] == "param":
                    assert source[1] in spec.input_shape.members, (name, key)
        for slot in spec.slots:
            if slot.algorithm:
                assert slot.algorithm[0] in spec.input_shape.members, name
            if slot.context and slot.context != "Constraints":
                assert slot.context in spec.input_shape.members, name


# ------------------------------------------------------------------ one home per fact
FACT_NAMES = ("RESPONSE_ELEMENTS", "_DEFAULTED", "_KEY_ID_AS_ARN", "REQUEST_CONDITIONS",
              "GRANT_OPERATIONS_BY_USAGE", "_SYMMETRIC_ONLY", "_ALWAYS", "_EC_PARAM")


def test_no_module_keeps_a_second_copy_of_the_operation_facts():
    for path in ROOT.rglob("*.py"):
        if path.parent.name == "operations":
            continue  # their one home
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assert target.id not in FACT_NAMES, (path, target.id)


def test_botocores_model_is_loaded_only_by_the_model_index():
    offenders = []
    for path in ROOT.rglob("*.py"):
        if path.relative_to(ROOT).as_posix() == "operations/model.py":
            continue
        if "get_service_model" in path.read_text(encoding="utf-8"):
            offenders.append(path.relative_to(ROOT).as_posix())
    assert offenders == []


def test_handlers_take_their_facts_from_the_table():
    """No handler registration restates a fact of the table."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "service").glob("*.py"))
    for flag in ("cross_account=", "read_only=", "dry_run=", "iam_only=", "key_param="):
        assert not re.search(r"@operation\([^)]*" + flag, source), flag


# ------------------------------------------------------------------ what a learner reads
def test_client_docstrings_say_where_the_behaviour_lives():
    kms = kmslab.client()
    doc = kms.disable_key.__doc__
    assert "kmslab.service.keys.disable_key" in doc
    assert "KeyId: key id, key ARN" in doc and "alias" not in doc.split("How kmslab serves it:")[1] \
        .split("\n")[1]
    assert "cross-account: no" in doc and "permission: kms:DisableKey (key policy)" in doc
    assert "DryRun: yes" in kms.encrypt.__doc__
    assert "kmslab.service.encryption.encrypt" in kms.encrypt.__doc__


def test_source_of_a_client_method_is_its_operations_code():
    import inspect
    kms = kmslab.client()
    source = inspect.getsource(kms.encrypt)
    assert source.lstrip().startswith('@operation("Encrypt"')
    assert inspect.getsourcefile(inspect.unwrap(kms.encrypt)).endswith("service/encryption.py")
    assert str(inspect.signature(kms.encrypt)).startswith("(*, KeyId: str, Plaintext: bytes")


def test_a_spec_reads_as_the_facts_of_its_operation():
    spec = operations.spec("DisableKey")
    assert spec.key.forms == {"key_id", "key_arn"}
    assert (spec.cross_account, spec.action, spec.policy, spec.dry_run) == \
        (False, "kms:DisableKey", "key", False)
    assert spec.sources["cross_account"] == 'API Reference, DisableKey: "Cross-account use : No."'
    assert "DisableKey" in repr(spec)
    with pytest.raises(KeyError):
        operations.spec("DestroyKey")
