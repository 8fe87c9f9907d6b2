"""A genuine botocore KMS client whose requests kmslab serves in-process.

botocore does everything it does against AWS (parameter validation,
serialization, signing, response parsing, paginators, ``ClientError``); the
only change is one handler on the client's own ``before-send`` event, which
answers the prepared HTTP request from the lab instead of the network. No
socket is opened and no other client is touched.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator

import botocore.config
from botocore.awsrequest import AWSResponse

from ..identity import Principal, account_root
from ..operations.model import new_session
from . import protocol

__all__ = ["boto3_client", "InProcessTransport", "served_lab"]

# Credentials the client signs with; the lab never sees them (the caller is ``as_``).
_ACCESS_KEY_ID = "AKIAKMSLABINPROCESS0"
_SECRET_ACCESS_KEY = "kmslab-in-process-requests-are-not-signed-by-a-user"
# client -> the transport serving it (lets ``kmslab.requires_lab`` recognise the client)
_TRANSPORTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Body:
    """The ``raw`` object :class:`AWSResponse` reads its content from."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **_ignored) -> Iterator[bytes]:
        yield self._data


class InProcessTransport:
    """The ``before-send`` handler: serves a prepared botocore request from a lab."""

    def __init__(self, lab, *, region: str, caller: Principal):
        self.lab = lab
        self.region = region
        self.caller = caller

    def __call__(self, request, **_event_kwargs) -> AWSResponse:
        headers = request.headers
        user_agent = headers.get("User-Agent", "")
        if isinstance(user_agent, bytes):
            user_agent = user_agent.decode("latin-1")
        reply = protocol.serve_json_request(
            self.lab, _text(headers.get("X-Amz-Target")), request.body or b"",
            region=self.region, caller=self.caller, user_agent=user_agent)
        return AWSResponse(request.url, reply.status, dict(reply.headers),  # type: ignore[arg-type]
                           _Body(reply.body))


def _text(value):
    return value.decode("latin-1") if isinstance(value, bytes) else value


def boto3_client(lab=None, region_name: str = "us-east-1", as_: Principal | str | None = None,
                 config: botocore.config.Config | None = None):
    """A real botocore ``kms`` client served in-process by ``lab``.

    ``lab`` defaults to kmslab's default lab; ``region_name`` is the client's
    Region; ``as_`` is the calling principal, as ``lab.client(as_=...)`` takes
    it (a Principal or a name; default: the lab's default caller).
    ``config`` is passed to botocore (retries, user agent...).

    >>> kms = boto3_client(lab)                      # doctest: +SKIP
    >>> kms.create_key()["KeyMetadata"]["KeyState"]  # doctest: +SKIP
    'Enabled'
    """
    if lab is None:
        lab = _default_lab()
    caller = _caller(lab, as_)
    session = new_session()
    client = session.create_client(
        "kms", region_name=region_name,
        endpoint_url=f"https://kms.{region_name}.amazonaws.com",
        aws_access_key_id=_ACCESS_KEY_ID, aws_secret_access_key=_SECRET_ACCESS_KEY,
        config=config)
    transport = InProcessTransport(lab, region=region_name, caller=caller)
    # a before-send handler that returns a response: botocore sends nothing itself
    client.meta.events.register("before-send.kms", transport,  # type: ignore[arg-type]
                                unique_id="kmslab-in-process")
    _TRANSPORTS[client] = transport
    return client


def served_lab(client):
    """The lab serving a client made by :func:`boto3_client`, else None."""
    try:
        return _TRANSPORTS[client].lab
    except (KeyError, TypeError):
        return None


def _caller(lab, as_: Principal | str | None) -> Principal:
    resolve = getattr(lab, "principal", None)
    if resolve is not None:
        return resolve(as_)
    if isinstance(as_, Principal):
        return as_
    return account_root(lab.default_account)


def _default_lab():
    from ..lab import default_lab

    return default_lab()
