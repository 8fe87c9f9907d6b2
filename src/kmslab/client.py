"""The boto3-shaped KMS client: ``kms.create_key()``, ``kms.encrypt(KeyId=..., Plaintext=...)``.

Method names, parameter names, response shapes and errors are boto3's. Each
method is built from AWS's service model and kmslab's operation table, so
Shift-Tab in Jupyter shows the real parameters, AWS's own description of the
operation and how kmslab serves it (which key forms it takes, cross-account
use, the permission, DryRun, and the module that holds its behaviour);
``kms.encrypt??`` shows that module's code. Every call goes through the lab's
one request pipeline.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING

from botocore import xform_name

from .clock import parse_time
from .identity import Principal
from .operations.model import client_exceptions, doc_text, kms_model, paginators
from .service.registry import ROUTES, Route

if TYPE_CHECKING:  # pragma: no cover
    from .lab import Lab

__all__ = ["KMSClient"]


def _coerce_timestamp(value):
    """A timestamp as boto3 takes one (datetime, epoch seconds, ISO 8601 text) as a datetime;
    what is none of these is passed on as it is, for the service to refuse."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            return parse_time(value)
    except (ValueError, OverflowError, OSError):
        pass
    return value


def _coerce_blob(value):
    """Text for a blob member as UTF-8 bytes, as boto3 does; text UTF-8 cannot encode (a lone
    surrogate) is passed on as it is, for the service to refuse."""
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        return value


_FORM_NAMES = {"key_id": "key id", "key_arn": "key ARN", "alias_name": "alias name",
               "alias_arn": "alias ARN"}


def _facts(route: Route) -> list[str]:
    """How kmslab serves the operation: from its OperationSpec, and where its code lives."""
    spec = route.spec
    handler = route.handler
    lines = ["How kmslab serves it:"]
    if spec.key is not None and spec.key.param:
        forms = ", ".join(_FORM_NAMES[f] for f in ("key_id", "key_arn", "alias_name", "alias_arn")
                          if f in spec.key.forms)
        lines.append(f"  {spec.key.param}: {forms}"
                     + ("; the ciphertext names a symmetric key" if spec.key.from_ciphertext else ""))
    lines.append(f"  cross-account: {'yes' if spec.cross_account else 'no'}; permission: "
                 f"{spec.action} ({'IAM policy' if spec.iam_only else 'key policy'}); DryRun: "
                 f"{'yes' if spec.dry_run else 'no'}")
    lines.append(f"  behaviour: {handler.__module__}.{handler.__name__} (kms.{xform_name(spec.name)}?? "
                 f"shows it); facts: kmslab.operations.spec({spec.name!r}); key states: "
                 f"kmslab.service.states")
    return lines


def _make_method(route: Route):
    op_name = route.name
    model = route.spec
    shape = model.input_shape
    members = shape.members if shape is not None else {}
    required = set(shape.required_members) if shape is not None else set()
    blobs = tuple(n for n, s in members.items() if s.type_name == "blob")
    stamps = tuple(n for n, s in members.items() if s.type_name == "timestamp")

    def method(self, **params):
        for name in blobs:
            value = params.get(name)
            if isinstance(value, str):
                params[name] = _coerce_blob(value)
        for name in stamps:
            if name in params:
                params[name] = _coerce_timestamp(params[name])
        return self._lab.handle(op_name, params, region=self._region, caller=self._caller,
                                user_agent=self._user_agent)

    sig_params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for name, s in members.items():
        annotation = {"string": str, "blob": bytes, "integer": int, "boolean": bool,
                      "list": list, "map": dict, "structure": dict,
                      "timestamp": datetime}.get(s.type_name, object)
        sig_params.append(inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty if name in required else None,
            annotation=annotation))
    method.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        sig_params, return_annotation=dict)
    from .operations.model import operation_model
    lines = [doc_text(operation_model(op_name).documentation, 900), "", "Parameters (AWS names):"]
    for name, s in members.items():
        req = "required" if name in required else "optional"
        lines.append(f"  {name} ({s.type_name}, {req}): {doc_text(s.documentation, 160)}")
    lines += ["", *_facts(route), "",
              f"Same as boto3's kms.{xform_name(op_name)}(); runs in the kmslab lab."]
    method.__doc__ = "\n".join(lines)
    method.__name__ = xform_name(op_name)
    method.__qualname__ = f"KMSClient.{method.__name__}"
    method.__wrapped__ = route.handler  # type: ignore[attr-defined]  # ``kms.encrypt??`` shows the code of the operation
    return method


class Paginator:
    """boto3's paginator for the List* operations (Limit / Marker / NextMarker)."""

    def __init__(self, client: KMSClient, op_name: str, config: dict):
        self._client, self._op, self._config = client, op_name, config

    def paginate(self, **params) -> Iterator[dict]:
        cfg = params.pop("PaginationConfig", None) or {}
        if cfg.get("PageSize"):
            params[self._config["limit_key"]] = cfg["PageSize"]
        if cfg.get("StartingToken"):
            params[self._config["input_token"]] = cfg["StartingToken"]
        method = getattr(self._client, xform_name(self._op))
        while True:
            page = method(**params)
            yield page
            token = page.get(self._config["output_token"])
            if not page.get(self._config.get("more_results", "Truncated")) or not token:
                return
            params[self._config["input_token"]] = token


class KMSClient:
    """A boto3-shaped AWS KMS client bound to a lab, a Region and a caller.

    ``user_agent`` is what the audit records as the request's ``userAgent``
    (boto3's ``Config(user_agent_extra=...)`` plays that part on AWS).
    """

    def __init__(self, lab: Lab, region: str, caller: Principal, *, user_agent: str = "kmslab"):
        self._lab = lab
        self._region = region
        self._caller = caller
        self._user_agent = user_agent
        self.exceptions = client_exceptions()
        self.meta = SimpleNamespace(region_name=region, service_model=kms_model(),
                                    endpoint_url=f"https://kms.{region}.amazonaws.com",
                                    partition="aws")

    @property
    def lab(self) -> Lab:
        return self._lab

    @property
    def caller(self) -> Principal:
        """Who this client acts as."""
        return self._caller

    def can_paginate(self, operation_name: str) -> bool:
        return _op_name(operation_name) in _paginators()

    def get_paginator(self, operation_name: str) -> Paginator:
        op = _op_name(operation_name)
        config = _paginators().get(op)
        if config is None:
            raise ValueError(f"Operation cannot be paginated: {operation_name}")
        return Paginator(self, op, config)

    def __repr__(self) -> str:
        return f"<kmslab KMS client {self._region} as {self._caller.arn}>"


def _op_name(name: str) -> str:
    for op in kms_model().operation_names:
        if name in (op, xform_name(op)):
            return op
    return name


def _paginators() -> dict:
    return paginators()


def install_methods() -> None:
    """Give KMSClient one method per operation kmslab serves (idempotent)."""
    for op_name, route in ROUTES.items():
        attr = xform_name(op_name)
        if not hasattr(KMSClient, attr):
            setattr(KMSClient, attr, _make_method(route))
