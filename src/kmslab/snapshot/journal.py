"""A snapshot's journal: what changed since the snapshot was written, in sealed records.

A server keeping a large lab saved would rewrite (and re-encrypt) the whole
snapshot every second. Instead, while only calls that never change an
existing key are made, :class:`~kmslab.snapshot.autosave.AutoSaver` appends
what changed (new keys, new audit records, small parts that changed) to
``<snapshot>.journal``, and now and then writes the whole snapshot again
(which starts a new, empty journal). ``Lab.load`` applies the journal of a
snapshot when there is one.

Layout (integers big-endian)::

    offset  size  field
    0       16    magic  b"KMSLAB-JOURNAL\\n\\0"
    16      2     journal format (1)
    18      12    the snapshot it continues: the snapshot's nonce
    30      ...   records: 4-byte length n, then n bytes: a 12-byte nonce and the
                  AES-256-GCM ciphertext and tag of one record (JSON), under the
                  snapshot's key, with the 30-byte header and the record's
                  4-byte number as additional data

A record is a JSON document (see :func:`apply`). Each is authenticated with
its place, so records cannot be reordered, moved to another journal, or
changed. A journal whose header names another snapshot is older than its
snapshot (the snapshot was written again since) and is ignored. A last
record cut short (a crash while appending) is ignored: it is what the crash
lost. A damaged record anywhere else is refused (SnapshotError). As with any
older copy of a snapshot, someone who can write the file can roll it back to
an earlier record without knowing the passphrase: the records after it are
then lost, never replaced.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import struct
from typing import Any

import orjson

from ..crypto.sealing import SealError, SealingKey
from ..plaindata import RawJSON, compact_json_bytes
from .document import SECTIONS, JSONText
from .files import write_atomic
from .payload import SnapshotError

__all__ = ["path_of", "start", "append", "read", "apply", "MAGIC"]

MAGIC = b"KMSLAB-JOURNAL\n\0"
FORMAT = 1
_HEADER = struct.Struct(">16sH12s")
_LENGTH = struct.Struct(">I")
_MAX_RECORD = 1 << 30


def path_of(snapshot_path: str | os.PathLike) -> str:
    """Where the journal of a snapshot file is: next to it, ``.journal`` appended."""
    return os.fspath(snapshot_path) + ".journal"


def _header(snapshot_id: bytes) -> bytes:
    return _HEADER.pack(MAGIC, FORMAT, snapshot_id)


def start(snapshot_path, snapshot_id: bytes) -> int:
    """Start an empty journal for the snapshot just written (atomic); returns its size."""
    header = _header(snapshot_id)
    write_atomic(path_of(snapshot_path), header)
    return len(header)


def append(snapshot_path, key: SealingKey, snapshot_id: bytes, number: int, record: dict) -> int:
    """Append one record (flushed to disk before returning); returns the bytes appended."""
    context = _header(snapshot_id) + _LENGTH.pack(number)
    try:
        text = _record_bytes(record)
    except (TypeError, ValueError) as exc:
        raise SnapshotError(f"this lab holds something that is not plain data and cannot be "
                            f"saved: {exc}") from None
    length = 12 + len(text) + 16  # nonce, ciphertext as long as the text, tag
    with open(path_of(snapshot_path), "ab") as fh:
        fh.write(_LENGTH.pack(length))
        fh.writelines(key.seal_frame(text, context))  # sealed in chunks as written
        fh.flush()
        os.fsync(fh.fileno())
    return _LENGTH.size + length


def _record_bytes(record: dict) -> bytes:
    """A record as compact JSON; the parts written as JSON already (new keys, audit entries)
    are used as they are. orjson writes it in one pass; :func:`_encode` what it leaves."""
    try:
        return orjson.dumps(record, default=_embedded, option=_EMBEDDING)
    except TypeError:
        pieces: list[bytes] = []
        _encode(record, pieces)
        return b"".join(pieces)


#: subclasses of plain types go to _embedded, which knows the parts written as JSON already
_EMBEDDING = (orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME
              | orjson.OPT_PASSTHROUGH_DATACLASS)


def _embedded(value):
    if isinstance(value, JSONText):
        return orjson.Fragment(b"".join(value))
    if isinstance(value, RawJSON):
        return orjson.Fragment(value.text)
    plain: Any
    for plain in (dict, list, str, int, float):  # a FrozenDict, an enumeration's value
        if isinstance(value, plain):
            return plain(value)
    raise TypeError(f"{type(value).__name__} is not plain data")


def _encode(value, out: list[bytes]) -> None:
    """Compact JSON, as pieces appended to ``out``; the parts written as JSON already (new keys,
    audit entries) are used as they are."""
    if isinstance(value, RawJSON):
        out.append(value.text)
    elif isinstance(value, JSONText):
        out.extend(value)
    elif isinstance(value, dict):
        out.append(b"{")
        for i, (name, part) in enumerate(value.items()):
            out.append(b"," + compact_json_bytes(name) + b":" if i else compact_json_bytes(name) + b":")
            _encode(part, out)
        out.append(b"}")
    elif isinstance(value, list) and any(isinstance(v, (dict, JSONText)) for v in value):
        out.append(b"[")
        for i, part in enumerate(value):
            if i:
                out.append(b",")
            _encode(part, out)
        out.append(b"]")
    else:
        out.append(compact_json_bytes(value))


def read(snapshot_path, key: SealingKey, snapshot_id: bytes) -> list[dict]:
    """The records of a snapshot's journal ([] when it has none, or an older one)."""
    try:
        with open(path_of(snapshot_path), "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise SnapshotError(f"cannot read the snapshot's journal: {exc}") from exc
    if len(data) < _HEADER.size or not data.startswith(MAGIC):
        raise SnapshotError(f"{path_of(snapshot_path)} is not a kmslab journal; move it away to "
                            f"load the snapshot without it")
    _, version, names = _HEADER.unpack_from(data)
    if version != FORMAT:
        raise SnapshotError(f"the snapshot's journal has format {version}; this kmslab reads "
                            f"format {FORMAT}")
    if names != snapshot_id:
        return []  # the journal of an earlier writing of the snapshot: the snapshot holds it all
    records, offset, number = [], _HEADER.size, 0
    while offset + _LENGTH.size <= len(data):
        (length,) = _LENGTH.unpack_from(data, offset)
        end = offset + _LENGTH.size + length
        if length > _MAX_RECORD or end > len(data):
            break  # cut short while being appended
        try:
            text = key.open_frame(data[offset + _LENGTH.size:end],
                                  _header(snapshot_id) + _LENGTH.pack(number))
        except SealError:
            if end == len(data):
                break  # the last record, unfinished when the writer stopped
            raise SnapshotError(f"the snapshot's journal was modified (record {number})") from None
        try:
            record = json.loads(text)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise SnapshotError(f"the snapshot's journal record {number} is not JSON") from None
        records.append(record)
        offset, number = end, number + 1
    return records


# ----------------------------------------------------------------- applying records

def apply(document: dict, records: list) -> dict:
    """The document with a journal's records applied in turn (SnapshotError naming the first
    that does not fit).

    A record is ``{"sections": {name: part}, "services": [...], "audit": tail}``:
    each section named replaces the document's; each service gets the Region's
    aliases and hidden keys given and the keys listed (new, or replacing the key
    of the same id); the audit trail gets the records of the tail appended (see
    :meth:`kmslab.audit.AuditStore.tail`). The result is checked in full when the
    lab is built from it. A journal may hold thousands of records: each Region's
    keys are indexed once and the trail's columns decoded once, not once per record.
    """
    applier = _Applier(document)
    for number, record in enumerate(records):
        try:
            applier.apply(record)
        except SnapshotError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
            raise SnapshotError(f"the snapshot's journal record {number} does not fit the snapshot: "
                                f"{type(exc).__name__}: {exc}"[:300]) from None
    applier.finish()
    return document


class _Applier:
    """Applies records to one document (see :func:`apply`)."""

    def __init__(self, document: dict):
        self.document = document
        self.indexes: dict[tuple, dict] = {}   # (account, region): {key id: position}
        self.trail: _Trail | None = None

    def apply(self, record: Any) -> None:
        document = self.document
        if not isinstance(record, dict) or set(record) - {"sections", "services", "audit"}:
            raise ValueError("unknown fields")
        for name, part in record.get("sections", {}).items():
            if name not in SECTIONS:
                raise ValueError(f"unknown section {name!r}")
            document[name] = part
        services = document["services"]
        for entry in record.get("services", []):
            where = (entry["account"], entry["region"])
            target = next((s for s in services if (s["account"], s["region"]) == where), None)
            if target is None:
                services.append(entry)
                continue
            for name in ("aliases", "hidden_keys"):
                target[name] = entry[name]
            keys = target["keys"]
            index = self.indexes.get(where)
            if index is None:
                index = self.indexes[where] = {k["key_id"]: i for i, k in enumerate(keys)}
            for key in entry["keys"]:
                position = index.get(key["key_id"])
                if position is None:
                    index[key["key_id"]] = len(keys)
                    keys.append(key)
                else:
                    keys[position] = key
        if "audit" in record:
            if self.trail is None:
                self.trail = _Trail(document["audit"])
            self.trail.append(record["audit"])

    def finish(self) -> None:
        if self.trail is not None:
            self.trail.finish()


class _Trail:
    """A stored trail that tails are appended to: its columns decoded once, its pools
    extended in place, the columns written back by :meth:`finish`."""

    _COLUMNS = ("shape", "time_starts", "time_values", "seq_starts", "seq_offsets")

    def __init__(self, audit: dict):
        if not isinstance(audit, dict):
            raise TypeError("the trail is an object")
        self.audit = audit
        self.columns = {name: bytearray(_b64(audit[name])) for name in self._COLUMNS}
        self.pools = {name: list(audit.get(name, [])) for name in _POOLS}

    def append(self, tail: dict) -> None:
        start, audit = tail["from"], self.audit
        if start["rows"] != audit["rows"] or any(
                start.get(name, 0) != len(self.pools[name]) for name in _POOLS) or any(
                start[name] != len(self.columns[name]) // 8 for name in ("time_starts", "seq_starts")):
            raise SnapshotError("the snapshot's journal does not continue its audit trail")
        added = {name: _b64(tail[name]) for name in self._COLUMNS}  # all checked before any change
        pools = {name: list(tail.get(name, [])) for name in _POOLS}
        audit["rows"] = tail["rows"]
        audit["sorted"] = tail["sorted"]
        for name, data in added.items():
            self.columns[name] += data
        for name, entries in pools.items():
            self.pools[name] += entries

    def finish(self) -> None:
        for name, data in self.columns.items():
            self.audit[name] = base64.b64encode(data).decode("ascii")
        self.audit.update(self.pools)


def _append_tail(audit: dict, tail: dict) -> None:
    """One tail appended to a stored trail."""
    trail = _Trail(audit)
    trail.append(tail)
    trail.finish()


#: the growing parts of the trail (a journal written before shared_event_ids has none)
_POOLS = ("other_request_ids", "shared_event_ids", "responses", "shapes", "events", "origins",
          "resources", "params", "additional", "errors")


def _b64(text: str) -> bytes:
    if not isinstance(text, str):
        raise TypeError("a column is base64 text")
    return base64.b64decode(text.encode("ascii"), validate=True)
