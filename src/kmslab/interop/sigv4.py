"""Signature Version 4 checks for ``kmslab serve``, as AWS makes them.

The signature is recomputed with botocore's own signer
(:class:`botocore.auth.SigV4Auth`) over the request as received, using the
secret of the access key named in the credential scope, and compared in
constant time. The checks, in AWS's order, and their errors:

=========================================  ====================================
no ``Authorization`` header                MissingAuthenticationTokenException
header or ``X-Amz-Date`` malformed         IncompleteSignature
scope: wrong service, date or Region       InvalidSignatureException
``X-Amz-Date`` more than 5 min off         InvalidSignatureException (expired)
unknown access key id                      UnrecognizedClientException
session token missing, wrong or extra      UnrecognizedClientException
signature differs                          InvalidSignatureException
``X-Amz-Target`` or ``Content-Type`` sent  InvalidSignatureException
but not signed
=========================================  ====================================

What the signature covers: the method, path, query, body and the headers the
client lists in ``SignedHeaders``. ``X-Amz-Target`` (which operation) and
``Content-Type`` must be among them when present (botocore and the other AWS
SDKs always sign both), so the operation of a signed request cannot be
changed on its way.

Replays: as AWS does, kmslab accepts a correctly signed request again, as
often as it arrives, while its ``X-Amz-Date`` is within 5 minutes of the
server's clock; it keeps no record of signatures seen. (Two genuine calls
with the same parameters in the same second carry the same signature, so
refusing a repeated signature would refuse them; SDK invocation ids are not
signed, so they cannot tell a replay apart.) What keeps a request from being
captured and replayed is TLS: on a shared network, put ``kmslab serve``
behind a TLS-terminating proxy.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import botocore.auth
import botocore.credentials

from .. import errors
from ..identity import Principal, account_root

__all__ = ["Authorization", "Authenticated", "SigV4Verifier", "parse_authorization",
           "MAX_CLOCK_SKEW", "MUST_BE_SIGNED"]

log = logging.getLogger(__name__)

MAX_CLOCK_SKEW = timedelta(minutes=5)
ALGORITHM = "AWS4-HMAC-SHA256"
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_UNSIGNED = "UNSIGNED-PAYLOAD"
#: headers that must be signed when a request carries them: they choose the operation
MUST_BE_SIGNED = ("content-type", "x-amz-target")
_SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service "
    "documentation for details.")


@dataclass(frozen=True, slots=True)
class Authorization:
    """The parts of an ``AWS4-HMAC-SHA256`` Authorization header."""

    access_key_id: str
    date: str  # YYYYMMDD from the credential scope
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


@dataclass(frozen=True, slots=True)
class Authenticated:
    """Who signed a request and for which Region."""

    principal: Principal
    region: str
    access_key_id: str | None


def parse_authorization(header: str | None) -> Authorization:
    """Split an Authorization header; AWS's errors for a missing or incomplete one."""
    if not header:
        raise errors.MissingAuthenticationTokenException("Missing Authentication Token")
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise errors.IncompleteSignature(f"Unsupported AWS 'algorithm': '{algorithm}'")
    params = {}
    for part in rest.split(","):
        name, _, value = part.partition("=")
        params[name.strip()] = value.strip()
    missing = [f"Authorization header requires '{name}' parameter."
               for name in ("Credential", "Signature", "SignedHeaders") if not params.get(name)]
    if missing:
        raise errors.IncompleteSignature(" ".join(missing) + f" Authorization={header}")
    scope = params["Credential"].split("/")
    if len(scope) != 5 or not all(scope) or scope[4] != "aws4_request":
        raise errors.IncompleteSignature(
            "Credential should have the form '<access key id>/<date>/<region>/<service>/"
            f"aws4_request'. Authorization={header}")
    signed = tuple(params["SignedHeaders"].lower().split(";"))
    return Authorization(scope[0], scope[1], scope[2], scope[3], signed, params["Signature"])


class _SignedHeaders:
    """The headers a client signed, as botocore's signer reads them (``set()``, ``get_all``)."""

    __slots__ = ("_values",)

    def __init__(self):
        self._values: dict[str, list[str]] = {}

    def add(self, name: str, value: str) -> None:
        self._values.setdefault(name, []).append(value)  # repeated headers are all signed

    def get(self, name: str, default=None):
        values = self._values.get(name)
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        return self._values.get(name, [])

    def __iter__(self):
        return iter(self._values)

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()][0]


@dataclass(slots=True)
class _ReceivedRequest:
    """A request as received, with the attributes botocore's SigV4 signer reads."""

    method: str
    url: str
    headers: _SignedHeaders
    body: bytes
    context: dict
    params: dict = field(default_factory=dict)


class _RecomputingSigner(botocore.auth.SigV4Auth):
    """botocore's SigV4 signer, told exactly which headers the client signed."""

    def __init__(self, credentials, service: str, region: str, signed: _SignedHeaders):
        super().__init__(credentials, service, region)
        self._signed = signed

    def headers_to_sign(self, request):
        return self._signed

    def _sign(self, key, msg, hex=False):
        # botocore derives the signing key (secret -> date -> Region -> service)
        # with four HMACs on every request; the same inputs give the same key,
        # so those steps are remembered. The signature itself is computed each time.
        if hex:
            return super()._sign(key, msg, hex=True)  # type: ignore[misc]  # botocore's, untyped
        step = _DERIVED_KEYS.get((key, msg))
        if step is None:
            step = super()._sign(key, msg)  # type: ignore[misc]
            if len(_DERIVED_KEYS) >= _MAX_DERIVED_KEYS:
                _DERIVED_KEYS.clear()
            _DERIVED_KEYS[(key, msg)] = step
        return step


_DERIVED_KEYS: dict[tuple[bytes, str], bytes] = {}
_MAX_DERIVED_KEYS = 4096


class SigV4Verifier:
    """Authenticates AWS JSON requests against a lab's access keys.

    ``authenticate(access_key_id, session_token) -> (principal, secret)`` raises
    ``UnrecognizedClientException`` for unknown ids and for a session token
    (``X-Amz-Security-Token``) that is missing, wrong or unexpected; ``region_allowed(name)``
    says whether a credential scope may name a Region; ``default_region()``
    and ``default_account()`` place a request that ``accept_any_signature``
    lets in without a credential scope or with an unknown key.
    ``wall_clock`` gives seconds since the epoch (the real time, not the lab's).
    """

    def __init__(self, authenticate: Callable[[str, str | None], tuple[Principal, str]],
                 region_allowed: Callable[[str], bool], default_region: Callable[[], str],
                 default_account: Callable[[], str], *,
                 service: str = "kms", max_skew: timedelta = MAX_CLOCK_SKEW,
                 accept_any_signature: bool = False,
                 wall_clock: Callable[[], float] = time.time):
        self.authenticate = authenticate
        self.region_allowed = region_allowed
        self.default_region = default_region
        self.default_account = default_account
        self.service = service
        self.max_skew = max_skew
        self.accept_any_signature = accept_any_signature
        self.wall_clock = wall_clock
        self._roots: dict[str, Principal] = {}

    def verify(self, method: str, path: str, query: str, headers: Sequence[tuple[str, str]],
               body: bytes) -> Authenticated:
        """The principal and Region of a request, or AWS's authentication error.

        ``headers`` are (name, value) pairs with lower-case names, as ASGI gives them.
        """
        lookup = dict(headers)
        if self.accept_any_signature:
            return self.accept_any(lookup)
        auth = parse_authorization(lookup.get("authorization"))
        amz_date = lookup.get("x-amz-date")
        if not amz_date:
            raise errors.IncompleteSignature(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                f"header. Authorization={lookup['authorization']}")
        signed_at = _parse_amz_date(amz_date)
        self._check_scope(auth, amz_date)
        self._check_skew(signed_at, amz_date)
        principal, secret = self.authenticate(auth.access_key_id, lookup.get("x-amz-security-token"))
        expected = self._signature(auth, secret, method, path, query, headers, body, amz_date)
        if not hmac.compare_digest(expected.encode(), auth.signature.encode("utf-8", "replace")):
            raise errors.InvalidSignatureException(_SIGNATURE_MISMATCH)
        self._check_payload_hash(lookup, body)
        _check_signed_headers(auth, lookup)
        return Authenticated(principal, auth.region, auth.access_key_id)

    # ------------------------------------------------------------ the checks

    def _check_scope(self, auth: Authorization, amz_date: str) -> None:
        if auth.service != self.service:
            raise errors.InvalidSignatureException(
                f"Credential should be scoped to correct service: '{self.service}'. ")
        if auth.date != amz_date[:8]:
            raise errors.InvalidSignatureException(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                f"from HTTP: '{auth.date}' != '{amz_date[:8]}', from '{amz_date}'.")
        self._check_region(auth.region)

    def _check_region(self, region: str) -> None:
        if not self.region_allowed(region):
            raise errors.InvalidSignatureException(
                f"Credential should be scoped to a valid region, not '{region}'. ")

    def _check_skew(self, signed_at: datetime, amz_date: str) -> None:
        limit = self.max_skew.total_seconds()
        if -limit + 1 < signed_at.timestamp() - self.wall_clock() < limit - 1:
            return  # well inside the window; the whole-second checks below decide near its edges
        now = datetime.fromtimestamp(self.wall_clock(), UTC).replace(microsecond=0)
        stamp = now.strftime(_AMZ_DATE)
        minutes = int(self.max_skew.total_seconds() // 60)
        if signed_at < now - self.max_skew:
            raise errors.InvalidSignatureException(
                f"Signature expired: {amz_date} is now earlier than "
                f"{(now - self.max_skew).strftime(_AMZ_DATE)} ({stamp} - {minutes} min.)")
        if signed_at > now + self.max_skew:
            raise errors.InvalidSignatureException(
                f"Signature not yet current: {amz_date} is still later than "
                f"{(now + self.max_skew).strftime(_AMZ_DATE)} ({stamp} + {minutes} min.)")

    def _signature(self, auth: Authorization, secret: str, method: str, path: str, query: str,
                   headers: Sequence[tuple[str, str]], body: bytes, amz_date: str) -> str:
        """The signature botocore computes for this request with ``secret``."""
        wanted = set(auth.signed_headers)
        signed = _SignedHeaders()
        for name, value in headers:
            if name in wanted:
                signed.add(name, value)
        host = signed.get("host", "localhost")
        url = f"http://{host}{path or '/'}" + (f"?{query}" if query else "")
        request = _ReceivedRequest(method, url, signed, body, {"timestamp": amz_date})
        signer = _RecomputingSigner(
            botocore.credentials.Credentials(auth.access_key_id, secret),
            auth.service, auth.region, signed)
        # _ReceivedRequest has what botocore's signer reads of an AWSRequest
        canonical = signer.canonical_request(request)  # type: ignore[arg-type]
        return signer.signature(signer.string_to_sign(request, canonical),  # type: ignore[arg-type]
                                request)  # type: ignore[arg-type]

    def _check_payload_hash(self, lookup: dict, body: bytes) -> None:
        claimed = lookup.get("x-amz-content-sha256")
        if claimed is not None and not hmac.compare_digest(
                claimed.encode("utf-8", "replace"), hashlib.sha256(body).hexdigest().encode()):
            what = "an unsigned payload" if claimed == _UNSIGNED else "a payload hash"
            raise errors.InvalidSignatureException(
                f"The request declares {what} in 'x-amz-content-sha256' that does not match "
                "the SHA-256 of its body.")

    def _root(self) -> Principal:
        """The default account's root, one object per account (the lab caches per principal)."""
        account = self.default_account()
        root = self._roots.get(account)
        if root is None:
            root = self._roots[account] = account_root(account)
        return root

    def accept_any(self, lookup: dict[str, str]) -> Authenticated:
        """Insecure test-harness mode: any signature; the access key id picks the principal.

        The Region still comes from the credential scope and must be served;
        without a credential scope the caller is the account root in the first
        Region. Only the ``Credential=`` part of the header is read.
        """
        scope = _credential_scope(lookup.get("authorization"))
        if scope is None:
            return Authenticated(self._root(), self.default_region(), None)
        access_key_id, region = scope[0], scope[2]
        self._check_region(region)
        try:
            principal, _secret = self.authenticate(access_key_id,
                                                   lookup.get("x-amz-security-token"))
        except errors.KMSError:
            return Authenticated(self._root(), region, None)
        return Authenticated(principal, region, access_key_id)


def _check_signed_headers(auth: Authorization, lookup: dict[str, str]) -> None:
    unsigned = [name for name in MUST_BE_SIGNED
                if name in lookup and name not in auth.signed_headers]
    if unsigned:
        raise errors.InvalidSignatureException(
            "There were headers present in the request which were not signed: "
            f"{', '.join(unsigned)}. Sign them (list them in SignedHeaders).")


def _credential_scope(header: str | None) -> list[str] | None:
    """``[access key id, date, region, service, "aws4_request"]`` from an Authorization header."""
    if not header:
        return None
    start = header.find("Credential=")
    if start < 0:
        return None
    end = header.find(",", start)
    scope = header[start + 11:end if end >= 0 else None].strip().split("/")
    return scope if len(scope) == 5 and all(scope) else None


def _parse_amz_date(value: str) -> datetime:
    try:
        if len(value) != 16 or value[8] != "T" or value[15] != "Z" or \
                not (value[:8] + value[9:15]).isascii() or not (value[:8] + value[9:15]).isdigit():
            raise ValueError(value)
        return datetime(int(value[:4]), int(value[4:6]), int(value[6:8]), int(value[9:11]),
                        int(value[11:13]), int(value[13:15]), tzinfo=UTC)
    except ValueError:
        raise errors.IncompleteSignature(
            f"Date must be in ISO-8601 'basic format'. Got '{value}'. "
            "See http://en.wikipedia.org/wiki/ISO_8601") from None
