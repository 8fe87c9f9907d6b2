"""Direct vs envelope encryption: the same payloads, three strategies, one table.

Strategies (encryption of each payload):

* ``direct``: send the payload to KMS Encrypt in 4,096-byte chunks:
  ceil(size / 4096) calls, each carrying its chunk (base64) both ways;
* ``envelope``: one GenerateDataKey, then AES-GCM locally
  (:func:`kmslab.envelope.encrypt` with the committing suite without a
  signature, ``AES_256_GCM_HKDF_SHA512_COMMIT_KEY``: the model's local time
  prices AES-GCM only. The signed default adds a key pair and a signature
  per message and a SHA-384 pass over it; its KMS calls are the same, their
  encryption context one entry longer);
* ``envelope+cache``: the same with a :class:`~kmslab.envelope.DataKeyCache`,
  so most messages make no KMS call at all.

Up to ``run_limit_bytes`` the payloads are really encrypted against the
client and each call's bytes recorded. Above it nothing is encrypted: the
direct strategy's calls are computed (ceil(size/4096) Encrypt calls whose
request and response sizes come from one real calibration call and the same
JSON sizing), and the envelope strategies make their real KMS calls without
the local encryption, whose time the model prices. The tests check that both
ways give identical numbers where both can run. Timing then follows
:mod:`kmslab.latency.timeline`.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import time
from collections.abc import Sequence

from .. import envelope
from ..envelope.format import DEFAULT_FRAME_LENGTH
from ..envelope.message import start_message
from ..envelope.suite import Algorithm
from .model import LatencyModel, direct_chunks, operation_family, region_of
from .timeline import CallRecord, SimulationResult, Trace, simulate

__all__ = ["compare", "STRATEGIES", "direct_trace", "record_trace", "time_traces",
           "DEFAULT_SIZES"]

STRATEGIES = ("direct", "envelope", "envelope+cache")
DEFAULT_SIZES = (100, 4096, 64 << 10, 1 << 20, 16 << 20, 1 << 30)
CONTEXT = {"purpose": "kmslab latency lab"}
SUITE = Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY


class _Recorder:
    """Forwards calls to the client, noting each call's bytes (no timing)."""

    def __init__(self, client, model: LatencyModel):
        self.client, self.model = client, model
        self.records: list[CallRecord] = []
        self.elapsed = 0.0  # the sequential model time so far: the cache's clock

    def _record(self, operation, method, params):
        response = method(**params)
        record = CallRecord(operation, self.model.request_bytes(params),
                            self.model.response_bytes(response))
        self.records.append(record)
        self.elapsed += self.model.call_s(operation, record.request_bytes, record.response_bytes)
        return response

    def encrypt(self, **params):
        return self._record("Encrypt", self.client.encrypt, params)

    def generate_data_key(self, **params):
        return self._record("GenerateDataKey", self.client.generate_data_key, params)

    def decrypt(self, **params):
        return self._record("Decrypt", self.client.decrypt, params)

    def take(self) -> list[CallRecord]:
        records, self.records = self.records, []
        return records


def _client_of(kms_or_lab):
    """A lab gives its default client; anything else is used as the client."""
    if hasattr(kms_or_lab, "clock") and callable(getattr(kms_or_lab, "client", None)):
        return kms_or_lab.client()
    return kms_or_lab


class _DirectCalibration:
    """Request/response sizes of Encrypt calls, from one real call."""

    def __init__(self, client, key_id: str, model: LatencyModel):
        response = client.encrypt(KeyId=key_id, Plaintext=b"\0", EncryptionContext=CONTEXT)
        self.key_id, self.model = key_id, model
        self.template = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        self.blob_overhead = len(response["CiphertextBlob"]) - 1
        self._cache: dict[int, CallRecord] = {}

    def record(self, chunk: int) -> CallRecord:
        if chunk not in self._cache:
            request = {"KeyId": self.key_id, "Plaintext": bytes(chunk),
                       "EncryptionContext": CONTEXT}
            response = dict(self.template, CiphertextBlob=bytes(chunk + self.blob_overhead))
            self._cache[chunk] = CallRecord("Encrypt", self.model.request_bytes(request),
                                            self.model.response_bytes(response))
        return self._cache[chunk]


def direct_trace(calibration: _DirectCalibration, size: int) -> Trace:
    """The direct strategy's calls for ``size`` bytes, computed without encrypting."""
    return Trace([calibration.record(chunk) for chunk in direct_chunks(size)], 0.0)


def record_trace(strategy: str, recorder: _Recorder, key_id: str, size: int, cache,
                 run: bool, model: LatencyModel) -> Trace:
    """Encrypt one ``size``-byte payload with ``strategy`` through ``recorder``."""
    if strategy == "direct":
        payload = bytes(size)
        for start in range(0, size, 4096):
            recorder.encrypt(KeyId=key_id, Plaintext=payload[start:start + 4096],
                             EncryptionContext=CONTEXT)
        return Trace(recorder.take(), 0.0)
    use_cache = cache if strategy == "envelope+cache" else None
    if run:
        envelope.encrypt(recorder, bytes(size), [key_id], CONTEXT, algorithm=SUITE,
                         cache=use_cache)
    else:  # the KMS side of envelope.encrypt, without encrypting the payload
        start_message(recorder, [key_id], CONTEXT, SUITE, DEFAULT_FRAME_LENGTH, use_cache, size)
    local = model.local_s(size)
    recorder.elapsed += local
    return Trace(recorder.take(), local)


def _throttle_free(traces: list[Trace], model: LatencyModel, concurrency: int) -> bool:
    """True when no token bucket can run dry: each worker's calls reach KMS at
    least rtt + service time apart, so ``concurrency`` workers stay within
    every quota (burst included) if this holds."""
    for operation in {c.operation for t in traces for c in t.calls}:
        rate = model.quota_rps(operation)
        spacing = model.rtt_ms / 1e3 + min(model.service_s(o) for o in {
            c.operation for t in traces for c in t.calls
            if operation_family(c.operation) == operation_family(operation)})
        if concurrency > rate or spacing <= 0 or concurrency / spacing > rate:
            return False
    return True


def time_traces(traces: list[Trace], model: LatencyModel, *, concurrency: int = 1,
                seed: int = 0) -> SimulationResult:
    """Time the traces: closed form when no quota can bite, else the event simulation.

    Closed form: a message takes the sum of its calls' ``call_s`` plus its
    local time; workers take messages in order as they come free. This is
    exactly what :func:`simulate` computes when nothing is throttled, in
    O(messages) instead of O(calls).
    """
    if not _throttle_free(traces, model, concurrency):
        return simulate(traces, model, concurrency=concurrency, seed=seed)
    durations, sent, received = [], 0, 0
    for trace in traces:
        counts: dict[CallRecord, int] = {}
        for call in trace.calls:
            counts[call] = counts.get(call, 0) + 1
        total = trace.local_s
        for call, n in counts.items():
            total += n * model.call_s(call.operation, call.request_bytes, call.response_bytes)
            sent += n * call.request_bytes
            received += n * call.response_bytes
        durations.append(total)
    free = [0.0] * min(concurrency, len(traces))
    end = 0.0
    for duration in durations:
        start = heapq.heappop(free)
        end = max(end, start + duration)
        heapq.heappush(free, start + duration)
    calls = sum(len(t.calls) for t in traces)
    return SimulationResult(durations, end, calls, 0, 0, 0, sent, received)


def compare(kms_or_lab, sizes: Sequence[int] = DEFAULT_SIZES,
            strategies: Sequence[str] = STRATEGIES, *,
            rtt_ms: float | Sequence[float] = 20.0, bandwidth_mbps: float = 100.0,
            requests: int = 10, concurrency: int = 1, background_rps: float = 0.0,
            region: str | None = None,
            cache_max_age_s: float = 300.0, cache_max_messages: int = 2**32,
            model: LatencyModel | None = None, key_id: str | None = None, seed: int = 0,
            measure: bool = False, run_limit_bytes: int = 1 << 20):
    """Encrypt ``requests`` payloads of each size with each strategy; one row per pair.

    ``kms_or_lab``: a lab (its default client is used) or any boto3-shaped KMS
    client. ``rtt_ms`` may be a list (one set of rows per value). A ``model``
    replaces ``bandwidth_mbps`` and ``background_rps`` (and ``rtt_ms`` unless
    that is a list). Payloads up to ``run_limit_bytes`` are really encrypted. ``concurrency``
    workers share the request quota with ``background_rps`` of other traffic; the quota is
    AWS's default in ``region`` (the client's Region unless given; a ``model`` brings its
    own unless ``region`` is given). ``measure=True`` adds the
    real in-process time per message (``measured_s``; NaN where the payload
    was not really encrypted).

    Columns: strategy, size_bytes, rtt_ms, requests, concurrency, mode
    ("run" or "computed"), latency_s (mean per message), total_s (all
    messages), kms_calls, throttles, retries, failed, network_bytes, cost_usd.
    """
    import pandas as pd

    unknown = set(strategies) - set(STRATEGIES)
    if unknown:
        raise ValueError(f"unknown strategies {sorted(unknown)}; choose from {STRATEGIES}")
    client = _client_of(kms_or_lab)
    if key_id is None:
        key_id = client.create_key(Description="kmslab latency lab")["KeyMetadata"]["KeyId"]
    if model is None:
        model = LatencyModel(bandwidth_mbps=bandwidth_mbps, background_rps=background_rps,
                             region=region or region_of(client))
        rtts = [rtt_ms] if isinstance(rtt_ms, (int, float)) else list(rtt_ms)
    else:  # the model's own rtt, unless a list of rtts asks for a sweep
        if region is not None:
            model = dataclasses.replace(model, region=region)
        rtts = [model.rtt_ms] if isinstance(rtt_ms, (int, float)) else list(rtt_ms)
    rows = []
    for rtt in rtts:
        base = dataclasses.replace(model, rtt_ms=rtt)
        calibration = _DirectCalibration(client, key_id, base)
        for size in sizes:
            run = size <= run_limit_bytes
            for strategy in strategies:
                recorder = _Recorder(client, base)
                cache = envelope.DataKeyCache(max_age=cache_max_age_s,
                                              max_messages=cache_max_messages,
                                              clock=lambda r=recorder: r.elapsed)  # type: ignore[misc]
                wall = []
                traces = []
                for _ in range(requests):
                    if strategy == "direct" and not run:
                        traces.append(direct_trace(calibration, size))
                        continue
                    started = time.perf_counter()
                    traces.append(record_trace(strategy, recorder, key_id, size, cache, run, base))
                    wall.append(time.perf_counter() - started)
                result = time_traces(traces, base, concurrency=concurrency, seed=seed)
                done = [x for x in result.latencies_s if not math.isnan(x)]
                row = {
                    "strategy": strategy, "size_bytes": size, "rtt_ms": base.rtt_ms,
                    "requests": requests, "concurrency": concurrency,
                    "mode": "run" if run else "computed",
                    "latency_s": sum(done) / len(done) if done else math.nan,
                    "total_s": result.total_s, "kms_calls": result.admitted_calls,
                    "throttles": result.throttles, "retries": result.retries,
                    "failed": result.failed_messages, "network_bytes": result.network_bytes,
                    "cost_usd": result.admitted_calls * base.price_per_request_usd,
                }
                if measure:
                    row["measured_s"] = sum(wall) / len(wall) if (wall and run) else math.nan
                rows.append(row)
    frame = pd.DataFrame(rows)
    frame["strategy"] = pd.Categorical(frame["strategy"], categories=list(STRATEGIES))
    frame["mode"] = pd.Categorical(frame["mode"], categories=["run", "computed"])
    return frame

