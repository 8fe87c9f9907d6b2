"""The boto3-shaped KMS client: ``kms.create_key()``, ``kms.encrypt(KeyId=..., Plaintext=...)``.

Method names, parameter names, response shapes and errors are boto3's. Each
method is built from AWS's service model, so Shift-Tab in Jupyter shows the
real parameters and AWS's own description of the operation; every call goes
through the lab's one request pipeline.
"""

from __future__ import annotations

import inspect
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import TYPE_CHECKING, Iterator

from botocore import xform_name

from . import errors
from .identity import Principal
from .service.model import doc_text, kms_model, operation_model
from .service.registry import OPERATIONS

if TYPE_CHECKING:  # pragma: no cover
    from .lab import Lab

__all__ = ["KMSClient"]


def _coerce_timestamp(value):
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return value


def _make_method(op_name: str):
    model = operation_model(op_name)
    shape = model.input_shape
    members = shape.members if shape is not None else {}
    required = set(shape.required_members) if shape is not None else set()
    blobs = tuple(n for n, s in members.items() if s.type_name == "blob")
    stamps = tuple(n for n, s in members.items() if s.type_name == "timestamp")

    def method(self, **params):
        for name in blobs:
            value = params.get(name)
            if isinstance(value, str):
                params[name] = value.encode("utf-8")
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
    method.__signature__ = inspect.Signature(sig_params, return_annotation=dict)
    lines = [doc_text(model.documentation, 900), "", "Parameters (AWS names):"]
    for name, s in members.items():
        req = "required" if name in required else "optional"
        lines.append(f"  {name} ({s.type_name}, {req}): {doc_text(s.documentation, 160)}")
    lines += ["", f"Same as boto3's kms.{xform_name(op_name)}(); runs in the kmslab lab."]
    method.__doc__ = "\n".join(lines)
    method.__name__ = xform_name(op_name)
    method.__qualname__ = f"KMSClient.{method.__name__}"
    return method


class Paginator:
    """boto3's paginator for the List* operations (Limit / Marker / NextMarker)."""

    def __init__(self, client: "KMSClient", op_name: str, config: dict):
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

    def __init__(self, lab: "Lab", region: str, caller: Principal, *, user_agent: str = "kmslab"):
        self._lab = lab
        self._region = region
        self._caller = caller
        self._user_agent = user_agent
        self.exceptions = SimpleNamespace(**errors.ERRORS, ClientError=errors.ClientError)
        self.meta = SimpleNamespace(region_name=region, service_model=kms_model(),
                                    endpoint_url=f"https://kms.{region}.amazonaws.com",
                                    partition="aws")

    @property
    def lab(self) -> "Lab":
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


_PAGINATORS: dict | None = None


def _paginators() -> dict:
    global _PAGINATORS
    if _PAGINATORS is None:
        import botocore.session
        model = botocore.session.get_session().get_paginator_model("kms")
        _PAGINATORS = {}
        for op in kms_model().operation_names:
            try:
                _PAGINATORS[op] = model.get_paginator(op)
            except ValueError:
                pass
    return _PAGINATORS


def install_methods() -> None:
    """Give KMSClient one method per operation kmslab serves (idempotent)."""
    for op_name in OPERATIONS:
        attr = xform_name(op_name)
        if not hasattr(KMSClient, attr):
            setattr(KMSClient, attr, _make_method(op_name))
