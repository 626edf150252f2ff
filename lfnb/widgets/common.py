"""Small view pieces shared by the widgets: the time range control, status and table HTML."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd

from lfnb.charts.export import chart_bundle

__all__ = ["TimeRange", "StaticView", "error_html", "ok_html", "table_html", "show_chart", "MISSING"]


class TimeRange(w.VBox):
    """Last 24 h / 7 d / 30 d or a custom ISO from/to."""

    def __init__(self, value: str = "7d", from_time: str | None = None, to_time: str | None = None, *,
                 on_change: Callable[[], None] | None = None):
        self.choice = w.ToggleButtons(options=[("last 24 h", "24h"), ("7 d", "7d"), ("30 d", "30d"),
                                               ("custom", "custom")], value=value,
                                      style={"button_width": "auto"})
        self.start = w.Text(value=from_time or "", description="from", placeholder="2026-10-25T00:00:00Z")
        self.end = w.Text(value=to_time or "", description="to", placeholder="2026-11-01T00:00:00Z")
        self.custom = w.HBox([self.start, self.end])
        self._on_change = on_change
        for ctl in (self.choice, self.start, self.end):
            ctl.observe(lambda _: self._changed(), names="value")
        super().__init__([self.choice, self.custom])
        self._show_custom()

    def _show_custom(self) -> None:
        self.custom.layout.display = "" if self.choice.value == "custom" else "none"

    def _changed(self) -> None:
        self._show_custom()
        if self._on_change is not None:
            self._on_change()

    def get(self) -> tuple[str, str | None, str | None]:
        return self.choice.value, self.start.value.strip() or None, self.end.value.strip() or None

    def set(self, value: str, from_time: str | None, to_time: str | None) -> None:
        self.choice.value, self.start.value, self.end.value = value, from_time or "", to_time or ""
        self._show_custom()


def error_html(message: str) -> str:
    return (f"<div style='color:#b00020;white-space:pre-wrap;font-family:monospace'>"
            f"{html.escape(message)}</div>")


def ok_html(message: str) -> str:
    return f"<div style='color:#2a7a2a'>{html.escape(message)}</div>"


#: the one marker for a missing value in widget tables (pandas shows <NA>, NaN, NaT or None)
MISSING = "–"
_ID_CHARS = 10
_TEXT_CHARS = 60
_TABLE_STYLE = """<style>
.lfnb-table {max-height: 360px; overflow: auto; border: 1px solid #e3e3e3; border-radius: 3px; margin-top: 4px}
.lfnb-table table {border-collapse: collapse; font: 12px/1.5 Helvetica, Arial, sans-serif; width: max-content}
.lfnb-table th {position: sticky; top: 0; background: #eef3f8; color: #333; text-align: left; padding: 3px 10px;
  border-bottom: 1px solid #c9d6e3; white-space: nowrap; font-weight: 600}
.lfnb-table td {padding: 2px 10px; white-space: nowrap; border-bottom: 1px solid #f0f0f0}
.lfnb-table tbody tr:nth-child(even) td {background: #f8fafc}
.lfnb-table td.n {text-align: right; font-variant-numeric: tabular-nums}
.lfnb-table td.na {color: #aaa; text-align: center}
.lfnb-table-note {color: #555; font-size: 12px}
</style>"""


def _is_id(column: str) -> bool:
    return column == "id" or column.endswith("Id")


def _cell(column: str, value: Any) -> str:
    """One ``<td>``: timestamps on one line, long ids and text cut with the full value on hover."""
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return f"<td class='na' title='missing'>{MISSING}</td>"
    if isinstance(value, pd.Timestamp):
        ts = value.tz_convert("UTC") if value.tzinfo else value
        text = ts.strftime("%Y-%m-%d %H:%M:%S")
        return f"<td title='{html.escape(ts.isoformat())}'>{text}</td>"
    if isinstance(value, (bool, np.bool_)):
        return f"<td>{'true' if value else 'false'}</td>"
    if isinstance(value, (int, np.integer)):
        return f"<td class='n'>{value:,}</td>"
    if isinstance(value, (float, np.floating)):
        return f"<td class='n'>{value:,.6g}</td>"
    text = value if isinstance(value, str) else str(value)
    limit = _ID_CHARS if _is_id(column) else _TEXT_CHARS
    if len(text) <= limit:
        return f"<td>{html.escape(text)}</td>"
    return f"<td title='{html.escape(text[:1000])}'>{html.escape(text[:limit - 1])}…</td>"


def table_html(df: pd.DataFrame, *, max_rows: int = 50) -> str:
    """The first rows of a frame as a compact, scrollable HTML table (cells escaped).

    Timestamps stay on one line (UTC, to the second), long ids and texts are cut with the full
    value on hover, every missing value shows as one marker (``–``), and the table scrolls
    inside a box of bounded height.
    """
    part = df.head(max_rows)
    note = f"<div class='lfnb-table-note'>{len(df):,} rows × {len(df.columns)} columns" + (
        f" (first {max_rows} shown)" if len(df) > max_rows else "") + "</div>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in part.columns)
    columns = [str(c) for c in part.columns]
    body = "".join("<tr>" + "".join(_cell(c, v) for c, v in zip(columns, row)) + "</tr>"
                   for row in part.itertuples(index=False, name=None))
    return (f"{_TABLE_STYLE}{note}<div class='lfnb-table'><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></div>")


def show_chart(out: w.Output, chart: Any) -> None:
    """Show a chart in an Output widget: interactive Vega plus a PNG, drawn with the lfnb theme.

    The bundle is made JSON-ready here (the PNG as base64 text): ``Output.append_display_data``
    would keep an image as raw bytes, which the browser receives as a binary buffer and draws as
    a broken ``data:image/png;base64,[object Object]`` image.
    """
    data, metadata = chart_bundle(chart)
    out.outputs = ({"output_type": "display_data", "data": data, "metadata": metadata},)


def chart_img_html(chart: Any) -> str:
    """A chart as an ``<img>`` with its PNG inline (for static renderings)."""
    if chart is None:
        return ""
    data, _ = chart_bundle(chart)
    return f"<img alt='{html.escape(data['text/plain'])}' src='data:image/png;base64,{data['image/png']}'>"


class StaticView:
    """A static HTML rendering of a widget's current state in its display output.

    JupyterLab draws the live widget (its renderer outranks HTML); where there is no live widget —
    an HTML report, a code host, a stored notebook reopened without a kernel — the state shows
    as HTML (controls' values, status, table, chart image) instead of ``VBox(children=(…`` text.

    Each widget defines ``static_html()`` and ``summary()`` (the ``text/plain``).
    """

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        data = dict(super()._repr_mimebundle_(**kwargs))
        data["text/plain"] = self.summary()
        data["text/html"] = ("<div class='lfnb-static' style='border-left:3px solid #0072B2;padding-left:8px'>"
                             f"{self.static_html()}</div>")
        return data
