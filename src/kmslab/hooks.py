"""Hooks around every request (pipeline steps 0 and 7): quotas, faults, simulated latency."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Hooks"]


class Hooks:
    """``before(call)`` may raise (throttling, injected faults); ``after`` observes."""

    def __init__(self):
        self._before: list[Callable] = []
        self._after: list[Callable] = []
        #: whether any hook is installed (the pipeline skips hooks otherwise)
        self.active = False

    def add_before(self, fn: Callable) -> Callable:
        self._before.append(fn)
        self.active = True
        return fn

    def add_after(self, fn: Callable) -> Callable:
        self._after.append(fn)
        self.active = True
        return fn

    def remove(self, fn: Callable) -> None:
        for lst in (self._before, self._after):
            if fn in lst:
                lst.remove(fn)
        self.active = bool(self._before or self._after)

    def before(self, call) -> None:
        for fn in self._before:
            fn(call)

    def after(self, call, response, error) -> None:
        for fn in self._after:
            fn(call, response, error)
