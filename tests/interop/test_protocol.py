"""The JSON 1.1 codec checked against botocore's own serializer and parser."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import botocore.parsers
import botocore.serialize
import pytest

from kmslab import errors
from kmslab.interop import protocol

MODEL = protocol.service_model()
OPERATIONS = MODEL.operation_names
WHEN = datetime(2025, 3, 4, 5, 6, 7, 500000, tzinfo=UTC)


def example(shape, depth=0):
    """A value for every member of ``shape`` (one item per list or map)."""
    kind = shape.type_name
    if kind == "structure":
        return {name: example(member, depth + 1) for name, member in shape.members.items()
                if depth < 6}
    if kind == "list":
        return [example(shape.member, depth + 1)]
    if kind == "map":
        return {"k": example(shape.value, depth + 1)}
    if kind == "string":
        return shape.enum[0] if shape.enum else f"{shape.name}-value"
    if kind in ("integer", "long"):
        return 7
    if kind == "boolean":
        return True
    if kind == "blob":
        return bytes(range(40)) + b"\xff\xfe"
    if kind == "timestamp":
        return WHEN
    raise AssertionError(kind)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_decodes_what_botocore_serializes(operation):
    op = MODEL.operation_model(operation)
    params = example(op.input_shape)
    wire = botocore.serialize.create_serializer("json", include_validation=False).serialize_to_request(params, op)
    assert protocol.operation_from_target(wire["headers"]["X-Amz-Target"]) == operation
    assert protocol.decode_request(operation, wire["body"]) == params


@pytest.mark.parametrize("operation", [o for o in OPERATIONS
                                       if MODEL.operation_model(o).output_shape is not None])
def test_botocore_parses_what_we_encode(operation):
    op = MODEL.operation_model(operation)
    response = example(op.output_shape)
    body = protocol.encode_response(operation, {**response, "NotInTheModel": b"x"})
    assert "NotInTheModel" not in json.loads(body)
    parsed = botocore.parsers.create_parser("json").parse(
        {"status_code": 200, "headers": {}, "body": body}, op.output_shape)
    parsed.pop("ResponseMetadata", None)
    assert parsed == response


def test_operation_without_output_has_empty_body():
    assert protocol.encode_response("DisableKey", {"Anything": 1}) == b""


def test_error_is_rendered_as_aws_does_and_botocore_reads_it():
    reply = protocol.encode_error(errors.NotFoundException("Key 'x' does not exist"))
    headers = dict(reply.headers)
    assert reply.status == 400
    assert json.loads(reply.body) == {"__type": "NotFoundException",
                                      "message": "Key 'x' does not exist"}
    assert headers["x-amzn-ErrorType"].startswith("NotFoundException")
    assert headers["x-amzn-RequestId"]
    parsed = botocore.parsers.create_parser("json").parse(
        {"status_code": 400, "headers": {k.lower(): v for k, v in headers.items()},
             "body": reply.body},
        MODEL.operation_model("DescribeKey").output_shape)
    assert parsed["Error"] == {"Code": "NotFoundException", "Message": "Key 'x' does not exist"}
    assert parsed["ResponseMetadata"]["RequestId"] == headers["x-amzn-RequestId"]


def test_error_status_comes_from_the_error():
    assert protocol.encode_error(errors.KMSInternalException("x")).status == 500


@pytest.mark.parametrize("target", [None, "", "TrentService.NoSuchThing", "Other.Encrypt",
                                    "TrentService", "Encrypt"])
def test_unknown_target_is_unknown_operation(target):
    with pytest.raises(errors.UnknownOperationException):
        protocol.operation_from_target(target)


@pytest.mark.parametrize("body", [b"{", b"[1,", b"NaN", b'{"KeyId": NaN}', b"\xff\xfe",
                                  b"[" * 100000])
def test_malformed_json_is_serialization_exception(body):
    with pytest.raises(errors.SerializationException):
        protocol.decode_request("Encrypt", body)


@pytest.mark.parametrize("body, message", [
    (b'{"KeyId": 5}', "NUMBER_VALUE can not be converted to a String"),
    (b'{"KeyId": true}', "TRUE_VALUE can not be converted to a String"),
    (b'{"KeyId": {}}', "Start of structure or map found where not expected."),
    (b'{"KeyId": []}', "Start of list found where not expected."),
    (b'{"Plaintext": 3}', "NUMBER_VALUE can not be converted to a Blob"),
    (b'{"Plaintext": "not base64!"}', None),
    (b'{"EncryptionContext": []}', "Start of list found where not expected."),
    (b'{"EncryptionContext": {"a": 1}}', "NUMBER_VALUE can not be converted to a String"),
    (b'{"GrantTokens": "t"}', "STRING_VALUE can not be converted to a List"),
    (b'[]', "Start of list found where not expected."),
    (b'"text"', None),
])
def test_wrong_types_are_serialization_exceptions(body, message):
    with pytest.raises(errors.SerializationException) as caught:
        protocol.decode_request("Encrypt", body)
    if message:
        assert caught.value.message == message


def test_integer_and_timestamp_types():
    with pytest.raises(errors.SerializationException):
        protocol.decode_request("GenerateDataKey", b'{"NumberOfBytes": "32"}')
    with pytest.raises(errors.SerializationException):
        protocol.decode_request("ImportKeyMaterial", b'{"ValidTo": "2025-01-01"}')
    assert protocol.decode_request("ImportKeyMaterial", b'{"ValidTo": 1735722000}') == {
        "ValidTo": datetime(2025, 1, 1, 9, 0, tzinfo=UTC)}


@pytest.mark.parametrize("number", [b"1e400", b"-1e400", b"1e10", b"2147483648", b"-2147483649",
                                    b"9" * 400, b"2147483648.0"])
def test_a_number_beyond_an_integer_is_serialization_exception(number):
    with pytest.raises(errors.SerializationException) as caught:
        protocol.decode_request("GenerateRandom", b'{"NumberOfBytes": ' + number + b"}")
    assert caught.value.message == "NUMBER_VALUE is out of range for an Integer"


@pytest.mark.parametrize("number, value", [(b"2147483647", 2 ** 31 - 1), (b"-2147483648", -2 ** 31),
                                           (b"32.9", 32), (b"1e3", 1000), (b"-0.5", 0)])
def test_a_number_within_an_integer_is_truncated_as_coral_does(number, value):
    assert protocol.decode_request("GenerateRandom", b'{"NumberOfBytes": ' + number + b"}") == {
        "NumberOfBytes": value}


def test_unknown_members_and_nulls_are_ignored():
    assert protocol.decode_request("DescribeKey", b'{"KeyId": "k", "Extra": 1, "GrantTokens": null}') \
        == {"KeyId": "k"}
    assert protocol.decode_request("DescribeKey", b"") == {}
