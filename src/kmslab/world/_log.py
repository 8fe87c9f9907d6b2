"""The logs simulated devices keep of their own (an HSM cluster's, an XKS proxy's)."""

from __future__ import annotations

__all__ = ["log_frame"]


def log_frame(records: list[dict]):
    """A device log as a DataFrame, one row per entry, ``time`` as UTC datetimes."""
    import pandas as pd
    df = pd.DataFrame(records)
    if len(df):
        df["time"] = pd.to_datetime(df["time"], utc=True)
    return df
