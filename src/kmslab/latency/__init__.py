"""The latency lab: why envelope encryption beats sending data to KMS.

KMS Encrypt takes at most 4,096 bytes, every call crosses the network and
counts against a request quota. This package models that (round trip,
bandwidth, service time, token-bucket quotas, SDK retries, price) on a
simulated, seeded timeline, and compares three strategies on the same
payloads. The request quotas are AWS's defaults for the Region called, read
from :mod:`kmslab.quotas`::

    lab = kmslab.Lab(seed=1)
    df = kmslab.latency.compare(lab, sizes=[100, 1 << 20, 1 << 30])
    kmslab.latency.plot_latency_vs_size(df)

``SimulatedNetwork(client, LatencyModel(...))`` puts any boto3-shaped client
behind the same model for hands-on experiments.
"""

from .compare import DEFAULT_SIZES, STRATEGIES, compare
from .model import (
    DEFAULT_REGION,
    ENCRYPT_PLAINTEXT_LIMIT,
    PRICE_PER_REQUEST_USD,
    LatencyModel,
    direct_calls,
    operation_family,
    region_of,
)
from .network import SimulatedNetwork
from .timeline import CallRecord, SimulationResult, TokenBucket, Trace, simulate

__all__ = [
    "compare", "STRATEGIES", "DEFAULT_SIZES", "LatencyModel", "SimulatedNetwork",
    "ENCRYPT_PLAINTEXT_LIMIT", "PRICE_PER_REQUEST_USD", "DEFAULT_REGION", "direct_calls",
    "operation_family", "region_of", "TokenBucket", "Trace", "CallRecord", "SimulationResult",
    "simulate",
    "plot_latency_vs_size", "plot_calls_and_cost", "plot_rtt_effect", "plot_cache_effect",
]

# The figures need matplotlib, which is slow to import: it loads on first use of a plot.
_PLOTS = ("plot_latency_vs_size", "plot_calls_and_cost", "plot_rtt_effect", "plot_cache_effect")


def __getattr__(name: str):
    if name in _PLOTS:
        from . import plots

        return getattr(plots, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PLOTS))
