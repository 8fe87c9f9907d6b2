"""matplotlib figures of a lab: activity over time, denied vs allowed, a key's versions, the
key-state table. Each function returns the Axes it drew on (pass ``ax=`` to draw into yours).
Without ``ax=``, it draws a new :class:`kmslab.figure.Figure` (no pyplot, nothing shown behind
your back) and the Axes it returns is a picture: the last expression of a cell shows it.

    >>> from kmslab import plots
    >>> plots.activity(lab.audit.frame(), by="eventName", freq="1D")
    >>> plots.key_state_table()
"""

from __future__ import annotations

import matplotlib
import matplotlib.colors as mcolors
import matplotlib.patches as mpatches
import numpy as np
import pandas as pd

from . import figure
from .inspect import key_states as states

__all__ = ["activity", "denied_vs_allowed", "key_versions_timeline", "key_state_table",
           "key_state_transitions"]


def _axes(ax, figsize=(9, 4)):
    if ax is None:
        _, ax = figure.subplots(figsize=figsize)
    return ax


def _legend_beside(ax, title: str, *, reverse: bool = False) -> None:
    """The legend right of the plot, where it covers no data (stacked areas: top entry first)."""
    handles, labels = ax.get_legend_handles_labels()
    if reverse:
        handles, labels = handles[::-1], labels[::-1]
    ax.legend(handles, labels, title=title, loc="upper left", bbox_to_anchor=(1.01, 1),
              fontsize=8, title_fontsize=8, frameon=False)


def _frame(trail) -> pd.DataFrame:
    return trail if isinstance(trail, pd.DataFrame) else trail.frame()


def activity(trail, *, by: str = "eventName", freq: str = "1h", ax=None):
    """Requests per ``freq`` interval, one line per value of ``by`` (eventName, principal...).

    ``trail`` is an audit frame, the trail, or a filtered view.
    """
    df = _frame(trail)
    ax = _axes(ax)
    if len(df):
        counts = (df.groupby([pd.Grouper(key="eventTime", freq=freq), by], observed=True)
                  .size().unstack(fill_value=0))
        counts.plot(ax=ax, drawstyle="steps-post")
        _legend_beside(ax, by)
    ax.set_title(f"KMS requests per {freq} by {by}")
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("requests")
    return ax


def denied_vs_allowed(trail, *, freq: str = "1h", ax=None):
    """Successful vs failed requests per ``freq`` interval, stacked, failures split by errorCode."""
    df = _frame(trail)
    ax = _axes(ax)
    if len(df):
        outcome = df["errorCode"].astype(object).where(~df["success"], "succeeded")
        counts = (df.assign(outcome=outcome)
                  .groupby([pd.Grouper(key="eventTime", freq=freq), "outcome"]).size()
                  .unstack(fill_value=0))
        order = ["succeeded"] + sorted(c for c in counts.columns if c != "succeeded")
        counts = counts[[c for c in order if c in counts.columns]]
        colors = ["tab:green"] + list(matplotlib.colormaps["Reds"](np.linspace(0.45, 0.9, len(order) - 1)))
        counts.plot.area(ax=ax, color=colors[:len(counts.columns)], linewidth=0)
        _legend_beside(ax, "outcome", reverse=True)
    ax.set_title(f"Allowed and failed requests per {freq}")
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("requests")
    return ax


def key_versions_timeline(versions: pd.DataFrame, *, until=None, ax=None):
    """A key's materials as bars from creation to the next rotation (``key_versions_frame``).

    ``until`` (a datetime) ends the last bar; default: the last creation date + 10%.
    """
    ax = _axes(ax, figsize=(9, 0.6 * max(len(versions), 2) + 1.2))
    if len(versions):
        v = versions.sort_values("Created").reset_index(drop=True)
        starts = v["Created"]
        span = (starts.iloc[-1] - starts.iloc[0]) or pd.Timedelta(days=30)
        end = pd.Timestamp(until) if until is not None else starts.iloc[-1] + span * 0.1
        ends = list(starts.iloc[1:]) + [end]
        for i, (s, e, row) in enumerate(zip(starts, ends, v.itertuples(), strict=True)):
            current = bool(row.Current)
            ax.barh(i, e - s, left=s, color="tab:blue" if current else "tab:gray", height=0.6)
            label = f"{str(row.KeyMaterialId)[:12]}…" if isinstance(row.KeyMaterialId, str) else "?"
            kind = row.RotationType if isinstance(row.RotationType, str) else "initial"
            ax.text(s, i, f" {label} ({kind}{', current' if current else ''})", va="center",
                    fontsize=8, color="white" if current else "black")
        ax.set_yticks(range(len(v)), [f"v{i + 1}" for i in range(len(v))])
        ax.invert_yaxis()
    ax.set_title("Key material versions")
    ax.set_xlabel("time (UTC)")
    return ax


def key_state_table(operations=None, *, ax=None):
    """AWS's key-state table as a heatmap: operation x key state, allowed or which error.

    Drawn from ``kmslab.inspect.key_states.TABLE``, the table the service checks.
    """
    table = states.TABLE
    ops = list(operations) if operations is not None else sorted(table)
    cols = list(states.STATES)
    errors_seen: list[str] = []
    grid = np.zeros((len(ops), len(cols)))
    for i, op in enumerate(ops):
        for j, state in enumerate(cols):
            cell = table[op][state]
            if cell is not states.OK:
                name = states.FOOTNOTES[cell][0].__name__
                if name not in errors_seen:
                    errors_seen.append(name)
                grid[i, j] = 1 + errors_seen.index(name)
    ax = _axes(ax, figsize=(9, 0.28 * len(ops) + 1.5))
    palette = ["#d8f0d8", "#f4a582", "#d6604d", "#b2182b", "#92c5de"][:1 + len(errors_seen)]
    cmap = mcolors.ListedColormap(palette)
    ax.imshow(grid, aspect="auto", cmap=cmap, vmin=-0.5, vmax=len(palette) - 0.5)
    ax.set_xticks(range(len(cols)), cols, rotation=35, ha="right")
    ax.set_yticks(range(len(ops)), ops, fontsize=8)
    handles = [mpatches.Patch(color=palette[0], label="allowed")] + [
        mpatches.Patch(color=palette[i + 1], label=n) for i, n in enumerate(errors_seen)]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    ax.set_title("Which operations each key state allows")
    return ax


#: where each key state sits in the diagram: creation on the left, deletion on the right
_STATE_POSITIONS = {
    states.NEW: (0.0, 0.0), "Creating": (1.6, 1.7), "PendingImport": (1.6, -1.7),
    "Updating": (3.4, 2.5), "Enabled": (3.4, 0.9), "Disabled": (3.4, -0.9),
    "Unavailable": (4.5, -2.8), "PendingReplicaDeletion": (5.4, 1.7),
    "PendingDeletion": (5.4, -0.9), states.DELETED: (7.0, -0.9),
}


def key_state_transitions(*, ax=None):
    """The key-state diagram, drawn from the state machine the service runs
    (``kmslab.inspect.key_states.TRANSITIONS``): states as nodes, each change of state as an
    arrow labelled with the events that cause it (an event into a state is named once)."""
    edges: dict[tuple[str, str], list[str]] = {}
    for a, event, b in states.transition_table():
        edges.setdefault((a, b), []).append(event)
    nodes = list(dict.fromkeys([n for a, b in edges for n in (a, b)]))
    angle = np.linspace(0, 2 * np.pi, len(nodes), endpoint=False)
    pos = {n: _STATE_POSITIONS.get(n, (3.5 + 3 * np.cos(t), 3 * np.sin(t)))
           for n, t in zip(nodes, angle, strict=True)}
    ax = _axes(ax, figsize=(11, 7))
    named: set[tuple[str, str]] = set()
    for (a, b), events in edges.items():
        (x0, y0), (x1, y1) = pos[a], pos[b]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="->", color="gray", shrinkA=22, shrinkB=22,
                                    connectionstyle="arc3,rad=0.12"))
        label = "\n".join(e for e in events if (e, b) not in named)
        named.update((e, b) for e in events)
        if label:
            ax.text(x0 + (x1 - x0) * 0.55, y0 + (y1 - y0) * 0.55, label, fontsize=6.5,
                    ha="center", va="center", color="dimgray",
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))
    for n, (x, y) in pos.items():
        ax.text(x, y, n, ha="center", va="center", fontsize=9,
                bbox=dict(boxstyle="round", fc="#e8f0fe" if not n.startswith("(") else "white"))
    xs, ys = zip(*pos.values(), strict=True)
    ax.set_xlim(min(xs) - 0.9, max(xs) + 0.9)
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    ax.set_axis_off()
    ax.set_title("Key states and transitions")
    return ax
