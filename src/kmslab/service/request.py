"""The request every front end builds and ``Service.handle`` serves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..identity import Principal

__all__ = ["Request"]


@dataclass(slots=True)
class Request:
    """One KMS API call.

    ``params`` use boto3's names and Python types (bytes for blobs, aware
    datetimes for timestamps). ``via_service`` is set when an integrated AWS
    service calls on the caller's behalf (``kms:ViaService``). ``prepared`` holds
    what the operation's ``prepare`` made before the lab's lock was taken.
    """

    operation: str
    params: dict
    caller: Principal
    region: str
    source_ip: str = "127.0.0.1"
    user_agent: str = "kmslab"
    via_service: str | None = None
    request_id: str = ""
    prepared: Any = None
