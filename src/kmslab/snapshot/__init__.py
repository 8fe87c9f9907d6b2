"""Save and restore a whole lab, encrypted under a passphrase.

``lab.save(path, passphrase=...)`` writes everything a learner built and
``kmslab.Lab.load(path, passphrase=...)`` brings it back; ``lab.to_bytes(...)``
and ``Lab.from_bytes(...)`` do the same in memory (a notebook's download and
upload buttons).

A snapshot is *data*, in two layers (``docs/snapshot-format.md``):

* the sealed envelope (:mod:`kmslab.crypto.sealing`): scrypt + AES-256-GCM,
  its KDF parameters checked before any work, so a wrong passphrase, any
  change or a costly header is refused before anything is read;
* inside, the payload (:mod:`.payload`): a JSON header line and a JSON
  document of plain values saying what the lab is (:mod:`.document`).

Loading builds a new lab with kmslab's own constructors from those values:
nothing is unpickled, evaluated or imported, no code or class name is taken
from the file, key material comes back only through the crypto layer's
documented constructors. Anything wrong, anywhere, is a :class:`SnapshotError`
with a message a learner can act on; nothing half-loaded ever replaces a lab.

Hooks, event subscribers, alarm actions, injected faults and request quotas
are attachments (callbacks), not state: they are not saved. An action a
notebook scheduled on the clock is not kmslab's either; a lab holding one is
refused with a message saying so.

Writes are atomic (:mod:`.files`); :class:`~kmslab.snapshot.autosave.AutoSaver`
keeps a file up to date while a lab is served.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ..crypto import sealing
from ..crypto.sealing import SealingKey
from ..plaindata import DataError
from . import document as _document
from . import journal
from .actions import ActionError
from .files import remove_stale_temporaries, write_atomic
from .payload import LEGACY_FORMAT, SnapshotError, decode, encode, encode_pieces

__all__ = ["save_bytes", "load_bytes", "save", "load", "SnapshotError", "SealingKey",
           "to_document", "write_document", "when_material_ready", "from_document",
           "read_document", "seal_document", "seal_document_pieces", "PAYLOAD_FORMAT", "LEGACY_FORMAT",
           "remove_stale_temporaries"]

#: the payload format this kmslab writes and reads
PAYLOAD_FORMAT = _document.FORMAT


def _sealing_key(passphrase: str | bytes | None, key: SealingKey | None) -> SealingKey:
    if key is not None:
        if not isinstance(key, SealingKey):
            raise SnapshotError("key must be a kmslab.crypto.sealing.SealingKey")
        return key
    if passphrase is None:
        raise SnapshotError("saving a lab needs a passphrase (or a SealingKey derived from one)")
    try:
        return SealingKey.derive(passphrase)
    except sealing.SealError as exc:
        raise SnapshotError(str(exc)) from None


# ----------------------------------------------------------------- documents

_T = TypeVar("_T")


def when_material_ready(lab, write: Callable[[], _T]) -> _T:
    """``write()`` under the lab's lock, once no key material it reads is still being generated.

    A key pair CreateKey made a moment ago may still be in its prime search
    (:meth:`kmslab.crypto.asymmetric.AsymmetricMaterial.generate_in_background`);
    ``write`` raises :class:`~kmslab.snapshot.document.MaterialPending` for it, and the wait
    happens here, with the lock released, so a save never holds up the lab's other calls.
    """
    while True:
        with lab.lock:
            try:
                return write()
            except _document.MaterialPending as pending:
                material = pending.material
        material.wait()


def write_document(lab, *, cache: dict | None = None, keys_unchanged: bool = False) -> dict:
    """:func:`to_document` for a caller holding the lab's lock; MaterialPending for key
    material still being generated (see :func:`when_material_ready`)."""
    try:
        return _document.write(lab, cache, keys_unchanged=keys_unchanged)
    except ActionError as exc:
        raise SnapshotError(f"this lab cannot be saved: {exc}") from None
    except (TypeError, ValueError) as exc:  # a value with no plain-data form
        raise SnapshotError(f"this lab holds something that is not plain data and cannot "
                            f"be saved: {exc}") from None


def to_document(lab, *, cache: dict | None = None, keys_unchanged: bool = False) -> dict:
    """The lab as a plain-data document (what a snapshot holds, before sealing).

    ``cache``, ``keys_unchanged``: see :func:`kmslab.snapshot.document.write` (savers that
    save often keep a cache).
    """
    return when_material_ready(
        lab, lambda: write_document(lab, cache=cache, keys_unchanged=keys_unchanged))


def from_document(document: Any):
    """A new lab from a plain-data document (SnapshotError naming anything wrong)."""
    try:
        return _document.read(document)
    except DataError as exc:
        raise SnapshotError(f"this snapshot cannot be loaded: {exc}") from None
    except SnapshotError:
        raise
    except Exception as exc:  # a check missed above: still never anything but SnapshotError
        raise SnapshotError(f"this snapshot cannot be loaded: {type(exc).__name__}: {exc}"
                            ) from exc


def seal_document(document: dict, key: SealingKey, *, lab_time: str = "") -> bytes:
    """A sealed snapshot holding ``document`` (as :func:`save_bytes` seals a lab's)."""
    return key.seal(encode(document, lab_time))


def seal_document_pieces(document: dict, key: SealingKey, *,
                         lab_time: str = "") -> tuple[bytes, Iterator[bytes]]:
    """:func:`seal_document` in pieces, for a large lab: (its header, the sealed snapshot as
    pieces to write one after the other). The payload is never held whole, plain or sealed."""
    return key.seal_pieces(encode_pieces(document, lab_time))


# ----------------------------------------------------------------- bytes

def save_bytes(lab, passphrase: str | bytes | None = None, *, key: SealingKey | None = None,
               cache: dict | None = None, keys_unchanged: bool = False) -> bytes:
    """The lab as sealed snapshot bytes.

    ``key``: a :class:`~kmslab.crypto.sealing.SealingKey` derived once from
    the passphrase, so a frequent saver pays for scrypt once; ``cache``: a dict
    kept between saves, so what did not change is not encoded again (``keys_unchanged``: see
    :func:`kmslab.snapshot.document.write`).
    """
    sealing_key = _sealing_key(passphrase, key)
    # the document is a copy: encoding and sealing happen outside the lock
    document, lab_time = when_material_ready(lab, lambda: (
        write_document(lab, cache=cache, keys_unchanged=keys_unchanged),
        lab.clock.now().isoformat()))
    return seal_document(document, sealing_key, lab_time=lab_time)


def load_bytes(data: bytes, passphrase: str | bytes):
    """A lab from sealed snapshot bytes (SnapshotError if it cannot be loaded)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SnapshotError(f"a snapshot is bytes, not {type(data).__name__}")
    try:
        payload = sealing.unseal(bytes(data), passphrase)
    except sealing.SealError as exc:
        raise SnapshotError(str(exc)) from None
    _header, document = decode(payload)
    return from_document(document)


# ----------------------------------------------------------------- files

def save(lab, path: str | os.PathLike, passphrase: str | bytes | None = None, *,
         key: SealingKey | None = None, cache: dict | None = None, keys_unchanged: bool = False,
         _writer: Callable[[Any, bytes], None] | None = None) -> None:
    """Write a sealed snapshot atomically (temporary file, fsync, rename).

    Temporaries left by an earlier save of ``path`` that crashed are removed, and so is a
    journal of the file's earlier writing (:mod:`.journal`): the new snapshot holds it all.
    """
    write_atomic(path, save_bytes(lab, passphrase, key=key, cache=cache,
                                  keys_unchanged=keys_unchanged), _writer=_writer)
    try:
        os.remove(journal.path_of(path))
    except FileNotFoundError:
        pass


def load(path: str | os.PathLike, passphrase: str | bytes):
    """Read a sealed snapshot file into a new lab, with its journal if it has one
    (SnapshotError if it cannot be loaded)."""
    return from_document(read_document(path, passphrase))


def read_document(path: str | os.PathLike, passphrase: str | bytes) -> Any:
    """The document of a sealed snapshot file, its journal applied (not checked yet: see
    :func:`from_document`)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except (OSError, TypeError, ValueError) as exc:
        raise SnapshotError(f"cannot read the snapshot {path!r}: {exc}") from exc
    try:
        payload, key = sealing.open_sealed(data, passphrase)
    except sealing.SealError as exc:
        raise SnapshotError(str(exc)) from None
    _header, document = decode(payload)
    records = journal.read(path, key, sealing.sealed_id(data))
    if records and not isinstance(document, dict):
        raise SnapshotError("this snapshot cannot be loaded: its document is not an object")
    if records:
        document = journal.apply(document, records)
    return document
