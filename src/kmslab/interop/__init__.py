"""Front ends that let real AWS tools talk to kmslab, and kmslab code talk to AWS.

* :func:`boto3_client`: a genuine botocore KMS client served in-process.
* :func:`serve`, :class:`ServerThread`, :func:`cli_serve`: ``kmslab serve``, an
  HTTP endpoint speaking AWS JSON 1.1 with SigV4 (needs ``kmslab[server]``);
  :func:`create_classroom`, :func:`write_profiles`: learner accounts and their
  AWS CLI profiles for it.
* :func:`connect`, :func:`requires_lab`, :func:`lab_only`, :func:`now`: the lab's
  client or real AWS KMS, chosen by an argument or ``$KMSLAB_BACKEND``, and the
  guards of what only the lab can do;
* :func:`clean_up`: what a tutorial created against AWS, scheduled for deletion
  at its end.
"""

from __future__ import annotations

from .boto3_adapter import boto3_client
from .cleanup import clean_up
from .connect import connect, lab_of, lab_only, now, requires_lab

__all__ = ["boto3_client", "connect", "lab_of", "requires_lab", "lab_only", "now", "clean_up",
           "serve", "ServerThread", "cli_serve", "create_classroom", "write_profiles"]


def __getattr__(name: str):
    # The server pulls in uvicorn, an optional dependency: import it on first use.
    if name in ("serve", "ServerThread", "cli_serve"):
        from . import server

        return getattr(server, name)
    if name in ("create_classroom", "write_profiles"):
        from . import classroom

        return getattr(classroom, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
