"""``SimulatedNetwork``: a KMS client behind a simulated network, for hands-on use.

Wrap any boto3-shaped KMS client; call it exactly as the client. Every call
really runs (the KMS work is real) and is charged simulated time on this
object's own timeline (``net.now``, seconds from 0): round trip, transfer of
the request and response bytes, service time, and the request quota's token
bucket. A throttled request is retried with the SDKs' full-jitter backoff;
when attempts run out the caller gets ``ThrottlingException``, as from AWS.
Nothing sleeps: the timeline only moves in the model. Give it the lab's
clock (``clock=lab.clock``) and the lab's time moves with it, so audit
records and a ``DataKeyCache(clock=lab.clock.timestamp)`` see network time.
"""

from __future__ import annotations

import functools
import random

from .. import errors
from .model import LatencyModel, operation_family, region_of
from .timeline import THROTTLE_RESPONSE_BYTES, CallRecord, RetryBudget, TokenBucket

__all__ = ["SimulatedNetwork", "operation_name"]

ERROR_RESPONSE_BYTES = 150


def operation_name(method_name: str) -> str:
    """boto3's method name to the AWS operation name: ``generate_data_key`` -> ``GenerateDataKey``."""
    return "".join(part.capitalize() for part in method_name.split("_"))


class SimulatedNetwork:
    """A boto3-shaped KMS client whose calls cost simulated network time.

    ``SimulatedNetwork(kms, LatencyModel(rtt_ms=50), seed=1)``; then use it as
    ``kms``. Without a model, AWS's default quotas for the client's Region apply.
    Counters: ``now`` (simulated seconds), ``calls`` (admitted),
    ``throttles``, ``retries``, ``bytes_sent``, ``bytes_received``,
    ``cost_usd``; ``log`` lists every attempt (``log_frame()`` as a DataFrame).
    ``clock``: a lab clock (anything with ``advance(seconds=...)``) moved along.
    """

    def __init__(self, client, model: LatencyModel | None = None, *, seed: int = 0,
                 clock=None):
        self.client = client
        self.model = model or LatencyModel(region=region_of(client))
        self.clock = clock
        self._now = 0.0
        self.calls = self.throttles = self.retries = 0
        self.bytes_sent = self.bytes_received = 0
        self.log: list[dict] = []
        self.records: list[CallRecord] = []
        self._rng = random.Random(seed)
        self._buckets: dict[str, TokenBucket] = {}
        self._budget = RetryBudget(self.model.retry_quota)

    @property
    def now(self) -> float:
        """Simulated seconds since this network was created."""
        return self._now

    @now.setter
    def now(self, value: float) -> None:
        if self.clock is not None and value > self._now:
            self.clock.advance(seconds=value - self._now)
        self._now = value

    @property
    def cost_usd(self) -> float:
        """What the calls made so far would cost on AWS, at the model's price per request."""
        return self.calls * self.model.price_per_request_usd

    def charge_local(self, seconds: float) -> None:
        """Advance the timeline by local work (e.g. AES-GCM over a payload)."""
        self.now += seconds

    def __getattr__(self, name: str):
        method = getattr(self.client, name)
        if name.startswith("_") or not callable(method) or name in ("get_paginator", "can_paginate"):
            return method
        operation = operation_name(name)

        @functools.wraps(method)
        def call(**params):
            return self._call(operation, method, params)
        return call

    def _bucket(self, operation: str) -> TokenBucket:
        family = operation_family(operation)
        if family not in self._buckets:
            self._buckets[family] = TokenBucket(self.model.quota_rps(operation), start=self.now)
        return self._buckets[family]

    def _call(self, operation: str, method, params: dict):
        model = self.model
        half_rtt = model.rtt_ms / 2e3
        request_bytes = model.request_bytes(params)
        started = self.now
        for attempt in range(1, model.max_attempts + 1):
            self.bytes_sent += request_bytes
            arrive = self.now + half_rtt + model.transfer_s(request_bytes)
            if self._bucket(operation).take(arrive):
                break
            self.throttles += 1
            self.bytes_received += THROTTLE_RESPONSE_BYTES
            self.now = arrive + half_rtt + model.transfer_s(THROTTLE_RESPONSE_BYTES)
            self._log(operation, attempt, "ThrottlingException", request_bytes,
                      THROTTLE_RESPONSE_BYTES, started)
            if attempt == model.max_attempts or not self._budget.acquire():
                raise errors.ThrottlingException("Rate exceeded", operation)
            self.retries += 1
            self.now += model.backoff_s(attempt, self._rng.random())
        self._budget.release(attempt > 1)
        self.calls += 1
        self.now = arrive  # KMS serves the request when it arrives
        try:
            response = method(**params)
        except Exception as exc:
            self._finish(operation, arrive, request_bytes, ERROR_RESPONSE_BYTES, attempt,
                         getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__),
                         started)
            raise
        self._finish(operation, arrive, request_bytes, model.response_bytes(response), attempt,
                     "ok", started)
        return response

    def _finish(self, operation, arrive, request_bytes, response_bytes, attempt, outcome, started):
        model = self.model
        self.bytes_received += response_bytes
        self.now = (arrive + model.service_s(operation) + model.rtt_ms / 2e3
                    + model.transfer_s(response_bytes))
        self.records.append(CallRecord(operation, request_bytes, response_bytes))
        self._log(operation, attempt, outcome, request_bytes, response_bytes, started)

    def _log(self, operation, attempt, outcome, request_bytes, response_bytes, started):
        self.log.append({"time_s": self.now, "operation": operation, "attempt": attempt,
                         "outcome": outcome, "request_bytes": request_bytes,
                         "response_bytes": response_bytes, "elapsed_s": self.now - started})

    def log_frame(self):
        """Every attempt as a pandas DataFrame (time, operation, attempt, outcome, bytes)."""
        import pandas as pd
        return pd.DataFrame(self.log, columns=["time_s", "operation", "attempt", "outcome",
                                               "request_bytes", "response_bytes", "elapsed_s"])

    def __repr__(self) -> str:
        return (f"<SimulatedNetwork now={self.now:.6f}s calls={self.calls} "
                f"throttles={self.throttles} rtt_ms={self.model.rtt_ms} "
                f"bandwidth_mbps={self.model.bandwidth_mbps}>")
