"""Shared timing helpers for the benchmarks: medians of repeated batches.

The machines are shared and noisy: ``compare`` alternates batches of the
reference and the subject, so both see the same load, and reports medians.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def _batch(fn: Callable[[], object], number: int) -> float:
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def per_call(fn: Callable[[], object], *, number: int = 2000, repeat: int = 7) -> float:
    """Median seconds per call over ``repeat`` batches of ``number`` calls."""
    fn()
    return statistics.median(_batch(fn, number) for _ in range(repeat))


def interleaved(calls: dict[str, Callable[[], object]], *, number: int = 2000, repeat: int = 9,
                warmup: int = 1) -> dict[str, float]:
    """Median seconds per call of each callable; their batches alternate, so noise hits all alike."""
    for fn in calls.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeat):
        for name, fn in calls.items():
            samples[name].append(_batch(fn, number))
    return {name: statistics.median(values) for name, values in samples.items()}


def compare(reference: Callable[[], object], subject: Callable[[], object], *,
            number: int = 2000, repeat: int = 9) -> tuple[float, float, float]:
    """(reference median, subject median, median of per-round ratios), batches alternated."""
    reference(), subject()
    refs, subs, ratios = [], [], []
    for _ in range(repeat):
        r = _batch(reference, number)
        s = _batch(subject, number)
        refs.append(r)
        subs.append(s)
        ratios.append(s / r)
    return statistics.median(refs), statistics.median(subs), statistics.median(ratios)


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.2f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.2f} s "
