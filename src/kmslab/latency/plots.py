"""Figures for the latency lab (matplotlib; each returns a Figure, nothing is shown).

Each takes the DataFrame :func:`kmslab.latency.compare` returns, and returns a
:class:`kmslab.figure.Figure`: a notebook shows it as a picture whatever was imported before.
"""

from __future__ import annotations

from ..figure import Figure

__all__ = ["plot_latency_vs_size", "plot_calls_and_cost", "plot_rtt_effect", "plot_cache_effect"]

_MARKERS = {"direct": "o", "envelope": "s", "envelope+cache": "^"}


def _strategies(frame):
    return [s for s in frame["strategy"].cat.categories if (frame["strategy"] == s).any()]


def _size_label(n: int) -> str:
    for unit, step in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= step:
            return f"{n / step:g} {unit}"
    return f"{n} B"


def _latency_lines(data, x: str, xlabel: str, title: str, *, log_x: bool) -> Figure:
    """Simulated latency per message (log scale) against column ``x``, one line per strategy."""
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    for strategy in _strategies(data):
        rows = data[data["strategy"] == strategy].sort_values(x)
        ax.plot(rows[x], rows["latency_s"], marker=_MARKERS.get(strategy, "o"), label=strategy)
    if log_x:
        ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("simulated latency per message (s)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return fig


def plot_latency_vs_size(frame, *, rtt_ms: float | None = None) -> Figure:
    """Simulated latency per message against payload size, log-log, one line per strategy."""
    data = frame if rtt_ms is None else frame[frame["rtt_ms"] == rtt_ms]
    data = data[data["rtt_ms"] == data["rtt_ms"].iloc[0]]
    return _latency_lines(data[data["size_bytes"] > 0], "size_bytes", "payload size (bytes)",
                          f"Latency vs payload size (RTT {data['rtt_ms'].iloc[0]:g} ms)",
                          log_x=True)


def plot_calls_and_cost(frame, *, size_bytes: int | None = None) -> Figure:
    """KMS calls and cost per strategy for one payload size (default: the largest)."""
    data = frame[frame["rtt_ms"] == frame["rtt_ms"].iloc[0]]
    size = size_bytes if size_bytes is not None else int(data["size_bytes"].max())
    data = data[data["size_bytes"] == size]
    names = [str(s) for s in _strategies(data)]
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax_calls, ax_cost = fig.subplots(1, 2)
    calls = [int(data[data["strategy"] == s]["kms_calls"].sum()) for s in names]
    cost = [float(data[data["strategy"] == s]["cost_usd"].sum()) for s in names]
    ax_calls.bar(names, calls, color="tab:blue")
    ax_calls.set_yscale("log" if max(calls, default=0) > 100 * max(min(calls, default=1), 1) else "linear")
    ax_calls.set_ylabel("KMS calls")
    ax_cost.bar(names, cost, color="tab:orange")
    ax_cost.set_ylabel("cost (USD)")
    for ax, values in ((ax_calls, calls), (ax_cost, cost)):
        ax.margins(y=0.12)                       # room for the value written above each bar
        for i, value in enumerate(values):
            ax.annotate(f"{value:,}" if isinstance(value, int) else f"${value:.6f}",
                        (i, value), ha="center", va="bottom", fontsize=8)
    requests = int(data["requests"].iloc[0]) if len(data) else 0
    fig.suptitle(f"{requests} messages of {_size_label(size)}: KMS calls and cost")
    return fig


def plot_rtt_effect(frame, *, size_bytes: int | None = None) -> Figure:
    """Latency against round-trip time per strategy (``compare(..., rtt_ms=[...])``)."""
    size = size_bytes if size_bytes is not None else int(frame["size_bytes"].max())
    return _latency_lines(frame[frame["size_bytes"] == size], "rtt_ms",
                          "round-trip time to KMS (ms)", f"Effect of RTT, {_size_label(size)} payloads",
                          log_x=False)


def plot_cache_effect(frame) -> Figure:
    """Envelope with and without data-key caching: KMS calls and total time per size."""
    data = frame[(frame["rtt_ms"] == frame["rtt_ms"].iloc[0])
                 & frame["strategy"].isin(["envelope", "envelope+cache"])]
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax_calls, ax_time = fig.subplots(1, 2)
    for strategy in ("envelope", "envelope+cache"):
        rows = data[data["strategy"] == strategy].sort_values("size_bytes")
        if rows.empty:
            continue
        labels = [_size_label(int(n)) for n in rows["size_bytes"]]
        ax_calls.plot(labels, rows["kms_calls"], marker=_MARKERS[strategy], label=strategy)
        ax_time.plot(labels, rows["total_s"], marker=_MARKERS[strategy], label=strategy)
    ax_calls.set_ylabel("KMS calls")
    ax_time.set_ylabel("simulated time for all messages (s)")
    ax_time.set_yscale("log")          # small payloads' differences would vanish under 1 GiB's
    for ax in (ax_calls, ax_time):
        ax.set_xlabel("payload size")
        ax.legend(loc="best")
        ax.grid(True, alpha=0.3)
    fig.suptitle("Effect of data-key caching")
    return fig
