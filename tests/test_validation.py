"""Request validation against AWS's model: the fast path never accepts what the full check refuses."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmslab import errors
from kmslab.service import model

OPERATIONS = ["Encrypt", "Decrypt", "CreateKey", "GenerateDataKey", "ScheduleKeyDeletion",
              "CreateGrant", "Sign", "TagResource", "ListKeys", "ImportKeyMaterial", "CreateAlias",
              "GenerateRandom", "EnableKeyRotation"]


def _candidates(shape):
    """Valid, boundary and wrong values for one member shape."""
    t = shape.type_name
    meta = shape.metadata
    lo, hi = meta.get("min", 0), meta.get("max", 50)
    if t == "string":
        values = ["", "a", "alias/x", "x" * lo, "x" * min(hi, 3000), "x" * (hi + 1), 5, b"b"]
        values += list(getattr(shape, "enum", None) or [])[:3] + ["NOT_IN_ENUM"]
        return values
    if t == "blob":
        return [b"", b"x", b"x" * min(hi, 5000), b"x" * (hi + 1), "text", 7]
    if t in ("integer", "long"):
        return [lo - 1, lo, hi, hi + 1, True, "5", 1.5]
    if t == "boolean":
        return [True, False, 1, "yes"]
    if t == "list":
        return [[], ["a"], ["x"] * 11, "notalist", [1], [{}]]
    if t == "map":
        return [{}, {"a": "b"}, {"a": 1}, {1: "b"}, "notamap"]
    if t == "structure":
        return [{}, {"Unknown": 1}, "notastruct"]
    return [None]


@pytest.mark.parametrize("operation", OPERATIONS)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_fast_path_agrees_with_full_validation(operation, data):
    shape = model.operation_model(operation).input_shape
    params = {}
    for name, member in shape.members.items():
        if data.draw(st.booleans(), label=f"has {name}"):
            params[name] = data.draw(st.sampled_from(_candidates(member)), label=name)
    if data.draw(st.booleans(), label="unknown member"):
        params["Bogus"] = 1
    fast = model._fast_validator(shape)
    problems: list[str] = []
    try:
        for check in model._checks_for(shape):
            check(params, "", problems)
        refused = bool(problems)
    except errors.ValidationException:
        refused = True
    if fast(params):
        assert not refused, (params, problems)


def test_messages_use_aws_wording():
    with pytest.raises(errors.ValidationException) as exc:
        model.validator("Encrypt")({"KeyId": "", "Plaintext": b"x" * 4097})
    assert exc.value.message == (
        "2 validation errors detected: Value '' at 'keyId' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1; Value at 'plaintext' failed to "
        "satisfy constraint: Member must have length less than or equal to 4096")
