"""LatencyLab: sliders for the network and the quota; direct vs envelope encryption compared.

Each change runs ``kmslab.latency.compare`` on the lab (a simulated, seeded
timeline: round trip, bandwidth, KMS service time, token-bucket request
quotas, SDK retries) and redraws the table for the chosen payload size and
the latency-against-size plot. Direct encryption sends the data to KMS in
4 KB pieces; envelope encryption asks KMS for one data key per message (or
fewer, with a data key cache). These simulation requests are the widget's
own: they carry the user agent ``kmslab-widgets/LatencyLab``.
"""

from __future__ import annotations

import ipywidgets as widgets

from .. import latency, quotas
from ._base import ErrorBox, figure_png, note_html, widget_client

__all__ = ["LatencyLab"]

SIZES = (("100 B", 100), ("4 KiB", 4096), ("64 KiB", 64 << 10), ("1 MiB", 1 << 20),
         ("16 MiB", 16 << 20))
#: symmetric request quotas to try (AWS's defaults are 10,000, 20,000 or 100,000 by Region)
QUOTAS = (("5 /s", 5), ("50 /s", 50), ("500 /s", 500), ("10,000 /s", 10_000),
          ("20,000 /s", 20_000), ("100,000 /s", 100_000))
TABLE_COLUMNS = ["strategy", "kms_calls", "latency_s", "total_s", "throttles", "retries",
                 "failed", "cost_usd"]
#: payloads up to this size are really encrypted; larger ones are computed from the model
RUN_LIMIT = 64 << 10


class LatencyLab(widgets.VBox):
    """RTT, payload size, request quota, parallel clients and caching; see the cost of each."""

    def __init__(self, lab, *, requests: int = 10):
        self.lab = lab
        self.client = widget_client(lab, "LatencyLab")
        self.requests = requests
        self.rtt = widgets.IntSlider(value=20, min=1, max=300, description="RTT (ms)",
                                     continuous_update=False)
        self.size = widgets.SelectionSlider(options=SIZES, value=1 << 20, description="Payload",
                                            continuous_update=False)
        self.region = latency.region_of(self.client)
        #: AWS's default symmetric quota in the lab's Region (requests per second)
        self.aws_default = int(quotas.default_rate(quotas.SYMMETRIC, self.region))
        self.quota = widgets.SelectionSlider(options=QUOTAS, value=self.aws_default,
                                             description="Quota", continuous_update=False,
                                             layout=widgets.Layout(width="420px"))
        self.concurrency = widgets.IntSlider(value=1, min=1, max=64, description="Clients",
                                             continuous_update=False,
                                             tooltip="messages encrypted in parallel")
        self.quota_note = widgets.HTML(note_html(
            f"AWS's default in {self.region}: {self.aws_default:,} /s"))
        self.caching = widgets.Checkbox(value=True, description="data key caching")
        self.error = ErrorBox()
        self.summary = widgets.HTML()
        self.table = widgets.HTML()
        self.plot = widgets.Image(format="png", layout=widgets.Layout(max_width="640px"))
        self.frame = None
        self.key_id: str | None = None
        controls = [self.rtt, self.size, self.quota, self.concurrency, self.caching]
        super().__init__([widgets.HTML("<b>Latency lab: direct vs envelope encryption</b>"),
                          widgets.HBox([self.rtt, self.size]),
                          widgets.HBox([self.quota, self.quota_note]),
                          widgets.HBox([self.concurrency, self.caching]),
                          self.error, self.summary, self.table, self.plot])
        self.add_class("kmslab-latency-lab")
        for control in controls:
            control.observe(lambda _: self.update(), "value")
        self.update()

    def __repr__(self) -> str:
        return "<LatencyLab>"

    def strategies(self) -> tuple[str, ...]:
        return ("direct", "envelope", "envelope+cache") if self.caching.value else \
            ("direct", "envelope")

    def update(self):
        """Run the comparison for the current settings and redraw; returns the DataFrame."""
        return self.error.run(self._update)

    def _update(self):
        if self.key_id is None:
            self.key_id = self.client.create_key(
                Description="LatencyLab key")["KeyMetadata"]["KeyId"]
        model = latency.LatencyModel(rtt_ms=self.rtt.value, region=self.region,
                                     quotas={quotas.SYMMETRIC: self.quota.value})
        sizes = sorted({size for _, size in SIZES})
        frame = latency.compare(self.client, sizes=sizes, strategies=self.strategies(),
                                model=model, requests=self.requests,
                                concurrency=self.concurrency.value, key_id=self.key_id,
                                run_limit_bytes=RUN_LIMIT)
        self.frame = frame
        rows = frame[frame["size_bytes"] == self.size.value][TABLE_COLUMNS]
        self.summary.value = note_html(
            f"{self.requests} messages of {self.size.label}, RTT {self.rtt.value} ms, quota "
            f"{self.quota.label}{' (AWS default)' if self.quota.value == self.aws_default else ''}, "
            f"{self.concurrency.value} client(s) in parallel")
        self.table.value = rows.to_html(index=False, float_format=lambda x: f"{x:.4g}",
                                        classes="kmslab-table")
        self.plot.value = figure_png(latency.plot_latency_vs_size(frame))
        return frame
