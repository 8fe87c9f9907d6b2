"""botocore's KMS service model, loaded once: the one index every part of kmslab reads.

botocore ships the API definition AWS publishes for KMS: every operation, its
input and output shapes (members, types, enums, lengths, patterns), its
errors, the paginators, and the API Reference's own text for each operation
and member. The client builds its methods and docstrings from it, the request
validator its checks, the HTTP codec its decoders, the audit what CloudTrail
logs, and :mod:`kmslab.operations` checks its table of facts against its texts.
"""

from __future__ import annotations

import functools
import re

import botocore.session

__all__ = ["kms_model", "client_exceptions", "new_session", "operation_model", "operation_names",
           "paginators", "examples",
           "doc_text", "operation_text", "member_text", "camel"]


@functools.cache
def _session():
    return botocore.session.get_session()


def new_session() -> botocore.session.Session:
    """A fresh botocore Session sharing kmslab's data loader: the clients it creates reuse the
    KMS model (and paginators, examples) already loaded, instead of reading it again."""
    session = botocore.session.Session()
    session.register_component("data_loader", _session().get_component("data_loader"))
    return session


@functools.cache
def kms_model():
    """botocore's KMS ServiceModel (loaded once, shared by every reader)."""
    return _session().get_service_model("kms")


@functools.cache
def client_exceptions(service_name: str = "kms"):
    """``client.exceptions`` as boto3 builds it for ``service_name`` ("kms", "iam", "sts"): a
    class for each error the service's model lists, named as boto3 names it (IAM's
    ``NoSuchEntityException`` for the code ``NoSuchEntity``), plus ``ClientError`` and
    ``from_code``.

    Errors AWS returns without modelling them (``AccessDeniedException``,
    ``ValidationException``, ``ThrottlingException``...) have no class here, as in boto3:
    catch ``client.exceptions.ClientError`` and read ``err.response["Error"]["Code"]``.
    kmslab still raises them as subclasses of ``ClientError``.
    """
    from types import SimpleNamespace

    from .. import errors
    model = kms_model() if service_name == "kms" else _session().get_service_model(service_name)
    by_code = {}
    named = {}
    for shape in model.error_shapes:
        code = shape.metadata.get("error", {}).get("code", shape.name)
        named[shape.name] = by_code[code] = errors.error_class(code)

    def from_code(code: str) -> type:
        """The class boto3 raises for an error code (``ClientError`` when the model has none)."""
        return by_code.get(code, errors.ClientError)

    return SimpleNamespace(**named, ClientError=errors.ClientError, from_code=from_code)


def operation_model(name: str):
    """botocore's OperationModel of one KMS operation (its shapes and documentation)."""
    return kms_model().operation_model(name)


def operation_names() -> tuple[str, ...]:
    """Every operation of the KMS API, as the model lists them."""
    return tuple(kms_model().operation_names)


@functools.cache
def paginators() -> dict:
    """operation -> botocore's paginator config (input/output token, limit key, result key)."""
    model = _session().get_paginator_model("kms")
    out = {}
    for op in operation_names():
        try:
            out[op] = model.get_paginator(op)
        except ValueError:
            pass
    return out


@functools.cache
def examples() -> dict:
    """operation -> the API Reference's examples (botocore's examples-1.json): input, output."""
    return _session().get_component("data_loader").load_service_model(
        "kms", "examples-1").get("examples", {})


def camel(name: str) -> str:
    """AWS's member path style in messages and logs: ``KeyId`` -> ``keyId``."""
    return name[:1].lower() + name[1:]


_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def doc_text(html: str, limit: int | None = None) -> str:
    """Plain text of a model docstring (HTML stripped), optionally cut to ``limit`` chars."""
    text = _SPACE.sub(" ", _TAG.sub(" ", html or "")).strip()
    text = text.replace(" .", ".").replace(" ,", ",")
    if limit and len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0] + " ..."
    return text


@functools.cache
def operation_text(name: str) -> str:
    """The API Reference's text of an operation, as plain text."""
    return doc_text(operation_model(name).documentation)


@functools.cache
def member_text(operation: str, member: str) -> str:
    """The API Reference's text of one request member of ``operation`` (empty if absent)."""
    shape = operation_model(operation).input_shape
    if shape is None or member not in shape.members:
        return ""
    return doc_text(shape.members[member].documentation)
