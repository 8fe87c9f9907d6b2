"""The KMS of one account and Region, and the one request pipeline every call takes.

``KMSService.handle`` serves every front end (the Python client, the boto3
adapter, the HTTP server)::

    1 validate params against AWS's model     (ValidationException)
    2 resolve the key: id, ARN, alias, alias ARN (NotFoundException)
    3 authorize: key policy + IAM policy + grants (AccessDeniedException)
    4 check the key state against the state table
    5 run the operation handler
    6 record the audit event, success or failure
    7 charge simulated latency and request quotas (hooks)

Steps 1-7 run under the lab's lock, one call at a time. Slow work that needs no
lab state (an RSA key pair for GenerateDataKeyPair, waiting for an RSA key
still being generated) is done before the lock is taken, so it holds up only
its own caller.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import arns, errors
from ..crypto.asymmetric import AsymmetricMaterial, background_generations
from ..identity import Principal
from . import states
from .key import Alias, Key
from .model import validator
from .registry import OPERATIONS, Operation
from .request import Request

if TYPE_CHECKING:  # pragma: no cover
    from ..lab import Lab

__all__ = ["KMSService", "Call", "paginate", "waits_before_lock"]


class Call:
    """One request in flight: what handlers see (service, caller, key, time)."""

    __slots__ = ("service", "request", "op", "key", "now", "caller", "extra_keys",
                 "material_id")

    def __init__(self, service: "KMSService", request: Request, op: Operation):
        self.service = service
        self.request = request
        self.op = op
        self.key: Key | None = None
        self.now: datetime = service.lab.clock.now()
        self.caller: Principal = request.caller
        self.extra_keys: list[Key] = []  # other keys the call touched (ReEncrypt destination)
        # the KeyMaterialId a cryptographic operation used (ReEncrypt: destination, source)
        self.material_id: str | tuple[str, str | None] | None = None

    @property
    def lab(self):
        return self.service.lab

    @property
    def params(self) -> dict:
        return self.request.params

    def authorize(self, key: Key | None, action: str | None = None, **conditions) -> None:
        """Ask the lab's authorizer; raises AccessDeniedException."""
        self.service.lab.authorizer.authorize(self, key, action or self.op.action, conditions)

    def check_state(self, key: Key, operation: str | None = None) -> None:
        states.check(operation or self.op.name, key.state, key.arn)


class KMSService:
    """AWS KMS in one account and Region: keys, aliases, and the request pipeline."""

    def __init__(self, lab: "Lab", account: str, region: str):
        self.lab = lab
        self.account = account
        self.region = region
        self.keys: dict[str, Key] = {}
        self.aliases: dict[str, Alias] = {}
        self.hidden_keys: set[str] = set()  # AWS owned keys: never listed

    def __repr__(self) -> str:
        return f"<KMSService {self.account} {self.region}: {len(self.keys)} keys>"

    # ------------------------------------------------------------ pipeline
    def handle(self, request: Request) -> dict:
        """Serve one request through the pipeline; raises a KMSError subclass on failure."""
        op = OPERATIONS.get(request.operation)
        if op is None:
            raise errors.UnknownOperationException(
                f"The operation {request.operation} is not supported by kmslab.", request.operation)
        lab = self.lab
        if op.prepare is not None or background_generations():
            self._before_lock(op, request)
        with lab.lock:
            if not request.request_id:
                request.request_id = lab.ids.request_id()
            call = Call(self, request, op)
            try:
                if lab.hooks.active:
                    lab.hooks.before(call)
                params = request.params
                validator(op.name)(params)
                if op.key_param and op.resolve_key and params.get(op.key_param) is not None:
                    call.key = self.resolve(params[op.key_param], cross_account=op.cross_account)
                call.authorize(call.key)
                if call.key is not None and op.resolve_key:
                    states.check(op.name, call.key.state, call.key.arn)
                response = op.handler(call, params)
                if op.dry_run and params.get("DryRun"):
                    raise errors.DryRunOperationException(
                        "The request would have succeeded, but the DryRun option is set.")
            except errors.KMSError as err:
                err.operation_name = op.name
                err.response["ResponseMetadata"]["RequestId"] = request.request_id
                lab.audit.record(call, None, err)
                if lab.hooks.active:
                    lab.hooks.after(call, None, err)
                raise
            lab.audit.record(call, response, None)
            if lab.hooks.active:
                lab.hooks.after(call, response, None)
        rid = request.request_id
        response["ResponseMetadata"] = {
            "RequestId": rid, "HTTPStatusCode": 200,
            "HTTPHeaders": {"x-amzn-requestid": rid, "content-type": "application/x-amz-json-1.1"},
            "RetryAttempts": 0}
        return response

    def _before_lock(self, op: Operation, request: Request) -> None:
        """Slow work that changes no lab state, done before the lab's lock is taken.

        The lock serializes every call in the lab, so whatever runs while it is
        held holds up everyone else. Two waits happen here instead: for a key
        whose RSA material is still being generated (CreateKey returns before
        the prime search ends), and for the operation's own ``prepare``
        (GenerateDataKeyPair's RSA key pair). Nothing here decides anything:
        the key is looked up again, and every check made, under the lock.
        """
        # with no background generation running (the common case) no key is waiting for one
        if op.key_param is not None and op.resolve_key and background_generations():
            identifier = request.params.get(op.key_param)
            if type(identifier) is str:
                try:
                    version = self.resolve(identifier, cross_account=op.cross_account).current
                except errors.KMSError:
                    version = None
                material = version.material if version is not None else None
                if isinstance(material, AsymmetricMaterial) and not material.is_ready():
                    material.wait()
        if op.prepare is not None:
            op.prepare(request)

    # ------------------------------------------------------------ keys
    def resolve(self, key_identifier: str, *, cross_account: bool = True) -> Key:
        """Find the key a KeyId parameter names (any of the four forms)."""
        key = self.keys.get(key_identifier)  # the common case: a bare key id of this service
        if key is not None:
            return key
        ref = arns.parse_key_identifier(key_identifier)
        service = self
        if ref.account is not None and ref.account != self.account:
            if not cross_account:
                raise errors.NotFoundException(f"Key '{key_identifier}' does not exist")
            service = self.lab.kms_service(ref.account, ref.region or self.region, create=False)
        if ref.region is not None and ref.region != self.region:
            raise errors.NotFoundException(f"Key '{key_identifier}' does not exist")
        if service is None:
            raise errors.NotFoundException(f"Key '{key_identifier}' does not exist")
        if ref.alias_name is not None:
            alias = service.aliases.get(ref.alias_name)
            if alias is None:
                raise errors.NotFoundException(
                    f"Alias {arns.alias_arn(service.region, service.account, ref.alias_name)} is not found.")
            return service.keys[alias.target_key_id]
        key = service.keys.get(ref.key_id)
        if key is None:
            if ref.form == "key_id" and not arns.is_key_id(ref.key_id):
                raise errors.NotFoundException(f"Invalid keyId '{key_identifier}'")
            raise errors.NotFoundException(
                f"Key '{arns.key_arn(service.region, service.account, ref.key_id)}' does not exist")
        return key

    def key_count(self) -> int:
        return sum(1 for k in self.keys.values() if k.manager == "CUSTOMER")


def waits_before_lock(operation: str) -> bool:
    """Whether a call of ``operation`` may wait for slow work before taking the lab's lock.

    True for an operation with a ``prepare`` (it makes an RSA key pair), and
    for any operation naming a key while an RSA key is still being generated
    in the background. A front end serving many callers on one thread (the
    HTTP server's event loop) runs such a call on a worker thread. Asked while
    holding the lab's lock, the answer cannot turn True before the lock is
    released: background generations start only in calls that hold it.
    """
    op = OPERATIONS.get(operation)
    if op is None:
        return False
    return op.prepare is not None or (op.key_param is not None and op.resolve_key
                                      and background_generations() > 0)


def paginate(items: list, params: dict, list_field: str, *, default_limit: int = 100) -> dict:
    """AWS's Limit / Marker / NextMarker / Truncated paging over ``items``."""
    limit = params.get("Limit") or default_limit
    start = 0
    marker = params.get("Marker")
    if marker is not None:
        try:
            start = int(base64.urlsafe_b64decode(marker.encode()).decode().removeprefix("kmslab:"))
            if start < 0 or start > len(items):
                raise ValueError
        except (ValueError, UnicodeDecodeError):
            raise errors.InvalidMarkerException(f"Invalid marker {marker!r}") from None
    page = items[start:start + limit]
    out: dict[str, Any] = {list_field: page}
    if start + limit < len(items):
        out["NextMarker"] = base64.urlsafe_b64encode(f"kmslab:{start + limit}".encode()).decode()
        out["Truncated"] = True
    else:
        out["Truncated"] = False
    return out
