"""Pure pandas helpers behind :mod:`lfnb.charts`: column roles, units, labels, bucketing, top N.

Nothing here imports Altair, so every rule is testable on small frames.

Size strategy (why no chart ever hits Altair's ``MaxRowsError`` by surprise)
---------------------------------------------------------------------------
Charts embed their data in the spec (no data server, works offline and in
exported HTML). Every chart therefore receives an *aggregated* frame:

* raw observation / score frames are bucketed in pandas first (time buckets
  picked like Langfuse's ``auto`` granularity, numeric values binned into at
  most 30 bins, categories cut to the top N plus ``other``);
* metrics results are already aggregated, but a v1 result has no row limit
  (minute buckets over 30 days is 43,200 rows), so a time series longer than
  :data:`MAX_ROWS` is re-bucketed to a coarser granularity, and series beyond
  the top N are folded into one ``other (k)`` series.

``MAX_ROWS`` equals Altair's default limit (5,000), so the guard is the same
number users know from the error message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lfnb.langfuse.timestamps import auto_granularity

__all__ = [
    "MAX_ROWS",
    "AGGREGATIONS",
    "MetricColumn",
    "Roles",
    "roles",
    "parse_metric",
    "unit_for",
    "display_scale",
    "axis_format",
    "metric_label",
    "humanize",
    "series_labels",
    "label_value",
    "labels",
    "top_n_other",
    "auto_granularity",
    "infer_granularity",
    "bucket_times",
    "coarsen_time",
    "histogram_long",
    "time_axis",
    "drop_empty_none",
]

MAX_ROWS = 5000
TIME = "time_dimension"
AGGREGATIONS = ("sum", "avg", "count", "max", "min", "p50", "p75", "p90", "p95", "p99", "histogram", "uniq")
_METRIC_RE = re.compile(r"^({})_(.+)$".format("|".join(AGGREGATIONS)))

# How values of one aggregation combine when several series or buckets merge.
# Exact for sum/count/max/min; a documented approximation for averages and
# percentiles (mean of the parts) and for uniq (sum over-counts overlaps).
COMBINE = {"sum": "sum", "count": "sum", "uniq": "sum", "max": "max", "min": "min", "avg": "mean"}

GRANULARITIES = ("minute", "hour", "day", "week", "month")
_TIME_UNITS = {"millisecond": 1e-3, "ms": 1e-3, "second": 1.0, "seconds": 1.0, "s": 1.0}


@dataclass(frozen=True)
class MetricColumn:
    """One metric column of a metrics result, ``<aggregation>_<measure>``."""

    column: str
    aggregation: str
    measure: str

    @property
    def combine(self) -> str:
        """pandas reduction used when parts of this metric are merged."""
        return COMBINE.get(self.aggregation, "mean")


@dataclass(frozen=True)
class Roles:
    """What each column of a metrics result is."""

    time: str | None
    dimensions: tuple[str, ...]
    metrics: tuple[MetricColumn, ...]

    @property
    def histograms(self) -> tuple[MetricColumn, ...]:
        return tuple(m for m in self.metrics if m.aggregation == "histogram")

    @property
    def scalars(self) -> tuple[MetricColumn, ...]:
        return tuple(m for m in self.metrics if m.aggregation != "histogram")


def parse_metric(column: str) -> MetricColumn | None:
    """Split ``sum_totalCost`` into its aggregation and measure; ``None`` if not a metric name.

    The bare column ``count`` is what the API returns for a query without
    metrics, so it counts as ``count`` of ``count``.
    """
    if column == "count":
        return MetricColumn("count", "count", "count")
    m = _METRIC_RE.match(column)
    if m is None:
        return None
    return MetricColumn(column, m.group(1), m.group(2))


def roles(df: pd.DataFrame) -> Roles:
    """Classify the columns of a metrics result (time, dimensions, metrics)."""
    metrics, dims = [], []
    for col in df.columns:
        if col == TIME:
            continue
        parsed = parse_metric(str(col))
        if parsed is not None and _numeric_or_lists(df[col], parsed):
            metrics.append(parsed)
        else:
            dims.append(str(col))
    return Roles(TIME if TIME in df.columns else None, tuple(dims), tuple(metrics))


def _numeric_or_lists(s: pd.Series, parsed: MetricColumn) -> bool:
    if parsed.aggregation == "histogram":
        return True
    return pd.api.types.is_numeric_dtype(s) or s.isna().all()


def unit_for(column: str, attrs: Mapping[str, Any] | None = None) -> str:
    """Unit of a column: ``df.attrs["units"]`` first, then rules on the name.

    The name rules follow the Metrics API views (costs in USD, latencies in
    milliseconds, tokens) and the REST frames (``latency`` in seconds,
    ``usageDetails.*`` in tokens).
    """
    units = (attrs or {}).get("units") or {}
    parsed = parse_metric(column)
    # lfnb.metrics says "integer" for count/uniq results: the name rules say *what* is counted
    if column in units and units[column] and units[column] != "integer":
        return str(units[column])
    if parsed is not None:
        if parsed.aggregation == "count" and parsed.measure == "count":
            return _count_unit(attrs)
        if parsed.aggregation in ("uniq", "count"):
            return "distinct" if parsed.aggregation == "uniq" else "count"
        return _measure_unit(parsed.measure, metrics=True)
    return _measure_unit(column, metrics=False)


def _count_unit(attrs: Mapping[str, Any] | None) -> str:
    view = str(((attrs or {}).get("query") or {}).get("view", ""))
    if view.startswith("scores"):
        return "scores"
    return {"observations": "observations", "traces": "traces"}.get(view, "count")


def _measure_unit(name: str, *, metrics: bool) -> str:
    base = name.rsplit(".", 1)[-1]
    if name.startswith(("usageDetails.", "usage.")):
        return "tokens"
    if name.startswith("costDetails.") or base.endswith("Cost") or base in ("costByType", "totalPrice"):
        return "USD"
    if base in ("latency", "streamingLatency", "timeToFirstToken"):
        # the Metrics API reports milliseconds, the REST endpoints seconds
        return "millisecond" if metrics else "second"
    if base.endswith("PerSecond"):
        return "tokens/s"
    if base.endswith("Tokens") or base == "usageByType":
        return "tokens"
    if base == "countScores":
        return "scores"
    return ""


def display_scale(values: pd.Series, unit: str) -> tuple[float, str]:
    """Factor and unit to show time values in: seconds from 1 s up, milliseconds below.

    Other units are shown as they are (factor 1).
    """
    to_seconds = _TIME_UNITS.get(unit)
    if to_seconds is None:
        return 1.0, unit
    numeric = pd.to_numeric(values, errors="coerce").astype("Float64").abs()
    peak = numeric.max(skipna=True)
    peak_s = 0.0 if pd.isna(peak) else float(peak) * to_seconds
    if peak_s >= 1.0:
        return to_seconds, "s"
    return to_seconds * 1000.0, "ms"


def axis_format(unit: str) -> str:
    """d3 number format for a unit."""
    if unit == "USD":
        return "$,.4~g"
    if unit in ("tokens", "tokens/s", "observations", "traces", "scores", "count", "distinct", "users"):
        return ",.4~s"
    if unit == "ms":
        return ",.0f"
    if unit == "s":
        return ",.3~f"
    if unit == "%":
        return ".1%"
    return ",.4~g"


def humanize(name: str) -> str:
    """``totalCost`` → ``total cost``; ``usageDetails.input`` → ``input tokens``."""
    if name.startswith("usageDetails."):
        return name.split(".", 1)[1] + " tokens"
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").replace(".", " ")
    return words.lower()


_AGG_WORDS = {"sum": "sum of", "avg": "average", "count": "count of", "uniq": "distinct",
              "max": "max", "min": "min", "histogram": "distribution of"}


def metric_label(column: str) -> str:
    """Readable label of a metric column: ``p95_latency`` → ``p95 latency``."""
    parsed = parse_metric(column)
    if parsed is None:
        return humanize(column)
    if parsed.measure == "count" and parsed.aggregation == "count":
        return "count"
    words = _AGG_WORDS.get(parsed.aggregation, parsed.aggregation)
    text = f"{words} {humanize(parsed.measure)}"
    if parsed.aggregation.startswith("p") and parsed.aggregation[1:].isdigit():
        return text  # "p95 latency" reads better than "P95 latency"
    return text[0].upper() + text[1:]


def series_labels(df: pd.DataFrame, columns: tuple[str, ...] | list[str]) -> pd.Series:
    """One text label per row from one or more dimension columns.

    Missing values become ``(none)`` and empty strings ``(empty)`` so they stay
    visible as their own series instead of vanishing from the legend.
    """
    parts = [labels(df[col]) for col in columns]
    if not parts:
        return pd.Series(["all"] * len(df), index=df.index, dtype="str")
    out = parts[0]
    for p in parts[1:]:
        out = out + " · " + p
    return out.astype("str")


def labels(values: pd.Series) -> pd.Series:
    """:func:`label_value` for a whole column, computed once per distinct value (fast on big frames)."""
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # unhashable cells (lists, dicts): label them one by one
        return values.astype("object").map(label_value).astype("str")
    # code -1 (missing) picks the last name
    names = np.asarray([label_value(u) for u in uniques] + ["(none)"], dtype=object)
    return pd.Series(names[codes], index=values.index, dtype="str")


def label_value(v: Any) -> str:
    if v is None or (not isinstance(v, (list, tuple, dict)) and pd.isna(v)):
        return "(none)"
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    text = str(v)
    return text if text else "(empty)"


def top_n_other(df: pd.DataFrame, key: str, value: str, *, n: int, combine: str = "sum",
                by: list[str] | None = None) -> pd.DataFrame:
    """Keep the ``n`` keys with the largest totals; fold the rest into ``other (k)``.

    Parameters
    ----------
    df : DataFrame
        Long frame with a ``key`` column (series or category) and a ``value`` column.
    key, value : str
        Column names.
    n : int
        Number of keys kept as they are.
    combine : str
        pandas reduction merging the folded values (``sum``, ``mean``, ``max``, ``min``).
    by : list of str, optional
        Columns the folded rows stay split by (e.g. the time bucket).
    """
    by = list(by or [])
    totals = df.groupby(key, sort=False)[value].sum(min_count=1).astype("Float64").fillna(0)
    if len(totals) <= n + 1:  # folding one key into "other (1)" hides it for nothing
        return df
    keep = totals.sort_values(ascending=False, kind="stable").index[:n]
    kept = df[df[key].isin(keep)]
    rest = df[~df[key].isin(keep)]
    label = f"other ({len(totals) - n})"
    if by:
        folded = rest.groupby(by, sort=True, dropna=False)[value].agg(combine).reset_index()
    else:
        folded = pd.DataFrame({value: [rest[value].agg(combine)]})
    folded[key] = label
    return pd.concat([kept[by + [key, value]], folded[by + [key, value]]], ignore_index=True)



def infer_granularity(times: pd.Series) -> str | None:
    """The bucket size of an already bucketed time column (most common step), or None."""
    t = pd.Series(pd.to_datetime(times, utc=True).dropna().unique()).sort_values()
    if len(t) < 2:
        return None
    step = t.diff().dropna().mode().iloc[0] / pd.Timedelta(minutes=1)
    for name, minutes in (("minute", 1), ("hour", 60), ("day", 1440), ("week", 10080)):
        if step == minutes:
            return name
    return "month" if 28 * 1440 <= step <= 31 * 1440 else None


def bucket_times(times: pd.Series, granularity: str) -> pd.Series:
    """Floor timestamps to buckets (weeks start Monday, like the Metrics API)."""
    t = pd.to_datetime(times, utc=True)
    if granularity == "minute":
        return t.dt.floor("min")
    if granularity == "hour":
        return t.dt.floor("h")
    day = t.dt.floor("D")
    if granularity == "day":
        return day
    if granularity == "week":
        return day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    if granularity == "month":
        return day - pd.to_timedelta(day.dt.day - 1, unit="D")
    raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}; got {granularity!r}")


def coarsen_time(df: pd.DataFrame, time: str, group: list[str], values: dict[str, str],
                 *, max_rows: int = MAX_ROWS) -> tuple[pd.DataFrame, str | None]:
    """Re-bucket a long time series to the finest granularity that fits ``max_rows``.

    Returns the frame (unchanged when it already fits) and the granularity used
    (``None`` when unchanged). ``values`` maps value columns to their pandas
    reduction.
    """
    if len(df) <= max_rows:
        return df, None
    granularity = None
    out = df
    for granularity in GRANULARITIES[1:]:
        tmp = df.assign(**{time: bucket_times(df[time], granularity)})
        out = tmp.groupby([time] + group, sort=True, dropna=False).agg(values).reset_index()
        if len(out) <= max_rows:
            break
    return out, granularity


def histogram_long(df: pd.DataFrame, column: str, dims: tuple[str, ...] = ()) -> pd.DataFrame:
    """Histogram triples ``[lower, upper, height]`` → one row per bin.

    Columns: ``series`` (dimension label, ``all`` without dimensions),
    ``lower``, ``upper``, ``height`` (Float64).
    """
    labels = series_labels(df, dims)
    rows = []
    for label, cell in zip(labels, df[column]):
        if cell is None or (not hasattr(cell, "__len__")):
            continue
        for triple in cell:
            lower, upper, height = (float(x) for x in triple)
            rows.append((label, lower, upper, height))
    out = pd.DataFrame(rows, columns=["series", "lower", "upper", "height"])
    return out.astype({"series": "str", "lower": "Float64", "upper": "Float64", "height": "Float64"})


def time_axis(times: pd.Series, *, max_labels: int = 8) -> dict[str, Any]:
    """One label format (and tick interval) for a time axis: ``{"format": …, "tickCount": …}``.

    Vega's default labels change format along one axis ("Tue 24 … Sat 28, Nov 29, Mon 30":
    Sundays and month starts get another format). One format per axis reads better, and it
    follows the data: ``Nov 05`` for daily buckets, ``Nov 2026`` for months, ``Nov 05 14:00``
    below a day. Ticks stay on whole days (months) so no label repeats.
    """
    ts = pd.to_datetime(pd.Series(times).dropna(), utc=True)
    if ts.empty:
        return {"format": "%b %d"}
    span = ts.max() - ts.min()
    midnight = bool(((ts.dt.hour == 0) & (ts.dt.minute == 0) & (ts.dt.second == 0)).all())
    if midnight and bool((ts.dt.day == 1).all()) and ts.dt.month.nunique() > 1:
        months = (ts.max().year - ts.min().year) * 12 + ts.max().month - ts.min().month + 1
        return {"format": "%b %Y", "tickCount": {"interval": "month", "step": max(1, -(-months // max_labels))}}
    if midnight or span >= pd.Timedelta(days=3):
        days = span.days + 1
        return {"format": "%b %d", "tickCount": {"interval": "day", "step": max(1, -(-days // max_labels))}}
    return {"format": "%b %d %H:%M"}


def drop_empty_none(long: pd.DataFrame, key: str, value: str) -> pd.DataFrame:
    """Drop the ``(none)`` series when it holds no value but zeros or gaps.

    Rows without a dimension value (spans have no model) come back from a cost or token query
    as a flat zero line labelled ``(none)``, which is noise; a ``(none)`` series with real values
    (the count of observations without a model) stays.
    """
    none = long[key] == "(none)"
    if not none.any():
        return long
    values = pd.to_numeric(long.loc[none, value], errors="coerce").astype("Float64").fillna(0)
    if bool((values == 0).all()) and not bool(none.all()):
        return long[~none]
    return long
