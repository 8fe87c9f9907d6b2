"""KeyTimeline: one key's material versions and life events, with buttons that move the clock.

Versions come from ListKeyRotations (``IncludeKeyMaterial="ALL_KEY_MATERIAL"``),
the key's state and dates from DescribeKey and GetKeyRotationStatus, and
its events (rotations, disable/enable, deletion scheduled, deleted, material
expired) from the lab's audit trail. Advancing the lab clock fires what is
due in time order, so a learner can watch a year of rotations happen, or a
deletion window end. Once the key is deleted, its material shows as destroyed.

The widget's own reads carry the user agent ``kmslab-widgets/KeyTimeline``
and ask only what the key allows: a deleted key (the trail holds its
DeleteKey) is not described again, so refreshing never fails.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import ipywidgets as widgets

from ._base import ErrorBox, allowed_in_state, figure_png, html_table, short_id, widget_client

__all__ = ["KeyTimeline"]

#: audit events shown on the timeline (the ones that change a key's life)
LIFE_EVENTS = ("CreateKey", "EnableKey", "DisableKey", "ScheduleKeyDeletion", "CancelKeyDeletion",
               "EnableKeyRotation", "DisableKeyRotation", "RotateKeyOnDemand", "RotateKey",
               "ImportKeyMaterial", "DeleteImportedKeyMaterial", "DeleteExpiredKeyMaterial",
               "DeleteKey")


#: what an event's marker says on the plot (the events table keeps AWS's names)
SHORT_LABELS = {"CreateKey": "created", "EnableKey": "enabled", "DisableKey": "disabled",
                "ScheduleKeyDeletion": "deletion scheduled", "CancelKeyDeletion": "deletion cancelled",
                "EnableKeyRotation": "rotation on", "DisableKeyRotation": "rotation off",
                "RotateKeyOnDemand": "rotated on demand", "RotateKey": "rotated",
                "ImportKeyMaterial": "material imported",
                "DeleteImportedKeyMaterial": "material deleted",
                "DeleteExpiredKeyMaterial": "material expired", "DeleteKey": "deleted"}


def _short_label(event: str) -> str:
    return SHORT_LABELS.get(event.split(" ", 1)[0], event)


class KeyTimeline(widgets.VBox):
    """A key's versions and events over time; ``+1 day``, ``+30 days``... move the lab clock."""

    def __init__(self, lab, key_id: str):
        self.lab = lab
        self.client = widget_client(lab, "KeyTimeline")
        meta = self.client.describe_key(KeyId=key_id)["KeyMetadata"]
        self.key_id = meta["KeyId"]
        self.key_arn = meta["Arn"]
        self.created: datetime = meta["CreationDate"]
        self.metadata: dict | None = meta
        self.versions: list[dict] = []
        self.events: list[tuple[datetime, str]] = []
        self.deleted_at: datetime | None = None

        self.now = widgets.HTML()
        self.summary = widgets.HTML()
        self.versions_table = widgets.HTML()
        self.events_table = widgets.HTML(layout=widgets.Layout(max_height="14em", overflow="auto"))
        self.plot = widgets.Image(format="png", layout=widgets.Layout(max_width="760px"))
        self.error = ErrorBox()
        self.step_buttons = []
        for label, days in (("+1 day", 1), ("+7 days", 7), ("+30 days", 30), ("+365 days", 365)):
            button = widgets.Button(description=label, tooltip=f"lab.clock.advance(days={days})",
                                    layout=widgets.Layout(width="auto"))
            button.on_click(lambda _, d=days: self.advance(d))
            self.step_buttons.append(button)
        self.days = widgets.IntSlider(value=90, min=1, max=1095, description="Days",
                                      continuous_update=False)
        self.advance_button = widgets.Button(description="Advance", button_style="primary")
        self.advance_button.on_click(lambda _: self.advance(self.days.value))
        super().__init__([
            widgets.HTML(f"<b>Timeline of {self.key_id}</b>"), self.now,
            widgets.HBox(self.step_buttons), widgets.HBox([self.days, self.advance_button]),
            self.error, self.summary, self.versions_table, self.events_table, self.plot])
        self.add_class("kmslab-key-timeline")
        self.refresh()

    def __repr__(self) -> str:
        return f"<KeyTimeline {self.key_id}: {self.state}>"

    # ------------------------------------------------------------ reading
    def _can_rotate(self) -> bool:
        """Whether KMS keeps versions of this key's material (symmetric, not in a key store)."""
        meta = self.metadata
        return (meta is not None and meta["KeySpec"] == "SYMMETRIC_DEFAULT"
                and not meta.get("CustomKeyStoreId"))

    def _read_versions(self) -> list[dict]:
        versions, marker = [], None
        while True:
            params = {"KeyId": self.key_id, "IncludeKeyMaterial": "ALL_KEY_MATERIAL"}
            if marker:
                params["Marker"] = marker
            page = self.client.list_key_rotations(**params)
            versions += page.get("Rotations", [])
            marker = page.get("NextMarker")
            if not page.get("Truncated") or not marker:
                return versions

    def _read_events(self) -> list[tuple[datetime, str]]:
        audit = self.lab.audit
        events = []
        for row in range(len(audit)):
            record = audit.record_at(row)
            if record["eventName"] not in LIFE_EVENTS or "errorCode" in record:
                continue
            if not any(r["ARN"] == self.key_arn for r in record.get("resources", [])):
                continue
            what = record["eventName"]
            details = record.get("serviceEventDetails") or {}
            if details.get("rotationType"):
                what += f" ({details['rotationType']})"
            if record.get("eventType") == "AwsServiceEvent":
                what += " by KMS"
            when = datetime.strptime(record["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=self.created.tzinfo)
            events.append((when, what))
        return events

    def refresh(self) -> None:
        """Read the key again and redraw (after moving the clock or acting on the key)."""
        now = self.lab.clock.now()
        self.now.value = f"Lab time: <b>{now:%Y-%m-%d %H:%M} UTC</b>"
        self.events = self._read_events()
        self.deleted_at = next((when for when, what in self.events
                                if what.startswith("DeleteKey")), None)
        if self.deleted_at is not None:
            self.metadata = None          # the trail says it is gone: DescribeKey would fail
        else:
            self.metadata = self.client.describe_key(KeyId=self.key_id)["KeyMetadata"]
            self.versions = self._read_versions() if self._can_rotate() else []
        self.summary.value = self._summary_html()
        self.versions_table.value = self._versions_html()
        self.events_table.value = html_table(
            ("time (UTC)", "event"), ([f"{t:%Y-%m-%d %H:%M}", what] for t, what in self.events),
            empty="(no events)", nowrap=("time (UTC)",))
        self.plot.value = figure_png(self.figure())

    @property
    def state(self) -> str:
        """The key's state now ("Deleted" once its waiting period has ended)."""
        return self.metadata["KeyState"] if self.metadata is not None else "Deleted"

    def _summary_html(self) -> str:
        if self.metadata is None:
            return (f"<b>State: Deleted</b> on {self.deleted_at:%Y-%m-%d %H:%M}: the key and all "
                    "its material are destroyed; its ciphertexts can never be decrypted.")
        meta = self.metadata
        parts = [f"<b>State: {meta['KeyState']}</b>", f"spec {meta['KeySpec']}",
                 f"origin {meta.get('Origin')}"]
        if meta.get("DeletionDate"):
            parts.append(f"deleted on {meta['DeletionDate']:%Y-%m-%d %H:%M}")
        if meta.get("ValidTo"):
            parts.append(f"material valid to {meta['ValidTo']:%Y-%m-%d %H:%M}")
        if self._can_rotate() and meta["KeyState"] != "PendingDeletion" \
                and allowed_in_state("GetKeyRotationStatus", meta["KeyState"]):
            status = self.client.get_key_rotation_status(KeyId=self.key_id)
            if status.get("KeyRotationEnabled"):
                parts.append(f"rotates every {status.get('RotationPeriodInDays')} days")
                if status.get("NextRotationDate"):
                    parts.append(f"next rotation {status['NextRotationDate']:%Y-%m-%d}")
            else:
                parts.append("automatic rotation off")
        return " · ".join(parts)

    def _material_state(self, version: dict) -> str:
        if self.metadata is None:
            return "DESTROYED (key deleted)"
        return version.get("KeyMaterialState", "")

    def _versions_html(self) -> str:
        rows = []
        for v in self.versions:
            since = v.get("RotationDate") or self.created
            rows.append([v["KeyMaterialId"][:12] + "…", self._material_state(v),
                         v.get("RotationType", "original"), f"{since:%Y-%m-%d %H:%M}",
                         f"{v['ValidTo']:%Y-%m-%d}" if v.get("ValidTo") else ""])
        return html_table(("KeyMaterialId", "state", "rotation", "current since", "valid to"),
                          rows, empty="(no key material versions: this key does not rotate)",
                          nowrap=("state", "current since"))

    def figure(self):
        """The timeline as a matplotlib Figure: one bar per material version, labelled events below."""
        from ..figure import Figure

        now = self.lab.clock.now()
        left = self.created - timedelta(days=1)
        right = max(now, self.created + timedelta(days=30))
        fig = Figure(figsize=(8, 3.2), layout="constrained")
        # Any: matplotlib's date converter takes the datetimes its stubs type as floats only
        ax: Any = fig.add_subplot()
        starts = [v.get("RotationDate") or self.created for v in self.versions]
        end = self.deleted_at or now
        for i, (v, start) in enumerate(zip(self.versions, starts, strict=True)):
            stop = starts[i + 1] if i + 1 < len(starts) else end
            destroyed = self.deleted_at is not None
            ax.barh(1, max((stop - start).total_seconds() / 86400, 0.5), left=start, height=0.5,
                    color="0.85" if destroyed else f"C{i % 10}", edgecolor="black",
                    hatch="//" if destroyed else None)
            ax.text(start, 1.32, short_id(v["KeyMaterialId"][:8]), fontsize=7)
        if self.deleted_at is not None:
            ax.text(self.deleted_at, 1, " material destroyed", va="center", fontsize=8,
                    color="#b71c1c")
        # each event is a marker with a short name below it; names that would overlap go lower
        span = (right - left).total_seconds()
        ends: list[float] = []            # per line of names: where its last name ends
        for when, what in self.events:
            x = (when - left).total_seconds() / span
            label = _short_label(what)
            line = next((i for i, end in enumerate(ends) if end < x), len(ends))
            if line == len(ends):
                ends.append(0.0)
            ends[line] = x + 0.0085 * (len(label) + 2)
            ax.plot([when], [0], marker="v" if "Delete" in what else "o", color="black")
            ax.annotate(label, (when, 0), xytext=(3, -9 - 9 * min(line, 6)),
                        textcoords="offset points", fontsize=7, va="top")
        ax.axvline(now, color="red", linestyle="--", linewidth=1)
        ax.set_yticks([0, 1], ["events", "material"])
        ax.set_ylim(-0.35 - 0.2 * min(max(len(ends), 1), 7), 1.8)
        ax.set_xlim(left, right)
        ax.set_title(f"{short_id(self.key_id)}: {self.state}", fontsize=9)
        for tick in ax.get_xticklabels():
            tick.set_rotation(30)
            tick.set_horizontalalignment("right")
        return fig

    # ------------------------------------------------------------ actions
    def advance(self, days: int) -> None:
        """Move the lab clock forward by ``days`` (firing rotations, expiries, deletions)."""
        self.error.run(lambda: self.lab.clock.advance(days=days))
        self.refresh()
