"""``kmslab serve``: the lab as an AWS KMS endpoint over HTTP (AWS JSON 1.1 + SigV4).

Point any AWS tool at it (``endpoint_url=``, ``--endpoint-url``) with the
access keys of a lab IAM user. The app is plain ASGI served by uvicorn
(``pip install kmslab[server]``):

* ``POST /`` with ``X-Amz-Target: TrentService.<Operation>``: a KMS call,
  authenticated with SigV4 (:mod:`kmslab.interop.sigv4`), served by
  ``lab.handle``, answered and failed as AWS does
  (:mod:`kmslab.interop.protocol`);
* ``GET /_kmslab/health``: liveness, no authentication;
* ``POST /_kmslab/reset`` and ``POST /_kmslab/clock/advance``
  (``{"days": .., "hours": .., "minutes": .., "seconds": ..}``): admin calls for
  instructors and test harnesses, with ``Authorization: Bearer <admin token>``;
* ``POST /_kmslab/save`` (admin): write the lab's snapshot now, when the server
  was started with one (``--snapshot PATH``); it is also written on shutdown
  (Ctrl-C, SIGTERM), and shortly after every change while serving (coalesced,
  :class:`kmslab.snapshot.autosave.AutoSaver`), so a server killed outright
  loses at most about a second of the class's work.

The lab's clock: with ``clock="wall"`` (``kmslab serve``'s default) it moves
forward with real time while the server runs, on top of any admin advance, so
what AWS does "after a few seconds" happens by itself (a replica key leaves
``Creating`` about ten seconds after ReplicateKey, and tools that poll
DescribeKey see it ``Enabled``); time starts from the lab's own start, not from
today. With ``clock="manual"`` (``--clock manual``, and the default of
:func:`make_server` and :class:`ServerThread`) it moves only on ``POST
/_kmslab/clock/advance``, so timestamps are the same on every run.

Bodies are capped (``max_body_bytes``, larger ones get a 413, after the body is read
to its end, so that the connection stays usable); request heads
are capped too, a request that trickles in slower than ``client_timeout`` is
cut off, and one client may hold only so many connections
(:mod:`kmslab.interop.connections`). A KMS call that may be slow, and every
admin call, runs in a worker thread (see :class:`KmsApp`), so one learner's
RSA_4096 key pair holds up no other learner's ListKeys. No input can take the server down: anything unexpected becomes a
500 ``KMSInternalException`` with a request id (the log shows the same id)
and the next request is served. Every answer, refusals included, is AWS JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .. import arns, errors
from ..service.pipeline import waits_before_lock
from . import protocol
from .connections import (
    MAX_CONNECTIONS_PER_CLIENT,
    ConnectionLimits,
    RequestTimeoutException,
    http_protocol_class,
)
from .sigv4 import SigV4Verifier

__all__ = ["KmsApp", "LabHolder", "WallClockPace", "CLOCK_MODES", "serve", "ServerThread",
           "cli_serve", "make_server",
           "ConnectionLimits", "DEFAULT_PORT", "MAX_BODY_BYTES"]

log = logging.getLogger("kmslab.serve")

DEFAULT_PORT = 4599
#: larger than any valid KMS request (a 32 KB policy, 6 KB blobs in base64...)
MAX_BODY_BYTES = 1024 * 1024
#: a body up to this many times MAX_BODY_BYTES is read to its end (and dropped) before its 413
DRAIN_FACTOR = 16
CLIENT_TIMEOUT = 10.0
#: threads serving KMS and admin calls: more than one client's connections may keep busy
WORKER_THREADS = 2 * MAX_CONNECTIONS_PER_CLIENT
_JSON = [(b"content-type", b"application/json")]
INSECURE_WARNING = (
    "WARNING: kmslab serve is accepting ANY signature (--accept-any-signature). "
    "Requests are NOT authenticated: anyone who can reach this port can act as any "
    "principal whose access key id they name. Use only for test harnesses on a "
    "private interface.")


class RequestEntityTooLargeException(errors.KMSError):
    """The request body is larger than the server accepts."""

    code = "RequestEntityTooLargeException"
    status = 413


@dataclass
class LabHolder:
    """The lab a server serves, and how to get a fresh one (``POST /_kmslab/reset``).

    The admin interface asks only this of a lab: ``lab.clock.advance(days=,
    hours=, minutes=, seconds=)`` returning the new time, and a ``reset``
    factory returning a new lab (None: resetting is not offered).
    """

    lab: Any  # a Lab, or anything with the same clock, regions and default_account
    reset: Callable[[], Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: ``save(lab) -> where`` writes a snapshot (``POST /_kmslab/save``, shutdown); None: not offered
    save: Callable[[Any], str] | None = None
    #: keeps the snapshot up to date while serving (``watch(lab)``, ``changed()``); None: off
    autosave: Any = None

    def __post_init__(self):
        if self.autosave is not None:
            self.autosave.watch(self.lab)

    def changed(self) -> None:
        """The lab changed outside a KMS call (the clock moved, a reset): save it soon."""
        if self.autosave is not None:
            self.autosave.changed()

    def save_lab(self) -> str:
        if self.save is None:
            raise errors.UnsupportedOperationException(
                "This server was started without a snapshot (kmslab serve --snapshot PATH).")
        with self.lock:
            return self.save(self.lab)

    def reset_lab(self) -> object:
        if self.reset is None:
            raise errors.UnsupportedOperationException("This server was started without a reset.")
        with self.lock:
            self.lab = self.reset()
            if self.autosave is not None:
                self.autosave.watch(self.lab)
        return self.lab


#: how the lab's clock moves while served: with real time, or only when an admin moves it
CLOCK_MODES = ("wall", "manual")


class WallClockPace:
    """Moves a served lab's virtual clock forward by the real time that passes.

    Called before each request: the lab's clock advances by the time elapsed
    since the previous call (as measured by ``monotonic``), firing whatever
    fell due, in order. The lab's clock starts where the lab starts; admin
    advances add to it.
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic):
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._last = monotonic()

    def restart(self) -> None:
        """A new lab is served (``POST /_kmslab/reset``): count from now."""
        with self._lock:
            self._last = self._monotonic()

    def catch_up(self, lab) -> None:
        """Move the lab's clock by the real time elapsed since the last call (``--clock wall``)."""
        with self._lock:
            now = self._monotonic()
            elapsed, self._last = now - self._last, now
        if elapsed > 0:
            lab.clock.advance(seconds=elapsed)


class KmsApp:
    """The ASGI application: routes, body limits, authentication, admin calls.

    The event loop never waits for the lab. A KMS call (authentication, then
    ``lab.handle``) is served on the loop only when the lab's lock is free at
    that moment and the call cannot wait for slow work before taking it
    (:func:`kmslab.service.pipeline.waits_before_lock`); every other call, and
    every admin call, runs in a worker thread. So a slow call (an RSA_4096 key
    pair, made outside the lab's lock) holds up nobody else's connection, and
    a quick one costs no thread switch. ``limits`` are the connection limits
    the HTTP protocol keeps; a request on a connection opened beyond them is
    answered ``ThrottlingException``. ``clock``: ``"wall"`` moves the lab's
    clock with real time before each call (:class:`WallClockPace`),
    ``"manual"`` leaves it to the admin route.
    """

    def __init__(self, holder: LabHolder, *, admin_token: str | None = None,
                 accept_any_signature: bool = False, max_body_bytes: int = MAX_BODY_BYTES,
                 regions: Sequence[str] | None = None, limits: ConnectionLimits | None = None,
                 worker_threads: int = WORKER_THREADS, clock: str = "manual"):
        if clock not in CLOCK_MODES:
            raise ValueError(f"clock must be one of {CLOCK_MODES}, not {clock!r}")
        self.holder = holder
        self.pace = WallClockPace() if clock == "wall" else None
        self.admin_token = admin_token
        self.max_body_bytes = max_body_bytes
        self.regions = tuple(regions) if regions else None
        self.limits = limits or ConnectionLimits()
        self._all_regions = frozenset(arns.REGIONS)
        self._workers = ThreadPoolExecutor(max_workers=worker_threads,
                                           thread_name_prefix="kmslab-serve")
        self.verifier = SigV4Verifier(
            self._authenticate, self._region_allowed, self._default_region,
            lambda: self.holder.lab.default_account, accept_any_signature=accept_any_signature)

    def _authenticate(self, access_key_id: str, session_token: str | None):
        authenticate = getattr(self.holder.lab, "authenticate", None)
        if authenticate is None:  # a lab without IAM access keys
            raise errors.UnrecognizedClientException(
                "The security token included in the request is invalid.")
        return authenticate(access_key_id, session_token)

    def _region_allowed(self, region: str) -> bool:
        """Regions a credential scope may name: those given, else any the lab knows or AWS has."""
        if self.regions:
            return region in self.regions
        return region in self._all_regions or region in self.holder.lab.regions

    def _default_region(self) -> str:
        """Where a request without a credential scope goes (accept-any-signature mode)."""
        return self.regions[0] if self.regions else self.holder.lab.regions[0]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            reply = await self._route(scope, receive)
        except Exception:  # the server must keep serving whatever happens
            request_id = protocol.new_request_id()
            log.exception("unexpected error serving %s %s (request id %s)", scope.get("method"),
                          scope.get("path"), request_id)
            reply = protocol.encode_error(errors.KMSInternalException(
                "An internal error occurred. Retry the request."), request_id)
        await send({"type": "http.response.start", "status": reply.status,
                    "headers": [(_header_name(k), v.encode("latin-1")) for k, v in reply.headers]})
        await send({"type": "http.response.body", "body": reply.body})

    async def _route(self, scope, receive) -> protocol.Reply:
        refusal = self.limits.refusal(scope.get("client"))
        if refusal is not None:  # a connection beyond the limits: answered, then closed
            reply = protocol.encode_error(refusal)
            reply.headers.append(("Connection", "close"))
            return reply
        method, path = scope["method"], scope["path"]
        if path.startswith("/_kmslab/"):
            return await self._admin(method, path, scope, receive)
        raw_headers = scope["headers"]
        lookup = _request_headers(raw_headers)
        try:
            body = await self._read_body(lookup.get("content-length"), receive)
        except errors.KMSError as error:
            return protocol.encode_error(error)
        if method != "POST" or path != "/":
            return protocol.encode_error(errors.UnknownOperationException(
                f"KMS answers POST / only, not {method} {path}."))
        lab = self.holder.lab
        lock = getattr(lab, "lock", None)
        if lock is not None and lock.acquire(blocking=False):
            # Nobody is in the lab: a call that cannot wait before taking the lab's
            # lock is served right here, saving two thread switches.
            try:
                if not waits_before_lock(_operation_named(lookup.get("x-amz-target"))):
                    return self._serve_kms(lab, scope, lookup, body)
            finally:
                lock.release()
        return await self._in_worker(self._serve_kms, lab, scope, lookup, body)

    def _serve_kms(self, lab, scope, lookup: dict[str, str], body: bytes) -> protocol.Reply:
        """One KMS call: authenticate, check the protocol, ``lab.handle``."""
        try:
            if self.verifier.accept_any_signature:
                who = self.verifier.accept_any(lookup)
            else:
                headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
                who = self.verifier.verify(scope["method"], scope["path"],
                                           scope.get("query_string", b"").decode("latin-1"),
                                           headers, body)
            _check_content_type(lookup.get("content-type"))
        except errors.KMSError as error:
            return protocol.encode_error(error)
        client = scope.get("client") or _NO_CLIENT
        if self.pace is not None:
            self.pace.catch_up(lab)
        return protocol.serve_json_request(
            lab, lookup.get("x-amz-target"), body, region=who.region,
            caller=who.principal, source_ip=client[0], user_agent=lookup.get("user-agent", ""))

    async def _in_worker(self, fn: Callable, *args):
        """``fn(*args)`` in a worker thread; the event loop serves other connections meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(
            self._workers, functools.partial(fn, *args))

    def close(self) -> None:
        """Let the worker threads end once their calls are done (the server has stopped)."""
        self._workers.shutdown(wait=False, cancel_futures=True)

    async def _read_body(self, content_length: str | None, receive) -> bytes:
        if content_length is not None:
            try:
                declared = int(content_length)
            except ValueError:
                raise errors.SerializationException("Content-Length is not a number.") from None
            if declared > self.max_body_bytes:
                await self._drain(receive, declared)
                raise self._too_large()
        # A body that trickles in is cut off by the connection's request deadline
        # (see connections.py), which answers 408 and closes: receive() then
        # reports the disconnection.
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RequestTimeoutException("The client disconnected.")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                if message.get("more_body", False):
                    await self._drain(receive, size)
                raise self._too_large()
            chunks.append(chunk)
            more = message.get("more_body", False)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _drain(self, receive, size: int) -> None:
        """Read and drop the rest of a body that is too large (up to DRAIN_FACTOR times the
        cap), so that the client, still sending, reads the 413 on a connection that stays
        usable instead of having it reset under it; a larger body gets its 413 and the
        connection is closed."""
        if size > DRAIN_FACTOR * self.max_body_bytes:
            return
        drained, more = 0, True
        while more and drained <= DRAIN_FACTOR * self.max_body_bytes:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            drained += len(message.get("body", b""))
            more = message.get("more_body", False)

    def _too_large(self) -> errors.KMSError:
        return RequestEntityTooLargeException(
            f"Request body must be at most {self.max_body_bytes} bytes.")

    async def _admin(self, method: str, path: str, scope, receive) -> protocol.Reply:
        if (method, path) == ("GET", "/_kmslab/health"):
            return _json_reply(200, {"status": "ok"})
        if (method, path) not in _ADMIN_ROUTES:
            return _json_reply(404, {"__type": "NotFound", "message": f"No admin route {method} {path}."})
        if not self._admin_allowed(scope):
            return _json_reply(403, {"__type": "AccessDeniedException",
                                     "message": "A valid admin token is required."})
        if path == "/_kmslab/save":
            return await self._save()
        try:
            body = await self._read_body(_header(scope, b"content-length"), receive)
            if path == "/_kmslab/reset":
                lab = await self._in_worker(self.holder.reset_lab)
                if self.pace is not None:
                    self.pace.restart()
                return _json_reply(200, {"reset": True, "now": lab.clock.now().isoformat()})
            now = await self._in_worker(self._advance_clock, _clock_step(body))
            return _json_reply(200, {"now": now.isoformat()})
        except errors.KMSError as error:
            return protocol.encode_error(error)

    def _advance_clock(self, step: dict[str, float]):
        with self.holder.lock:
            if self.pace is not None:
                self.pace.catch_up(self.holder.lab)
            now = self.holder.lab.clock.advance(**step)
        self.holder.changed()
        return now

    async def _save(self) -> protocol.Reply:
        """``POST /_kmslab/save``: the snapshot is written off the event loop (a disk can be slow)."""
        try:
            where = await asyncio.to_thread(self.holder.save_lab)
        except errors.KMSError as error:
            return protocol.encode_error(error)
        return _json_reply(200, {"saved": where, "now": self.holder.lab.clock.now().isoformat()})

    def _admin_allowed(self, scope) -> bool:
        if not self.admin_token:
            return False
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                return scheme.lower() == "bearer" and secrets.compare_digest(
                    token.strip().encode(), self.admin_token.encode())
        return False


_ADMIN_ROUTES = (("POST", "/_kmslab/reset"), ("POST", "/_kmslab/clock/advance"),
                 ("POST", "/_kmslab/save"))
_NO_CLIENT = ("127.0.0.1", 0)
#: the request headers the KMS route reads (a signed request's others are read by the verifier)
_ROUTE_HEADERS = frozenset((b"content-length", b"content-type", b"x-amz-target", b"user-agent",
                            b"authorization", b"x-amz-security-token"))


def _request_headers(raw_headers) -> dict[str, str]:
    """The headers the route needs, decoded; a repeated header's values are joined with commas
    (as HTTP reads them, and as SigV4 signs them): two X-Amz-Target headers name no operation."""
    out: dict[str, str] = {}
    for name, value in raw_headers:
        if name in _ROUTE_HEADERS:
            key, text = name.decode(), value.decode("latin-1")
            out[key] = f"{out[key]},{text}" if key in out else text
    return out


def _operation_named(target: str | None) -> str:
    """The operation an X-Amz-Target names, unchecked (``TrentService.Encrypt`` -> ``Encrypt``)."""
    return (target or "").rpartition(".")[2]


def _check_content_type(value: str | None) -> None:
    """AWS JSON 1.1 requests are ``application/x-amz-json-1.1``.

    Parameters such as ``; charset=utf-8`` are ignored (the Smithy protocol
    test AwsJson11MustSupportParametersInContentType); any other type, or
    none, matches no KMS operation, and AWS answers UnknownOperationException.
    """
    if value is not None and value.partition(";")[0].strip().lower() == protocol.CONTENT_TYPE:
        return
    raise errors.UnknownOperationException(
        f"KMS operations take Content-Type {protocol.CONTENT_TYPE}"
        + (f", not {value!r}." if value is not None else "; the request has none."))


@functools.lru_cache(maxsize=64)
def _header_name(name: str) -> bytes:
    return name.lower().encode("latin-1")


def _header(scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _clock_step(body: bytes) -> dict[str, float]:
    """``{"days": .., "hours": .., "minutes": .., "seconds": ..}``, each a number >= 0."""
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        raise errors.SerializationException("The body must be a JSON object.") from None
    if not isinstance(document, dict):
        raise errors.SerializationException("The body must be a JSON object.")
    allowed = ("days", "hours", "minutes", "seconds")
    unknown = set(document) - set(allowed)
    if unknown:
        raise errors.ValidationException(f"Unknown fields {sorted(unknown)}; use {list(allowed)}.")
    step = {}
    for name, value in document.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise errors.ValidationException(f"'{name}' must be a number >= 0.")
        step[name] = value
    return step


def _json_reply(status: int, document: dict) -> protocol.Reply:
    body = json.dumps(document).encode()
    return protocol.Reply(status, [("Content-Type", "application/json"),
                                   ("Content-Length", str(len(body))),
                                   ("x-amzn-RequestId", protocol.new_request_id())], body)


async def _lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def make_server(lab, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *,
                reset: Callable[[], object] | None = None, admin_token: str | None = None,
                accept_any_signature: bool = False, max_body_bytes: int = MAX_BODY_BYTES,
                client_timeout: float = CLIENT_TIMEOUT, regions: Sequence[str] | None = None,
                log_level: str = "warning", save: Callable[[object], str] | None = None,
                autosave=None, limits: ConnectionLimits | None = None, http_parser: str = "auto",
                clock: str = "manual"):
    """A configured ``uvicorn.Server`` for ``lab`` (not yet running) and its app.

    ``regions`` limits the Regions clients may sign for (default: any AWS Region);
    ``save(lab) -> where`` enables ``POST /_kmslab/save``; ``autosave`` (an
    :class:`~kmslab.snapshot.autosave.AutoSaver`, started by the caller) watches the lab served;
    ``limits``: connections per client and in all, request head size (:class:`ConnectionLimits`);
    ``http_parser``: ``"auto"``, ``"httptools"`` or ``"h11"``; ``clock``: ``"manual"``
    (moved by the admin route only) or ``"wall"`` (moves with real time too).
    """
    import uvicorn

    limits = limits or ConnectionLimits()
    holder = LabHolder(lab, reset, save=save, autosave=autosave)
    app = KmsApp(holder, admin_token=admin_token, accept_any_signature=accept_any_signature,
                 max_body_bytes=max_body_bytes, regions=regions, limits=limits, clock=clock)
    config = uvicorn.Config(
        app, host=host, port=port, lifespan="off", access_log=False, log_level=log_level,
        http=http_protocol_class(limits, client_timeout, http_parser), timeout_keep_alive=5,
        # the protocol keeps the connection limits and answers them in AWS JSON; h11's own
        # head limit sits above the protocol's, which counts a whole read (<= 256 KiB) late
        limit_concurrency=None, h11_max_incomplete_event_size=limits.max_head_bytes + 512 * 1024,
        timeout_graceful_shutdown=2, proxy_headers=False, server_header=False)
    return uvicorn.Server(config), app


def serve(lab, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *,
          reset: Callable[[], object] | None = None, admin_token: str | None = None,
          accept_any_signature: bool = False, max_body_bytes: int = MAX_BODY_BYTES,
          client_timeout: float = CLIENT_TIMEOUT, regions: Sequence[str] | None = None,
          log_level: str = "info", save: Callable[[object], str] | None = None,
          autosave=None, limits: ConnectionLimits | None = None, clock: str = "manual") -> None:
    """Serve ``lab`` as a KMS endpoint until interrupted (Ctrl-C or SIGTERM).

    Prints the endpoint and the admin token (a random one unless given).
    ``save(lab) -> where``: write a snapshot on ``POST /_kmslab/save`` and on shutdown;
    ``autosave``: an :class:`~kmslab.snapshot.autosave.AutoSaver` that also saves while serving.
    ``clock``: ``"manual"`` or ``"wall"`` (see the module's docstring).
    """
    admin_token = admin_token or secrets.token_urlsafe(24)
    server, _app = make_server(lab, host, port, reset=reset, admin_token=admin_token,
                               accept_any_signature=accept_any_signature,
                               max_body_bytes=max_body_bytes, client_timeout=client_timeout,
                               regions=regions, log_level=log_level, save=save,
                               autosave=autosave, limits=limits, clock=clock)
    if autosave is not None:
        autosave.start()
    if accept_any_signature:
        print(INSECURE_WARNING, file=sys.stderr, flush=True)
    print(f"kmslab KMS endpoint: http://{host}:{port}  (Regions: "
          f"{', '.join(regions) if regions else 'any'}; account {lab.default_account}; clock: "
          f"{'moves with real time' if clock == 'wall' else 'moved by the admin route only'})",
          flush=True)
    print(f"admin token: {admin_token}", flush=True)
    try:
        with _stop_on_signals():
            server.run()
    except _Stopped:
        pass
    finally:
        if autosave is not None:
            autosave.stop()
        _app.close()
        if save is not None:
            print(f"lab saved to {_app.holder.save_lab()}", flush=True)


class _Stopped(Exception):
    """SIGINT/SIGTERM arrived; the server has shut down gracefully."""


def _raise_stopped(signum, frame):
    raise _Stopped(signum)


class _stop_on_signals:
    """uvicorn shuts down on SIGINT/SIGTERM, then re-raises the signal to the handler that
    was there before: make that handler end ``serve`` normally, so the lab can be saved."""

    def __enter__(self):
        self._before = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._before[sig] = signal.signal(sig, _raise_stopped)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._before.items():
            signal.signal(sig, handler)
        return False


class ServerThread:
    """A kmslab server on a free loopback port in a background thread.

    >>> with ServerThread(lab) as endpoint:               # doctest: +SKIP
    ...     kms = boto3.client("kms", endpoint_url=endpoint, ...)

    ``url`` is the endpoint, ``admin_token`` the token for the admin routes,
    ``lab`` the lab currently served (a reset replaces it).
    """

    def __init__(self, lab, *, host: str = "127.0.0.1", port: int = 0,
                 reset: Callable[[], object] | None = None, admin_token: str | None = None,
                 accept_any_signature: bool = False, max_body_bytes: int = MAX_BODY_BYTES,
                 client_timeout: float = CLIENT_TIMEOUT, regions: Sequence[str] | None = None,
                 save: Callable[[object], str] | None = None, autosave=None,
                 limits: ConnectionLimits | None = None, http_parser: str = "auto",
                 clock: str = "manual"):
        self.admin_token = admin_token or secrets.token_urlsafe(24)
        if accept_any_signature:
            log.warning(INSECURE_WARNING)
        self._socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host, self.port = self._socket.getsockname()[:2]
        self._server, self.app = make_server(
            lab, host, self.port, reset=reset, admin_token=self.admin_token,
            accept_any_signature=accept_any_signature, max_body_bytes=max_body_bytes,
            client_timeout=client_timeout, regions=regions, save=save, autosave=autosave,
            limits=limits, http_parser=http_parser, clock=clock)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def lab(self):
        return self.app.holder.lab

    def start(self) -> str:
        """Start serving; returns the endpoint URL once the server accepts connections."""
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name=f"kmslab-serve-{self.port}", daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the kmslab server failed to start")
            self._thread.join(0.01)
        return self.url

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(5)
        self._socket.close()
        self.app.close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._thread and self._thread.is_alive() else "stopped"
        return f"<ServerThread {self.url} {state}>"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kmslab serve", description="Serve a kmslab lab as an AWS KMS endpoint "
        "(AWS JSON 1.1 over HTTP, SigV4 with the lab's access keys).")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--account-id", help="12-digit account id of the lab's default account")
    parser.add_argument("--region", action="append", dest="regions", metavar="REGION",
                        help="serve this Region (repeatable; the first is the default; "
                             "default: any AWS Region)")
    parser.add_argument("--seed", type=int, help="seed for reproducible ids")
    parser.add_argument("--accept-any-signature", action="store_true",
                        help="INSECURE: skip SigV4 verification (test harnesses only)")
    parser.add_argument("--admin-token", help="token for /_kmslab/ admin calls (default: random)")
    parser.add_argument("--seed-file", metavar="PATH",
                        help="build the lab (and every reset) from a seed file, JSON or YAML "
                             "(its seed, accounts and Region replace --seed and --account-id)")
    parser.add_argument("--snapshot", metavar="PATH",
                        help="start from this lab snapshot if it exists; keep it saved while "
                             "serving (at most about a second behind), on shutdown and on "
                             "POST /_kmslab/save")
    parser.add_argument("--passphrase-env", metavar="VAR", default="KMSLAB_SNAPSHOT_PASSPHRASE",
                        help="environment variable holding the snapshot passphrase "
                             "(default KMSLAB_SNAPSHOT_PASSPHRASE; never on the command line)")
    parser.add_argument("--classroom", type=int, metavar="N", default=0,
                        help="add N learner accounts, each with an IAM user and an access key, "
                             "and write their profiles (AWS CLI credentials and config files)")
    parser.add_argument("--classroom-dir", default="kmslab-classroom", metavar="DIR",
                        help="where --classroom writes credentials and config "
                             "(default ./kmslab-classroom)")
    parser.add_argument("--public-url", metavar="URL",
                        help="the endpoint learners use, written into their config "
                             "(default http://HOST:PORT)")
    parser.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES)
    parser.add_argument("--max-connections-per-client", type=int, metavar="N",
                        default=MAX_CONNECTIONS_PER_CLIENT,
                        help="connections one client address may hold at once (default "
                             f"{MAX_CONNECTIONS_PER_CLIENT}; raise it for a class behind one NAT)")
    parser.add_argument("--clock", choices=CLOCK_MODES, default="wall",
                        help="how the lab's clock moves: 'wall' (default) with real time, so "
                             "what AWS does after a few seconds (a replica key leaving "
                             "Creating) happens by itself; 'manual' only on POST "
                             "/_kmslab/clock/advance, for timestamps that repeat run after run. "
                             "Either way the clock starts at the lab's start and admin advances "
                             "add to it")
    parser.add_argument("--log-level", default="info")
    return parser


def cli_serve(argv: Sequence[str] | None = None, *, lab_factory: Callable[..., Any] | None = None) -> int:
    """``kmslab serve [options]``: build a lab from the options and serve it."""
    args = _parser().parse_args(argv)
    if lab_factory is None:
        from ..lab import Lab

        lab_factory = Lab
    lab_options = {}
    if args.account_id:
        lab_options["account_id"] = args.account_id
    if args.regions:
        lab_options["region"] = args.regions[0]
    if args.seed is not None:
        lab_options["seed"] = args.seed

    endpoint = args.public_url or f"http://{args.host}:{args.port}"
    seed_document = _read_seed_file(args.seed_file) if args.seed_file else None

    def new_lab():
        lab = (_seeded_lab(seed_document, args.seed_file) if args.seed_file
               else lab_factory(**lab_options))
        for region in args.regions or ():
            lab.kms_service(lab.default_account, region)  # enable the Region
        if args.classroom:
            from .classroom import create_classroom, write_profiles

            learners = create_classroom(lab, args.classroom)
            credentials, config = write_profiles(learners, args.classroom_dir,
                                                 endpoint_url=endpoint)
            print(f"classroom: {len(learners)} learner accounts "
                  f"({', '.join(f'{x.profile}={x.account_id}' for x in learners)})", flush=True)
            print(f"learner credentials: {credentials.resolve()}\nlearner config: "
                  f"{config.resolve()}\n  AWS_SHARED_CREDENTIALS_FILE={credentials.resolve()} "
                  f"AWS_CONFIG_FILE={config.resolve()} aws --profile {learners[0].profile} "
                  "kms list-keys", flush=True)
        return lab

    lab, save, autosave = _snapshot_options(args, new_lab)
    serve(lab, args.host, args.port, reset=new_lab, admin_token=args.admin_token,
          accept_any_signature=args.accept_any_signature, max_body_bytes=args.max_body_bytes,
          regions=args.regions, log_level=args.log_level, save=save, autosave=autosave,
          limits=ConnectionLimits(per_client=args.max_connections_per_client), clock=args.clock)
    return 0


def _read_seed_file(path: str):
    """``--seed-file``: the checked seed document, read once (a reset builds from it again).

    A wrong file ends ``kmslab serve`` with its error, naming the wrong place; never a
    traceback."""
    from ..seed import SeedError, read_seed, validate
    try:
        return validate(read_seed(path))
    except (SeedError, OSError) as exc:
        raise SystemExit(f"kmslab serve: --seed-file {path}: {exc}") from None


def _seeded_lab(document, path: str):
    """The lab a checked seed document describes (what the AWS API refuses is a SeedError too)."""
    from ..seed import SeedError, from_seed
    try:
        return from_seed(document)
    except SeedError as exc:
        raise SystemExit(f"kmslab serve: --seed-file {path}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a learner's server ends with a message, not a traceback
        raise SystemExit(f"kmslab serve: --seed-file {path}: cannot build the lab it describes: "
                         f"{type(exc).__name__}: {exc}") from None


def _snapshot_options(args, new_lab: Callable[[], Any]):
    """``--snapshot``: the lab to start from (the snapshot, if the file exists), its saver
    and the AutoSaver that keeps the file up to date (the key is derived once, here)."""
    if not args.snapshot:
        return new_lab(), None, None
    import os

    from ..crypto.sealing import SealError, SealingKey
    from ..snapshot import remove_stale_temporaries
    from ..snapshot.autosave import AutoSaver
    passphrase = os.environ.get(args.passphrase_env, "")
    if not passphrase:
        raise SystemExit(f"kmslab serve: --snapshot needs its passphrase in the environment "
                         f"variable {args.passphrase_env} (set it, or name another with "
                         f"--passphrase-env; it is never taken on the command line)")
    path = os.path.abspath(args.snapshot)
    remove_stale_temporaries(path)  # left by a server killed while saving
    if os.path.exists(path):
        from ..lab import Lab
        from ..snapshot import SnapshotError
        try:
            lab = Lab.load(path, passphrase)
        except SnapshotError as exc:
            raise SystemExit(f"kmslab serve: cannot start from {path}: {exc}") from None
        print(f"started from snapshot {path} (lab time {lab.clock.now().isoformat()})", flush=True)
    else:
        lab = new_lab()
        print(f"no snapshot at {path} yet: a new lab, saved there while serving", flush=True)
    try:
        autosave = AutoSaver(path, SealingKey.derive(passphrase))
    except SealError as exc:
        raise SystemExit(f"kmslab serve: --snapshot: {exc}") from None

    def save(lab) -> str:  # POST /_kmslab/save, shutdown: the file alone holds the lab
        autosave.watch(lab)
        return autosave.save_now(whole=True)

    return lab, save, autosave
