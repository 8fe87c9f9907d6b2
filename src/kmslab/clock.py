"""Time for the lab: a virtual clock that moves only when told.

Everything in kmslab that depends on time (rotation dates, deletion windows,
expiring imported material, import tokens, audit timestamps) reads this clock.
Moving it fires what is due, in time order, each action seeing the clock set
to its own due time, so a year can pass in one call and still happen
day by day.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

__all__ = ["VirtualClock", "ScheduledEvent", "UTC", "DEFAULT_START", "parse_time"]

UTC = UTC
DEFAULT_START = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)


@dataclass(order=True, slots=True)
class ScheduledEvent:
    """An action due at ``when``; cancel it with :meth:`cancel`."""

    when: datetime
    seq: int
    label: str = field(compare=False)
    action: Callable[[], None] = field(compare=False, repr=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        """Cancel the action: the clock skips it when its time comes."""
        self.cancelled = True


class VirtualClock:
    """A clock that only moves when told (``advance``), firing due events in order.

    ``now()`` is a timezone-aware UTC datetime. Thread-safe: the lab's lock is
    shared so that time moves atomically with respect to requests.
    """

    def __init__(self, start: datetime | None = None, *, lock: threading.RLock | None = None):
        start = start or DEFAULT_START
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        self._now = start.astimezone(UTC)
        self._queue: list[ScheduledEvent] = []
        self._seq = 0
        self._lock = lock or threading.RLock()
        self._listeners: list[Callable[[datetime, datetime], None]] = []

    def now(self) -> datetime:
        """The lab's current time (aware, UTC)."""
        return self._now

    def timestamp(self) -> float:
        """The clock's time as POSIX seconds (a time source for caches and rate limits)."""
        return self._now.timestamp()

    def advance(self, delta: timedelta | None = None, *, days: float = 0, hours: float = 0,
                minutes: float = 0, seconds: float = 0) -> datetime:
        """Move time forward, firing every scheduled event that falls due, in order.

        ``clock.advance(days=30)`` or ``clock.advance(timedelta(hours=2))``.
        Returns the new time.
        """
        step = (delta or timedelta()) + timedelta(days=days, hours=hours, minutes=minutes,
                                                  seconds=seconds)
        if step < timedelta(0):
            raise ValueError("the lab clock cannot move backwards")
        with self._lock:  # from the time it has when the lock is ours: no step is lost
            return self.advance_to(self._now + step)

    def advance_to(self, when: datetime) -> datetime:
        """Move time forward to ``when`` (aware datetime), firing what is due."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        with self._lock:
            if when < self._now:
                raise ValueError("the lab clock cannot move backwards")
            while self._queue and self._queue[0].when <= when:
                event = heapq.heappop(self._queue)
                if event.cancelled:
                    continue
                self._set(max(self._now, event.when))
                event.action()
            self._set(when)
        return self._now

    def _set(self, when: datetime) -> None:
        before, self._now = self._now, when
        if when != before:
            for listener in self._listeners:
                listener(before, when)

    def schedule(self, when: datetime, action: Callable[[], None], *, label: str = "") -> ScheduledEvent:
        """Run ``action`` when the clock reaches ``when`` (at once on the next advance if past).

        A lab snapshot (``Lab.save``) keeps kmslab's own scheduled actions only: a lab
        holding an action your code scheduled cannot be saved until it fires or is cancelled.
        """
        with self._lock:
            self._seq += 1
            event = ScheduledEvent(when, self._seq, label, action)
            heapq.heappush(self._queue, event)
            return event

    def on_tick(self, listener: Callable[[datetime, datetime], None]) -> None:
        """Call ``listener(before, after)`` whenever time moves (for sampled metrics)."""
        self._listeners.append(listener)

    def restore(self, now: datetime, seq: int, events: list[ScheduledEvent]) -> None:
        """Set the clock as a lab snapshot saved it: its time, its event counter, its pending
        events (each keeps its number, so events due at the same moment keep their order)."""
        with self._lock:
            self._now = now.astimezone(UTC)
            self._queue = sorted(events)
            heapq.heapify(self._queue)
            self._seq = max([seq, *(e.seq for e in events)])

    def pending(self) -> list[ScheduledEvent]:
        """Scheduled events not yet fired, in time order."""
        return sorted(e for e in self._queue if not e.cancelled)

    def __repr__(self) -> str:
        return f"<VirtualClock {self._now.isoformat()}>"


def parse_time(text: str) -> datetime:
    """ISO 8601 text as an aware datetime, as AWS writes times (``2025-01-01T09:00:00Z``): a
    trailing ``Z`` is UTC, a time without an offset is taken as UTC; ValueError otherwise."""
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)
