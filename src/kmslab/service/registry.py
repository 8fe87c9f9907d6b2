"""The operation registry: every KMS operation kmslab serves, and how the pipeline treats it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

__all__ = ["Operation", "OPERATIONS", "operation"]


@dataclass(frozen=True, slots=True)
class Operation:
    """How the request pipeline serves one AWS operation.

    ``key_param`` names the parameter that identifies the key (resolved before
    authorization); ``action`` is the IAM action authorized against it;
    ``iam_only`` actions are decided by identity policies alone (CreateKey,
    ListKeys...); ``cross_account`` says whether a key in another account may
    be named (AWS's "Cross-account use" column); ``read_only`` and
    ``data_event`` feed the audit record; ``dry_run`` marks operations with a
    DryRun parameter; ``prepare(request)`` does an operation's slow work that
    needs no lab state (generating an RSA key pair) before the lab's lock is
    taken, leaving its result in ``request.prepared`` for the handler.
    """

    name: str
    handler: Callable
    key_param: str | None = "KeyId"
    action: str | None = None
    iam_only: bool = False
    cross_account: bool = False
    read_only: bool = False
    crypto: bool = False
    dry_run: bool = False
    resolve_key: bool = True  # False when the handler resolves (Decrypt from the blob)
    prepare: Callable | None = None


OPERATIONS: dict[str, Operation] = {}


def operation(name: str, *, key_param: str | None = "KeyId", iam_only: bool = False,
              cross_account: bool = False, read_only: bool = False, crypto: bool = False,
              dry_run: bool = False, resolve_key: bool = True, action: str | None = None,
              prepare: Callable | None = None):
    """Register a handler ``fn(call, params) -> dict`` for the AWS operation ``name``."""
    def register(fn: Callable) -> Callable:
        OPERATIONS[name] = Operation(name, fn, key_param, action or f"kms:{name}", iam_only,
                                     cross_account, read_only, crypto, dry_run, resolve_key,
                                     prepare)
        return fn
    return register
