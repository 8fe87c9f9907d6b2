"""The latency model: what one KMS call costs in time, bytes, quota and money.

One call, sent at time ``t`` on an idle connection:

* the request (HTTP headers with SigV4 + the JSON body, blobs in base64)
  crosses the network: ``rtt / 2 + request bytes * 8 / bandwidth``;
* it arrives at ``t + rtt/2 + transfer(request)`` and must take a token
  from its operation family's bucket (the request quota, per second);
  without a token KMS answers ``ThrottlingException`` at once;
* KMS works for the operation's service time;
* the response comes back: ``rtt / 2 + response bytes * 8 / bandwidth``.

So an admitted call takes exactly
``rtt + (request + response bytes) * 8 / bandwidth + service time``.
Local work (AES-GCM over the payload in envelope encryption) is charged as
``local overhead + size / local throughput``.

Prices and quotas are AWS's published defaults. AWS KMS pricing: $0.03 per
10,000 requests for symmetric operations. Request quotas are read from
:mod:`kmslab.quotas`, the one table of them, for the model's Region: the
symmetric cryptographic operations share 10,000 requests per second in most
Regions, 20,000 in six and 100,000 in three (us-east-1 among them).
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from .. import quotas as _quotas

__all__ = ["LatencyModel", "ENCRYPT_PLAINTEXT_LIMIT", "PRICE_PER_REQUEST_USD",
           "operation_family", "region_of", "json_bytes", "DEFAULT_REGION"]

#: Encrypt accepts at most 4,096 bytes of plaintext (symmetric keys).
ENCRYPT_PLAINTEXT_LIMIT = 4096
#: AWS KMS: $0.03 per 10,000 requests (symmetric; most Regions).
PRICE_PER_REQUEST_USD = 0.03 / 10_000
#: the Region a model assumes when none is given (a lab's default Region)
DEFAULT_REGION = "us-east-1"


def operation_family(operation: str) -> str:
    """The request quota an operation counts against (a :mod:`kmslab.quotas` name), or itself.

    The latency lab encrypts with symmetric keys, so Encrypt, Decrypt and
    GenerateDataKey share "Cryptographic operations (symmetric) request rate".
    An operation without a published quota is its own family and is never throttled.
    """
    return _quotas.quota_name(operation) or operation


def region_of(client) -> str:
    """The Region a boto3-shaped client calls (``client.meta.region_name``), else the default."""
    return getattr(getattr(client, "meta", None), "region_name", None) or DEFAULT_REGION


def _jsonable(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.timestamp()
    return value


def json_bytes(document: dict) -> int:
    """Length of the AWS JSON 1.1 body for a request or response (blobs base64)."""
    return len(json.dumps(_jsonable(document), separators=(",", ":")))


@dataclass(frozen=True)
class LatencyModel:
    """Network, service and quota parameters; every number a learner can change.

    ``rtt_ms``: client-to-KMS round trip. ``bandwidth_mbps``: both directions.
    ``service_ms``: time KMS spends per operation (``default_service_ms`` else).
    ``request_overhead_bytes`` / ``response_overhead_bytes``: HTTP headers
    (SigV4 signature, content type...) around each JSON body.
    ``region``: the Region called; its default request quotas are AWS's, from
    :mod:`kmslab.quotas`. ``quotas``: quotas changed from those defaults, as a
    Service Quotas increase would (quota name, or operation name for a quota of
    its own, to requests per second). ``background_rps``: other traffic in the
    account using the same quotas.
    Retries follow the AWS SDKs' "standard" mode: ``max_attempts`` in all,
    delay ``random() * min(retry_base_s * 2**(attempt-1), max_backoff_s)``
    (full jitter, 1 s base for throttling), and a retry quota of
    ``retry_quota`` tokens, 5 per throttled retry, 1 back per first-try success.
    ``local_overhead_us`` and ``local_throughput_gbps`` price local envelope work.
    """

    rtt_ms: float = 20.0
    bandwidth_mbps: float = 100.0
    service_ms: Mapping[str, float] = field(default_factory=lambda: {
        "Encrypt": 1.0, "Decrypt": 1.0, "GenerateDataKey": 1.5})
    default_service_ms: float = 1.0
    request_overhead_bytes: int = 700
    response_overhead_bytes: int = 250
    region: str = DEFAULT_REGION
    quotas: Mapping[str, float] = field(default_factory=dict)
    background_rps: float = 0.0
    max_attempts: int = 3
    retry_base_s: float = 1.0
    max_backoff_s: float = 20.0
    retry_quota: int = 500
    local_overhead_us: float = 30.0
    local_throughput_gbps: float = 1.5
    price_per_request_usd: float = PRICE_PER_REQUEST_USD

    def __post_init__(self):
        changed = {_quotas.canonical_name(name): float(rate) for name, rate in self.quotas.items()}
        for name, rate in changed.items():
            if rate <= 0:
                raise ValueError(f"{name} must be a positive number of requests per second")
        object.__setattr__(self, "quotas", changed)

    def quota(self, name: str) -> float:
        """Requests per second of quota ``name`` in the model's Region (a change, or AWS's default)."""
        name = _quotas.canonical_name(name)
        return self.quotas.get(name, _quotas.default_rate(name, self.region))

    def transfer_s(self, nbytes: int) -> float:
        """Seconds to push ``nbytes`` through the link."""
        return nbytes * 8 / (self.bandwidth_mbps * 1e6)

    def service_s(self, operation: str) -> float:
        """Seconds the service spends on one ``operation`` once the request has arrived."""
        return self.service_ms.get(operation, self.default_service_ms) / 1e3

    def request_bytes(self, params: dict) -> int:
        """Bytes a request with ``params`` puts on the wire: HTTP and signing overhead plus its JSON."""
        return self.request_overhead_bytes + json_bytes(params)

    def response_bytes(self, response: dict | None) -> int:
        """Bytes a response brings back: HTTP overhead plus its JSON (none for an empty response)."""
        return self.response_overhead_bytes + (json_bytes(response) if response else 0)

    def call_s(self, operation: str, request_bytes: int, response_bytes: int) -> float:
        """Time of one admitted call: RTT + transfer both ways + service time."""
        return (self.rtt_ms / 1e3 + self.transfer_s(request_bytes + response_bytes)
                + self.service_s(operation))

    def local_s(self, plaintext_bytes: int) -> float:
        """Local AES-GCM work for one envelope message."""
        return self.local_overhead_us / 1e6 + plaintext_bytes / (self.local_throughput_gbps * 1e9)

    def quota_rps(self, operation: str) -> float:
        """Requests per second left for us in the operation's quota (infinite if it has none)."""
        name = _quotas.quota_name(operation)
        if name is None:
            return math.inf
        return max(self.quota(name) - self.background_rps, 0.0)

    def backoff_s(self, attempt: int, random_value: float) -> float:
        """The SDK's full-jitter delay before attempt ``attempt + 1`` (attempt is 1-based)."""
        return random_value * min(self.retry_base_s * 2 ** (attempt - 1), self.max_backoff_s)


def direct_chunks(size: int) -> list[int]:
    """Plaintext sizes of the Encrypt calls direct encryption needs (4,096 bytes each)."""
    full, rest = divmod(size, ENCRYPT_PLAINTEXT_LIMIT)
    return [ENCRYPT_PLAINTEXT_LIMIT] * full + ([rest] if rest else [])


def direct_calls(size: int) -> int:
    """ceil(size / 4096): Encrypt calls to encrypt ``size`` bytes directly."""
    return math.ceil(size / ENCRYPT_PLAINTEXT_LIMIT)
