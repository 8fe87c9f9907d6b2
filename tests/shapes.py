"""Check kmslab responses against botocore's KMS service model (members, types, enums,
lengths, ranges): the reference every service test uses."""

from __future__ import annotations

from datetime import datetime

import botocore.session

MODEL = botocore.session.get_session().get_service_model("kms")

_PY = {"string": str, "blob": bytes, "integer": int, "long": int, "boolean": bool,
       "timestamp": datetime, "list": list, "map": dict, "structure": dict}


def check_value(value, shape, path: str) -> None:
    expected = _PY[shape.type_name]
    assert isinstance(value, expected), f"{path}: {type(value).__name__} is not {shape.type_name}"
    if shape.type_name == "boolean":
        return
    if shape.type_name == "timestamp":
        assert value.tzinfo is not None, f"{path}: timestamps are timezone-aware"
    if getattr(shape, "enum", None):
        assert value in shape.enum, f"{path}: {value!r} not in enum {shape.name}"
    lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
    if shape.type_name == "string":
        assert lo is None or len(value) >= lo, f"{path}: shorter than {lo}"
        assert hi is None or len(value) <= hi, f"{path}: longer than {hi}"
    elif shape.type_name == "integer":
        assert lo is None or value >= lo, f"{path}: {value} below {lo}"
        assert hi is None or value <= hi, f"{path}: {value} above {hi}"
    if shape.type_name == "structure":
        check_structure(value, shape, path)
    elif shape.type_name == "list":
        for i, v in enumerate(value):
            check_value(v, shape.member, f"{path}[{i}]")
    elif shape.type_name == "map":
        for k, v in value.items():
            check_value(k, shape.key, f"{path}.key")
            check_value(v, shape.value, f"{path}[{k}]")


def check_structure(value: dict, shape, path: str) -> None:
    members = shape.members
    for name, v in value.items():
        if name == "ResponseMetadata" and path == "":
            continue
        assert name in members, f"{path}.{name} is not a member of {shape.name}"
        check_value(v, members[name], f"{path}.{name}")
    for name in shape.required_members:
        assert name in value, f"{path}: required member {name} of {shape.name} missing"


def check_response(operation: str, response: dict) -> dict:
    """Assert ``response`` fits ``operation``'s output shape in botocore's model."""
    shape = MODEL.operation_model(operation).output_shape
    if shape is None:
        assert set(response) <= {"ResponseMetadata"}, response
        return response
    check_structure(response, shape, "")
    return response
