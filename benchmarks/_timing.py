"""Shared timing helpers for the benchmarks: medians of repeated batches."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def per_call(fn: Callable[[], object], *, number: int = 2000, repeat: int = 7) -> float:
    """Median seconds per call over ``repeat`` batches of ``number`` calls."""
    fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - t0) / number)
    return statistics.median(samples)


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.2f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.2f} s "
