"""Small view pieces shared by the widgets: the time range control, status and table HTML."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as w
import pandas as pd

from lfnb.charts.export import chart_bundle

__all__ = ["TimeRange", "error_html", "ok_html", "table_html", "show_chart"]


class TimeRange(w.VBox):
    """Last 24 h / 7 d / 30 d or a custom ISO from/to."""

    def __init__(self, value: str = "7d", from_time: str | None = None, to_time: str | None = None, *,
                 on_change: Callable[[], None] | None = None):
        self.choice = w.ToggleButtons(options=[("last 24 h", "24h"), ("7 d", "7d"), ("30 d", "30d"),
                                               ("custom", "custom")], value=value,
                                      style={"button_width": "70px"})
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


def table_html(df: pd.DataFrame, *, max_rows: int = 50) -> str:
    """The first rows of a frame as an HTML table (cells escaped, long text cut)."""
    part = df.head(max_rows).copy()
    for col in part.columns:
        if part[col].dtype == object or str(part[col].dtype) == "str":
            part[col] = part[col].map(lambda v: v if not isinstance(v, str) or len(v) <= 80 else v[:77] + "…")
    note = f"<div>{len(df):,} rows × {len(df.columns)} columns" + (
        f" (first {max_rows} shown)" if len(df) > max_rows else "") + "</div>"
    return note + part.to_html(index=False, escape=True, na_rep="", border=0)


def show_chart(out: w.Output, chart: Any) -> None:
    """Show a chart in an Output widget: interactive Vega plus a PNG, drawn with the lfnb theme.

    The bundle is made JSON-ready here (the PNG as base64 text): ``Output.append_display_data``
    would keep an image as raw bytes, which the browser receives as a binary buffer and draws as
    a broken ``data:image/png;base64,[object Object]`` image.
    """
    data, metadata = chart_bundle(chart)
    out.outputs = ({"output_type": "display_data", "data": data, "metadata": metadata},)
