"""Check a response against botocore's KMS output shape (members, types, enums, lengths)."""

from __future__ import annotations

from datetime import datetime

import botocore.session

_MODEL = botocore.session.get_session().get_service_model("kms")
_TYPES = {"string": str, "boolean": bool, "integer": int, "long": int, "timestamp": datetime,
          "blob": bytes, "list": list, "structure": dict, "map": dict}


def _check(value, shape, path: str) -> None:
    assert isinstance(value, _TYPES[shape.type_name]), f"{path}: {type(value).__name__} is not {shape.type_name}"
    if shape.type_name == "string":
        if getattr(shape, "enum", None):
            assert value in shape.enum, f"{path}: {value!r} not in {shape.enum}"
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
        assert lo is None or len(value) >= lo, f"{path}: shorter than {lo}"
        assert hi is None or len(value) <= hi, f"{path}: longer than {hi}"
    elif shape.type_name == "integer":
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
        assert lo is None or value >= lo and (hi is None or value <= hi), f"{path}: {value} out of range"
    elif shape.type_name == "timestamp":
        assert value.tzinfo is not None, f"{path}: naive datetime"
    elif shape.type_name == "list":
        for i, item in enumerate(value):
            _check(item, shape.member, f"{path}[{i}]")
    elif shape.type_name == "structure":
        for name, member_value in value.items():
            assert name in shape.members, f"{path}: {name} is not a member of {shape.name}"
            _check(member_value, shape.members[name], f"{path}.{name}")
        for name in shape.required_members:
            assert name in value, f"{path}: required {name} missing"


def assert_shape(operation: str, response: dict) -> None:
    """Fail unless ``response`` (ResponseMetadata aside) fits the operation's output shape."""
    shape = _MODEL.operation_model(operation).output_shape
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    if shape is None:
        assert body == {}, f"{operation} returns no members, got {sorted(body)}"
        return
    _check(body, shape, operation)
