"""CloudWatch-like metrics for the lab: gauges sampled as the clock moves, and alarms.

AWS KMS publishes ``SecondsUntilKeyMaterialExpiration`` (namespace
``AWS/KMS``, dimension ``KeyId``, unit Seconds; use the Minimum statistic)
for every key whose imported material expires. The lab samples each gauge at
every whole ``period`` of simulated time the clock crosses (hourly by
default), so advancing a year gives a year of hourly datapoints, computed
directly from the state in force between scheduled events::

    lab.metrics.frame("SecondsUntilKeyMaterialExpiration")      # time series
    lab.metrics.put_metric_alarm("reimport-soon", "SecondsUntilKeyMaterialExpiration",
                                 {"KeyId": key_id}, threshold=30 * 86400,
                                 action=lambda alarm: print(alarm["StateValue"]))
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

__all__ = ["MetricStore", "Gauge", "Alarm"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COMPARISONS = {
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
}


@dataclass(slots=True, eq=False)
class Gauge:
    """One metric series: a value computed for any moment (None means no datapoint)."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    unit: str
    value_at: Callable[[datetime], float | None] = field(repr=False)


@dataclass(slots=True, eq=False)
class Alarm:
    """A CloudWatch-style alarm: ALARM while ``comparison(value, threshold)`` holds."""

    name: str
    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]
    threshold: float
    comparison: str
    action: Callable[[dict], None] | None = field(repr=False, default=None)
    state: str = "INSUFFICIENT_DATA"
    history: list = field(default_factory=list, repr=False)

    def describe(self) -> dict:
        """The alarm as CloudWatch's DescribeAlarms lists it (name, metric, threshold, state)."""
        return {"AlarmName": self.name, "Namespace": self.namespace, "MetricName": self.metric_name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in self.dimensions],
                "Threshold": self.threshold, "ComparisonOperator": self.comparison,
                "StateValue": self.state}


def _dims(dimensions: dict[str, str] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((dimensions or {}).items()))


def _sample(store: MetricStore, before: datetime, after: datetime) -> None:
    store._tick(before, after)


class MetricStore:
    """The lab's CloudWatch: ``gauge`` to publish, ``frame``/``datapoints`` to read, alarms."""

    def __init__(self, clock, period: timedelta = timedelta(hours=1)):
        self._clock = clock
        self.period = period
        self._gauges: dict[tuple, Gauge] = {}
        self._alarms: dict[str, Alarm] = {}
        self._times: list[datetime] = []
        self._series: list[Gauge] = []
        self._values: list[float] = []
        self._lock = threading.Lock()
        clock.on_tick(partial(_sample, self))

    # ------------------------------------------------------------ publishing
    def gauge(self, namespace: str, name: str, dimensions: dict[str, str], unit: str,
              value_at: Callable[[datetime], float | None]) -> Gauge:
        """Publish a metric series whose value ``value_at(time)`` is sampled every period."""
        key = (namespace, name, _dims(dimensions))
        with self._lock:
            g = self._gauges.get(key)
            if g is None:
                g = self._gauges[key] = Gauge(namespace, name, key[2], unit, value_at)
            else:
                g.value_at = value_at
        return g

    def _tick(self, before: datetime, after: datetime) -> None:
        """Clock listener: one datapoint per gauge at each period boundary in (before, after]."""
        if not self._gauges:
            return
        step = self.period
        n = (before - _EPOCH) // step + 1
        mark = _EPOCH + n * step
        gauges = list(self._gauges.values())
        with self._lock:
            while mark <= after:
                for g in gauges:
                    value = g.value_at(mark)
                    if value is not None:
                        self._times.append(mark)
                        self._series.append(g)
                        self._values.append(value)
                        self._check_alarms(g, mark, value)
                mark += step

    # ------------------------------------------------------------ alarms
    def put_metric_alarm(self, alarm_name: str, metric_name: str, dimensions: dict[str, str], *,
                         threshold: float, comparison_operator: str = "LessThanThreshold",
                         namespace: str = "AWS/KMS",
                         action: Callable[[dict], None] | None = None) -> Alarm:
        """Create or replace an alarm; ``action(alarm)`` runs on every change of state."""
        if comparison_operator not in _COMPARISONS:
            raise ValueError(f"comparison_operator must be one of {sorted(_COMPARISONS)}")
        alarm = Alarm(alarm_name, namespace, metric_name, _dims(dimensions), float(threshold),
                      comparison_operator, action)
        self._alarms[alarm_name] = alarm
        return alarm

    def describe_alarms(self) -> list[dict]:
        """Every alarm, as CloudWatch's DescribeAlarms lists them."""
        return [a.describe() for a in self._alarms.values()]

    def alarm_history(self, alarm_name: str) -> list[dict]:
        """State changes of one alarm: time, old state, new state, the value that caused it."""
        return list(self._alarms[alarm_name].history)

    def _check_alarms(self, g: Gauge, when: datetime, value: float) -> None:
        for alarm in self._alarms.values():
            if (alarm.namespace, alarm.metric_name, alarm.dimensions) != (g.namespace, g.name,
                                                                           g.dimensions):
                continue
            state = "ALARM" if _COMPARISONS[alarm.comparison](value, alarm.threshold) else "OK"
            if state != alarm.state:
                alarm.history.append({"time": when, "from": alarm.state, "to": state, "value": value})
                alarm.state = state
                if alarm.action is not None:
                    alarm.action({**alarm.describe(), "StateChangeTime": when, "Value": value})

    # ------------------------------------------------------------ reading
    def list_metrics(self) -> list[dict]:
        """ListMetrics' shape: every series published so far."""
        return [{"Namespace": g.namespace, "MetricName": g.name,
                 "Dimensions": [{"Name": k, "Value": v} for k, v in g.dimensions]}
                for g in self._gauges.values()]

    def datapoints(self, metric_name: str, dimensions: dict[str, str] | None = None, *,
                   namespace: str = "AWS/KMS") -> list[tuple[datetime, float]]:
        """(time, value) samples of one series, oldest first."""
        dims = _dims(dimensions) if dimensions is not None else None
        return [(t, v) for t, g, v in zip(self._times, self._series, self._values, strict=True)
                if g.name == metric_name and g.namespace == namespace
                and (dims is None or g.dimensions == dims)]

    def get_metric_statistics(self, namespace: str, metric_name: str, dimensions: dict[str, str],
                              start_time: datetime, end_time: datetime, period: int,
                              statistics: tuple[str, ...] = ("Minimum",)) -> dict:
        """GetMetricStatistics' shape: Minimum/Maximum/Average/Sum/SampleCount per ``period`` seconds."""
        buckets: dict[datetime, list[float]] = {}
        step = timedelta(seconds=period)
        for t, v in self.datapoints(metric_name, dimensions, namespace=namespace):
            if start_time <= t < end_time:
                buckets.setdefault(start_time + (t - start_time) // step * step, []).append(v)
        unit = next((g.unit for g in self._gauges.values() if g.name == metric_name), "None")
        points = []
        for t in sorted(buckets):
            vals = buckets[t]
            stats = {"Minimum": min(vals), "Maximum": max(vals), "Sum": sum(vals),
                     "SampleCount": float(len(vals)), "Average": sum(vals) / len(vals)}
            points.append({"Timestamp": t, **{s: stats[s] for s in statistics}, "Unit": unit})
        return {"Label": metric_name, "Datapoints": points}

    def frame(self, metric_name: str | None = None, dimensions: dict[str, str] | None = None, *,
              namespace: str | None = None):
        """The samples as a DataFrame: time (UTC), namespace, metric, one column per dimension, value, unit."""
        import pandas as pd
        dims = _dims(dimensions) if dimensions is not None else None
        rows = [(t, g, v) for t, g, v in zip(self._times, self._series, self._values, strict=True)
                if (metric_name is None or g.name == metric_name)
                and (namespace is None or g.namespace == namespace)
                and (dims is None or g.dimensions == dims)]
        dim_names = sorted({k for _, g, _ in rows for k, _ in g.dimensions})
        data = {"time": pd.to_datetime([t for t, _, _ in rows], utc=True),
                "namespace": [g.namespace for _, g, _ in rows],
                "metric": [g.name for _, g, _ in rows]}
        for name in dim_names:
            data[name] = [dict(g.dimensions).get(name) for _, g, _ in rows]
        data["value"] = pd.Series([v for _, _, v in rows], dtype="float64")
        data["unit"] = [g.unit for _, g, _ in rows]
        return pd.DataFrame(data)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"<MetricStore {len(self._gauges)} series, {len(self)} datapoints>"
