"""The virtual clock: moves only when told, fires due events in time order."""

import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest

from kmslab.clock import VirtualClock


def test_clock_is_aware_utc_and_moves_only_when_told():
    clock = VirtualClock(datetime(2030, 5, 1))
    assert clock.now() == datetime(2030, 5, 1, tzinfo=UTC)
    assert clock.now().tzinfo is not None
    clock.advance(days=1, hours=2, minutes=3)
    assert clock.now() == datetime(2030, 5, 2, 2, 3, tzinfo=UTC)
    clock.advance(timedelta(seconds=5))
    assert clock.now().second == 5
    with pytest.raises(ValueError):
        clock.advance(days=-1)


def test_events_fire_in_time_order_each_at_its_own_time():
    clock = VirtualClock()
    start = clock.now()
    seen = []
    for days in (30, 10, 20):
        clock.schedule(start + timedelta(days=days), lambda d=days: seen.append((d, clock.now())))
    cancelled = clock.schedule(start + timedelta(days=15), lambda: seen.append("cancelled"))
    cancelled.cancel()
    clock.advance(days=365)
    assert [d for d, _ in seen] == [10, 20, 30]
    assert [t for _, t in seen] == [start + timedelta(days=d) for d in (10, 20, 30)]
    assert clock.now() == start + timedelta(days=365)


def test_events_scheduled_by_events_fire_in_the_same_advance():
    clock = VirtualClock()
    start = clock.now()
    fired = []

    def monthly():
        fired.append(clock.now())
        clock.schedule(clock.now() + timedelta(days=30), monthly)

    clock.schedule(start + timedelta(days=30), monthly)
    clock.advance(days=365)
    assert len(fired) == 12


def test_advances_from_many_threads_add_up_and_never_go_backwards():
    """Threads moving one clock at once (kmslab serve's wall clock, before each call) each
    move it by their own step: none is lost, and none tries to move it backwards."""
    clock = VirtualClock(lock=threading.RLock())
    start = clock.now()
    failures = []

    def advance_often():
        for _ in range(2000):
            try:
                clock.advance(seconds=0.001)
            except Exception as exc:  # noqa: BLE001 - handed to the test
                failures.append(exc)

    threads = [threading.Thread(target=advance_often) for _ in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch often: a window between read and write shows
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert failures == []
    assert clock.now() == start + timedelta(seconds=8)
