"""The handler of every KMS operation, bound to its OperationSpec, and the handler contract.

What an operation *is* (its key, permissions, DryRun...) is data in
:mod:`kmslab.operations`; a service module registers only what the operation
*does*::

    @operation("Encrypt", check=_check_encrypt)
    def encrypt(call, params) -> Outcome: ...

The contract, as the pipeline (:mod:`kmslab.service.pipeline`) applies it:

* ``locate(call, params) -> Key`` finds the key when no request member names
  it (DeleteAlias: the alias; RetireGrant: the grant);
* ``prepare(request)`` does slow work that needs no lab state (an RSA key
  pair) before the lab's lock is taken, leaving it in ``request.prepared``;
  nothing is decided there;
* ``check(call, params)`` makes the operation's own checks of the request,
  without any effect; it runs before the pipeline stops a DryRun request, so a
  DryRun reports what the real request would;
* the handler runs only for a request that is not a DryRun, after the key
  was found, authorized and checked against the key-state table, its custom
  key store support and its key usage; it returns an :class:`Outcome` (or a
  plain response dict) and never writes into the call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..operations import OperationSpec, spec
from .usage import key_check

__all__ = ["Route", "ROUTES", "OPERATIONS", "Outcome", "operation"]


@dataclass(slots=True)
class Outcome:
    """What a handler did: its response, and what the audit record needs beyond the request.

    ``key``: the key the operation made or found by itself (CreateKey; the
    pipeline knows every other); ``material_id``: the KeyMaterialId a
    cryptographic operation used (ReEncrypt: ``(destination, source)``);
    ``other_keys``: further keys it acted on, named in the record's resources;
    ``logged_in``: keys in other Regions whose Region's trail records the call
    too (UpdatePrimaryRegion's new primary); ``logged``: what the record's
    additionalEventData holds beyond key material (RetireGrant's grantId).
    """

    response: dict
    key: Any = None
    material_id: Any = None
    other_keys: tuple = ()
    logged_in: tuple = ()
    logged: dict | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """One operation as the pipeline serves it: its spec and the code registered for it."""

    spec: OperationSpec
    handler: Callable[..., Outcome | dict]
    check: Callable[..., None] | None = None
    locate: Callable[..., Any] | None = None
    #: the request names its one key in one member (no ciphertext, locating or second key)
    named_key: bool = False
    #: step 4 for the key the operation acts on, and for ReEncrypt's source key
    key_check: Callable[..., None] | None = None
    source_check: Callable[..., None] | None = None
    #: slow work that needs no lab state (an RSA key pair), done before the lab's lock is
    #: taken; it leaves its result in ``request.prepared`` for the handler
    prepare: Callable[..., None] | None = None

    @property
    def name(self) -> str:
        """The AWS operation name (``"Encrypt"``)."""
        return self.spec.name


#: operation name -> Route (every KMS operation; filled as the service modules load)
ROUTES: dict[str, Route] = {}
#: the same mapping, under the name front ends and tests iterate
OPERATIONS = ROUTES


def operation(name: str, *, check: Callable | None = None, locate: Callable | None = None,
              prepare: Callable | None = None):
    """Register the handler of the AWS operation ``name`` (its facts come from the table)."""
    op_spec = spec(name)  # KeyError: not an operation of the KMS API
    if op_spec.key is not None and op_spec.key.locate and locate is None:
        raise TypeError(f"{name} locates its key ({op_spec.key.locate}): register a locate function")

    key = op_spec.key
    named_key = key is not None and key.param is not None and key.locate is None \
        and key.from_ciphertext is None and op_spec.source is None

    def register(fn: Callable) -> Callable:
        ROUTES[name] = Route(op_spec, fn, check, locate, named_key,
                             key_check(op_spec, op_spec.key), key_check(op_spec, op_spec.source),
                             prepare)
        return fn
    return register
