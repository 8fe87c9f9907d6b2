"""AWS JSON 1.1 for KMS, driven by botocore's own KMS service model.

The wire format both front ends speak (the in-process boto3 adapter and the
HTTP server):

* a request is ``POST /`` with ``X-Amz-Target: TrentService.<Operation>`` and a
  JSON object body; blobs travel as base64 strings, timestamps as epoch
  seconds;
* a response is a JSON object holding only the members of the operation's
  output shape (an empty body for operations without output);
* an error is an HTTP status (400 unless the error says otherwise) with body
  ``{"__type": "<Code>", "message": "..."}`` and header ``x-amzn-ErrorType``;
* every response carries ``x-amzn-RequestId``.

Each operation gets a codec compiled once from its shapes: decoding checks
JSON types as AWS does (a number where a string belongs, or a number too big
for an integer member such as ``1e400``, is a ``SerializationException``) and
converts blobs and timestamps; encoding only walks the members that hold blobs
or timestamps.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .. import errors
from ..identity import Principal

__all__ = [
    "CONTENT_TYPE", "TARGET_PREFIX", "Reply", "OperationCodec", "service_model", "codec_for",
    "operation_from_target", "decode_request", "encode_response", "encode_error",
    "new_request_id", "serve_json_request",
]

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "TrentService"

Decoder = Callable[[Any], Any]
Encoder = Callable[[Any], Any]


def service_model():
    """botocore's KMS service model (kmslab loads it once: :mod:`kmslab.operations.model`)."""
    from ..operations.model import kms_model

    return kms_model()


# ---------------------------------------------------------------- decoding

_ARTICLE = {"integer": "an Integer", "long": "a Long", "boolean": "a Boolean",
            "string": "a String", "blob": "a Blob", "timestamp": "a Timestamp",
            "double": "a Double", "float": "a Float", "structure": "a Structure",
            "list": "a List", "map": "a Map"}


def _type_error(value: Any, expected: str) -> errors.KMSError:
    """The SerializationException AWS returns for a JSON value of the wrong type."""
    if isinstance(value, dict):
        return errors.SerializationException("Start of structure or map found where not expected.")
    if isinstance(value, list):
        return errors.SerializationException("Start of list found where not expected.")
    if value is True or value is False:
        token = "TRUE_VALUE" if value else "FALSE_VALUE"
    elif isinstance(value, str):
        token = "STRING_VALUE"
    else:
        token = "NUMBER_VALUE"
    return errors.SerializationException(f"{token} can not be converted to {_ARTICLE[expected]}")


def _decode_string(value):
    if type(value) is str:
        return value
    raise _type_error(value, "string")


def _integer_decoder(kind: str, bits: int) -> Decoder:
    """A decoder for a JSON number in an ``integer`` (32-bit) or ``long`` (64-bit) member.

    Coral truncates a fractional number into an integer member; a number outside
    the member's range (``1e400`` parses as infinity, ``1e10`` overflows an
    Integer) cannot be converted at all: SerializationException.
    """
    low, high = -2 ** (bits - 1), 2 ** (bits - 1) - 1

    def decode(value):
        if type(value) is float:
            if not math.isfinite(value) or not low <= value < high + 1:
                raise _out_of_range(kind)
            value = int(value)
        elif type(value) is not int:
            raise _type_error(value, kind)
        if not low <= value <= high:
            raise _out_of_range(kind)
        return value
    return decode


def _out_of_range(kind: str) -> errors.KMSError:
    return errors.SerializationException(f"NUMBER_VALUE is out of range for {_ARTICLE[kind]}")


def _decode_boolean(value):
    if value is True or value is False:
        return value
    raise _type_error(value, "boolean")


def _decode_blob(value):
    if type(value) is not str:
        raise _type_error(value, "blob")
    try:
        return binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError):
        raise errors.SerializationException(
            "Base64 encoded value is not valid: expected a multiple of 4 characters "
            "from the base64 alphabet") from None


def _decode_timestamp(value):
    if type(value) in (int, float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise errors.SerializationException(
                f"NUMBER_VALUE {value} is out of range for a Timestamp") from None
    raise _type_error(value, "timestamp")


_SCALAR_DECODERS: dict[str, Decoder] = {
    "string": _decode_string, "integer": _integer_decoder("integer", 32),
    "long": _integer_decoder("long", 64),
    "boolean": _decode_boolean, "blob": _decode_blob, "timestamp": _decode_timestamp,
}


def _decoder(shape, cache: dict) -> Decoder:
    """A function checking and converting a JSON value of ``shape`` into Python types."""
    if shape.name in cache:
        return cache[shape.name]
    kind = shape.type_name
    if kind in _SCALAR_DECODERS:
        decoder = _SCALAR_DECODERS[kind]
    elif kind == "structure":
        members: dict[str, Decoder] = {}
        cache[shape.name] = lambda value: decode_structure(value)  # recursion guard

        def decode_structure(value):
            if type(value) is not dict:
                raise _type_error(value, "structure")
            out = {}
            for name, item in value.items():
                decode = members.get(name)
                if decode is not None and item is not None:  # unknown members are ignored
                    out[name] = decode(item)
            return out

        members.update({name: _decoder(member, cache) for name, member in shape.members.items()})
        decoder = decode_structure
    elif kind == "list":
        decode_item = _decoder(shape.member, cache)

        def decoder(value):
            if type(value) is not list:
                raise _type_error(value, "list")
            return [decode_item(item) for item in value]
    elif kind == "map":
        decode_key = _decoder(shape.key, cache)
        decode_value = _decoder(shape.value, cache)

        def decoder(value):
            if type(value) is not dict:
                raise _type_error(value, "map")
            return {decode_key(k): decode_value(v) for k, v in value.items() if v is not None}
    else:  # pragma: no cover - not in the KMS model
        decoder = lambda value: value  # noqa: E731
    cache[shape.name] = decoder
    return decoder


# ---------------------------------------------------------------- encoding

def _encode_blob(value):
    if isinstance(value, str):  # as botocore's serializer does for str blobs
        value = value.encode("utf-8")
    return base64.b64encode(value).decode("ascii")


def _encode_timestamp(value):
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    return value  # already epoch seconds


def _encoder(shape, cache: dict) -> Encoder | None:
    """A function converting a Python value of ``shape`` to JSON types, or None if none is needed.

    Only shapes holding blobs or timestamps somewhere need converting, so the
    encoder walks nothing else.
    """
    if shape.name in cache:
        return cache[shape.name]
    cache[shape.name] = None  # recursion guard: a cycle adds no blob of its own
    kind = shape.type_name
    encoder: Encoder | None = None
    if kind == "blob":
        encoder = _encode_blob
    elif kind == "timestamp":
        encoder = _encode_timestamp
    elif kind == "structure":
        converters = {name: enc for name, member in shape.members.items()
                      if (enc := _encoder(member, cache)) is not None}
        if converters:
            def encoder(value):
                return {k: (converters[k](v) if k in converters else v)
                        for k, v in value.items() if v is not None}
    elif kind == "list":
        item_encoder = _encoder(shape.member, cache)
        if item_encoder is not None:
            def encoder(value):
                return [item_encoder(item) for item in value]
    elif kind == "map":
        value_encoder = _encoder(shape.value, cache)
        if value_encoder is not None:
            def encoder(value):
                return {k: value_encoder(v) for k, v in value.items()}
    cache[shape.name] = encoder
    return encoder


# ---------------------------------------------------------------- per operation

@dataclass(frozen=True, slots=True)
class OperationCodec:
    """The precompiled request decoder and response encoder of one KMS operation."""

    operation: str
    decode_input: Decoder
    output_members: frozenset[str] | None  # None: the operation has no output
    output_converters: dict[str, Encoder]

    def decode(self, body: bytes | str) -> dict:
        """A request body (JSON bytes) as boto3-style params with bytes and datetimes."""
        if not body:
            return {}
        try:
            if not isinstance(body, str):
                body = body.decode("utf-8")
            document = _JSON_DECODER.decode(body)
        except (ValueError, RecursionError) as exc:
            raise errors.SerializationException(_json_error_message(exc)) from None
        try:
            return self.decode_input(document)
        except RecursionError:
            raise errors.SerializationException("The request body is nested too deeply.") from None

    def encode(self, response: dict) -> bytes:
        """A handler's response as a JSON body: only output members, blobs in base64."""
        if self.output_members is None:
            return b""
        members, converters = self.output_members, self.output_converters
        out = {}
        for name, value in response.items():
            if name in members and value is not None:
                convert = converters.get(name)
                out[name] = convert(value) if convert is not None else value
        return _JSON_ENCODER.encode(out).encode("utf-8")


def _reject_constant(name: str):
    raise ValueError(f"Unexpected token {name}")


# JSON has no NaN or Infinity; AWS rejects them, so do we.
_JSON_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_JSON_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def _json_error_message(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"Could not parse the request body as JSON: {exc.msg} at position {exc.pos}"
    if isinstance(exc, UnicodeDecodeError):
        return "The request body is not valid UTF-8."
    return f"Could not parse the request body as JSON: {exc}"


def _empty_input(value):
    if type(value) is not dict:
        raise _type_error(value, "structure")
    return {}


@functools.cache
def _codecs() -> dict[str, OperationCodec]:
    model = service_model()
    decoders: dict = {}
    encoders: dict = {}
    codecs = {}
    for name in model.operation_names:
        op = model.operation_model(name)
        decode = _decoder(op.input_shape, decoders) if op.input_shape is not None else _empty_input
        out = op.output_shape
        if out is None:
            members, converters = None, {}
        else:
            members = frozenset(out.members)
            converters = {m: enc for m, shape in out.members.items()
                          if (enc := _encoder(shape, encoders)) is not None}
        codecs[name] = OperationCodec(name, decode, members, converters)
    return codecs


def codec_for(operation: str) -> OperationCodec:
    """The codec of a KMS operation; an unknown name is an ``UnknownOperationException``."""
    try:
        return _codecs()[operation]
    except KeyError:
        raise errors.UnknownOperationException(
            f"The operation {operation!r} is not a KMS operation.") from None


def operation_from_target(target: str | None) -> str:
    """The operation named by an ``X-Amz-Target`` header (``TrentService.Encrypt``)."""
    prefix, dot, operation = (target or "").partition(".")
    if prefix != TARGET_PREFIX or not dot or operation not in _codecs():
        raise errors.UnknownOperationException(
            f"The X-Amz-Target {target!r} does not name a KMS operation." if target
            else "The request is missing the X-Amz-Target header.")
    return operation


def decode_request(operation: str, body: bytes | str) -> dict:
    """Decode the JSON body of a request for ``operation`` into boto3-style params."""
    return codec_for(operation).decode(body)


def encode_response(operation: str, response: dict) -> bytes:
    """Encode a handler's response dict for ``operation`` as the JSON body AWS sends."""
    return codec_for(operation).encode(response)


# ---------------------------------------------------------------- replies

@dataclass(slots=True)
class Reply:
    """An HTTP response in the making: status, headers (str pairs) and body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def new_request_id() -> str:
    """A random version-4 UUID string, as AWS request ids are."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def encode_error(error: errors.KMSError, request_id: str | None = None) -> Reply:
    """An error as AWS renders it: status, ``__type`` and ``message``, ``x-amzn-ErrorType``."""
    request_id = request_id or error.request_id or new_request_id()
    body = json.dumps({"__type": error.code, "message": error.message}).encode("utf-8")
    return Reply(error.status, [
        ("x-amzn-RequestId", request_id),
        ("x-amzn-ErrorType", f"{error.code}:"),
        ("Content-Type", CONTENT_TYPE),
        ("Content-Length", str(len(body))),
    ], body)


def encode_success(body: bytes, request_id: str) -> Reply:
    return Reply(200, [
        ("x-amzn-RequestId", request_id),
        ("Content-Type", CONTENT_TYPE),
        ("Content-Length", str(len(body))),
    ], body)


def serve_json_request(lab, target: str | None, body: bytes, *, region: str, caller: Principal,
                       source_ip: str = "127.0.0.1", user_agent: str = "") -> Reply:
    """Serve one AWS JSON 1.1 request against ``lab``: decode, ``lab.handle``, encode.

    Every :class:`~kmslab.errors.KMSError` (from the codec or the lab) becomes
    an AWS-style error reply; anything else propagates to the front end.
    """
    try:
        codec = codec_for(operation_from_target(target))
        params = codec.decode(body)
        response = lab.handle(codec.operation, params, region=region, caller=caller,
                              source_ip=source_ip, user_agent=user_agent)
        request_id = _request_id_of(response)
        return encode_success(codec.encode(response), request_id)
    except errors.KMSError as error:
        return encode_error(error)


def _request_id_of(response: dict) -> str:
    metadata = response.get("ResponseMetadata")
    if metadata and metadata.get("RequestId"):
        return metadata["RequestId"]
    return new_request_id()
