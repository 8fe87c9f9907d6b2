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

from ..audit import RawJSON
from ..crypto.sealing import SealError, SealingKey
from .document import SECTIONS, JSONText, _dumps
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
    pieces: list[bytes] = []
    try:
        _encode(record, pieces)
    except (TypeError, ValueError) as exc:
        raise SnapshotError(f"this lab holds something that is not plain data and cannot be "
                            f"saved: {exc}") from None
    frame = key.seal_frame(b"".join(pieces), context)
    data = _LENGTH.pack(len(frame)) + frame
    with open(path_of(snapshot_path), "ab") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return len(data)


def _encode(value, out: list[bytes]) -> None:
    """Compact JSON, as pieces appended to ``out``; the parts written as JSON already (new keys,
    audit entries) are used as they are."""
    if isinstance(value, RawJSON):
        out.append(value.encode())
    elif isinstance(value, JSONText):
        out.extend(value)
    elif isinstance(value, dict):
        out.append(b"{")
        for i, (name, part) in enumerate(value.items()):
            out.append(b"," + _dumps(name).encode() + b":" if i else _dumps(name).encode() + b":")
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
        out.append(_dumps(value).encode())


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

def apply(document: dict, record: Any, number: int) -> dict:
    """The document with one journal record applied (SnapshotError if it does not fit).

    A record is ``{"sections": {name: part}, "services": [...], "audit": tail}``:
    each section named replaces the document's; each service gets the Region's
    aliases and hidden keys given and the keys listed (new, or replacing the key
    of the same id); the audit trail gets the records of the tail appended (see
    :meth:`kmslab.audit.AuditStore.tail`). The result is checked in full when the
    lab is built from it.
    """
    try:
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
            index = {k["key_id"]: i for i, k in enumerate(target["keys"])}
            for key in entry["keys"]:
                if key["key_id"] in index:
                    target["keys"][index[key["key_id"]]] = key
                else:
                    index[key["key_id"]] = len(target["keys"])
                    target["keys"].append(key)
        if "audit" in record:
            _append_tail(document["audit"], record["audit"])
    except SnapshotError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
        raise SnapshotError(f"the snapshot's journal record {number} does not fit the snapshot: "
                            f"{type(exc).__name__}: {exc}"[:300]) from None
    return document


def _append_tail(audit: dict, tail: dict) -> None:
    start = tail["from"]
    if start["rows"] != audit["rows"] or any(
            start.get(name, 0) != len(audit.get(name, [])) for name in _POOLS) or any(
            start[name] != len(_b64(audit[name])) // 8 for name in ("time_starts", "seq_starts")):
        raise SnapshotError("the snapshot's journal does not continue its audit trail")
    audit["rows"] = tail["rows"]
    audit["sorted"] = tail["sorted"]
    for name in ("shape", "time_starts", "time_values", "seq_starts", "seq_offsets"):
        audit[name] = base64.b64encode(_b64(audit[name]) + _b64(tail[name])).decode("ascii")
    for name in _POOLS:
        audit[name] = list(audit.get(name, [])) + list(tail.get(name, []))


#: the growing parts of the trail (a journal written before shared_event_ids has none)
_POOLS = ("other_request_ids", "shared_event_ids", "responses", "shapes", "events", "origins",
          "resources", "params", "additional", "errors")


def _b64(text: str) -> bytes:
    if not isinstance(text, str):
        raise TypeError("a column is base64 text")
    return base64.b64decode(text.encode("ascii"), validate=True)
