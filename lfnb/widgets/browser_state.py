"""State and pure functions of :class:`lfnb.widgets.ObservationsBrowser` (no ipywidgets here)."""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from lfnb.widgets.filter_state import condition_code, row_issues, state_from_filters
from lfnb.widgets.metrics_state import TIME_RANGES, utc_now

__all__ = ["BrowserState", "FIELD_GROUPS", "DEFAULT_FIELDS", "time_window", "read_kwargs", "browser_code",
           "page_count", "page_slice", "detail_html", "TABLE_COLUMNS", "activity_frame"]

FIELD_GROUPS = ("core", "basic", "time", "io", "metadata", "model", "usage", "prompt", "metrics", "trace_context")
DEFAULT_FIELDS = ("core", "basic", "model", "usage", "io", "metadata")
#: columns shown in the table when present (the detail view shows everything)
TABLE_COLUMNS = ("startTime", "type", "name", "level", "model", "providedModelName", "latency", "totalCost",
                 "usageDetails.total", "userId", "traceId", "id")


@dataclass(frozen=True)
class BrowserState:
    """Time range, filters, field groups, row cap and the page being shown."""

    time_range: str = "24h"
    from_time: str | None = None
    to_time: str | None = None
    filters: tuple[dict, ...] = field(default_factory=tuple)
    fields: tuple[str, ...] = DEFAULT_FIELDS
    max_rows: int = 500
    page: int = 0
    page_size: int = 20
    target: str = "observations_v2"


def time_window(state: BrowserState, now: datetime | None = None) -> tuple[Any, Any]:
    """``(from_time, to_time)`` for ``read_observations`` (relative ranges end at ``now``)."""
    if state.time_range == "custom":
        return state.from_time, state.to_time
    if state.time_range not in TIME_RANGES:
        raise ValueError(f"time_range must be one of {', '.join(TIME_RANGES)}, custom; got {state.time_range!r}")
    end = now or utc_now()
    return (end - TIME_RANGES[state.time_range]).isoformat().replace("+00:00", "Z"), \
        end.isoformat().replace("+00:00", "Z")


def read_kwargs(state: BrowserState, now: datetime | None = None) -> dict:
    """Arguments of ``lf.read_observations`` for the state."""
    start, end = time_window(state, now)
    out: dict[str, Any] = {"from_time": start, "to_time": end, "fields": list(state.fields),
                           "max_rows": state.max_rows}
    if state.filters:
        out["filter"] = [dict(f) for f in state.filters]
    return out


def browser_code(state: BrowserState, now: datetime | None = None, *, client: str = "lf") -> str:
    """Python that reads the same observations."""
    kw = read_kwargs(state, now)
    lines = [f"    from_time={kw['from_time']!r},", f"    to_time={kw['to_time']!r},",
             f"    fields={kw['fields']!r},"]
    imports = ""
    if state.filters:
        problems = row_issues(state_from_filters(state.target, state.filters))
        exprs = [repr(c) if bad else condition_code(c) for c, bad in zip(state.filters, problems)]
        if any(e.startswith("Filter.") for e in exprs):
            imports = "from lfnb import Filter\n\n"
        lines.append("    filter=[\n" + "".join(f"        {e},\n" for e in exprs) + "    ],")
    lines.append(f"    max_rows={kw['max_rows']!r},")
    return f"{imports}obs = {client}.read_observations(\n" + "\n".join(lines) + "\n)"


def page_count(n_rows: int, page_size: int) -> int:
    return max(1, math.ceil(n_rows / page_size)) if page_size > 0 else 1


def page_slice(df: pd.DataFrame, page: int, page_size: int) -> pd.DataFrame:
    """Rows of one page (page clamped to the last one), table columns first."""
    last = page_count(len(df), page_size) - 1
    page = min(max(page, 0), last)
    part = df.iloc[page * page_size:(page + 1) * page_size]
    shown = [c for c in TABLE_COLUMNS if c in part.columns]
    return part[shown] if shown else part


def _pretty(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, str):
        try:  # v2 returns input/output as raw strings that are often JSON
            value = json.loads(value)
        except ValueError:
            return value
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, default=str)
    except TypeError:
        return str(value)


def detail_html(row: pd.Series) -> str:
    """One observation: a header line, then input, output and metadata pretty-printed (escaped)."""
    head = " · ".join(html.escape(str(row[c])) for c in ("type", "name", "id", "startTime")
                      if c in row.index and pd.notna(row[c]))
    parts = [f"<div><b>{head}</b></div>"]
    for col in ("input", "output", "metadata"):
        if col in row.index:
            body = html.escape(_pretty(row[col]))
        else:
            body = f"(not read: add the {'io' if col != 'metadata' else 'metadata'} field group)"
        parts.append(f"<details open><summary>{col}</summary><pre style='white-space:pre-wrap;"
                     f"max-height:300px;overflow:auto'>{body}</pre></details>")
    return "\n".join(parts)


def activity_frame(df: pd.DataFrame, granularity: str | None = None) -> pd.DataFrame:
    """Observations per time bucket and type, shaped like a metrics result for :func:`lfnb.charts.chart`.

    Columns ``time_dimension``, ``type`` (when read) and ``count_count``; the
    bucket size is picked from the time span like the Metrics API's ``auto``.
    """
    from lfnb.charts.shaping import auto_granularity, bucket_times, labels

    if "startTime" not in df.columns or df.empty:
        return pd.DataFrame({"time_dimension": pd.Series([], dtype="datetime64[us, UTC]"),
                             "count_count": pd.Series([], dtype="Int64")})
    times = pd.to_datetime(df["startTime"], utc=True)
    gran = granularity or auto_granularity(times.min(), times.max())
    frame = pd.DataFrame({"time_dimension": bucket_times(times, gran)})
    keys = ["time_dimension"]
    if "type" in df.columns:
        frame["type"] = labels(df["type"])
        keys.append("type")
    out = frame.groupby(keys, sort=True).size().rename("count_count").astype("Int64").reset_index()
    out.attrs["units"] = {"count_count": "observations"}
    return out
