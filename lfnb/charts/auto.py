"""``chart(result)``: pick a sensible chart for any metrics result frame.

Decision table (first match wins)
---------------------------------
=====================================  ==========================================
the result has                          chart
=====================================  ==========================================
no rows                                 a "No data" panel
a ``histogram_*`` column                histogram of the ``[lower, upper, height]``
                                        triples, one colour per dimension value
``time_dimension``                      time series, one line per dimension value
                                        (top N plus ``other (k)``); several metrics
                                        without dimensions share the axis when
                                        their units agree, else one panel each
no dimensions                           big number(s)
exactly two dimensions                  heatmap of the first metric
one (or three and more) dimensions      bars sorted by the first metric
=====================================  ==========================================

Units come from ``df.attrs["units"]`` when the metrics layer set them, else
from the column names (see :func:`lfnb.charts.shaping.unit_for`); milliseconds
are shown as seconds once values reach 1 s. Titles use ``df.attrs["query"]``
(view, time range, granularity) when present.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt
import pandas as pd

from lfnb.charts import kinds as ck
from lfnb.charts import shaping as cf

__all__ = ["chart", "describe_query", "value_axis", "series_chart"]


def chart(result: pd.DataFrame, *, metric: str | None = None, top: int = 8,
          title: str | None = None) -> alt.TopLevelMixin:
    """A chart for a metrics result (see the module docstring for how it is chosen).

    Parameters
    ----------
    result : DataFrame
        A frame from ``lf.read_metrics`` / :func:`lfnb.metrics.metrics_frame`
        (or any frame with ``time_dimension``, dimension columns and
        ``<aggregation>_<measure>`` columns).
    metric : str, optional
        Metric column to plot when there are several (default: the first).
    top : int
        Series (time series) kept before the rest is folded into ``other (k)``;
        bars and heatmap axes keep ``max(top, 20)`` / ``max(top, 25)`` values.
    title : str, optional
        Overrides the title built from the query.

    Returns
    -------
    altair.Chart (or a layer / concat chart)

    Raises
    ------
    ValueError
        If the frame has no metric column, or ``metric`` is not one of them.

    Examples
    --------
    >>> q = MetricsQuery("observations").measure("totalCost", "sum").by("providedModelName").every("day")
    >>> result = lf.read_metrics(q.between("2026-10-25", "2026-11-01"))
    >>> chart(result)                     # one line per model, top 8 + "other (k)"
    >>> chart(result, metric="sum_totalCost", top=3, title="Spend")
    """
    attrs: Mapping[str, Any] = dict(result.attrs or {})
    r = cf.roles(result)
    if not r.metrics:
        raise ValueError(
            "chart() needs a metrics result with at least one '<aggregation>_<measure>' column "
            f"(e.g. 'sum_totalCost'); got columns {list(result.columns)}"
        )
    chosen = _choose(r, metric)
    subtitle = describe_query(attrs, result)
    if result.empty:
        return ck.empty_chart(title or _default_title(chosen, r.dimensions, attrs))
    if chosen.aggregation == "histogram":
        return _histogram(result, r, chosen, attrs, title, subtitle, top)
    if r.time:
        return _time_series(result, r, metric, attrs, title, subtitle, top)
    if not r.dimensions:
        items = []
        for m in ([chosen] if metric else r.scalars):
            values = result[m.column]
            factor, unit, fmt = value_axis(values, m.column, attrs)
            value = values.iloc[0] if len(values) == 1 else values.agg(m.combine)
            value = None if pd.isna(value) else float(value) * factor
            items.append((_with_unit(cf.metric_label(m.column), unit), value, fmt))
        default = _default_title(chosen, (), attrs) if len(items) == 1 else "Totals"
        return ck.number_chart(items, title=title or default, subtitle=subtitle)
    if len(r.dimensions) == 2:
        return _heatmap(result, r, chosen, attrs, title, subtitle, max(top, 25))
    return _bars(result, r, chosen, attrs, title, subtitle, max(top, 20))


def _choose(r: cf.Roles, metric: str | None) -> cf.MetricColumn:
    if metric is not None:
        for m in r.metrics:
            if m.column == metric:
                return m
        raise ValueError(f"metric must be one of {', '.join(m.column for m in r.metrics)}; got {metric!r}")
    return (r.scalars or r.histograms)[0]


def value_axis(values: pd.Series, column: str, attrs: Mapping[str, Any] | None) -> tuple[float, str, str]:
    """``(factor, unit, d3 format)`` to display a value column (ms → s when large)."""
    unit = cf.unit_for(column, attrs)
    factor, shown = cf.display_scale(values, unit)
    return factor, shown, cf.axis_format(shown)


def _with_unit(label: str, unit: str) -> str:
    return f"{label} ({unit})" if unit else label


def describe_query(attrs: Mapping[str, Any], df: pd.DataFrame | None = None) -> str | None:
    """Subtitle from ``attrs["query"]``: view, time range and granularity.

    Without a query, the granularity is inferred from the ``time_dimension`` steps.
    """
    q = attrs.get("query") if attrs else None
    if not isinstance(q, Mapping):
        if df is not None and cf.TIME in df.columns and len(df):
            gran = cf.infer_granularity(df[cf.TIME])
            return f"per {gran}" if gran else None
        return None
    parts = []
    if q.get("view"):
        parts.append(str(q["view"]))
    frm, to = q.get("fromTimestamp"), q.get("toTimestamp")
    if frm and to:
        parts.append(f"{_short_time(frm)} → {_short_time(to)}")
    td = q.get("timeDimension")
    if isinstance(td, Mapping) and td.get("granularity"):
        parts.append(f"per {td['granularity']}")
    return " · ".join(parts) or None


def _short_time(value: Any) -> str:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        return str(value)
    ts = ts.tz_convert("UTC") if ts.tzinfo else ts
    return ts.strftime("%Y-%m-%d %H:%M") if (ts.hour or ts.minute) else ts.strftime("%Y-%m-%d")


def _default_title(m: cf.MetricColumn, dims: tuple[str, ...], attrs: Mapping[str, Any]) -> str:
    label = cf.metric_label(m.column)
    return f"{label} by {', '.join(dims)}" if dims else label


def _time_series(df: pd.DataFrame, r: cf.Roles, metric: str | None, attrs: Mapping[str, Any],
                 title: str | None, subtitle: str | None, top: int) -> alt.TopLevelMixin:
    times = pd.to_datetime(df[cf.TIME], utc=True)
    metrics = [m for m in r.scalars if metric in (None, m.column)]
    if r.dimensions or len(metrics) == 1:
        m = metrics[0]
        long = pd.DataFrame({"time": times, "series": cf.series_labels(df, r.dimensions),
                             "value": pd.to_numeric(df[m.column], errors="coerce").astype("Float64")})
        return series_chart(long, m, attrs, title or _default_title(m, r.dimensions, attrs), subtitle, top,
                            color_title=", ".join(r.dimensions) or None, color=bool(r.dimensions))
    groups: dict[str, list[cf.MetricColumn]] = {}
    for m in metrics:
        groups.setdefault(cf.unit_for(m.column, attrs), []).append(m)
    panels = []
    for unit, ms in groups.items():
        long = pd.concat(
            [pd.DataFrame({"time": times, "series": cf.metric_label(m.column),
                           "value": pd.to_numeric(df[m.column], errors="coerce").astype("Float64")}) for m in ms],
            ignore_index=True,
        )
        label = ", ".join(cf.metric_label(m.column) for m in ms)
        # metrics keep the query's order in the legend (p50, p90, p99), not the order of their totals
        panels.append(series_chart(long, ms[0], attrs, label, None, top, color_title="metric",
                                   color=len(ms) > 1, y_label=_unit_label(unit) if len(ms) > 1 else None,
                                   order=[cf.metric_label(m.column) for m in ms]))
    if len(panels) == 1:
        return panels[0].properties(title=alt.Title(title or panels[0].title, subtitle=subtitle or ""))
    return alt.vconcat(*panels, title=alt.Title(title or "Metrics over time", subtitle=subtitle or ""))


def _unit_label(unit: str) -> str:
    return {"millisecond": "latency", "second": "latency", "USD": "cost", "tokens": "tokens"}.get(unit, "value")


def series_chart(long: pd.DataFrame, m: cf.MetricColumn, attrs: Mapping[str, Any], title: str,
           subtitle: str | None, top: int, *, color_title: str | None, color: bool,
           y_label: str | None = None, order: list[str] | None = None) -> alt.Chart:
    """Lines from a long ``time``/``series``/``value`` frame: top N, re-bucketing, unit scaling."""
    long = cf.drop_empty_none(long, "series", "value")
    long = cf.top_n_other(long, "series", "value", n=top, combine=m.combine, by=["time"])
    long, coarser = cf.coarsen_time(long, "time", ["series"], {"value": m.combine})
    if coarser:
        subtitle = " · ".join(x for x in (subtitle, f"re-bucketed per {coarser} to fit {cf.MAX_ROWS:,} rows") if x)
    factor, unit, fmt = value_axis(long["value"], m.column, attrs)
    long = long.assign(value=long["value"] * factor).sort_values(["series", "time"], kind="stable")
    y_title = _with_unit(y_label or cf.metric_label(m.column), unit)
    return ck.line_chart(long, x="time", y="value", color="series" if color else None, title=title,
                         subtitle=subtitle, y_title=y_title, y_format=fmt, color_title=color_title,
                         order=order)


def _bars(df: pd.DataFrame, r: cf.Roles, m: cf.MetricColumn, attrs: Mapping[str, Any],
          title: str | None, subtitle: str | None, top: int) -> alt.Chart:
    long = pd.DataFrame({"category": cf.series_labels(df, r.dimensions),
                         "value": pd.to_numeric(df[m.column], errors="coerce").astype("Float64")})
    long = long.groupby("category", sort=False)["value"].agg(m.combine).reset_index()
    long = cf.drop_empty_none(long, "category", "value")
    long = cf.top_n_other(long, "category", "value", n=top, combine=m.combine)
    factor, unit, fmt = value_axis(long["value"], m.column, attrs)
    long = long.assign(value=long["value"] * factor)
    label = ", ".join(r.dimensions)
    return ck.bar_chart(long, category="category", value="value", category_title=label,
                        title=title or _default_title(m, r.dimensions, attrs), subtitle=subtitle,
                        value_title=_with_unit(cf.metric_label(m.column), unit), value_format=fmt)


def _heatmap(df: pd.DataFrame, r: cf.Roles, m: cf.MetricColumn, attrs: Mapping[str, Any],
             title: str | None, subtitle: str | None, top: int) -> alt.Chart:
    ydim, xdim = r.dimensions
    long = pd.DataFrame({
        ydim: cf.series_labels(df, [ydim]), xdim: cf.series_labels(df, [xdim]),
        "value": pd.to_numeric(df[m.column], errors="coerce").astype("Float64"),
    })
    for dim in (ydim, xdim):
        totals = long.groupby(dim)["value"].sum(min_count=1).astype("Float64").fillna(0)
        if len(totals) > top + 1:
            keep = set(totals.sort_values(ascending=False, kind="stable").index[:top])
            other = f"other ({len(totals) - top})"
            long[dim] = long[dim].where(long[dim].isin(keep), other)
    long = long.groupby([ydim, xdim], sort=False)["value"].agg(m.combine).reset_index()
    factor, unit, fmt = value_axis(long["value"], m.column, attrs)
    long = long.assign(value=long["value"] * factor)
    return ck.heatmap_chart(long, x=xdim, y=ydim, value="value",
                            title=title or f"{cf.metric_label(m.column)} by {ydim} × {xdim}",
                            subtitle=subtitle, value_title=_with_unit(cf.metric_label(m.column), unit),
                            value_format=fmt)


def _histogram(df: pd.DataFrame, r: cf.Roles, m: cf.MetricColumn, attrs: Mapping[str, Any],
               title: str | None, subtitle: str | None, top: int) -> alt.TopLevelMixin:
    frame = df
    dims = r.dimensions
    if r.time:
        frame = df.assign(**{cf.TIME: pd.to_datetime(df[cf.TIME], utc=True).dt.strftime("%Y-%m-%d %H:%M")})
        dims = (cf.TIME, *dims)
    long = cf.histogram_long(frame, m.column, dims)
    if long.empty:
        return ck.empty_chart(title or _default_title(m, r.dimensions, attrs))
    totals = long.groupby("series", sort=False)["height"].sum().sort_values(ascending=False, kind="stable")
    if len(totals) > top:
        # overlaid histograms stop being readable long before the row limit: keep the biggest
        long = long[long["series"].isin(totals.index[:top])]
        subtitle = " · ".join(x for x in (subtitle, f"{top} largest of {len(totals)} histograms") if x)
    # a histogram of a measure is in the measure's unit: histogram_latency → ms
    unit = cf.unit_for(m.column, attrs)
    factor, shown = cf.display_scale(long["upper"], unit)
    long = long.assign(lower=long["lower"] * factor, upper=long["upper"] * factor)
    return ck.histogram_chart(long, title=title or _default_title(m, r.dimensions, attrs), subtitle=subtitle,
                              x_title=_with_unit(cf.humanize(m.measure), shown), x_format=cf.axis_format(shown),
                              y_title=cf.unit_for("count", attrs),
                              series_title=", ".join(dims) or None)
