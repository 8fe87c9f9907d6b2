"""Keep a lab's snapshot file up to date while it is served, losing at most about a second.

    saver = AutoSaver(path, SealingKey.derive(passphrase))   # scrypt once, here
    saver.watch(lab)        # every call through the lab's pipeline marks it changed
    saver.start()           # a background thread saves, coalesced
    ...
    saver.stop()            # then a final saver.save_now(whole=True)

Saving after *every* call would make each call pay for a save. Instead a
call that changes the lab marks it changed, and a background thread saves at
most once per ``interval`` (1 s by default): a change is written by the next
save, which starts at most ``interval`` after it, whatever happens next, and a
burst of changes costs one save. Calls that only read are audited, and the
audit trail is part of the lab, so they are saved too, with the next save, at
the latest after ``read_interval`` (10 s by default); a DescribeKey that
creates an AWS managed key (``alias/aws/...``) counts as a change.

A save costs milliseconds, not a scrypt run: the key is derived from the
passphrase once, when the saver is made, and the saver keeps a cache so that
keys that did not change and audit records already written are not encoded
again. When only calls that never change an existing key were made since the
last save (:data:`KEY_PRESERVING`: cryptographic operations, reads, CreateKey,
aliases) and the clock fired no scheduled event (time passing alone changes
no key: ``kmslab serve``'s wall clock moves it before every call), the keys
written last time are not even looked at, and the save only appends what changed (new keys, new audit
records, small parts that changed) to the snapshot's journal
(:mod:`kmslab.snapshot.journal`): its cost follows the change, not the size
of the lab. The whole snapshot is written again (and its journal started
afresh) after any other call, when the parts the journal holds more than once
(small sections and a Region's aliases, written whole each time they change)
add up to the snapshot's size, when the journal reaches ``JOURNAL_RATIO`` times
the snapshot (what a load reads stays bounded), and at least every
``FULL_EVERY`` seconds (a safety net that looks at every key again). The
journal of a lab that only grows (a class creating keys and using them) holds
nothing twice, so the first two rarely come into play. A lab so large
that a save takes longer than half the interval is saved less often (twice
the time a save takes), so that serving always comes first.

A failed save (a full disk) is reported through ``on_error`` and retried a
few seconds later; the previous file stays as it was (writes are atomic).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import os
import threading
import time
from collections.abc import Callable

from ..crypto.sealing import SealingKey, sealed_id
from . import journal, seal_document_pieces, when_material_ready, write_atomic, write_document
from .document import marks as document_marks
from .document import write_delta

__all__ = ["AutoSaver", "DEFAULT_INTERVAL", "DEFAULT_READ_INTERVAL"]

log = logging.getLogger("kmslab.snapshot")

DEFAULT_INTERVAL = 1.0
DEFAULT_READ_INTERVAL = 10.0
#: a save looks at every key (and writes the whole snapshot) at least this often (seconds)
FULL_EVERY = 60.0
#: the whole snapshot is written again when the journal's out-of-date copies (parts written
#: again whole) add up to the snapshot's size, at least this many bytes ...
JOURNAL_MIN = 8 << 20
#: ... or the journal reaches this many times the snapshot (at least JOURNAL_MIN): whole
#: snapshots then cost, over time, at most about an eighth of what the journal did, and a
#: load reads at most nine times the snapshot
JOURNAL_RATIO = 8

#: operations that never change a key record that exists: cryptographic operations and reads
#: (they are audited, nothing else), CreateKey (a new key), DescribeKey (it may make a new AWS
#: managed key) and the alias operations (an alias belongs to its Region; a key's aliases are
#: found from them)
KEY_PRESERVING = frozenset({
    "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
    "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateRandom", "Sign",
    "Verify", "GenerateMac", "VerifyMac", "DeriveSharedSecret", "Encapsulate", "Decapsulate",
    "CreateKey", "DescribeKey", "CreateAlias", "UpdateAlias", "DeleteAlias"})
_RETRY_AFTER = 5.0


@contextlib.contextmanager
def _collector_paused():
    """Python's garbage collector paused while a save encodes what changed (under the lab's
    lock, which holds up the lab's calls anyway). The thousands of short-lived objects an
    encoding makes are freed before it runs again, so they never count towards its next
    collection: a saver that let them count would make every thread of the server collect
    more often, and a full collection of a large lab takes a good part of a second."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class AutoSaver:
    """Saves a lab to ``path`` (sealed with ``key``) shortly after it changes."""

    def __init__(self, path: str | os.PathLike, key: SealingKey, *,
                 interval: float = DEFAULT_INTERVAL, read_interval: float = DEFAULT_READ_INTERVAL,
                 on_error: Callable[[BaseException], None] | None = None):
        if not isinstance(key, SealingKey):
            raise TypeError("key must be a kmslab.crypto.sealing.SealingKey")
        self.path = os.path.abspath(os.fspath(path))
        self.interval = float(interval)
        self.read_interval = max(float(read_interval), self.interval)
        self._key = key
        self._lab = None
        self._cond = threading.Condition()
        self._save_lock = threading.Lock()  # one save at a time (background, on demand, final)
        self._due = math.inf        # monotonic time the next save is due
        self._last_start = -math.inf
        self._gap = self.interval   # the least time between the starts of two saves
        self._cache: dict = {}      # what the last save encoded (see snapshot.document.write)
        self._keys_touched = True   # a call that may change a key was made since the last save
        self._clock_events = None   # the clock's events at the last save (_clock_events())
        self._last_full = -math.inf  # when a save last looked at every key
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._on_error = on_error or (lambda exc: log.warning("saving %s failed: %s", self.path, exc))
        #: how many saves were written (background and on demand), and how many of them
        #: wrote the whole snapshot (the others appended a record to its journal)
        self.saves = 0
        self.full_saves = 0
        self._journal: dict | None = None  # the journal of the snapshot this saver last wrote
        self._marks: dict | None = None    # where the lab stood at the last save

    def __repr__(self) -> str:
        state = "running" if self._thread and self._thread.is_alive() else "stopped"
        return f"<AutoSaver {self.path} every {self.interval:g} s, {state}, {self.saves} saves>"

    # ------------------------------------------------------------ what to save
    def watch(self, lab) -> None:
        """Save ``lab`` from now on (replacing any lab watched before) and mark it changed."""
        with self._save_lock:
            with self._cond:
                old, self._lab = self._lab, lab
            if old is lab:
                return
            if old is not None:
                old.hooks.remove(self._after_call)
            lab.hooks.add_after(self._after_call)
            self._cache = {}
            self._journal = self._marks = None
        self.changed()

    def _after_call(self, call, response, error) -> None:
        """The pipeline's after-hook: every call is audited; most also change the lab."""
        op = call.op
        # a read that may create a key (DescribeKey of alias/aws/...) is saved as a change is
        read_only = op.read_only and not op.creates_aws_managed_key
        if not read_only and op.name not in KEY_PRESERVING:
            self._keys_touched = True
        self._note(read_only)

    def changed(self, *, read_only: bool = False) -> None:
        """Note a change (of anything): a save becomes due within ``interval``
        (``read_interval`` when only reads were made)."""
        self._keys_touched = True
        self._note(read_only)

    def _note(self, read_only: bool) -> None:
        due = time.monotonic() + (self.read_interval if read_only else self.interval)
        if due < self._due:
            with self._cond:
                if due < self._due:
                    self._due = due
                    self._cond.notify()

    # ------------------------------------------------------------ saving
    def save_now(self, *, whole: bool = False) -> str:
        """Save the watched lab now (a change noted meanwhile is saved by the next save).

        ``whole``: write the whole snapshot (its journal starts afresh), so the file alone holds
        the lab (``POST /_kmslab/save``, shutdown).
        """
        with self._save_lock:
            lab = self._lab
            if lab is None:
                raise RuntimeError("the AutoSaver watches no lab yet")
            with self._cond:
                self._due = math.inf
                self._last_start = started = time.monotonic()
            cpu = time.thread_time()
            try:
                # under the lab's lock (what changed is known exactly: calls note it under this
                # lock); a key pair still being generated is waited for with the lock released
                now, full, record, rewritten, document, marks, clock_events = when_material_ready(
                    lab, lambda: self._write(lab, started, whole))
                self._clock_events = clock_events
                if full:
                    self._last_full = started
                # encoding, sealing and writing need no lock: records and documents are copies
                if record is not None:
                    self._journal["size"] += journal.append(
                        self.path, self._key, self._journal["id"], self._journal["number"], record)
                    self._journal["rewritten"] += rewritten
                    self._journal["number"] += 1
                    self._marks = marks
                else:
                    self._journal = self._marks = None
                    header, sealed = seal_document_pieces(document, self._key,
                                                          lab_time=now.isoformat())
                    size = write_atomic(self.path, sealed)
                    snapshot_id = sealed_id(header)
                    self._journal = {"id": snapshot_id, "number": 0, "base_size": size,
                                     "size": journal.start(self.path, snapshot_id), "rewritten": 0}
                    self._marks = marks
                    self.full_saves += 1
            except BaseException:
                self._keys_touched = True
                self._journal = self._marks = None
                self._cache.clear()
                with self._cond:  # not saved: try again a little later
                    self._due = min(self._due, time.monotonic() + _RETRY_AFTER)
                raise
            self._gap = max(self.interval, 2 * (time.thread_time() - cpu))
            self.saves += 1
        return self.path

    @_collector_paused()
    def _write(self, lab, started: float, whole: bool) -> tuple:
        """What this save writes (lab's lock held): (now, full, journal record or None, the
        bytes of the record written again, document or None, marks, the clock's events)."""
        now = lab.clock.now()
        clock_events = _clock_events(lab.clock)
        full = self._keys_touched or clock_events != self._clock_events \
            or started - self._last_full >= FULL_EVERY
        journal_open = not whole and self._journal is not None and self._marks is not None \
            and self._journal["rewritten"] < max(JOURNAL_MIN, self._journal["base_size"]) \
            and self._journal["size"] < max(JOURNAL_MIN, JOURNAL_RATIO * self._journal["base_size"])
        delta = None
        if not full and journal_open:  # only what changed, appended to the journal
            delta = write_delta(lab, self._marks, self._cache)  # type: ignore[arg-type]
        if delta is not None:
            (record, marks, rewritten), document = delta, None
        else:  # the whole snapshot (and every key looked at, if a record could not say it)
            record, rewritten = None, 0
            document = write_document(lab, cache=self._cache, keys_unchanged=not full and not journal_open)
            marks = document_marks(lab, document, self._cache)
        self._keys_touched = False  # written above, still under the lock
        return now, full, record, rewritten, document, marks, clock_events

    def start(self) -> AutoSaver:
        """Start saving in a background thread."""
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="kmslab-autosave", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the background thread (after the save it may be writing); save_now() for a last one."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    due = max(self._due, self._last_start + self._gap)
                    wait = due - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(None if math.isinf(wait) else wait)
                if self._stopping:
                    return
            try:
                self.save_now()
            except Exception as exc:  # keep serving; the next change tries again
                self._on_error(exc)


def _clock_events(clock) -> tuple[int, int]:
    """What tells whether the clock fired or scheduled an event: its event counter and how
    many events it holds. Time moving alone changes no key (``kmslab serve``'s wall clock moves
    it before every call); a scheduled action that ran may have (a rotation, a deletion)."""
    return clock._seq, len(clock._queue)
