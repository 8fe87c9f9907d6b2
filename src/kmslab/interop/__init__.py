"""Front ends that let real AWS tools talk to kmslab, and kmslab code talk to AWS.

* :func:`boto3_client`: a genuine botocore KMS client served in-process.
* :func:`serve`, :class:`ServerThread`, :func:`cli_serve`: ``kmslab serve``, an
  HTTP endpoint speaking AWS JSON 1.1 with SigV4 (needs ``kmslab[server]``);
  :func:`create_classroom`: learner accounts and a credentials file for it.
* :func:`connect`, :func:`requires_lab`: the lab's client or real AWS KMS, chosen
  by an argument or ``$KMSLAB_BACKEND``.
"""

from __future__ import annotations

from .boto3_adapter import boto3_client
from .connect import connect, lab_of, requires_lab

__all__ = ["boto3_client", "connect", "lab_of", "requires_lab", "serve", "ServerThread",
           "cli_serve", "create_classroom"]


def __getattr__(name: str):
    # The server pulls in uvicorn, an optional dependency: import it on first use.
    if name in ("serve", "ServerThread", "cli_serve"):
        from . import server

        return getattr(server, name)
    if name == "create_classroom":
        from .classroom import create_classroom

        return create_classroom
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
