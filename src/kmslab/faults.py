"""Faults and availability: make the lab's KMS fail the way real services do, then measure it.

    >>> f = lab.faults.region_outage("us-east-1", start, end)  # every call fails in the window
    >>> lab.faults.error_rate(0.2, seed=1)  # 20% KMSInternalException / DependencyTimeoutException
    >>> kms = lab.faults.retrying(lab.client())  # retries like the AWS SDKs
    >>> lab.faults.availability(window="1h")  # per-window availability from the audit trail

Each fault is a hook run before the request is validated (``lab.hooks``), so a
failed call is audited like any other AWS error. ``fault.remove()`` takes it
away. Latency is simulated: the retrying client moves the lab clock by it.

The retrying client follows the AWS SDKs' *standard* retry mode: at most 3
attempts, exponential backoff with full jitter (``random() * 2**(attempt-1)``
seconds, capped at 20 s), retries on throttling errors and on 5xx errors
(KMSInternalException, DependencyTimeoutException, KeyUnavailableException),
and a retry quota of 500 tokens (5 per retry). The backoff formula and the
retry quota are the latency lab's (:mod:`kmslab.latency`), so both agree.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from . import errors
from .latency.model import LatencyModel
from .latency.timeline import RetryBudget

if TYPE_CHECKING:  # pragma: no cover
    from .lab import Lab

__all__ = ["Faults", "Fault", "RetryingClient", "RETRYABLE_CODES", "is_retryable"]

#: error codes the SDKs' standard mode retries besides any 5xx status
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException"})
TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})
RETRYABLE_CODES = THROTTLING_CODES | TRANSIENT_CODES


def is_retryable(err: errors.KMSError) -> bool:
    """Standard retry mode: throttling and transient codes, and every 5xx status."""
    return err.code in RETRYABLE_CODES and err.code != "LimitExceededException" \
        or err.status >= 500


@dataclass(eq=False)
class Fault:
    """One installed fault: what, when, where; ``remove()`` uninstalls it."""

    kind: str
    start: datetime | None
    end: datetime | None
    description: str
    _hook: Callable | None = field(default=None, repr=False)
    _faults: Faults | None = field(default=None, repr=False)
    injected: int = 0

    def __repr__(self) -> str:
        when = "always" if self.start is None and self.end is None else \
            f"{self.start:%Y-%m-%d %H:%M} to {self.end:%H:%M}" if self.start and self.end else \
            f"from {self.start:%Y-%m-%d %H:%M}" if self.start else f"until {self.end:%Y-%m-%d %H:%M}"
        return f"<Fault {self.kind}: {self.description}, {when}; injected {self.injected}>"

    def active(self, now: datetime) -> bool:
        return (self.start is None or now >= self.start) and (self.end is None or now < self.end)

    def remove(self) -> None:
        if self._faults is not None:
            self._faults._remove(self)


class Faults:
    """Fault injection and availability measurement for one lab (``lab.faults``)."""

    def __init__(self, lab: Lab):
        self._lab = lab
        self.installed: list[Fault] = []
        self._latency: list[tuple[Fault, float, str | None, frozenset | None]] = []

    def __repr__(self) -> str:
        return f"<Faults {len(self.installed)} installed>"

    # ------------------------------------------------------------ installing
    def _install(self, fault: Fault, hook: Callable | None) -> Fault:
        fault._faults = self
        fault._hook = hook
        if hook is not None:
            self._lab.hooks.add_before(hook)
        self.installed.append(fault)
        return fault

    def _remove(self, fault: Fault) -> None:
        if fault in self.installed:
            self.installed.remove(fault)
        if fault._hook is not None:
            self._lab.hooks.remove(fault._hook)
        self._latency = [entry for entry in self._latency if entry[0] is not fault]

    def clear(self) -> None:
        """Remove every fault."""
        for fault in list(self.installed):
            fault.remove()

    def region_outage(self, region: str, start: datetime | None = None,
                      end: datetime | None = None, *,
                      error: str = "KMSInternalException") -> Fault:
        """Every request to KMS in ``region`` fails with ``error`` between ``start`` and ``end``."""
        cls = errors.error_class(error)
        fault = Fault("region outage", start, end, f"{region}: {error}")

        def hook(call):
            if call.service.region == region and fault.active(call.now):
                fault.injected += 1
                raise cls(f"We encountered an internal error. Please try again. ({region} is "
                          f"unavailable in this lab)")
        return self._install(fault, hook)

    def key_store_outage(self, store_id: str, start: datetime | None = None,
                         end: datetime | None = None) -> Fault:
        """KMS cannot reach custom key store ``store_id`` in the window: cryptographic operations
        with its keys fail with KMSInvalidStateException, as AWS answers for every failure of a
        custom key store's connection; managing the keys (DescribeKey...) still works."""
        from .operations import OPERATIONS
        from .service.keystores import unreachable
        fault = Fault("key store outage", start, end, f"{store_id}: KMSInvalidStateException")

        def hook(call):
            if not fault.active(call.now) or \
                    OPERATIONS.get(call.request.operation, {}).get("quota") != "cryptographic":
                return
            key = _named_key(call)
            if key is not None and key.custom_key_store_id == store_id:
                fault.injected += 1
                raise unreachable(key.origin, store_id)
        return self._install(fault, hook)

    def error_rate(self, fraction: float,
                   errors_: tuple[str, ...] = ("KMSInternalException", "DependencyTimeoutException"),
                   *, seed: int = 0, start: datetime | None = None, end: datetime | None = None,
                   region: str | None = None) -> Fault:
        """A ``fraction`` of requests (seeded draw) fail with one of ``errors_`` in the window."""
        if not 0 <= fraction <= 1:
            raise ValueError("fraction is between 0 and 1")
        rng = random.Random(seed)
        classes = [errors.error_class(code) for code in errors_]
        fault = Fault("error rate", start, end, f"{fraction:.0%} of requests: {', '.join(errors_)}")

        def hook(call):
            if region is not None and call.service.region != region or not fault.active(call.now):
                return
            if rng.random() < fraction:
                fault.injected += 1
                cls = classes[rng.randrange(len(classes))]
                raise cls("The request failed (injected fault).")
        return self._install(fault, hook)

    def add_latency(self, seconds: float, start: datetime | None = None,
                    end: datetime | None = None, *, region: str | None = None,
                    operations: tuple[str, ...] | None = None) -> Fault:
        """Requests take ``seconds`` longer (simulated: the retrying client moves the clock)."""
        fault = Fault("latency", start, end, f"+{seconds}s" + (f" in {region}" if region else ""))
        self._latency.append((fault, float(seconds), region,
                              frozenset(operations) if operations else None))
        return self._install(fault, None)

    def latency(self, region: str, operation: str, now: datetime) -> float:
        """Added latency (seconds) for one request."""
        return sum(s for fault, s, r, ops in self._latency
                   if fault.active(now) and (r is None or r == region)
                   and (ops is None or operation in ops))

    # ------------------------------------------------------------ clients
    def retrying(self, client, *, max_attempts: int = 3, seed: int = 0) -> RetryingClient:
        """Wrap a lab client so it retries as the AWS SDKs' standard mode does."""
        return RetryingClient(client, self._lab, max_attempts=max_attempts, seed=seed)

    # ------------------------------------------------------------ measuring
    def availability(self, window: str = "1h", *, region: str | None = None):
        """Availability per time window from the audit trail, as a DataFrame.

        availability = successes / (requests that were not client errors), the
        way AWS's SLA counts: 4xx responses (bad input, access denied,
        throttling, disabled keys) are the caller's; 5xx are the service's.
        """
        import pandas as pd
        rows = []
        for rec in self._lab.audit.records():
            if rec["eventType"] != "AwsApiCall" or (region is not None and rec["awsRegion"] != region):
                continue
            code = rec.get("errorCode")
            status = errors.error_class(code).status if code else 200
            rows.append({"time": rec["eventTime"], "success": code is None,
                         "server_error": status >= 500, "client_error": 400 <= status < 500})
        frame = pd.DataFrame(rows, columns=["time", "success", "server_error", "client_error"])
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
        grouped = frame.set_index("time").resample(window).sum()
        out = pd.DataFrame({
            "requests": grouped["success"] + grouped["server_error"] + grouped["client_error"],
            "succeeded": grouped["success"],
            "server_errors": grouped["server_error"],
            "client_errors": grouped["client_error"],
        }).astype("int64")
        counted = out["succeeded"] + out["server_errors"]
        out["availability"] = (out["succeeded"] / counted.where(counted > 0)).round(4)
        out.index.name = "window_start"
        return out


def _named_key(call):
    """The key a request names (KeyId or a symmetric ciphertext's header), or None."""
    from .crypto.symmetric import parse_blob
    params = call.request.params
    try:
        if params.get("KeyId"):
            return call.service.resolve(params["KeyId"])
        if params.get("CiphertextBlob"):
            parts = parse_blob(params["CiphertextBlob"])
            return call.service.resolve(parts.key_arn)
    except errors.KMSError:
        return None
    return None


def _operation_name(method_name: str) -> str:
    """boto3 method name -> AWS operation name (``encrypt`` -> ``Encrypt``)."""
    from .client import _op_name
    return _op_name(method_name)


class RetryingClient:
    """A KMS client that retries like boto3's ``retries={"mode": "standard"}``.

    Backoff and latency pass on the lab's virtual clock, so the audit trail
    shows each attempt at the time it happened. ``attempts`` logs every try.
    """

    def __init__(self, client, lab: Lab, *, max_attempts: int = 3, seed: int = 0,
                 model: LatencyModel | None = None):
        self._client = client
        self._lab = lab
        self.max_attempts = max_attempts
        self.model = model or LatencyModel(max_attempts=max_attempts)
        self._rng = random.Random(seed)
        self.budget = RetryBudget(self.model.retry_quota)
        self.attempts: list[dict] = []

    def __repr__(self) -> str:
        return f"<RetryingClient standard mode, max_attempts={self.max_attempts} over {self._client!r}>"

    def backoff(self, attempt: int) -> float:
        """Full jitter before attempt ``attempt + 1``: random() * min(2**(attempt-1), 20) seconds."""
        return self.model.backoff_s(attempt, self._rng.random())

    def __getattr__(self, name: str):
        method = getattr(self._client, name)
        if not callable(method) or name.startswith("_"):
            return method

        def call(**params):
            return self._call(name, method, params)
        call.__name__ = name
        call.__doc__ = method.__doc__
        return call

    def _call(self, name: str, method, params: dict):
        clock = self._lab.clock
        region = self._client.meta.region_name
        operation = _operation_name(name)
        for attempt in range(1, self.max_attempts + 1):
            delay = self._lab.faults.latency(region, operation, clock.now())
            if delay:
                clock.advance(seconds=delay)
            try:
                response = method(**dict(params))
            except errors.KMSError as err:
                retry = is_retryable(err) and attempt < self.max_attempts and self.budget.acquire()
                self.attempts.append({"time": clock.now(), "operation": operation, "attempt": attempt,
                                      "outcome": err.code, "retried": retry})
                if not retry:
                    raise
                clock.advance(seconds=self.backoff(attempt))
                continue
            self.budget.release(retried=attempt > 1)
            self.attempts.append({"time": clock.now(), "operation": operation, "attempt": attempt,
                                  "outcome": "OK", "retried": False})
            response["ResponseMetadata"]["RetryAttempts"] = attempt - 1
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def attempts_frame(self):
        """Every attempt this client made, as a DataFrame."""
        import pandas as pd
        return pd.DataFrame(self.attempts, columns=["time", "operation", "attempt", "outcome",
                                                    "retried"])
