"""The payload inside a sealed snapshot: one JSON header line, then the lab document.

::

    {"kmslab": "0.1.0", "format": 3, "lab_time": "...", "saved_at": "..."}\\n
    {"lab": {...}, "ids": {...}, "clock": {...}, ...}

The header says which kmslab wrote the file and in which payload format, so a
reader can refuse a format it does not read with a message naming both
versions before looking at the rest. The document (formats 2 and 3) is JSON
text: plain values only (see :mod:`kmslab.snapshot.document`; format 3 leaves
out a key's fields at their defaults).

Format 1 (kmslab 0.1.0) was a pickled object graph. It is refused, never
unpickled: unpickling runs whatever the file asks for, and a class shares
one passphrase, so anyone in the room could have written the file.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ..plaindata import compact_json_bytes
from ..version import __version__
from .document import FORMAT, READABLE, JSONText

__all__ = ["SnapshotError", "encode", "encode_pieces", "decode", "LEGACY_FORMAT"]

#: the pickled payload of kmslab 0.1.0, refused
LEGACY_FORMAT = 1
_MAX_HEADER = 4096


class SnapshotError(ValueError):
    """A snapshot cannot be written or read; the message says exactly why."""


def encode(document: dict, lab_time: str) -> bytes:
    """Header line and document as UTF-8 bytes (SnapshotError if a value is not plain data)."""
    return b"".join(encode_pieces(document, lab_time))


def encode_pieces(document: dict, lab_time: str) -> list[bytes]:
    """:func:`encode` as pieces to join (or to seal one after the other)."""
    header = {"kmslab": __version__, "format": FORMAT, "lab_time": lab_time,
              "saved_at": datetime.now(UTC).isoformat(timespec="seconds")}
    pieces = [json.dumps(header).encode(), b"\n{"]
    try:
        for i, (name, value) in enumerate(document.items()):
            pieces.append((b"," if i else b"") + json.dumps(name).encode() + b":")
            if isinstance(value, JSONText):  # encoded already (a saver's cache)
                pieces.extend(value)
            else:
                pieces.append(compact_json_bytes(value))
    except (TypeError, ValueError) as exc:
        raise SnapshotError(f"this lab holds something that is not plain data and cannot be "
                            f"saved: {exc}") from None
    pieces.append(b"}")
    return pieces


def decode(payload: bytes) -> tuple[dict, Any]:
    """(header, document) from payload bytes; SnapshotError for a format this kmslab does not read."""
    line, newline, body = payload.partition(b"\n")
    header = None
    if newline and len(line) <= _MAX_HEADER:
        try:
            header = json.loads(line)
        except (ValueError, RecursionError):
            header = None
    if not isinstance(header, dict) or not isinstance(header.get("format"), int) \
            or isinstance(header.get("format"), bool):
        raise SnapshotError("the snapshot's contents are not readable: its header line is missing "
                            "or damaged (was it written by kmslab?)")
    version, writer = header["format"], header.get("kmslab")
    writer = writer if isinstance(writer, str) else "an unknown version"
    if version == LEGACY_FORMAT:
        raise SnapshotError(
            f"this snapshot is in payload format 1 (a pickled object graph, written by kmslab "
            f"{writer}): this kmslab reads formats {', '.join(map(str, READABLE))} only and "
            f"never unpickles a file, because loading one can run any code its author put in. "
            f"To keep that lab, open the file with the kmslab that wrote it (only if you trust who "
            f"made it), describe the lab with lab.to_seed() and build it here with "
            f"kmslab.Lab.from_seed(...): accounts, "
            f"principals, keys, aliases and policies come back; key material does not, so "
            f"ciphertexts made under the old keys cannot be decrypted")
    if version not in READABLE:
        raise SnapshotError(
            f"snapshot payload format {version} (written by kmslab {writer}) is not a format "
            f"this kmslab {__version__} reads ({', '.join(map(str, READABLE))})"
            + ("; upgrade kmslab to load it" if version > FORMAT else ""))
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SnapshotError(f"the snapshot's document is not valid JSON: {exc}"[:300]) from None
    return header, document
