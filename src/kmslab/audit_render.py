"""Rendering many records of a trail at once: each shape once, then what differs per row.

Records alike in all but time and ids share a :class:`kmslab.audit.Shape`. A
trail of a million records has a few hundred shapes, so exports render one
record per shape with the trail's own renderer (``record_at``) and take each
row's eventTime, eventID and requestID from the trail's columns. Whether a
shape's records really differ in those fields only is checked, not assumed:
the first two rows of each shape are rendered in full and compared; a shape
whose rows differ in anything else, and any row with responseElements or kept
as imported, is rendered in full, row by row.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

#: the fields a trail keeps per row (everything else comes from the row's shape)
PER_ROW = ("eventTime", "eventID", "requestID")
_SENTINEL = "\x00kmslab-per-row-{}\x00"


class Rows:
    """The rows of a trail (or a view), grouped for rendering.

    ``entries``: per row, the index of its entry; an entry is a shape's
    template (a record whose per-row fields are filled in per row) or one
    row's full record. ``templates[i]`` is the record of entry ``i``;
    ``per_row[i]`` says whether its :data:`PER_ROW` fields vary per row.
    """

    def __init__(self, trail):
        log = trail._log
        store = log._store
        self.log = log
        self.rows = np.fromiter(trail._rows(), dtype=np.int64)
        if not store.sorted:  # imported trails may come in any order: exports are in time order
            times = np.fromiter((log.time_us(r) for r in self.rows), dtype=np.int64,
                                count=len(self.rows))
            self.rows = self.rows[np.argsort(times, kind="stable")]
        codes = np.frombuffer(store.shape, dtype=np.int32)[:len(store.shape)].astype(np.int64)
        shapes = codes[self.rows] if len(self.rows) else codes[:0]
        special = set(store.responses) | set(store.overrides)
        if special:
            alone = np.isin(self.rows, np.fromiter(special, dtype=np.int64))
        else:
            alone = np.zeros(len(self.rows), dtype=bool)
        # each shape's first two rows (not counting the rows rendered alone)
        usual = np.flatnonzero(~alone)
        first_shapes, first_at = np.unique(shapes[usual], return_index=True)
        rest = np.delete(usual, first_at)
        second_shapes, second_at = np.unique(shapes[rest], return_index=True)
        second = dict(zip(second_shapes.tolist(), rest[second_at].tolist(), strict=True))
        self.templates: list[dict] = []
        self.per_row: list[bool] = []
        entry_of_shape = np.full(int(codes.max()) + 1 if len(codes) else 1, -1, dtype=np.int64)
        for shape, at in zip(first_shapes.tolist(), usual[first_at].tolist(), strict=True):
            record = log.record_at(int(self.rows[at]))
            other = second.get(shape)
            if other is not None and not _alike(record, log.record_at(int(self.rows[other]))):
                alone[shapes == shape] = True  # its rows differ beyond the per-row fields
                continue
            entry_of_shape[shape] = len(self.templates)
            self.templates.append(record)
            self.per_row.append(True)
        self.entries = entry_of_shape[shapes]
        for i in np.flatnonzero(alone).tolist():
            self.entries[i] = len(self.templates)
            self.templates.append(log.record_at(int(self.rows[i])))
            self.per_row.append(False)

    def __len__(self) -> int:
        return len(self.rows)

    def times(self) -> list[str]:
        """Each row's eventTime (rendered once per distinct time)."""
        log = self.log
        out: list[str] = []
        last_us, last = None, ""
        append = out.append
        for row in self.rows.tolist():
            us = log.time_us(row)
            if us != last_us:
                last_us, last = us, _iso(us)
            append(last)
        return out

    def field(self, name: str) -> list:
        """Each row's eventTime, eventID or requestID (a full record's own where it is
        rendered alone)."""
        log = self.log
        templates, per_row = self.templates, self.per_row
        if name == "eventTime":
            return [when if per_row[e] else templates[e]["eventTime"]
                    for when, e in zip(self.times(), self.entries.tolist(), strict=True)]
        get = log.event_id if name == "eventID" else log.request_id
        has = [name in t for t in templates]
        return [(get(row) if has[e] else None) if per_row[e] else templates[e].get(name)
                for row, e in zip(self.rows.tolist(), self.entries.tolist(), strict=True)]

    def json_texts(self) -> list[tuple[str, str, str, str]]:
        """Each row as (account, Region, eventTime, the record's JSON text)."""
        pieces: list[tuple[list[str], list[str]] | None] = []
        for template, per_row in zip(self.templates, self.per_row, strict=True):
            if not per_row:
                pieces.append(None)
                continue
            marked = dict(template)
            for i, name in enumerate(PER_ROW):
                if name in marked:
                    marked[name] = _SENTINEL.format(i)
            text = _dumps(marked)
            marks = sorted((text.index(mark), mark, name) for mark, name in
                           ((json.dumps(_SENTINEL.format(i)), name)
                            for i, name in enumerate(PER_ROW)) if mark in text)
            parts, names, start = [], [], 0
            for at, mark, name in marks:  # in the order the fields come in the text
                parts.append(text[start:at])
                names.append(name)
                start = at + len(mark)
            parts.append(text[start:])
            pieces.append((parts, names))
        times = self.times()
        event_ids = self.field("eventID")
        request_ids = self.field("requestID")
        out: list[tuple[str, str, str, str]] = []
        append = out.append
        templates = self.templates
        for e, when, event_id, request_id in zip(self.entries.tolist(), times, event_ids,
                                                 request_ids, strict=True):
            template = templates[e]
            piece = pieces[e]
            if piece is None:
                append((template["recipientAccountId"], template["awsRegion"],
                        template["eventTime"], _dumps(template)))
                continue
            parts, names = piece
            values = {"eventTime": when, "eventID": event_id, "requestID": request_id}
            text = parts[0]
            for name, part in zip(names, parts[1:], strict=True):
                text += _string(values[name]) + part
            append((template["recipientAccountId"], template["awsRegion"], when, text))
        return out


def _alike(a: dict, b: dict) -> bool:
    """Two records that differ in the per-row fields only (and have the same fields)."""
    if a.keys() != b.keys():
        return False
    return all(a[k] == b[k] for k in a if k not in PER_ROW)


def _string(value: Any) -> str:
    if value is None:
        return "null"
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return json.dumps(value)


def _dumps(record: dict) -> str:
    return json.dumps(record, separators=(",", ":"))


def _iso(us: int) -> str:
    from .audit import _iso as iso
    return iso(us)
