"""Opaque key handles and the one explicit token that can read material out of them.

A KMS key never hands out its material (AWS KMS keeps it inside HSMs). Every
crypto object that holds secret material in kmslab derives from
:class:`OpaqueHandle`: its repr names the key spec only, it cannot be built
by calling the class, and it refuses pickling (a copy is the same immutable handle), so material cannot
slip into a notebook output, a dataframe, a log line or a pickle by accident.

The lab's snapshot code is the single place that needs the raw bytes (to save
and restore a lab). It passes :data:`SNAPSHOT_EXPORT_TOKEN` to an
``export_...`` method, in the spirit of tink's explicit secret-key access
token: reading material out is possible, never accidental, and easy to grep.
"""

from __future__ import annotations

__all__ = ["OpaqueHandle", "SNAPSHOT_EXPORT_TOKEN", "SecretExportToken", "require_export_token"]


class SecretExportToken:
    """Permission to read secret key material out of a handle (lab snapshots only)."""

    __slots__ = ()
    _instance: SecretExportToken | None = None

    def __new__(cls):
        if cls._instance is not None:
            raise TypeError("use kmslab.crypto.handle.SNAPSHOT_EXPORT_TOKEN; no other token exists")
        cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "SNAPSHOT_EXPORT_TOKEN"

    def __reduce__(self):
        raise TypeError("the secret export token cannot be pickled")


#: the only token ``export_...`` methods accept
SNAPSHOT_EXPORT_TOKEN = SecretExportToken()


def require_export_token(token: object) -> None:
    """Refuse to export material unless the caller holds the snapshot token."""
    if token is not SNAPSHOT_EXPORT_TOKEN:
        raise PermissionError(
            "key material never leaves kmslab's crypto layer; only lab snapshots may "
            "export it, by passing kmslab.crypto.handle.SNAPSHOT_EXPORT_TOKEN")


# Passed by the classmethods of subclasses to __init__; calling a handle class
# directly (without it) is refused, so material always arrives through a
# documented constructor (generate, from_pkcs8, from_bytes...).
_CONSTRUCT = object()


class OpaqueHandle:
    """Base of every object that holds key material: no repr of material, no pickling."""

    __slots__ = ("_spec",)

    def __init__(self, spec: str, _construct: object = None):
        if _construct is not _CONSTRUCT:
            raise TypeError(f"{type(self).__name__} cannot be built directly; "
                            f"use {type(self).__name__}.generate(...) or an import constructor")
        self._spec = spec

    @property
    def spec(self) -> str:
        """The KeySpec (or WrappingKeySpec) this material belongs to."""
        return self._spec

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._spec} (material hidden)>"

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        raise TypeError(f"{type(self).__name__} cannot be pickled: key material never leaves kmslab")

    def __reduce__(self):
        raise TypeError(f"{type(self).__name__} cannot be pickled: key material never leaves kmslab")

    # Handles are immutable, so copying one shares it (as copy does for ints):
    # a deep copy of a key record never duplicates or serializes the material.
    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self
