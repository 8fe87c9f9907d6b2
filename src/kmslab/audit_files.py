"""CloudTrail's log files: a trail written in the layout a trail delivers to S3, and read back.

A CloudTrail trail delivers its records to an S3 bucket as gzipped JSON
files, ``{"Records": [...]}``, one folder tree per account and Region::

    AWSLogs/<account>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/
        <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<UniqueString>.json.gz

The time in the name (and the dated folders) is when the file was delivered,
every few minutes; a file holds records written at any point before that
(AWS CloudTrail User Guide, "CloudTrail log file examples"). The account is
the record's ``recipientAccountId``: the account whose trail receives it.
Athena, Spark and DuckDB read this tree as they read the real one.

    >>> lab.audit.export_cloudtrail_logs("logs")           # the files written
    >>> AuditLog.from_cloudtrail_logs("logs").records() == lab.audit.records()
    True

:class:`LogFileWriter` writes records as they come, holding at most one
file's records per account and Region; a :class:`Delivery` sends what a lab
records to such a writer while it runs, keeping none of it in memory (how
``lab.simulate(..., cloudtrail_logs=directory)`` runs larger than memory).
"""

from __future__ import annotations

import gzip
import hashlib
import heapq
import json
import os
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from .audit import AuditLog, AuditStore, _Trail
from .audit_render import Rows

__all__ = ["LogFileWriter", "export_cloudtrail_logs", "read_cloudtrail_logs",
           "from_cloudtrail_logs", "log_files", "Delivery", "DELIVERY_INTERVAL", "RECORDS_PER_FILE"]

#: how often a trail delivers its log files (CloudTrail: about every five minutes)
DELIVERY_INTERVAL = timedelta(minutes=5)
#: the most records one log file holds
RECORDS_PER_FILE = 2000
#: records a streaming delivery keeps in the lab's trail before writing them out
_SEGMENT_ROWS = 4096

_UTC = UTC
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_FILE_NAME = re.compile(
    r"^(?P<account>\d{12})_CloudTrail_(?P<region>[a-z0-9-]+)_(?P<time>\d{8}T\d{4}Z)_"
    r"(?P<unique>[A-Za-z0-9]{16})\.json\.gz$")


def _unique_string(*parts: str) -> str:
    """The file name's 16-character UniqueString: derived from what the file holds, so a
    seeded lab writes the same names every run and no two files of a trail share one."""
    digest = hashlib.sha256("\0".join(parts).encode()).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:16])


def _seconds(event_time: str) -> int:
    """Seconds since 1970 of an eventTime (``2026-01-02T03:04:05Z``)."""
    when = datetime.fromisoformat(event_time.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=_UTC)
    return int((when - _EPOCH).total_seconds())


class LogFileWriter:
    """Writes CloudTrail records to the delivery layout under ``directory``, as they come.

    Records go to the file of their account (``recipientAccountId``) and
    Region (``awsRegion``) for the delivery interval their eventTime falls in;
    a file is written when the next record of its account and Region belongs
    to a later interval, when it holds ``records_per_file`` records, or on
    :meth:`close`. Give each account and Region its records in time order.
    Memory: at most one file's records per account and Region.

        >>> with LogFileWriter("logs") as out:
        ...     out.write_all(lab.audit)
        >>> out.files        # the paths written, in order
    """

    def __init__(self, directory: str | os.PathLike, *,
                 interval: timedelta = DELIVERY_INTERVAL,
                 records_per_file: int = RECORDS_PER_FILE, compresslevel: int = 6):
        if records_per_file < 1:
            raise ValueError("records_per_file must be at least 1")
        if interval.total_seconds() < 60 or interval.total_seconds() % 60:
            raise ValueError("the delivery interval is a whole number of minutes")
        self.directory = Path(directory)
        self.interval_s = int(interval.total_seconds())
        self.records_per_file = records_per_file
        self.compresslevel = compresslevel
        #: the files written so far, in the order written
        self.files: list[str] = []
        self.records_written = 0
        self._open: dict[tuple[str, str], tuple[int, list[str]]] = {}  # JSON texts per file
        self._windows: dict[str, int] = {}  # eventTime -> its delivery interval (calls share times)

    def __enter__(self) -> LogFileWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _window(self, event_time: str) -> int:
        window = self._windows.get(event_time)
        if window is None:
            if len(self._windows) > 4096:
                self._windows.clear()
            window = self._windows[event_time] = _seconds(event_time) // self.interval_s
        return window

    def write(self, record: dict) -> None:
        """Add one record (CloudTrail JSON) to its account's and Region's current file."""
        self.write_json(record["recipientAccountId"], record["awsRegion"], record["eventTime"],
                        json.dumps(record, separators=(",", ":")))

    def write_json(self, account: str, region: str, event_time: str, text: str) -> None:
        """Add one record given as its JSON text, with its account, Region and eventTime."""
        group = (account, region)
        window = self._window(event_time)
        batch = self._open.get(group)
        if batch is not None and (batch[0] != window or len(batch[1]) >= self.records_per_file):
            self._flush(group)
            batch = None
        if batch is None:
            batch = self._open[group] = (window, [])
        batch[1].append(text)

    def write_all(self, records: Iterable[dict]) -> None:
        """Add records, in time order (a trail, a view, or any iterable of records)."""
        if isinstance(records, _Trail):
            write_json = self.write_json
            for row in Rows(records).json_texts():
                write_json(*row)
            return
        write = self.write
        for record in records:
            write(record)

    def close(self) -> None:
        """Write every file still open (oldest first)."""
        for group in sorted(self._open, key=lambda g: self._open[g][0]):
            self._flush(group)

    def _flush(self, group: tuple[str, str]) -> None:
        window, texts = self._open.pop(group)
        account, region = group
        delivered = _EPOCH + timedelta(seconds=(window + 1) * self.interval_s)
        stamp = delivered.strftime("%Y%m%dT%H%MZ")
        body = ('{"Records":[' + ",".join(texts) + "]}").encode()
        unique = _unique_string(account, region, stamp, hashlib.sha256(body).hexdigest())
        folder = self.directory / "AWSLogs" / account / "CloudTrail" / region / \
            f"{delivered:%Y}" / f"{delivered:%m}" / f"{delivered:%d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{account}_CloudTrail_{region}_{stamp}_{unique}.json.gz"
        with open(path, "xb") as f:  # never overwrite a delivered file
            f.write(gzip.compress(body, compresslevel=self.compresslevel, mtime=0))
        self.files.append(os.fspath(path))
        self.records_written += len(texts)


def export_cloudtrail_logs(trail, directory: str | os.PathLike, *,
                           interval: timedelta = DELIVERY_INTERVAL,
                           records_per_file: int = RECORDS_PER_FILE) -> list[str]:
    """Write ``trail`` (a trail or a view of one) in CloudTrail's delivery layout under
    ``directory``; returns the paths of the files written."""
    with LogFileWriter(directory, interval=interval, records_per_file=records_per_file) as out:
        out.write_all(trail)
    return out.files


def log_files(directory: str | os.PathLike) -> list[Path]:
    """The CloudTrail log files under ``directory`` (the folder holding ``AWSLogs``, or any
    folder inside the tree), by account, Region and delivery time."""
    found = []
    for path in Path(directory).rglob("*_CloudTrail_*.json.gz"):
        m = _FILE_NAME.match(path.name)
        if m is not None:
            found.append(((m["account"], m["region"], m["time"], m["unique"]), path))
    return [path for _, path in sorted(found)]


def _records_of(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or not isinstance(doc.get("Records"), list):
        raise ValueError(f"{path}: not a CloudTrail log file (no Records list)")
    return doc["Records"]


def _group_records(paths: list[Path]) -> Iterator[dict]:
    for path in paths:
        yield from _records_of(path)


def read_cloudtrail_logs(directory: str | os.PathLike) -> Iterator[dict]:
    """The records of a CloudTrail log tree, oldest first, one file at a time.

    Each account's and Region's files are read in delivery order and merged by
    eventTime; records of different accounts or Regions in the same second come
    in eventID order (the files keep no order between them; a lab's eventIDs
    count up, so its own trail reads back in the order it was recorded, a
    cross-account call's record in the caller's account before the owner's copy).
    """
    groups: dict[tuple[str, str], list[Path]] = {}
    for path in log_files(directory):
        m = _FILE_NAME.match(path.name)
        assert m is not None  # log_files lists the names that match
        groups.setdefault((m["account"], m["region"]), []).append(path)
    streams = [_group_records(paths) for _, paths in sorted(groups.items())]
    return heapq.merge(*streams, key=lambda r: (r["eventTime"], r.get("eventID", "")))


def from_cloudtrail_logs(directory: str | os.PathLike) -> AuditLog:
    """A read-only trail from a CloudTrail log tree (see :func:`read_cloudtrail_logs`)."""
    if not Path(directory).is_dir():
        raise FileNotFoundError(f"no such directory: {os.fspath(directory)}")
    return AuditLog._from_records(read_cloudtrail_logs(directory))


# ----------------------------------------------------------------- streaming delivery

class _SegmentStore(AuditStore):
    """A part of a trail being delivered: its eventIDs count on from the rows before it."""

    def __init__(self, event_prefix: str, request_id_at, first_row: int):
        super().__init__(event_prefix, request_id_at)
        self.first_row = first_row

    def event_id(self, row: int) -> str:
        """The eventID of a row: the trail's prefix and the row's number in the whole delivery."""
        return f"{self.event_prefix}{self.first_row + row:012x}"


class _Part(_Trail):
    """A delivered part of a trail, read as a trail (what the writer renders)."""

    def __init__(self, store: AuditStore):
        self._log = cast(AuditLog, self)  # what Rows reads of a trail, it finds here
        self._store = store
        self.record_at, self.time_us = store.record, store.time_us
        self.event_id, self.request_id = store.event_id, store.request_id

    def _rows(self):
        return range(len(self._store))


def _stream_prefix(prefix: str, streams: int) -> str:
    """An eventID prefix of its own for each delivery of a trail (derived, so seeded labs
    give the same ids; never one the trail's own rows use)."""
    digest = hashlib.sha256(f"{prefix}\0delivery\0{streams}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-{'89ab'[int(digest[16], 16) % 4]}" \
           f"{digest[17:20]}-"


class Delivery:
    """A trail delivering what it records to log files under ``directory``, not to memory.

    From its creation to :meth:`finish` (or the end of a ``with`` block), the
    trail ``log`` records into a fresh part; :meth:`check`, called as records
    come (after each request, or every few), writes the part out and drops it
    once it holds ``segment_rows`` records. The trail keeps what it held
    before and records on after (the delivered records are in the files
    only); GetKeyLastUsage still sees the key uses delivered. Call it from
    the thread that makes the calls, as ``lab.simulate`` does: a lab served
    to other threads or saved by an AutoSaver meanwhile would see its trail
    change under it.

        >>> with Delivery(lab.audit, "logs") as delivery:
        ...     for _ in range(100_000):
        ...         kms.encrypt(KeyId=key, Plaintext=b"x"); delivery.check()
        >>> delivery.writer.files
    """

    def __init__(self, log: AuditLog, directory: str | os.PathLike, *,
                 interval: timedelta = DELIVERY_INTERVAL,
                 records_per_file: int = RECORDS_PER_FILE,
                 segment_rows: int = _SEGMENT_ROWS):
        if log._read_only:
            raise TypeError("an imported audit trail is read-only")
        self.log = log
        #: the files written (``writer.files``) and records written (``writer.records_written``)
        self.writer = LogFileWriter(directory, interval=interval, records_per_file=records_per_file)
        self.segment_rows = segment_rows
        self.delivered = 0  # records written out so far
        self._prefix = _stream_prefix(log._store.event_prefix, log._deliveries)
        log._deliveries += 1
        self._original: AuditStore | None = log._swap_store(self._fresh(0))

    def __enter__(self) -> Delivery:
        return self

    def __exit__(self, *exc) -> None:
        self.finish()

    def _fresh(self, first_row: int) -> _SegmentStore:
        store = self.log._store
        return _SegmentStore(self._prefix, store.request_id_at, first_row)

    def check(self) -> None:
        """Write the records held so far if there are ``segment_rows`` of them."""
        held = len(self.log._store)
        if held >= self.segment_rows:
            self._deliver(self.log._swap_store(self._fresh(self.delivered + held)))

    def _deliver(self, segment: AuditStore) -> None:
        self.log._keep_last_uses(segment)
        self.writer.write_all(_Part(segment))
        self.delivered += len(segment)

    def finish(self) -> None:
        """Write what is left, close the files and give the trail its own records back."""
        if self._original is None:
            return
        original, self._original = self._original, None
        self._deliver(self.log._swap_store(original))
        self.writer.close()
