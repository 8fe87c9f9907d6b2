"""Reading a plain-data tree (parsed JSON) strictly, with the path of every mistake.

Lab snapshots are documents of plain values: objects, arrays, strings,
numbers, booleans and null. Everything kmslab rebuilds from one is read
through a :class:`Node`, which checks the type (and range, or allowed
values) of each value it hands out and names where a wrong one is::

    node = Node(document, "lab")
    when = node["clock"]["now"].time()       # DataError: lab.clock.now: ...
    state = key["state"].choice(STATES)

Nothing here evaluates or imports anything named in the data: values are
only ever compared with what the caller expects.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = ["DataError", "Node", "RawJSON", "check_plain", "compact_json", "compact_json_bytes",
           "encode_bytes", "encode_time", "plain_copy"]

_MISSING = object()


class DataError(ValueError):
    """A value in a plain-data document is missing or wrong; ``path`` says where."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def check_plain(value: Any, path: str, *, depth: int = 32) -> None:
    """Raise DataError unless ``value`` is plain data: objects with string keys, arrays,
    strings, numbers, booleans and null, nested at most ``depth`` levels."""
    def check(value, path, level):
        if level > depth:
            raise DataError(path, f"nested deeper than {depth} levels")
        if isinstance(value, dict):
            for k, v in value.items():
                if not isinstance(k, str):
                    raise DataError(path, "object keys must be strings")
                check(v, f"{path}.{k}", level + 1)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                check(v, f"{path}[{i}]", level + 1)
        elif not (value is None or isinstance(value, (str, bool, int, float))):
            raise DataError(path, f"expected a plain value, found {type(value).__name__}")
    check(value, path, 0)


def plain_copy(value: Any) -> Any:
    """A deep, mutable copy of plain data held by kmslab (dicts; lists and tuples become lists)."""
    if isinstance(value, dict):
        return {k: plain_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_copy(v) for v in value]
    return value


#: orjson writes the plain types and their subclasses (a FrozenDict as an object) as the
#: standard library does; a datetime or a dataclass goes to the standard library, which refuses it
_ORJSON_PLAIN = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_STDLIB_COMPACT = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
#: with ``utc_times``: orjson writes a datetime in UTC exactly as ``datetime.isoformat`` does
#: (``2025-01-01T09:00:00.000001+00:00``), about five times faster
_ORJSON_UTC_TIMES = orjson.OPT_PASSTHROUGH_DATACLASS


def _utc_time(value: Any) -> str:
    if isinstance(value, datetime) and value.tzinfo is UTC:
        return value.isoformat()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_STDLIB_COMPACT_TIMES = json.JSONEncoder(separators=(",", ":"), allow_nan=False,
                                         default=_utc_time).encode
_COPY_BELOW = 64 << 10


def compact_json_bytes(value: Any, *, utc_times: bool = False) -> bytes:
    """Plain data as compact JSON text in UTF-8 (``{"a":[1,null]}``): how documents are written.

    ``utc_times``: the value may also hold datetimes in UTC (and no other), written as
    :func:`encode_time` writes them (a writer that dumps what it makes at once leaves them as
    they are: formatting a time is most of the cost of a small document).

    orjson writes it, about ten times faster than the standard library's encoder, which
    writes what orjson leaves to it (a lone surrogate, an integer beyond 64 bits, a key
    that is not a string, a tuple subclass) and raises TypeError or ValueError
    for what JSON cannot hold. Either way ``json.loads`` reads back the same value
    (orjson leaves non-ASCII characters unescaped; a float that is not finite becomes null).
    """
    try:
        text = orjson.dumps(value, option=_ORJSON_UTC_TIMES if utc_times else _ORJSON_PLAIN)
    except TypeError:  # orjson.JSONEncodeError
        return (_STDLIB_COMPACT_TIMES if utc_times else _STDLIB_COMPACT)(value).encode()
    # orjson grows its output in place and shrinks it at the end: each small text kept for
    # long (a key's, in a saver's cache) leaves a scrap of the heap behind, and thousands of
    # them make every allocation slower (about 5 us a key document instead of 1). A copy of
    # the exact size lets the buffer be used again; a large text is left as it is.
    return bytes(memoryview(text)) if len(text) < _COPY_BELOW else text


class RawJSON:
    """JSON text (bytes) standing for a value in a document being written, used as it is
    (see :meth:`kmslab.audit.AuditStore.tail`)."""

    __slots__ = ("text",)

    def __init__(self, text: bytes):
        self.text = text

    def __repr__(self) -> str:
        return f"RawJSON({len(self.text)} bytes)"


def compact_json(value: Any) -> str:
    """:func:`compact_json_bytes` as text."""
    try:
        return orjson.dumps(value, option=_ORJSON_PLAIN).decode()
    except TypeError:
        return _STDLIB_COMPACT(value)


def encode_bytes(data: bytes) -> str:
    """Bytes as the documents hold them: standard base64 text."""
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def encode_time(when: datetime) -> str:
    """A timezone-aware datetime as the documents hold it: ISO 8601 with its UTC offset."""
    if when.tzinfo is None:
        raise ValueError(f"a time in a lab is timezone-aware, not {when!r}")
    return when.isoformat()


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class Node:
    """One value of a document and where it is; typed accessors raise :class:`DataError`."""

    __slots__ = ("value", "path")

    def __init__(self, value: Any, path: str = "document"):
        self.value = value
        self.path = path

    def __repr__(self) -> str:
        return f"<Node {self.path}: {_kind(self.value)}>"

    def fail(self, message: str) -> DataError:
        """A DataError at this node (to raise)."""
        return DataError(self.path, message)

    def _expect(self, ok: bool, what: str):
        if not ok:
            shown = repr(self.value)
            if len(shown) > 60:
                shown = shown[:57] + "..."
            raise self.fail(f"expected {what}, found {_kind(self.value)} {shown}")

    # ------------------------------------------------------------ objects
    def object(self, allowed: Iterable[str] | None = None,
               required: Iterable[str] = ()) -> Node:
        """This node, checked to be an object (with only ``allowed`` and all ``required`` fields)."""
        self._expect(isinstance(self.value, dict), "an object")
        if allowed is not None:
            allowed = set(allowed)
            unknown = sorted(str(k) for k in self.value if k not in allowed)
            if unknown:
                raise DataError(f"{self.path}.{unknown[0]}", "unknown field")
        for name in required:
            if name not in self.value:
                raise self.fail(f"missing field {name!r}")
        return self

    def __getitem__(self, name: str) -> Node:
        """The field ``name`` of this object (missing fields read as null)."""
        self._expect(isinstance(self.value, dict), "an object")
        return Node(self.value.get(name), f"{self.path}.{name}")

    def has(self, name: str) -> bool:
        """Whether this object has the field ``name`` with a value (null reads as absent)."""
        self._expect(isinstance(self.value, dict), "an object")
        return self.value.get(name) is not None

    def items(self) -> Iterator[tuple[str, Node]]:
        """(name, node) for every field of this object, in document order."""
        self._expect(isinstance(self.value, dict), "an object")
        for name, value in self.value.items():
            yield name, Node(value, f"{self.path}.{name}")

    # ------------------------------------------------------------ arrays
    def list(self, *, max_len: int | None = None) -> list[Node]:
        """The elements of this array, as nodes."""
        self._expect(isinstance(self.value, list), "an array")
        if max_len is not None and len(self.value) > max_len:
            raise self.fail(f"expected at most {max_len} elements, found {len(self.value)}")
        return [Node(v, f"{self.path}[{i}]") for i, v in enumerate(self.value)]

    def tuple(self, n: builtins.int) -> builtins.list[Node]:
        """The elements of this array, which must have exactly ``n`` of them."""
        items = self.list()
        if len(items) != n:
            raise self.fail(f"expected an array of {n} elements, found {len(items)}")
        return items

    # ------------------------------------------------------------ scalars
    @property
    def null(self) -> bool:
        """Whether the value is null (or the field is missing)."""
        return self.value is None

    def optional(self, read: Callable[[Node], Any]) -> Any:
        """None for null, else ``read(self)``."""
        return None if self.value is None else read(self)

    def str(self, *, nonempty: bool = False, max_len: int | None = None) -> str:
        """A string (``nonempty``: not empty; at most ``max_len`` characters)."""
        self._expect(isinstance(self.value, str), "a string")
        if nonempty and not self.value:
            raise self.fail("expected a non-empty string")
        if max_len is not None and len(self.value) > max_len:
            raise self.fail(f"expected at most {max_len} characters")
        return self.value

    def opt_str(self, **options) -> builtins.str | None:
        """None for null, else :meth:`str`."""
        return None if self.value is None else self.str(**options)

    def choice(self, allowed: Iterable[builtins.str]) -> builtins.str:
        """A string that is one of ``allowed``."""
        allowed = tuple(allowed)
        if not isinstance(self.value, str) or self.value not in allowed:
            shown = ", ".join(allowed) if len(allowed) <= 12 else f"{len(allowed)} known values"
            raise self.fail(f"expected one of {shown}, found {self.value!r}"[:300])
        return self.value

    def opt_choice(self, allowed: Iterable[builtins.str]) -> builtins.str | None:
        """None for null, else :meth:`choice`."""
        return None if self.value is None else self.choice(allowed)

    def int(self, lo: int | None = None, hi: int | None = None) -> int:
        """An integer (not a boolean) in ``[lo, hi]``."""
        self._expect(isinstance(self.value, int) and not isinstance(self.value, bool), "an integer")
        if (lo is not None and self.value < lo) or (hi is not None and self.value > hi):
            raise self.fail(f"expected an integer in [{lo}, {hi}], found {self.value}")
        return self.value

    def opt_int(self, lo: builtins.int | None = None,
                hi: builtins.int | None = None) -> builtins.int | None:
        """None for null, else :meth:`int`."""
        return None if self.value is None else self.int(lo, hi)

    def number(self) -> float:
        """A finite number (integer or float; not a boolean, NaN or infinity), as a float."""
        self._expect(isinstance(self.value, (int, float)) and not isinstance(self.value, bool)
                     and self.value == self.value and abs(self.value) != float("inf"),
                     "a finite number")
        return float(self.value)

    def bool(self) -> bool:
        """``true`` or ``false``."""
        self._expect(isinstance(self.value, bool), "true or false")
        return self.value

    def opt_bool(self) -> builtins.bool | None:
        """None for null, else :meth:`bool`."""
        return None if self.value is None else self.bool()

    def time(self) -> datetime:
        """An ISO 8601 time with a UTC offset (``2025-01-01T09:00:00+00:00``)."""
        text = self.str()
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise self.fail(f"expected an ISO 8601 time, found {text[:40]!r}") from None
        if when.tzinfo is None or when.utcoffset() is None:
            raise self.fail(f"expected a time with a UTC offset, found {text[:40]!r}")
        return when

    def opt_time(self) -> datetime | None:
        """None for null, else :meth:`time`."""
        return None if self.value is None else self.time()

    def bytes(self, *, length: builtins.int | None = None,
              max_len: builtins.int | None = None) -> builtins.bytes:
        """Bytes written as base64 text."""
        text = self.str()
        try:
            data = base64.b64decode(text.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise self.fail("expected base64 text") from None
        if length is not None and len(data) != length:
            raise self.fail(f"expected {length} bytes, found {len(data)}")
        if max_len is not None and len(data) > max_len:
            raise self.fail(f"expected at most {max_len} bytes, found {len(data)}")
        return data

    def opt_bytes(self, **options) -> builtins.bytes | None:
        """None for null, else :meth:`bytes`."""
        return None if self.value is None else self.bytes(**options)

    def str_map(self) -> dict[builtins.str, builtins.str]:
        """An object whose values are all strings (tags, an encryption context)."""
        out = {}
        for name, node in self.items():
            out[name] = node.str()
        return out

    def str_list(self) -> builtins.list[builtins.str]:
        """An array whose elements are all strings."""
        return [node.str() for node in self.list()]

    def json(self, *, depth: builtins.int = 32) -> Any:
        """Any plain value (objects with string keys, arrays, scalars), nested at most ``depth``."""
        check_plain(self.value, self.path, depth=depth)
        return self.value

    def json_object(self, *, depth: builtins.int = 32) -> dict:
        """An object of plain values (see :meth:`json`)."""
        self._expect(isinstance(self.value, dict), "an object")
        return self.json(depth=depth)
