"""HTTP connections for ``kmslab serve``: what one client may hold, and how long and big a head may be.

The KMS app (:mod:`kmslab.interop.server`) sees requests; this module sees
connections, below it, in uvicorn's HTTP/1.1 protocol (``h11`` or the faster
``httptools``, whichever is installed or asked for). It keeps a class fair
when one client misbehaves:

* **Request head size.** A request line and headers larger than
  ``max_head_bytes`` (16 KiB) are answered ``400 RequestHeaderSectionTooLarge``
  (the code and status S3 documents for the same case; a SigV4-signed KMS
  request head is about 1-2 KiB) and the connection is closed. The count is
  kept here, for either parser: httptools has no limit of its own, so a
  100 MB header used to be read into memory.
* **Connections per client.** A client address may hold ``per_client``
  connections at once (64; boto3 opens up to 10 per client) and the server
  ``total`` (1,024). A connection beyond either limit gets one second for its
  request head and is answered ``ThrottlingException`` (400, AWS JSON) and
  closed, so one client's 600 idle or slow connections never lock the other
  learners out, and nobody gets uvicorn's plain-text 503.
* **Request deadline.** uvicorn times out idle keep-alive connections but not
  a client that trickles its request in. Here each request must arrive in full
  within ``client_timeout`` of the connection being ready for it: a connection
  still without a request head is closed; one whose body is still coming is
  answered ``408 RequestTimeoutException`` and closed. One timer per
  connection does it.
* **One write per response**, see :class:`_OneWriteTransport`.

uvicorn has no public hook for any of this, so :func:`http_protocol_class`
subclasses its protocol classes and reads their request cycle; pyproject.toml
pins the uvicorn versions this is tested with, and
``tests/interop/test_uvicorn_contract.py`` fails on a uvicorn that no longer has
what is read here (the overridden methods, ``cycle.response_started``,
``response_complete``, ``more_body``, ``loop``, ``transport``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .. import errors
from . import protocol

__all__ = ["ConnectionLimits", "http_protocol_class", "RequestTimeoutException",
           "RequestHeaderSectionTooLarge", "MAX_HEAD_BYTES", "MAX_CONNECTIONS_PER_CLIENT",
           "MAX_CONNECTIONS"]

#: the largest request head (request line and headers) accepted
MAX_HEAD_BYTES = 16 * 1024
#: connections one client address may hold at once
MAX_CONNECTIONS_PER_CLIENT = 64
#: connections the server holds at once
MAX_CONNECTIONS = 1024
#: how long a connection beyond a limit may take to send the request head its refusal answers
REFUSED_HEAD_DEADLINE = 1.0


class RequestTimeoutException(errors.KMSError):
    """The client did not send its request in time."""

    code = "RequestTimeoutException"
    status = 408


class RequestHeaderSectionTooLarge(errors.KMSError):
    """The request line and headers are larger than the server accepts."""

    code = "RequestHeaderSectionTooLarge"
    status = 400


@dataclass
class ConnectionLimits:
    """The connections a server holds, by client address; the limits it keeps.

    Used on the server's event loop only (no locking). ``refusal(client)``
    tells the app whether a connection (``scope["client"]``) was opened beyond
    a limit, and with which error to answer its request.
    """

    per_client: int = MAX_CONNECTIONS_PER_CLIENT
    total: int = MAX_CONNECTIONS
    max_head_bytes: int = MAX_HEAD_BYTES
    by_address: Counter = field(default_factory=Counter, repr=False)
    open_connections: int = 0
    _refused: dict = field(default_factory=dict, repr=False)

    def opened(self, peer) -> tuple[str, int] | None:
        """Count a new connection from ``peer`` (a socket address); returns its (host, port)."""
        if not isinstance(peer, (tuple, list)) or len(peer) < 2:
            return None  # not an IP socket: nothing to count by
        peer = (str(peer[0]), int(peer[1]))
        self.open_connections += 1
        held = self.by_address[peer[0]] = self.by_address[peer[0]] + 1
        if held > self.per_client:
            self._refused[peer] = errors.ThrottlingException(
                f"Too many open connections from {peer[0]}: a client may hold {self.per_client} "
                "at a time. Close idle connections and retry.")
        elif self.open_connections > self.total:
            self._refused[peer] = errors.ThrottlingException(
                f"The server is holding its limit of {self.total} connections. Retry shortly.")
        return peer

    def closed(self, peer: tuple[str, int] | None) -> None:
        """Count a connection from ``peer`` as closed (it frees a place under the caps)."""
        if peer is None:
            return
        self.open_connections -= 1
        left = self.by_address[peer[0]] - 1
        if left:
            self.by_address[peer[0]] = left
        else:
            del self.by_address[peer[0]]
        self._refused.pop(peer, None)

    def refusal(self, client) -> errors.KMSError | None:
        """The error a request on this connection gets, or None if it is within the limits."""
        if not self._refused or client is None:
            return None
        return self._refused.get((str(client[0]), int(client[1])))

    def head_deadline(self, peer, timeout: float) -> float:
        """Seconds a connection gets for each request: short for one that will be refused."""
        if peer is not None and peer in self._refused:
            return min(timeout, REFUSED_HEAD_DEADLINE)
        return timeout

    def head_too_large(self) -> bytes:
        """The raw 400 response for a request head over the size limit, in AWS JSON."""
        return raw_error_response("400 Bad Request", RequestHeaderSectionTooLarge(
            f"Your request header section exceeds the maximum allowed size "
            f"({self.max_head_bytes} bytes)."))


def raw_error_response(status_line: str, error: errors.KMSError) -> bytes:
    """An AWS JSON error as raw HTTP/1.1 bytes, for the protocol to send before closing."""
    reply = protocol.encode_error(error)
    head = [f"HTTP/1.1 {status_line}".encode("latin-1")]
    head += [f"{name}: {value}".encode("latin-1") for name, value in reply.headers]
    head.append(b"connection: close")
    return b"\r\n".join(head) + b"\r\n\r\n" + reply.body


def _request_timeout_response() -> bytes:
    """The raw 408 a request whose body arrives too slowly gets, before its connection closes."""
    return raw_error_response("408 Request Timeout", RequestTimeoutException(
        "Your socket connection to the server was not read from or written to within the "
        "timeout period."))


class _OneWriteTransport:
    """A transport that sends each HTTP response in one ``send()``.

    uvicorn writes a response's head and body separately: two system calls,
    and on loopback each one also runs the receiving side's TCP stack. While
    a response is in flight its writes are held and go out together when it
    completes (or the connection closes). Anything else passes straight through.
    """

    __slots__ = ("_transport", "_protocol", "_held")

    def __init__(self, transport, protocol):
        self._transport = transport
        self._protocol = protocol
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        cycle = self._protocol.cycle
        if cycle is not None and cycle.response_started and not cycle.response_complete:
            self._held.append(data)
        else:
            self.flush()
            self._transport.write(data)

    def flush(self) -> None:
        if self._held:
            held, self._held = self._held, []
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str):
        return getattr(self._transport, name)


def _parser_base(parser: str):
    if parser not in ("auto", "h11", "httptools"):
        raise ValueError(f"parser must be 'auto', 'h11' or 'httptools', not {parser!r}")
    if parser in ("auto", "httptools"):
        try:
            from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
            return HttpToolsProtocol
        except ImportError:
            if parser == "httptools":
                raise
    from uvicorn.protocols.http.h11_impl import H11Protocol
    return H11Protocol


def http_protocol_class(limits: ConnectionLimits, timeout: float, parser: str = "auto"):
    """uvicorn's HTTP/1.1 protocol class keeping ``limits`` and the request deadline ``timeout``
    (seconds); give it to ``uvicorn.Config(http=)``.

    ``parser``: ``"httptools"`` (fast; installed with ``kmslab[server]``),
    ``"h11"`` (pure Python), or ``"auto"``: httptools when installed, else h11.
    """
    base = _parser_base(parser)

    class KmsHttpProtocol(base):  # type: ignore[valid-type, misc]  # uvicorn's, chosen above
        _deadline_timer = None
        _peer = None
        _awaited_after = None  # the request cycle the next request head will replace
        _head_bytes = 0

        def connection_made(self, transport):
            super().connection_made(transport)
            self.transport = _OneWriteTransport(transport, self)
            self._peer = limits.opened(transport.get_extra_info("peername"))
            self._arm_deadline()

        def data_received(self, data):
            awaited = self._awaited_after
            reading_head = self.cycle is awaited
            super().data_received(data)
            # Still no complete head after this chunk: every byte so far is head.
            if reading_head and self.cycle is awaited and not self.transport.is_closing():
                self._head_bytes += len(data)
                if self._head_bytes > limits.max_head_bytes:
                    self.transport.write(limits.head_too_large())
                    self.transport.close()

        def on_response_complete(self):
            self.transport.flush()
            super().on_response_complete()
            self._arm_deadline()

        def connection_lost(self, exc):
            if self._deadline_timer is not None:
                self._deadline_timer.cancel()
            limits.closed(self._peer)
            self._peer = None
            super().connection_lost(exc)

        def _arm_deadline(self):
            if self._deadline_timer is not None:
                self._deadline_timer.cancel()  # one pending deadline per connection
            self._awaited_after = self.cycle
            self._head_bytes = 0
            self._deadline_timer = self.loop.call_later(
                limits.head_deadline(self._peer, timeout), self._deadline, self.cycle)

        def _deadline(self, cycle_when_armed):
            if self.transport.is_closing():
                return
            cycle = self.cycle
            if cycle is cycle_when_armed:  # no new request head arrived in time
                self.transport.close()
            elif cycle.more_body and not cycle.response_started:  # its body is still coming
                self.transport.write(_request_timeout_response())
                self.transport.close()

    KmsHttpProtocol.__name__ = KmsHttpProtocol.__qualname__ = f"Kms{base.__name__}"
    return KmsHttpProtocol
