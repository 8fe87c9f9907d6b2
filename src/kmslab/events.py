"""EventBridge-like events from the lab (``source: aws.kms``).

KMS emits "KMS CMK Rotation", "KMS CMK Deletion" and "KMS Imported Key
Material Expiration"; subscribers get each event dict as it happens and
``frame()`` shows them all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["EventBus"]


class EventBus:
    """The lab's event stream, in EventBridge's event shape."""

    def __init__(self, clock, ids):
        self._clock = clock
        self._ids = ids
        self._events: list[dict] = []
        self._subscribers: list[tuple[Callable[[dict], None], str | None]] = []
        self._lock = threading.Lock()

    def emit(self, detail_type: str, *, account: str, region: str, resources: list[str],
             detail: dict) -> dict:
        """Publish one event from ``aws.kms``: record it, hand it to the subscribers, return it."""
        event = {
            "version": "0",
            "id": self._ids.uuid4(),
            "detail-type": detail_type,
            "source": "aws.kms",
            "account": account,
            "time": self._clock.now(),
            "region": region,
            "resources": list(resources),
            "detail": dict(detail),
        }
        with self._lock:
            self._events.append(event)
            subscribers = list(self._subscribers)
        for fn, wanted in subscribers:
            if wanted is None or wanted == detail_type:
                fn(event)
        return event

    def subscribe(self, fn: Callable[[dict], None], detail_type: str | None = None) -> None:
        """Call ``fn(event)`` for every event (or only those of ``detail_type``)."""
        self._subscribers.append((fn, detail_type))

    def __iter__(self):
        return iter(list(self._events))

    def __len__(self) -> int:
        return len(self._events)

    def frame(self):
        """The events as a DataFrame (one row per event, detail flattened)."""
        import pandas as pd
        rows = [{"time": e["time"], "detail-type": e["detail-type"], "account": e["account"],
                 "region": e["region"], "resource": e["resources"][0] if e["resources"] else None,
                 **{f"detail.{k}": v for k, v in e["detail"].items()}} for e in self._events]
        df = pd.DataFrame(rows, columns=None if rows else
                          ["time", "detail-type", "account", "region", "resource"])
        if len(df):
            df["time"] = pd.to_datetime(df["time"], utc=True)
        return df
