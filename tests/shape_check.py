"""Check a kmslab response against the output shape in botocore's KMS service model."""

from datetime import datetime

import botocore.session

_MODEL = botocore.session.get_session().get_service_model("kms")
_TYPES = {"string": str, "blob": bytes, "boolean": bool, "integer": int, "long": int,
          "list": list, "structure": dict, "map": dict, "timestamp": datetime}


def assert_matches_output_shape(operation: str, response: dict) -> None:
    """Every member is in the model's output shape, with its type and enum; required ones present."""
    shape = _MODEL.operation_model(operation).output_shape
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    unknown = set(body) - set(shape.members)
    assert not unknown, f"{operation} returned members not in botocore's model: {unknown}"
    missing = set(shape.required_members) - set(body)
    assert not missing, f"{operation} lacks required members {missing}"
    for name, value in body.items():
        member = shape.members[name]
        assert isinstance(value, _TYPES[member.type_name]), (operation, name, type(value))
        if member.type_name == "string" and member.enum:
            assert value in member.enum, (operation, name, value)
        if member.type_name == "list" and getattr(member.member, "enum", None):
            assert set(value) <= set(member.member.enum), (operation, name, value)
