"""Save and restore a whole lab, encrypted under a passphrase.

``lab.save(path, passphrase=...)`` writes everything a learner built (accounts,
principals, access keys, keys with every material version, policies, grants,
aliases, tags, key stores, scheduled events, the clock, the audit trail,
events and metrics, the id/seed state) and ``kmslab.Lab.load(path,
passphrase=...)`` brings it back. ``lab.to_bytes(...)`` / ``Lab.from_bytes``
do the same in memory (for a notebook download/upload button).

Format: the payload is sealed by :mod:`kmslab.crypto.sealing` (scrypt +
AES-256-GCM, versioned header documented there). Inside, a one-line JSON
header (kmslab version, format version, lab time, saved-at) and then the lab's
object graph, pickled with two safeguards:

* key material is exported only through the crypto layer's explicit
  snapshot token and re-imported through the documented constructors;
* loading uses an allow-list unpickler (kmslab's own classes and plain data
  types only), and only after the AES-GCM tag has verified, so a wrong
  passphrase or a flipped bit is refused before anything is read, and
  nothing half-loaded ever replaces a lab.

Hooks, event subscribers and alarm actions (widgets, fault injectors',
notebooks' callbacks) are attachments, not state: they are not saved; attach
them again after loading. Everything else a lab holds must be plain data,
kmslab objects, or functions/``functools.partial`` of kmslab functions.

The format is documented in ``docs/snapshot-format.md``.

Writes are atomic: a temporary file in the same folder, flushed and fsynced,
then renamed over the target, so a crash mid-save never destroys the previous
snapshot.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import tempfile
import threading
import types
from datetime import datetime, timezone
from typing import Any, Callable

from . import __version__
from .crypto import sealing
from .crypto.handle import OpaqueHandle, SNAPSHOT_EXPORT_TOKEN

__all__ = ["save_bytes", "load_bytes", "save", "load", "SnapshotError", "register_reducer"]

PAYLOAD_FORMAT = 1
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


class SnapshotError(ValueError):
    """A snapshot cannot be written or read; the message says exactly why."""


# ----------------------------------------------------------------- reducers

_REDUCERS: dict[type, Callable[[Any], tuple]] = {}


def register_reducer(cls: type, reducer: Callable[[Any], tuple]) -> None:
    """Teach snapshots how to save objects of ``cls`` (``reducer(obj) -> (fn, args)``)."""
    _REDUCERS[cls] = reducer


def _restore_handle(kind: str, spec: str, secret: bytes):
    from .crypto import asymmetric, mac, symmetric, wrapping
    if kind == "SymmetricMaterial":
        return symmetric.SymmetricMaterial.from_bytes(secret)
    if kind == "HmacMaterial":
        return mac.HmacMaterial.from_bytes(spec, secret)
    if kind == "AsymmetricMaterial":
        return asymmetric.AsymmetricMaterial.from_pkcs8(spec, secret)
    if kind == "WrappingKey":
        return wrapping.WrappingKey.from_pkcs8(spec, secret)
    raise SnapshotError(f"unknown key material type {kind!r} in snapshot")


def _reduce_handle(obj: OpaqueHandle) -> tuple:
    kind = type(obj).__name__
    if hasattr(obj, "export_private_pkcs8"):
        secret = obj.export_private_pkcs8(SNAPSHOT_EXPORT_TOKEN)
    elif hasattr(obj, "export_raw"):
        secret = obj.export_raw(SNAPSHOT_EXPORT_TOKEN)
    else:
        raise SnapshotError(f"{kind} has no snapshot export")
    return _restore_handle, (kind, obj.spec, secret)


def _bound_method(obj, name: str):
    """Rebuild a bound method of a kmslab object (and nothing else)."""
    method = getattr(obj, name, None) if not name.startswith("_") and name not in _NO_METHODS else None
    func = getattr(method, "__func__", None)
    if func is None or not _callable_module(getattr(func, "__module__", "")):
        raise SnapshotError(f"snapshot refers to a method {name!r} kmslab does not load")
    return method


# A snapshot may store (and so, crafted, may call) kmslab functions: the lab's own
# scheduled actions, gauges and restorers. Never those of modules that write files,
# compile code, serve or draw, nor the methods that write a lab out.
_NO_FUNCTIONS_FROM = ("kmslab.service.model", "kmslab.audit", "kmslab.seed", "kmslab.interop",
                      "kmslab.cli", "kmslab.demo", "kmslab.widgets", "kmslab.workload",
                      "kmslab.latency", "kmslab.frames", "kmslab.plots", "kmslab.envelope",
                      "kmslab.byok", "kmslab.pki", "kmslab.escrow", "kmslab.snapshot")
_SNAPSHOT_FUNCTIONS = {"_restore_handle", "_bound_method", "_new_lock"}
_NO_METHODS = {"save", "load", "to_bytes", "from_bytes", "from_seed", "to_seed", "simulate"}


def _callable_module(module: str) -> bool:
    return module.startswith("kmslab") and not any(
        module == denied or module.startswith(denied + ".") for denied in _NO_FUNCTIONS_FROM)


def _new_lock(reentrant: bool):
    return threading.RLock() if reentrant else threading.Lock()


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, OpaqueHandle):
            return _reduce_handle(obj)
        if isinstance(obj, _LOCK_TYPES):
            return _new_lock, (isinstance(obj, type(threading.RLock())),)
        if isinstance(obj, types.MethodType) and getattr(obj.__func__, "__module__", "").startswith("kmslab"):
            return _bound_method, (obj.__self__, obj.__func__.__name__)
        if isinstance(obj, types.FunctionType) and obj.__name__ == "<lambda>":
            raise SnapshotError("a scheduled action or stored callback is a lambda, which cannot "
                                "be saved; use a function or functools.partial")
        reducer = _REDUCERS.get(type(obj))
        if reducer is not None:
            return reducer(obj)
        return NotImplemented


# Plain data types a lab may hold, by exact name. Whole modules are never
# allowed: ``operator.attrgetter`` or ``types.FunctionType`` would let a crafted
# snapshot reach arbitrary code.
_SAFE_GLOBALS = {
    "builtins": {"set", "frozenset", "bytearray", "complex", "slice", "range", "object",
                 "bytes", "list", "dict", "tuple", "str", "int", "float", "bool"},
    "datetime": {"datetime", "timedelta", "timezone", "date", "time"},
    "collections": {"OrderedDict", "deque", "defaultdict", "Counter"},
    "functools": {"partial"},
    "random": {"Random"},
    "copyreg": {"_reconstructor"},
    "decimal": {"Decimal"},
    "uuid": {"UUID"},
    "ipaddress": {"IPv4Address", "IPv6Address", "IPv4Network", "IPv6Network"},
    "re": {"_compile"},
}


class _Unpickler(pickle.Unpickler):
    """Only kmslab's classes and plain data types may be rebuilt from a snapshot."""

    def find_class(self, module: str, name: str):
        found = None
        if name in _SAFE_GLOBALS.get(module, ()):
            found = super().find_class(module, name)
        elif module.split(".")[0] == "kmslab":
            found = super().find_class(module, name)
            # only what a module defines itself: never a module, never a name it imported;
            # functions only from modules that hold lab state (see _NO_FUNCTIONS_FROM)
            defined_in = getattr(found, "__module__", "") or ""
            if isinstance(found, types.ModuleType) or not defined_in.startswith("kmslab"):
                found = None
            elif not isinstance(found, type) and not (
                    _callable_module(defined_in) or
                    (module == __name__ and name in _SNAPSHOT_FUNCTIONS)):
                found = None
        if found is None:
            raise SnapshotError(f"snapshot refers to {module}.{name}, which kmslab does not load")
        return found


# ----------------------------------------------------------------- bytes

def save_bytes(lab, passphrase: str | bytes) -> bytes:
    """The lab as sealed snapshot bytes."""
    header = {"kmslab": __version__, "format": PAYLOAD_FORMAT,
              "lab_time": lab.clock.now().isoformat(),
              "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    buf = io.BytesIO()
    buf.write(json.dumps(header).encode() + b"\n")
    with lab.lock:
        try:
            _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(lab)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise SnapshotError(f"this lab holds something that cannot be saved: {exc}") from exc
    return sealing.seal(buf.getvalue(), passphrase)


def load_bytes(data: bytes, passphrase: str | bytes):
    """A lab from sealed snapshot bytes (SnapshotError if it cannot be loaded)."""
    try:
        payload = sealing.unseal(bytes(data), passphrase)
    except sealing.SealError as exc:
        raise SnapshotError(str(exc)) from None
    line, _, body = payload.partition(b"\n")
    try:
        header = json.loads(line)
    except ValueError:
        raise SnapshotError("snapshot payload header is not readable") from None
    if header.get("format") != PAYLOAD_FORMAT:
        raise SnapshotError(
            f"snapshot payload format {header.get('format')} (written by kmslab "
            f"{header.get('kmslab')}) is not the format this kmslab {__version__} reads "
            f"({PAYLOAD_FORMAT})")
    try:
        lab = _Unpickler(io.BytesIO(body)).load()
    except SnapshotError:
        raise
    except Exception as exc:
        raise SnapshotError(
            f"snapshot written by kmslab {header.get('kmslab')} cannot be loaded by kmslab "
            f"{__version__}: {type(exc).__name__}: {exc}") from None
    return lab


# ----------------------------------------------------------------- files

def save(lab, path: str | os.PathLike, passphrase: str | bytes, *,
         _writer: Callable[[Any, bytes], None] | None = None) -> None:
    """Write a sealed snapshot atomically (temp file, fsync, rename)."""
    data = save_bytes(lab, passphrase)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".kmslab-snapshot-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            (_writer or (lambda f, d: f.write(d)))(fh, data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path: str | os.PathLike, passphrase: str | bytes):
    """Read a sealed snapshot file into a new lab."""
    with open(path, "rb") as fh:
        return load_bytes(fh.read(), passphrase)
