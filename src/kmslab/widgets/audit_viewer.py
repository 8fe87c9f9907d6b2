"""AuditLogViewer: the lab's CloudTrail records, newest first, with filters.

Reads ``lab.audit.records()`` (CloudTrail's JSON shape). Filters: time range,
operation (eventName), key, principal and outcome (success or the AWS error
code), and "hide widget calls" (on by default): the requests widgets make on
their own to refresh their views carry the user agent ``kmslab-widgets/...``;
they stay in the trail, the viewer only leaves them out. The table shows a
page of records in a scrolling box; "Show more" adds the next page.

With ``live=True`` the view follows the lab: every request marks it stale
(``lab.hooks.add_after``), and it is redrawn when the running cell finishes,
or at once when the request came from a widget callback. No threads are
involved.
"""

from __future__ import annotations

from datetime import UTC, datetime

import ipywidgets as widgets

from ._base import html_table, is_widget_call, note_html, short_id

__all__ = ["AuditLogViewer"]

ALL = "(all)"
COLUMNS = ("eventTime (UTC)", "eventName", "principal", "key", "outcome", "errorMessage")
ONE_LINE = ("eventTime (UTC)", "eventName", "key", "outcome")


def _principal(record: dict) -> str:
    ident = record.get("userIdentity", {})
    return ident.get("arn") or ident.get("invokedBy") or ident.get("type", "")


def _key_id(record: dict) -> str | None:
    resources = record.get("resources")
    if resources:
        return resources[0]["ARN"].rsplit("/", 1)[-1]
    return None


def _stamp(when: datetime | None) -> str | None:
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AuditLogViewer(widgets.VBox):
    """The audit trail as a filtered table, newest first, ``page_size`` rows at a time."""

    def __init__(self, lab, *, live: bool = False, page_size: int = 25):
        self.lab = lab
        self.page_size = page_size
        self.shown = page_size
        self._records: list[dict] = []
        self.dirty = True
        self._in_cell = False
        self._live = False
        self._shell = None

        self.since = widgets.DatetimePicker(description="From")
        self.until = widgets.DatetimePicker(description="To")
        self.operation = widgets.Dropdown(description="Operation", options=[ALL], value=ALL)
        self.key = widgets.Dropdown(description="Key", options=[ALL], value=ALL)
        self.principal = widgets.Dropdown(description="Principal", options=[ALL], value=ALL,
                                          layout=widgets.Layout(width="420px"))
        self.outcome = widgets.ToggleButtons(options=["all", "success", "failure"], value="all",
                                             description="Outcome",
                                             style={"button_width": "80px"})
        self.hide_widget_calls = widgets.Checkbox(
            value=True, description="hide the widgets' own calls (user agent kmslab-widgets/...)",
            indent=False, layout=widgets.Layout(width="auto"))
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.more_button = widgets.Button(description="Show more", icon="angle-down",
                                          tooltip=f"the next {page_size} records")
        self.summary = widgets.HTML()
        self.table = widgets.HTML(layout=widgets.Layout(max_height="24em", overflow="auto",
                                                        border="1px solid #ddd"))
        for control in (self.since, self.until, self.operation, self.key, self.principal,
                        self.outcome, self.hide_widget_calls):
            control.observe(lambda _: self.render(first_page=True), "value")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.more_button.on_click(lambda _: self.show_more())
        super().__init__([
            widgets.HBox([widgets.HTML("<b>Audit log</b>"), self.refresh_button]),
            widgets.HBox([self.since, self.until]),
            widgets.HBox([self.operation, self.key]),
            self.principal, widgets.HBox([self.outcome, self.hide_widget_calls]),
            self.summary, self.table, self.more_button])
        self.add_class("kmslab-audit-viewer")
        self.refresh()
        if live:
            self.start_live()

    # ------------------------------------------------------------ live mode
    def __repr__(self) -> str:
        return f"<AuditLogViewer: {len(self._records)} records{', live' if self._live else ''}>"

    @property
    def live(self) -> bool:
        return self._live

    def start_live(self) -> None:
        """Follow the lab: redraw after each request (after the cell, when run from a cell)."""
        if self._live:
            return
        self._live = True
        self.lab.hooks.add_after(self._after_request)
        try:
            from IPython import get_ipython
            self._shell = get_ipython()
        except ImportError:  # pragma: no cover - IPython ships with ipywidgets
            self._shell = None
        if self._shell is not None:
            self._shell.events.register("pre_run_cell", self._cell_started)
            self._shell.events.register("post_run_cell", self._cell_finished)

    def stop_live(self) -> None:
        """Stop following the lab (removes the request hook)."""
        if not self._live:
            return
        self._live = False
        self.lab.hooks.remove(self._after_request)
        if self._shell is not None:
            self._shell.events.unregister("pre_run_cell", self._cell_started)
            self._shell.events.unregister("post_run_cell", self._cell_finished)
            self._shell = None

    def close(self) -> None:
        self.stop_live()
        super().close()

    def _after_request(self, call, response, error) -> None:
        self.dirty = True
        if not self._in_cell:
            self.refresh()

    def _cell_started(self, *args) -> None:
        self._in_cell = True

    def _cell_finished(self, *args) -> None:
        self._in_cell = False
        # service events (rotation, deletion) come from moving the clock, not from requests
        if self.dirty or len(self.lab.audit) != len(self._records):
            self.refresh()

    # ------------------------------------------------------------ reading
    def refresh(self) -> None:
        """Read the records added since the last refresh, update the filter choices, redraw."""
        audit = self.lab.audit
        for row in range(len(self._records), len(audit)):
            self._records.append(audit.record_at(row))
        self.dirty = False
        self._set_options(self.operation, sorted({r["eventName"] for r in self._records}))
        self._set_options(self.key, sorted({k for r in self._records if (k := _key_id(r))}),
                          label=short_id)
        self._set_options(self.principal, sorted({_principal(r) for r in self._records}))
        self.render()

    @staticmethod
    def _set_options(dropdown, values, label=str) -> None:
        options = [(ALL, ALL)] + [(label(v), v) for v in values]
        if list(dropdown.options) != options:
            current = dropdown.value
            dropdown.options = options
            dropdown.value = current if current in values else ALL

    def filtered(self) -> list[dict]:
        """The records that pass the filters, newest first."""
        since, until = _stamp(self.since.value), _stamp(self.until.value)
        rows = []
        for record in reversed(self._records):
            if self.hide_widget_calls.value and is_widget_call(record):
                continue
            if since and record["eventTime"] < since:
                continue
            if until and record["eventTime"] > until:
                continue
            if self.operation.value != ALL and record["eventName"] != self.operation.value:
                continue
            if self.key.value != ALL and _key_id(record) != self.key.value:
                continue
            if self.principal.value != ALL and _principal(record) != self.principal.value:
                continue
            failed = "errorCode" in record
            if (self.outcome.value == "success" and failed) or \
                    (self.outcome.value == "failure" and not failed):
                continue
            rows.append(record)
        return rows

    def show_more(self) -> None:
        """Show the next ``page_size`` matching records below those shown."""
        self.shown += self.page_size
        self.render()

    def render(self, *, first_page: bool = False) -> None:
        """Redraw the table from the records already read (``first_page``: back to one page)."""
        if first_page:
            self.shown = self.page_size
        rows = self.filtered()
        shown = rows[:self.shown]
        hidden = sum(map(is_widget_call, self._records)) if self.hide_widget_calls.value else 0
        self.summary.value = note_html(
            f"{len(rows)} of {len(self._records)} records match"
            + (f" ({hidden} widget calls hidden)" if hidden else "")
            + (f"; the newest {len(shown)} are shown" if len(rows) > len(shown) else ""))
        self.more_button.disabled = len(rows) <= len(shown)
        self.table.value = html_table(COLUMNS, (
            [r["eventTime"].replace("T", " ").rstrip("Z"), r["eventName"], _principal(r),
             short_id(key_id) if (key_id := _key_id(r)) else "", r.get("errorCode", "success"),
             r.get("errorMessage", "")] for r in shown), empty="(no matching records)",
            nowrap=ONE_LINE)
