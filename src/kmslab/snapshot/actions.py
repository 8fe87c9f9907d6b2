"""What the lab's clock is waiting to do, as data: a fixed registry of kmslab's own actions.

A lab schedules a handful of actions on its clock (delete a key when its
waiting period ends, rotate it, expire imported material, finish connecting
a custom key store...). A snapshot saves each pending one as a *kind* and its
parameters (``{"kind": "DeleteKey", "key": "arn:aws:kms:..."}``), and a load
rebuilds the action from this table: the kind is only ever looked up here,
the parameters are only ever resolved to the restored lab's own keys and
stores. No function, class or module name is taken from a file.

The same goes for metric series (gauges): their value is one of
:data:`GAUGES`.

Actions scheduled by a notebook's own code are not kmslab's: a lab holding
one cannot be saved, and the error says which (cancel it, save, schedule it
again after loading).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from ..service import grants, imports, keystores, lifecycle, multiregion, rotation
from ..service.states import STATES

__all__ = ["ACTIONS", "GAUGES", "describe_action", "rebuild_action", "describe_gauge",
           "rebuild_gauge", "ActionError"]


class ActionError(ValueError):
    """A scheduled action (or gauge) that a snapshot cannot describe or rebuild."""


@dataclass(frozen=True)
class ActionKind:
    """One kind of scheduled action: the function the clock calls and its parameters.

    ``params`` names each argument after the environment (``passes_env``: the first argument is
    the services' environment, ``lab.env``): ``key`` (a KMS key, saved as
    its ARN), ``store`` (a custom key store, saved as its id), ``material``
    (a key material version of the action's ``key``, saved as its id).
    ``retired``: parameters that documents written by an earlier kmslab of the
    same payload format hold and kmslab no longer needs (key states), checked
    and then ignored.
    """

    name: str
    function: Callable
    params: tuple[str, ...]
    passes_env: bool = True
    passes_stores: bool = False
    retired: tuple[str, ...] = ()


#: every action kmslab schedules, by the kind a snapshot names it with
ACTIONS: dict[str, ActionKind] = {kind.name: kind for kind in (
    ActionKind("DeleteKey", lifecycle.delete_key, ("key",)),
    ActionKind("GrantInEffect", grants._grant_in_effect, ("key",), passes_env=False),
    ActionKind("FinishConnect", keystores._finish_connect, ("store",), passes_env=False,
               passes_stores=True),
    ActionKind("ReplicaReady", multiregion._replica_ready, ("key",)),
    # its keys leave Updating by the state machine; earlier documents also named their states
    ActionKind("PrimaryUpdateDone", multiregion._primary_update_done, ("key", "new_key"),
               retired=("state", "new_state")),
    ActionKind("AutomaticRotation", rotation._automatic_rotation_due, ("key",)),
    ActionKind("OnDemandRotation", rotation._complete_on_demand, ("key",)),
    ActionKind("ExpireMaterial", imports.expire_material, ("key", "material")),
)}
_BY_FUNCTION = {kind.function: kind for kind in ACTIONS.values()}

#: every metric value kmslab publishes, by kind: (function, parameters)
GAUGES: dict[str, tuple[Callable, tuple[str, ...]]] = {
    "SecondsUntilKeyMaterialExpiration": (imports._seconds_until_expiry, ("key",)),
}
_GAUGE_BY_FUNCTION = {fn: name for name, (fn, _) in GAUGES.items()}


def _key_arn(value: Any, lab, what: str) -> str:
    arn = getattr(value, "arn", None)
    svc = lab._services.get((getattr(value, "account", None), getattr(value, "region", None)))
    if arn is None or svc is None or svc.keys.get(value.key_id) is not value:
        raise ActionError(f"{what} refers to a KMS key that is no longer in the lab")
    return arn


def describe_action(action: Callable, lab, label: str) -> dict:
    """``{"kind": ..., parameters}`` for a pending action of the lab (ActionError otherwise)."""
    kind = None
    if isinstance(action, partial) and not action.keywords:
        kind = _BY_FUNCTION.get(action.func)
    if kind is None:
        raise ActionError(
            f"the lab's clock holds an action scheduled by your own code ({label or 'no label'}: "
            f"{getattr(action, '__qualname__', type(action).__name__)}); a snapshot keeps only "
            f"kmslab's own scheduled events. Cancel it (event.cancel()), save, and schedule it "
            f"again after loading")
    args = list(action.args)  # type: ignore[attr-defined]  # a partial: kind was found
    if kind.passes_env or kind.passes_stores:
        args = args[1:]
    if len(args) != len(kind.params):
        raise ActionError(f"scheduled action {kind.name} ({label}) has unexpected arguments")
    out: dict[str, Any] = {"kind": kind.name}
    for name, value in zip(kind.params, args, strict=True):
        if name in ("key", "new_key"):
            out[name] = _key_arn(value, lab, f"scheduled action {kind.name} ({label})")
        elif name == "store":
            out[name] = value.store_id
        else:  # material
            out[name] = value.material_id
    return out


def rebuild_action(node, lab, keys: dict, stores: dict) -> Callable:
    """The callable for a saved action (``node``: a plaindata Node of the action object).

    ``keys`` maps key ARNs to the restored keys, ``stores`` store ids to stores.
    Raises plaindata.DataError for anything unknown.
    """
    kind = ACTIONS[node["kind"].choice(ACTIONS)]
    node.object(("kind", *kind.params, *kind.retired), required=kind.params)
    for name in kind.retired:
        if not node[name].null:
            node[name].choice(STATES)
    args: list[Any] = []
    key = None
    for name in kind.params:
        part = node[name]
        if name in ("key", "new_key"):
            found = keys.get(part.str())
            if found is None:
                raise part.fail("names a key that is not in the lab")
            args.append(found)
            key = found if name == "key" else key
        elif name == "store":
            store = stores.get(part.str())
            if store is None:
                raise part.fail("names a custom key store that is not in the lab")
            args.append(store)
        else:  # material
            material_id = part.str()
            assert key is not None  # ExpireMaterial names its key first
            version = next((v for v in key.versions if v.material_id == material_id), None)
            if version is None:
                raise part.fail("names key material the key does not have")
            args.append(version)
    _check_preconditions(kind, node, args)
    if kind.passes_stores:
        args.insert(0, lab.custom_key_stores)
    elif kind.passes_env:
        args.insert(0, lab.env)
    return partial(kind.function, *args)


def _check_preconditions(kind: ActionKind, node, args: list) -> None:
    """What kmslab schedules an action for holds of the keys it names (a crafted file aside)."""
    if kind.name == "PrimaryUpdateDone" and not all(
            key.multi_region and isinstance(key.multi_region_config, dict) for key in args[:2]):
        raise node.fail("UpdatePrimaryRegion completes for multi-Region keys only")
    if kind.name == "OnDemandRotation":
        key = args[0]
        if key.origin == "EXTERNAL" and not any(v.state == "PENDING_ROTATION" for v in key.versions):
            raise node.fail("an imported key rotates on demand to material waiting in "
                            "PENDING_ROTATION")


def describe_gauge(value_at: Callable, lab) -> dict:
    """``{"kind": ..., parameters}`` for a gauge's value function (ActionError otherwise)."""
    name = None
    if isinstance(value_at, partial) and not value_at.keywords:
        name = _GAUGE_BY_FUNCTION.get(value_at.func)
    if name is None:
        raise ActionError(f"a metric series is computed by your own code "
                          f"({getattr(value_at, '__qualname__', type(value_at).__name__)}); a "
                          f"snapshot keeps only kmslab's own metrics")
    _, params = GAUGES[name]
    out: dict[str, Any] = {"kind": name}
    for param, value in zip(params, value_at.args, strict=True):  # type: ignore[attr-defined]
        out[param] = _key_arn(value, lab, f"metric {name}")
    return out


def rebuild_gauge(node, keys: dict) -> Callable:
    """The value function of a saved gauge (plaindata.DataError for anything unknown)."""
    name = node["kind"].choice(GAUGES)
    function, params = GAUGES[name]
    node.object(("kind", *params), required=params)
    args = []
    for param in params:
        found = keys.get(node[param].str())
        if found is None:
            raise node[param].fail("names a key that is not in the lab")
        args.append(found)
    return partial(function, *args)
