"""Keep a lab's snapshot file up to date while it is served, losing at most about a second.

    saver = AutoSaver(path, SealingKey.derive(passphrase))   # scrypt once, here
    saver.watch(lab)        # every call through the lab's pipeline marks it changed
    saver.start()           # a background thread saves, coalesced
    ...
    saver.stop()            # then a final saver.save_now()

Saving after *every* call would make each call pay for a save. Instead a
call that changes the lab marks it changed, and a background thread saves at
most once per ``interval`` (0.5 s by default): the first change after a save
is written within ``interval`` plus the time of one save, whatever happens
next, and a burst of changes costs one save. Calls that only read are
audited, and the audit trail is part of the lab, so they are saved too, with
the next save, at the latest after ``read_interval`` (10 s by default).

A save costs milliseconds, not a scrypt run: the key is derived from the
passphrase once, when the saver is made, and the saver keeps a cache so that
keys that did not change and audit records already written are not encoded
again. A large lab costs more to save, so saves then space out: the next save
waits ``BUSY_RATIO`` (20) times the processor time the last one took (at most
5% of a processor goes to saving), but never more than ``MAX_GAP`` (1 s), so
at most about a second of changes can be lost, however large the lab.

A failed save (a full disk) is reported through ``on_error`` and retried a
few seconds later; the previous file stays as it was (writes are atomic).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from typing import Callable

from ..crypto.sealing import SealingKey
from . import save

__all__ = ["AutoSaver", "DEFAULT_INTERVAL", "DEFAULT_READ_INTERVAL"]

log = logging.getLogger("kmslab.snapshot")

DEFAULT_INTERVAL = 0.5
DEFAULT_READ_INTERVAL = 10.0
#: the next save waits this many times the processor time the previous one took ...
BUSY_RATIO = 20
#: ... but never longer than this (seconds): what a kill -9 can lose, plus one save
MAX_GAP = 1.0
_RETRY_AFTER = 5.0


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
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._on_error = on_error or (lambda exc: log.warning("saving %s failed: %s", self.path, exc))
        #: how many saves were written (background and on demand)
        self.saves = 0

    def __repr__(self) -> str:
        state = "running" if self._thread and self._thread.is_alive() else "stopped"
        return f"<AutoSaver {self.path} every {self.interval:g} s, {state}, {self.saves} saves>"

    # ------------------------------------------------------------ what to save
    def watch(self, lab) -> None:
        """Save ``lab`` from now on (replacing any lab watched before) and mark it changed."""
        with self._cond:
            old, self._lab = self._lab, lab
        if old is lab:
            return
        if old is not None:
            old.hooks.remove(self._after_call)
        lab.hooks.add_after(self._after_call)
        self.changed()

    def _after_call(self, call, response, error) -> None:
        """The pipeline's after-hook: every call is audited; most also change the lab."""
        self.changed(read_only=bool(call.op.read_only))

    def changed(self, *, read_only: bool = False) -> None:
        """Note a change: a save becomes due within ``interval`` (``read_interval`` for reads)."""
        due = time.monotonic() + (self.read_interval if read_only else self.interval)
        if due < self._due:
            with self._cond:
                if due < self._due:
                    self._due = due
                    self._cond.notify()

    # ------------------------------------------------------------ saving
    def save_now(self) -> str:
        """Save the watched lab now (a change noted meanwhile is saved by the next save)."""
        with self._save_lock:
            lab = self._lab
            if lab is None:
                raise RuntimeError("the AutoSaver watches no lab yet")
            with self._cond:
                self._due = math.inf
                self._last_start = time.monotonic()
            cpu = time.thread_time()
            try:
                save(lab, self.path, key=self._key, cache=self._cache)
            except BaseException:
                self._cache.clear()
                with self._cond:  # not saved: try again a little later
                    self._due = min(self._due, time.monotonic() + _RETRY_AFTER)
                raise
            cost = time.thread_time() - cpu
            self._gap = min(max(self.interval, BUSY_RATIO * cost), max(self.interval, MAX_GAP))
            self.saves += 1
        return self.path

    def start(self) -> "AutoSaver":
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
