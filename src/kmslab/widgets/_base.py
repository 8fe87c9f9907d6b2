"""What every kmslab widget shares: the client it talks to, inline AWS errors, HTML tables.

Widgets see only the public API (a boto3-shaped client and public lab
attributes). Output is written through widget state (``HTML.value``,
``Image.value``), never printed, so notebooks stay deterministic under nbval.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import ipywidgets as widgets

__all__ = ["ErrorBox", "client_of", "widget_client", "WIDGET_USER_AGENT", "is_widget_call", "lab_of",
           "html_table", "supports", "allowed_in_state", "permitted", "figure_png", "short_id", "list_all_keys",
           "key_labels", "note_html", "parse_context", "error_code"]

#: the user agent of the requests a widget makes on its own (``kmslab-widgets/KeyConsole``)
WIDGET_USER_AGENT = "kmslab-widgets/"


def client_of(lab_or_client):
    """A KMS client: the lab's default client for a lab, or the client itself."""
    if hasattr(lab_or_client, "create_key"):
        return lab_or_client
    return lab_or_client.client()


def widget_client(lab_or_client, widget: str):
    """The client a widget reads with when it refreshes its view on its own.

    Same caller and Region as :func:`client_of`, but the audit records the
    user agent ``kmslab-widgets/<widget>``: those calls are real and stay in
    the trail, and a learner can tell them from their own (AuditLogViewer
    hides them by default). What a learner asks for by pressing a button goes
    through :func:`client_of`'s client, as their own request. Another
    boto3-shaped client is returned as it is.
    """
    from ..client import KMSClient

    client = client_of(lab_or_client)
    if not isinstance(client, KMSClient):
        return client
    return KMSClient(client.lab, client.meta.region_name, client.caller,
                     user_agent=WIDGET_USER_AGENT + widget)


def is_widget_call(record: dict) -> bool:
    """Whether an audit record is a widget's own request (its user agent says so)."""
    return str(record.get("userAgent") or "").startswith(WIDGET_USER_AGENT)


def allowed_in_state(operation: str, key_state: str) -> bool:
    """Whether AWS's key-state table lets ``operation`` run on a key in ``key_state``.

    Widgets ask before they call, so that refreshing a view never makes a
    request that fails (a failure the learner did not cause).
    """
    from ..inspect import key_states as states

    row = states.TABLE.get(operation)
    return row is None or row.get(key_state, states.OK) == states.OK


def permitted(client, operation: str, key_id: str | None = None) -> bool:
    """Whether the client's caller may call ``operation`` (on ``key_id``), asked without a request.

    A kmslab client asks its lab (``lab.explain``: key policy, IAM policies,
    grants), so a widget never makes a call that AWS would refuse with
    AccessDeniedException. Another boto3-shaped client is assumed allowed.
    """
    lab, caller = getattr(client, "lab", None), getattr(client, "caller", None)
    if lab is None or caller is None or not hasattr(lab, "explain"):
        return True
    return lab.explain(caller, operation, key_id, region=client.meta.region_name).allowed


def lab_of(lab_or_client):
    """The lab behind a lab or a kmslab client (None for other clients, e.g. real boto3)."""
    if hasattr(lab_or_client, "create_key"):
        return getattr(lab_or_client, "lab", None)
    return lab_or_client


def supports(client, method: str) -> bool:
    """Whether the client serves an operation (kmslab installs one method per operation served)."""
    return callable(getattr(client, method, None))


def error_code(error: BaseException) -> str:
    """AWS's error code of a botocore-style error (``response["Error"]["Code"]``)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code") or type(error).__name__
    return type(error).__name__


def _error_message(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Message" in response.get("Error", {}):
        return response["Error"]["Message"]
    return str(error)


class ErrorBox(widgets.HTML):
    """An inline error: a red box reading ``<AWS code>: <AWS message>``; empty when all is well."""

    code: str | None  # the AWS error code shown, None when empty

    def show(self, error: BaseException) -> None:
        self.code = error_code(error)
        self.value = (
            "<div class='kmslab-error' style='border:1px solid #c62828;background:#fdecea;"
            "color:#b71c1c;padding:4px 8px;border-radius:3px'>"
            f"<b>{html.escape(self.code)}</b>: {html.escape(_error_message(error))}</div>")

    def clear(self) -> None:
        self.code = None
        self.value = ""

    @property
    def shown(self) -> bool:
        return bool(self.value)

    def run(self, action: Callable[[], Any]) -> Any:
        """Run ``action``; an error is shown inline (AWS's code, else the exception's name).

        Returns the action's result, or None after an error. In a widget
        callback an escaped exception would only reach the browser's log, so
        every exception is shown where the learner is looking.
        """
        self.clear()
        try:
            return action()
        except Exception as error:  # noqa: BLE001 - see above
            self.show(error)
            return None


ErrorBox.code = None


def note_html(text: str, *, color: str = "#555") -> str:
    """A small grey note (a hint next to a control)."""
    return f"<span style='color:{color};font-size:90%'>{html.escape(text)}</span>"


def html_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
               css_class: str = "kmslab-table", empty: str = "(none)",
               nowrap: Sequence[str] = ()) -> str:
    """A small HTML table, every cell escaped; the ``nowrap`` columns stay on one line."""
    rows = list(rows)
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{html.escape(str(c))}</th>"
                   for c in columns)
    if not rows:
        return (f"<table class='{css_class}'><thead><tr>{head}</tr></thead>"
                f"<tbody><tr><td colspan='{len(columns)}'>{html.escape(empty)}</td></tr></tbody></table>")
    styles = [f"padding:2px 8px{';white-space:nowrap' if c in nowrap else ''}" for c in columns]
    body = "".join(
        "<tr>" + "".join(f"<td style='{style}'>{html.escape('' if c is None else str(c))}</td>"
                         for style, c in zip(styles, row, strict=True)) + "</tr>"
        for row in rows)
    return f"<table class='{css_class}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure_png(fig) -> bytes:
    """A matplotlib Figure as PNG bytes (for an ``ipywidgets.Image``)."""
    from ..figure import png

    return png(fig, dpi=80)


def short_id(key_id: str) -> str:
    """The first block of a key id (``1234abcd``), as the AWS console abbreviates it."""
    return key_id.split("-", 1)[0]


def list_all_keys(client) -> list[str]:
    """Every key id the client's account has in its Region (ListKeys, all pages)."""
    ids: list[str] = []
    marker = None
    while True:
        page = client.list_keys(**({"Marker": marker} if marker else {}))
        ids += [k["KeyId"] for k in page.get("Keys", [])]
        marker = page.get("NextMarker")
        if not page.get("Truncated") or not marker:
            return ids


def key_labels(client, key_ids: Iterable[str], aliases: dict[str, list[str]] | None = None,
               ) -> list[tuple[str, str]]:
    """Dropdown options ``(label, key_id)``: short id plus the first alias."""
    aliases = aliases if aliases is not None else aliases_by_key(client)
    options = []
    for key_id in key_ids:
        names = aliases.get(key_id, [])
        label = short_id(key_id) + (f" ({names[0]})" if names else "")
        options.append((label, key_id))
    return options


def aliases_by_key(client) -> dict[str, list[str]]:
    """Alias names per target key id (ListAliases, all pages; AWS managed aliases skipped)."""
    result: dict[str, list[str]] = {}
    marker = None
    while True:
        page = client.list_aliases(**({"Marker": marker} if marker else {}))
        for alias in page.get("Aliases", []):
            if alias.get("TargetKeyId"):
                result.setdefault(alias["TargetKeyId"], []).append(alias["AliasName"])
        marker = page.get("NextMarker")
        if not page.get("Truncated") or not marker:
            return result


def parse_context(text: str) -> dict[str, str]:
    """An encryption context from ``"k=v, k2=v2"`` (ValueError on a pair without ``=``)."""
    context: dict[str, str] = {}
    for pair in (p.strip() for p in text.split(",")):
        if not pair:
            continue
        if "=" not in pair:
            raise ValueError(f"encryption context pair {pair!r} has no '=' (write k=v, k2=v2)")
        name, value = pair.split("=", 1)
        context[name.strip()] = value.strip()
    return context
