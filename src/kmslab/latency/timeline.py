"""Simulated time: token buckets for request quotas, and the timeline of many messages.

An experiment runs in two steps. First every message is really processed
against the KMS client while a recorder notes each call's operation and
bytes (a :class:`Trace` per message). Then :func:`simulate` replays the
traces on a simulated clock: ``concurrency`` workers take messages in order,
each sends its calls one after another, and calls reach KMS in time order,
where the quota's token bucket admits them or throttles them. Throttled calls
are retried as the SDKs do. The clock starts at 0 and only the seed's
random numbers (retry jitter) enter, so a run is reproducible and independent
of the wall clock.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field

from .model import LatencyModel, operation_family

__all__ = ["TokenBucket", "CallRecord", "Trace", "SimulationResult", "simulate", "RetryBudget"]

THROTTLE_RESPONSE_BYTES = 90  # {"__type":"ThrottlingException","message":"Rate exceeded"}


class TokenBucket:
    """A request quota on simulated time: ``rate`` tokens per second, burst ``capacity``.

    Starts full. ``take(t)`` admits a request arriving at ``t`` if a whole
    token is there; times must not go backwards. The default burst is one
    second's worth, and at least one request (a quota of 0.25 per second
    admits one request every four seconds).
    """

    def __init__(self, rate: float, capacity: float | None = None, start: float = 0.0):
        self.rate = rate
        self.capacity = max(rate, 1.0) if capacity is None else capacity
        self.tokens = self.capacity
        self.last = start

    def take(self, t: float) -> bool:
        """Admit a request arriving at ``t`` (seconds) if a whole token is there; False means throttled."""
        if t > self.last:
            self.tokens = min(self.capacity, self.tokens + (t - self.last) * self.rate)
            self.last = t
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class RetryBudget:
    """The SDK's retry quota ("standard" mode): retries spend tokens, successes refill."""

    THROTTLING_RETRY_COST = 5
    NO_RETRY_INCREMENT = 1

    def __init__(self, capacity: int):
        self.capacity = self.available = capacity

    def acquire(self) -> bool:
        """Spend the cost of one retry; False when the budget is exhausted (the SDK then gives up)."""
        if self.available < self.THROTTLING_RETRY_COST:
            return False
        self.available -= self.THROTTLING_RETRY_COST
        return True

    def release(self, retried: bool) -> None:
        """Refill after a success: the retry's cost if it needed one, else a small increment."""
        amount = self.THROTTLING_RETRY_COST if retried else self.NO_RETRY_INCREMENT
        self.available = min(self.capacity, self.available + amount)


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One KMS call as the network sees it."""

    operation: str
    request_bytes: int
    response_bytes: int


@dataclass(slots=True)
class Trace:
    """A message's KMS calls, in order, then its local work (seconds)."""

    calls: list = field(default_factory=list)
    local_s: float = 0.0


@dataclass(slots=True)
class SimulationResult:
    """What :func:`simulate` measured: per-message latencies, calls, throttles, retries, bytes."""

    latencies_s: list  # per message, NaN when it failed
    total_s: float  # from the first send to the last message done
    admitted_calls: int
    throttles: int
    retries: int
    failed_messages: int
    request_bytes: int
    response_bytes: int

    @property
    def network_bytes(self) -> int:
        """Bytes on the wire, requests and responses together."""
        return self.request_bytes + self.response_bytes


def simulate(traces: list[Trace], model: LatencyModel, *, concurrency: int = 1,
             seed: int = 0) -> SimulationResult:
    """Replay ``traces`` on simulated time with ``concurrency`` workers."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    rng = random.Random(seed)
    buckets: dict[str, TokenBucket] = {}
    budget = RetryBudget(model.retry_quota)
    half_rtt = model.rtt_ms / 2e3
    latencies = [float("nan")] * len(traces)
    admitted = throttles = retries = failed = sent = received = 0
    end = 0.0
    # events: (time the request reaches KMS, tie-break, message, call index, attempt, started)
    events: list = []
    order = 0
    next_message = 0

    def send(t: float, message: int, index: int, attempt: int, started: float) -> None:
        """Put call ``index`` of ``message`` on the wire at ``t`` (or finish the message)."""
        nonlocal order, end, sent
        trace = traces[message]
        if index == len(trace.calls):
            done = t + trace.local_s
            latencies[message] = done - started
            end = max(end, done)
            start_next(done)
            return
        call = trace.calls[index]
        sent += call.request_bytes
        order += 1
        heapq.heappush(events, (t + half_rtt + model.transfer_s(call.request_bytes), order,
                                message, index, attempt, started))

    def start_next(t: float) -> None:
        nonlocal next_message
        if next_message < len(traces):
            message, next_message = next_message, next_message + 1
            send(t, message, 0, 1, t)

    for _ in range(min(concurrency, len(traces))):
        start_next(0.0)
    while events:
        arrive, _, message, index, attempt, started = heapq.heappop(events)
        call = traces[message].calls[index]
        family = operation_family(call.operation)
        bucket = buckets.get(family)
        if bucket is None:
            bucket = buckets[family] = TokenBucket(model.quota_rps(call.operation))
        if bucket.take(arrive):
            admitted += 1
            received += call.response_bytes
            budget.release(attempt > 1)
            back = arrive + model.service_s(call.operation) + half_rtt + model.transfer_s(call.response_bytes)
            send(back, message, index + 1, 1, started)
            continue
        throttles += 1
        received += THROTTLE_RESPONSE_BYTES
        back = arrive + half_rtt + model.transfer_s(THROTTLE_RESPONSE_BYTES)
        if attempt < model.max_attempts and budget.acquire():
            retries += 1
            send(back + model.backoff_s(attempt, rng.random()), message, index, attempt + 1, started)
        else:  # the SDK gives up: ThrottlingException reaches the application
            failed += 1
            end = max(end, back)
            start_next(back)
    return SimulationResult(latencies, end, admitted, throttles, retries, failed, sent, received)
