"""The KMS of one account and Region, and the one request pipeline every call takes.

``KMSService.handle`` serves every front end (the Python client, the boto3
adapter, the HTTP server). What it does for an operation is read from the
operation's :class:`~kmslab.operations.OperationSpec`; what the operation
itself does is its handler (:mod:`kmslab.service.registry`)::

    1 validate params against AWS's model and the documented ranges (ValidationException)
    2 find the keys: the key member in the forms the operation accepts (key id, key ARN,
      alias name, alias ARN), the key a symmetric ciphertext names (Decrypt, ReEncrypt's
      source), or the key the operation locates (DeleteAlias, RetireGrant)  (NotFoundException;
      for a ciphertext's key that does not exist here, AccessDeniedException)
    3 authorize: key policy + IAM policy + grants, for each key   (AccessDeniedException;
      for a ciphertext's key, AWS's one answer whatever the reason)
    4 check each key: the key-state table, custom key store support, key usage, key spec
      and algorithm; then the operation's own checks of the request
    5 DryRun: stop here, before any effect (DryRunOperationException)
    6 run the operation handler; it returns an Outcome
    7 record the audit event, success or failure; hooks charge latency and quotas

Steps 1-7 run under the lab's lock, one call at a time. Slow work that needs no
lab state (an RSA key pair for GenerateDataKeyPair, waiting for an RSA key
still being generated) is done before the lock is taken, so it holds up only
its own caller. Any exception that is not a KMS error, from any step or from the
work before the lock, is a bug in kmslab: the caller gets KMSInternalException
(the bug is its ``__cause__``) and the trail records it like any failed call.
"""

from __future__ import annotations

import base64
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .. import arns, errors
from ..crypto.asymmetric import AsymmetricMaterial, background_generations
from ..crypto.symmetric import parse_blob
from ..identity import Principal
from ..operations import ANY, KeySlot, OperationSpec
from ..specs import SYMMETRIC_DEFAULT
from . import states
from .key import Alias, Key
from .model import camel, validator
from .registry import ROUTES, Outcome, Route
from .request import Request

if TYPE_CHECKING:  # pragma: no cover
    from .environment import Environment

__all__ = ["KMSService", "Call", "paginate", "waits_before_lock"]

_DRY_RUN = "The request would have succeeded, but the DryRun option is set."
_NO_HINTS = MappingProxyType({})  # an authorization with no hints
#: AWS's answer for a ciphertext whose key is deleted, in another Region, or not the caller's
_CIPHERTEXT_KEY_DENIED = ("The ciphertext refers to a customer master key that does not exist, "
                          "does not exist in this region, or you are not allowed to access.")
#: IncorrectKeyException's text as AWS words it (Developer Guide, CloudTrail Decrypt example)
_INCORRECT_KEY = ("The key ID in the request does not identify a CMK that can perform this "
                  "operation.")


class Call:
    """One request in flight: what the pipeline knows about it (service, caller, keys, time).

    Handlers read it; the pipeline writes it (a handler reports what it did in
    its :class:`~kmslab.service.registry.Outcome`). ``key`` is the key the
    operation acts on, ``extra_keys`` the others it used (ReEncrypt's source
    first), ``ciphertext`` the parsed blob that named a key.
    """

    __slots__ = ("service", "request", "op", "key", "now", "caller", "extra_keys",
                 "material_id", "ciphertext", "logged_in", "logged")

    def __init__(self, service: KMSService, request: Request, op: OperationSpec):
        self.service = service
        self.request = request
        self.op = op
        # step 2 resolves it before any handler of an operation that names a key runs
        self.key: Key = None  # type: ignore[assignment]
        self.now: datetime = service.env.clock.now()
        self.caller: Principal = request.caller
        self.extra_keys: list[Key] = []  # other keys the call touched (ReEncrypt's source)
        # the KeyMaterialId a cryptographic operation used (ReEncrypt: destination, source)
        self.material_id: str | tuple[str, str | None] | None = None
        self.ciphertext: Any = None  # the parsed ciphertext blob that named a key (BlobParts)
        self.logged_in: tuple[Key, ...] = ()  # keys in other Regions whose trail logs it too
        self.logged: dict | None = None  # additionalEventData beyond key material (grantId)

    @property
    def env(self) -> Environment:
        """The service's environment: clock, ids, audit, authorizer, key stores, other Regions."""
        return self.service.env

    @property
    def params(self) -> dict:
        return self.request.params

    def authorize(self, key: Key | None, action: str | None = None, **conditions) -> None:
        """Ask the lab's authorizer; raises AccessDeniedException."""
        self.service.env.authorizer.authorize(self, key, action or self.op.action, conditions)

    def check_state(self, key: Key, operation: str | None = None) -> None:
        states.check(operation or self.op.name, key.state, key.arn)

    def resolve(self, key_identifier: str) -> Key:
        """A key named by a handler's own member (RetireGrant's KeyId), in the forms of the
        operation's key slot."""
        slot = self.op.key
        return self.service.resolve(key_identifier, cross_account=self.op.cross_account,
                                    forms=slot.forms if slot is not None else ANY,
                                    refused=slot.alias_refused if slot is not None else None)

    def _take(self, outcome: Outcome | dict) -> dict:
        """The handler's response; what else it reports goes where the audit reads it."""
        if type(outcome) is dict:
            return outcome
        if outcome.key is not None:
            self.key = outcome.key
        if outcome.material_id is not None:
            self.material_id = outcome.material_id
        if outcome.other_keys:
            self.extra_keys.extend(k for k in outcome.other_keys if k not in self.extra_keys)
        if outcome.logged_in:
            self.logged_in = outcome.logged_in
        if outcome.logged:
            self.logged = outcome.logged
        return outcome.response


class KMSService:
    """AWS KMS in one account and Region: keys, aliases, and the request pipeline."""

    def __init__(self, env: Environment, account: str, region: str):
        self.env = env
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
        route = ROUTES.get(request.operation)
        if route is None:
            raise errors.UnknownOperationException(
                f"The operation {request.operation} is not supported by kmslab.", request.operation)
        op = route.spec
        env = self.env
        params = request.params
        if None in params.values():  # a member given as None is a member not given, as in JSON
            request.params = {name: value for name, value in params.items() if value is not None}
        early = None
        if route.prepare is not None or background_generations():
            try:
                self._before_lock(route, request)
            except Exception as failure:  # audited below, under the lock, like any failure
                early = failure
        with env.lock:
            if not request.request_id:
                request.request_id = env.ids.request_id()
            call = Call(self, request, op)
            try:
                if early is not None:
                    raise early
                if env.hooks.active:
                    env.hooks.before(call)
                params = request.params
                validator(op.name)(params)                      # 1
                slot = op.key
                if slot is not None:                            # 2
                    if route.named_key:  # the common case: one member names the key
                        identifier = params.get(slot.param)
                        if identifier is not None:
                            call.key = self.keys.get(identifier) or self.resolve(
                                identifier, cross_account=op.cross_account, forms=slot.forms,
                                refused=slot.alias_refused, aws_managed=op.creates_aws_managed_key)
                    else:
                        self._find_keys(call, route, params)
                if op.policy == "key":                          # 3
                    key = call.key
                    if key is not None and slot.action is not None:
                        if slot.from_ciphertext is None:
                            env.authorizer.authorize(call, key, slot.action, _NO_HINTS)
                        else:
                            self._authorize_ciphertext_key(call, key, slot.action)
                    if op.source is not None:
                        self._authorize_ciphertext_key(call, call.extra_keys[0], op.source.action)
                elif op.policy == "iam":
                    env.authorizer.authorize(call, None, op.action, _NO_HINTS)
                if call.key is not None:                        # 4
                    route.key_check(call.key, params)
                    if op.source is not None:
                        route.source_check(call.extra_keys[0], params)
                if route.check is not None:
                    route.check(call, params)
                if op.dry_run and params.get("DryRun"):         # 5
                    raise errors.DryRunOperationException(_DRY_RUN)
                response = call._take(route.handler(call, params))  # 6
            except errors.KMSError as err:
                self._failed(call, err)                         # 7
                raise
            except Exception as bug:  # a bug in kmslab: still an AWS answer, still audited
                internal = errors.internal_error(bug, op.name)
                self._failed(call, internal)
                raise internal from bug
            env.audit.record(call, response, None)
            if env.hooks.active:
                env.hooks.after(call, response, None)
        rid = request.request_id
        response["ResponseMetadata"] = {
            "RequestId": rid, "HTTPStatusCode": 200,
            "HTTPHeaders": {"x-amzn-requestid": rid, "content-type": "application/x-amz-json-1.1"},
            "RetryAttempts": 0}
        return response

    def _failed(self, call: Call, err: errors.KMSError) -> None:
        """Step 7 for a failed call: the error names its operation and request id; audited."""
        env = self.env
        err.operation_name = call.op.name
        err.response["ResponseMetadata"]["RequestId"] = call.request.request_id
        env.audit.record(call, None, err)
        if env.hooks.active:
            env.hooks.after(call, None, err)

    def _before_lock(self, route: Route, request: Request) -> None:
        """Slow work that changes no lab state, done before the lab's lock is taken.

        The lock serializes every call in the lab, so whatever runs while it is
        held holds up everyone else. Two waits happen here instead: for a key
        whose RSA material is still being generated (CreateKey returns before
        the prime search ends), and for the operation's own ``prepare``
        (GenerateDataKeyPair's RSA key pair). Nothing here decides anything:
        the key is looked up again, and every check made, under the lock.
        """
        op = route.spec
        slot = op.key
        # with no background generation running (the common case) no key is waiting for one
        if _names_a_key(slot) and background_generations():
            identifier = request.params.get(slot.param)
            if type(identifier) is str:
                try:
                    version = self.resolve(identifier, cross_account=op.cross_account,
                                           forms=slot.forms, refused=slot.alias_refused).current
                except errors.KMSError:
                    version = None
                material = version.material if version is not None else None
                if isinstance(material, AsymmetricMaterial) and not material.is_ready():
                    material.wait()
        if route.prepare is not None:
            route.prepare(request)

    # ------------------------------------------------------------ step 2
    def _find_keys(self, call: Call, route: Route, params: dict) -> None:
        """Step 2 for the keys no single member names: located by the operation (DeleteAlias,
        RetireGrant), named by a ciphertext (Decrypt), and ReEncrypt's two keys."""
        op = call.op
        slot = op.key
        if slot.locate is not None:
            call.key = route.locate(call, params)
        elif slot.from_ciphertext is not None:
            call.key = self._key_from_ciphertext(call, slot, params, source=False)
        else:
            identifier = params.get(slot.param)
            if identifier is not None:
                call.key = self.resolve(identifier, cross_account=op.cross_account,
                                        forms=slot.forms, refused=slot.alias_refused,
                                        aws_managed=op.creates_aws_managed_key)
        if op.source is not None:
            call.extra_keys.append(self._key_from_ciphertext(call, op.source, params, source=True))

    def _key_from_ciphertext(self, call: Call, slot: KeySlot, params: dict, *, source: bool) -> Key:
        """The key a ciphertext names (a symmetric blob names its key; an asymmetric
        ciphertext does not, so the request's key member must). A key member that names
        another key than the blob, or a key that cannot decrypt at all (an HMAC, signing or
        key agreement key), is IncorrectKeyException (the audit names the key given)."""
        op = call.op
        identifier = params.get(slot.param)
        named = None if identifier is None else self.resolve(
            identifier, cross_account=op.cross_account, forms=slot.forms, refused=slot.alias_refused)
        blob = params.get(slot.from_ciphertext)
        if blob is None:
            if not (params.get("DryRun") and "IGNORE_CIPHERTEXT" in (params.get("DryRunModifiers") or ())):
                raise errors.ValidationException(
                    f"1 validation error detected: Value null at '{camel(slot.from_ciphertext)}' "
                    f"failed to satisfy constraint: Member must not be null")
            if named is None:
                raise errors.ValidationException(
                    f"{slot.param} is required when DryRunModifiers is IGNORE_CIPHERTEXT.")
            return named
        if named is not None and not named.symmetric_encryption:
            if named.usage != "ENCRYPT_DECRYPT":
                _incorrect_key(call, named, source)
            return named  # an asymmetric ciphertext: the key is the one named
        if named is None and slot.algorithm is not None:
            algorithm = params.get(slot.algorithm[0])
            if algorithm is not None and algorithm != SYMMETRIC_DEFAULT:
                raise errors.ValidationException(
                    f"Specify the {slot.param} of the asymmetric KMS key to decrypt ciphertext "
                    f"encrypted with {algorithm}; only symmetric ciphertext names its KMS key.")
        parts = parse_blob(blob)
        key = self._key_for_blob(parts)
        if named is not None and named is not key:
            _incorrect_key(call, named, source)
        call.ciphertext = parts
        return key

    def _authorize_ciphertext_key(self, call: Call, key: Key, action: str) -> None:
        """Step 3 for the key a symmetric ciphertext names (Decrypt, ReEncrypt's source).

        A caller the key's policies do not allow gets the same AccessDeniedException as
        for a key that does not exist, so a ciphertext never tells whether its key exists
        (kmslab's own reason stays in the error's ``explanation``).
        """
        try:
            self.env.authorizer.authorize(call, key, action, _NO_HINTS)
        except errors.AccessDeniedException as denied:
            if call.ciphertext is None:  # the request named the key: an ordinary denial
                raise
            raise errors.AccessDeniedException(_CIPHERTEXT_KEY_DENIED,
                                               explanation=denied.explanation) from None

    def _key_for_blob(self, parts) -> Key:
        """The key a ciphertext blob names; multi-Region keys decrypt in any related Region."""
        key_id = parts.key_id
        if parts.region == self.region and parts.account == self.account:
            key = self.keys.get(key_id)
        elif parts.region != self.region and not key_id.startswith("mrk-"):
            key = None
        else:
            owner = self.env.kms_service(parts.account, self.region, create=False)
            key = owner.keys.get(key_id) if owner is not None else None
        if key is None:
            # AWS answers a key that is deleted, in another Region, or not the caller's
            # to use with one AccessDeniedException: nobody learns whether a key exists.
            raise errors.AccessDeniedException(
                _CIPHERTEXT_KEY_DENIED,
                explanation=f"The ciphertext names {parts.key_arn}, and no such key exists in "
                            f"{self.region}: it was deleted, or it is in another Region (only "
                            f"a multi-Region key has related keys in other Regions).")
        return key

    # ------------------------------------------------------------ keys
    def resolve(self, key_identifier: str, *, cross_account: bool = True, forms=ANY,
                refused: tuple[str, str] | None = None, aws_managed: bool = False) -> Key:
        """Find the key a KeyId names, in the ``forms`` the operation accepts.

        An alias form where only key ids and key ARNs are accepted is refused
        with ``refused`` (AWS: NotFoundException ``Invalid keyId alias/...``).
        ``aws_managed``: a predefined ``alias/aws/...`` with no key yet creates
        its AWS managed key (DescribeKey).
        """
        key = self.keys.get(key_identifier)  # the common case: a bare key id of this service
        if key is not None:
            return key
        ref = arns.parse_key_identifier(key_identifier)
        if ref.form not in forms:
            code, message = refused or ("NotFoundException", "Invalid keyId {identifier}")
            raise errors.error_class(code)(message.format(identifier=key_identifier))
        service = self
        if ref.account is not None and ref.account != self.account:
            if not cross_account:
                raise errors.NotFoundException(f"Key '{key_identifier}' does not exist")
            service = self.env.kms_service(ref.account, ref.region or self.region, create=False)
        if ref.region is not None and ref.region != self.region:  # AWS's words
            raise errors.NotFoundException(
                f"Invalid arn {ref.region}",
                explanation=f"{key_identifier} is in {ref.region}; this request is served in "
                            f"{self.region}, and a KMS key is used in its own Region only.")
        if service is None:
            raise errors.NotFoundException(f"Key '{key_identifier}' does not exist")
        if ref.alias_name is not None:
            alias = service.aliases.get(ref.alias_name)
            if alias is None and aws_managed and service is self:
                from .managed import predefined_aws_managed_key
                key = predefined_aws_managed_key(self.env, self.account, self.region, ref.alias_name)
                if key is not None:
                    return key
            if alias is None:
                raise errors.NotFoundException(
                    f"Alias {arns.alias_arn(service.region, service.account, ref.alias_name)} is not found.")
            return service.keys[alias.target_key_id]
        key = service.keys.get(ref.key_id)
        if key is None:
            if ref.form == "key_id" and not arns.is_key_id(ref.key_id):
                raise errors.NotFoundException(f"Invalid keyId {key_identifier}")
            raise errors.NotFoundException(
                f"Key '{arns.key_arn(service.region, service.account, ref.key_id)}' does not exist")
        return key

    def key_count(self) -> int:
        return sum(1 for k in self.keys.values() if k.manager == "CUSTOMER")


def _incorrect_key(call: Call, named: Key, source: bool) -> None:
    """IncorrectKeyException for a key member naming a key that cannot decrypt the ciphertext;
    the audit names the key given."""
    if source:
        call.extra_keys.append(named)
    else:
        call.key = named
    raise errors.IncorrectKeyException(_INCORRECT_KEY)


def _names_a_key(slot: KeySlot | None) -> bool:
    """Whether the request names the operation's key in a member (not located by the operation)."""
    return slot is not None and slot.param is not None and slot.locate is None


def waits_before_lock(operation: str) -> bool:
    """Whether a call of ``operation`` may wait for slow work before taking the lab's lock.

    True for an operation with a ``prepare`` (it makes an RSA key pair), and
    for any operation naming a key while an RSA key is still being generated
    in the background. A front end serving many callers on one thread (the
    HTTP server's event loop) runs such a call on a worker thread. Asked while
    holding the lab's lock, the answer cannot turn True before the lock is
    released: background generations start only in calls that hold it.
    """
    route = ROUTES.get(operation)
    if route is None:
        return False
    return route.prepare is not None or (_names_a_key(route.spec.key)
                                         and background_generations() > 0)


def paginate(call: Call, items: list, list_field: str) -> dict:
    """AWS's Limit / Marker / NextMarker / Truncated paging over ``items``.

    ``Limit`` defaults to the operation's documented default (its ``limit`` in
    the operation table); the validator has checked its documented range.
    """
    params = call.params
    limit = params.get("Limit") or call.op.limit[2]
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
