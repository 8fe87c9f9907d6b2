"""Front ends that let real AWS tools talk to kmslab.

* :func:`boto3_client`: a genuine botocore KMS client served in-process.
* :func:`serve`, :class:`ServerThread`, :func:`cli_serve`: ``kmslab serve``, an
  HTTP endpoint speaking AWS JSON 1.1 with SigV4 (needs ``kmslab[server]``).
"""

from __future__ import annotations

from .boto3_adapter import boto3_client

__all__ = ["boto3_client", "serve", "ServerThread", "cli_serve"]


def __getattr__(name: str):
    # The server pulls in uvicorn, an optional dependency: import it on first use.
    if name in ("serve", "ServerThread", "cli_serve"):
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
