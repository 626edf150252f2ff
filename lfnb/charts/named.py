"""Named charts for the analyses users rebuild every time.

Each helper accepts either raw REST frames (``lf.read_observations`` /
``lf.read_scores``: camelCase API columns such as ``startTime``, ``totalCost``,
``latency`` in seconds, ``usageDetails.input``) or, where it makes sense, a
metrics result (``time_dimension`` + ``<aggregation>_<measure>`` columns).
Raw frames are aggregated in pandas first (per time bucket, per model, …), so
the chart carries at most a few hundred rows whatever the input size.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from lfnb.charts import kinds as ck
from lfnb.charts import shaping as cf
from lfnb.charts.auto import chart

__all__ = ["cost_over_time", "latency_percentiles", "tokens_by_model", "error_rate_over_time",
           "score_distribution", "top_by_cost"]

_MODEL_COLUMNS = ("model", "providedModelName")
_TIME_COLUMNS = ("startTime", "timestamp", "time_dimension")


def _is_metrics(df: pd.DataFrame) -> bool:
    return any(cf.parse_metric(str(c)) is not None for c in df.columns)


def _need(df: pd.DataFrame, what: str, candidates: Sequence[str]) -> str:
    for c in candidates:
        if c in df.columns:
            return c
    raise ValueError(f"{what} needs one of the columns {', '.join(candidates)}; got {list(df.columns)}")


def _resolve_by(df: pd.DataFrame, by: str | None) -> str | None:
    if by is None:
        return None
    if by in df.columns:
        return by
    if by in _MODEL_COLUMNS:
        # v2 observations say "model", v1 and the Metrics API "providedModelName"
        return _need(df, f"by={by!r}", _MODEL_COLUMNS)
    raise ValueError(f"by={by!r} is not a column; got {list(df.columns)}")


def _bucketed(df: pd.DataFrame, time: str, granularity: str) -> tuple[pd.Series, str]:
    times = pd.to_datetime(df[time], utc=True)
    if granularity == "auto":
        granularity = cf.auto_granularity(times.min(), times.max())
    return cf.bucket_times(times, granularity), granularity


def _subtitle(df: pd.DataFrame, granularity: str, rows_word: str = "observations") -> str:
    return f"{len(df):,} {rows_word} · per {granularity}"


def _metric_column(df: pd.DataFrame, measure_suffixes: Sequence[str], what: str) -> str:
    for col in df.columns:
        parsed = cf.parse_metric(str(col))
        if parsed is not None and parsed.aggregation != "histogram" and parsed.measure in measure_suffixes:
            return str(col)
    raise ValueError(f"{what} needs a metric on {' or '.join(measure_suffixes)}; got {list(df.columns)}")


def cost_over_time(df: pd.DataFrame, *, by: str | None = "model", granularity: str = "auto",
                   top: int = 8) -> alt.TopLevelMixin:
    """Total cost (USD) per time bucket, one line per model (or per ``by`` value).

    Parameters
    ----------
    df : DataFrame
        Observations (``startTime``, ``totalCost``, the ``by`` column; ``model``
        and ``providedModelName`` are interchangeable) or a metrics result with
        ``time_dimension`` and a ``*_totalCost`` column.
    by : str or None
        Column giving one line per value; ``None`` for a single line.
    granularity : {"auto", "minute", "hour", "day", "week", "month"}
        Bucket size for raw observations (``auto`` as the Metrics API picks it).
    top : int
        Lines kept before the rest is folded into ``other (k)``.
    """
    if _is_metrics(df):
        return chart(df, metric=_metric_column(df, ("totalCost",), "cost_over_time"), top=top,
                     title="Cost over time")
    time = _need(df, "cost_over_time", ("startTime", "timestamp"))
    cost = _need(df, "cost_over_time", ("totalCost", "costDetails.total", "calculatedTotalCost"))
    by_col = _resolve_by(df, by)
    buckets, gran = _bucketed(df, time, granularity)
    frame = pd.DataFrame({"time_dimension": buckets,
                          "sum_totalCost": pd.to_numeric(df[cost], errors="coerce").astype("Float64")})
    keys = ["time_dimension"]
    if by_col:
        frame[by_col] = cf.labels(df[by_col])
        keys.append(by_col)
    agg = frame.groupby(keys, sort=True)["sum_totalCost"].sum(min_count=1).reset_index()
    agg.attrs["units"] = {"sum_totalCost": "USD"}
    return chart(agg, top=top, title="Cost over time").properties(
        title=alt.Title("Cost over time", subtitle=_subtitle(df, gran)))


def latency_percentiles(df: pd.DataFrame, *, granularity: str = "auto",
                        percentiles: Sequence[int] = (50, 90, 99)) -> alt.TopLevelMixin:
    """p50 / p90 / p99 latency per time bucket, one line per percentile.

    Raw observations carry ``latency`` in seconds (REST endpoints); a metrics
    result carries ``p50_latency`` … in milliseconds. Both are shown in
    seconds once the values reach 1 s, else in milliseconds.
    """
    if _is_metrics(df):
        cols = [c for c in df.columns if (p := cf.parse_metric(str(c))) is not None
                and p.aggregation.startswith("p") and p.measure in ("latency", "timeToFirstToken", "streamingLatency")]
        if not cols:
            raise ValueError(f"latency_percentiles needs p50_latency/p90_latency/… columns; got {list(df.columns)}")
        keep = ([cf.TIME] if cf.TIME in df.columns else []) + cols
        sub = df[keep].copy()
        sub.attrs = dict(df.attrs)
        return chart(sub, title="Latency percentiles")
    time = _need(df, "latency_percentiles", ("startTime", "timestamp"))
    latency = _need(df, "latency_percentiles", ("latency",))
    buckets, gran = _bucketed(df, time, granularity)
    values = pd.to_numeric(df[latency], errors="coerce").astype("float64")
    grouped = pd.DataFrame({"time_dimension": buckets, "latency": values}).dropna().groupby("time_dimension")["latency"]
    agg = pd.DataFrame({f"p{p}_latency": grouped.quantile(p / 100) for p in percentiles}).reset_index()
    agg.attrs["units"] = {f"p{p}_latency": "second" for p in percentiles}
    return chart(agg, title="Latency percentiles").properties(
        title=alt.Title("Latency percentiles", subtitle=_subtitle(df, gran)))


def tokens_by_model(df: pd.DataFrame, *, top: int = 15) -> alt.Chart:
    """Input and output tokens per model as stacked horizontal bars.

    Raw observations: ``usageDetails.input`` / ``usageDetails.output`` (else
    ``usageDetails.total``) summed per ``model`` / ``providedModelName``.
    Metrics result: ``sum_inputTokens`` / ``sum_outputTokens`` (else
    ``sum_totalTokens``) by its first dimension.
    """
    if df.empty:
        return ck.empty_chart("Tokens by model")
    if _is_metrics(df):
        model = _need(df, "tokens_by_model", list(_MODEL_COLUMNS) + list(cf.roles(df).dimensions))
        parts = {"input": "sum_inputTokens", "output": "sum_outputTokens"}
        if not set(parts.values()) <= set(df.columns):
            parts = {"total": _need(df, "tokens_by_model", ("sum_totalTokens",))}
    else:
        model = _resolve_by(df, "model")
        parts = {"input": "usageDetails.input", "output": "usageDetails.output"}
        if not set(parts.values()) <= set(df.columns):
            parts = {"total": _need(df, "tokens_by_model", ("usageDetails.total", "totalTokens"))}
    # sum per model first (one pass over the rows), then reshape the few sums for the chart
    values = pd.DataFrame({kind: pd.to_numeric(df[col], errors="coerce").astype("Float64")
                           for kind, col in parts.items()})
    wide = values.groupby(cf.labels(df[model]).rename("model"), sort=False).sum(min_count=1)
    long = wide.reset_index().melt(id_vars="model", var_name="type", value_name="tokens")
    totals = long.groupby("model")["tokens"].sum().sort_values(ascending=False, kind="stable")
    hidden = max(0, len(totals) - top)
    long = long[long["model"].isin(totals.index[:top])]
    subtitle = f"top {top} of {len(totals)} models" if hidden else f"{len(totals)} models"
    return ck.bar_chart(long, category="model", value="tokens", stack="type", stack_title="tokens",
                        title="Tokens by model", subtitle=subtitle, value_title="tokens",
                        value_format=cf.axis_format("tokens"), category_title="model")


def error_rate_over_time(df: pd.DataFrame, *, granularity: str = "auto",
                         levels: Sequence[str] = ("ERROR",)) -> alt.Chart:
    """Share of observations whose ``level`` is ERROR (or any of ``levels``) per time bucket.

    Accepts raw observations (``startTime``, ``level``) or a metrics result
    with ``time_dimension``, a ``level`` dimension and a ``count`` metric.
    """
    if df.empty:
        return ck.empty_chart("Error rate over time")
    if _is_metrics(df):
        count = _metric_column(df, ("count",), "error_rate_over_time")
        _need(df, "error_rate_over_time", ("level",))
        _need(df, "error_rate_over_time", (cf.TIME,))
        frame = pd.DataFrame({"time": pd.to_datetime(df[cf.TIME], utc=True),
                              "error": df["level"].isin(levels),
                              "n": pd.to_numeric(df[count], errors="coerce").astype("Float64").fillna(0)})
        gran = str(((df.attrs.get("query") or {}).get("timeDimension") or {}).get("granularity")
                   or cf.infer_granularity(df[cf.TIME]) or "bucket")
    else:
        time = _need(df, "error_rate_over_time", ("startTime", "timestamp"))
        level = _need(df, "error_rate_over_time", ("level",))
        buckets, gran = _bucketed(df, time, granularity)
        frame = pd.DataFrame({"time": buckets, "error": df[level].isin(levels), "n": 1.0})
    frame = frame.assign(errors=frame["n"].where(frame["error"], 0.0))
    agg = frame.groupby("time", sort=True)[["errors", "n"]].sum().reset_index()
    agg = agg.assign(rate=(agg["errors"] / agg["n"]).where(agg["n"] > 0)).rename(columns={"n": "observations"})
    total = agg["observations"].sum()
    rate = agg["errors"].sum() / total if total else float("nan")
    subtitle = f"{', '.join(levels)} · per {gran} · overall {rate:.1%} of {int(total):,} observations"
    return ck.line_chart(agg, x="time", y="rate", title="Error rate over time", subtitle=subtitle,
                         y_title="error rate", y_format=".1%")


def score_distribution(scores_df: pd.DataFrame, name: str | None = None, *, bins: int = 20,
                       max_names: int = 6) -> alt.TopLevelMixin:
    """Distribution of score values: a histogram for numeric scores, bars for categories.

    Parameters
    ----------
    scores_df : DataFrame
        Scores (``name``, ``value``, ``stringValue``, ``dataType``).
    name : str, optional
        Score name to show; by default every name, one panel each (the
        ``max_names`` most frequent).
    bins : int
        Bins of numeric histograms (values are binned in pandas, so the chart
        holds ``bins`` rows whatever the number of scores).
    """
    df = scores_df
    if name is not None:
        df = df[df["name"] == name]
        if df.empty:
            known = sorted(scores_df["name"].dropna().unique().tolist())
            raise ValueError(f"no scores named {name!r}; names are {', '.join(map(str, known[:20]))}")
    if df.empty:
        return ck.empty_chart("Score distribution", "No scores")
    names = df["name"].value_counts(sort=True).index[:max_names] if "name" in df.columns else [None]
    panels = [_one_score(df if n is None else df[df["name"] == n], n, bins) for n in names]
    if len(panels) == 1:
        return panels[0]
    return alt.vconcat(*panels, title="Score distributions").resolve_scale(color="independent")


def _one_score(df: pd.DataFrame, name: str | None, bins: int) -> alt.Chart:
    dtype = str(df["dataType"].dropna().iloc[0]) if "dataType" in df.columns and df["dataType"].notna().any() else ""
    title = f"Score: {name}" if name else "Score distribution"
    subtitle = f"{len(df):,} scores" + (f" · {dtype}" if dtype else "")
    if dtype in ("CATEGORICAL", "BOOLEAN") or "value" not in df.columns:
        values = df["stringValue"] if "stringValue" in df.columns else df["value"]
        if dtype == "BOOLEAN" and "value" in df.columns:
            values = pd.to_numeric(df["value"], errors="coerce").map({1.0: "true", 0.0: "false"})
        counts = cf.labels(values).value_counts().rename_axis("category")
        data = counts.reset_index(name="scores")
        return ck.bar_chart(data, category="category", value="scores", title=title, subtitle=subtitle,
                            value_title="scores", value_format=",d", category_title="value")
    values = pd.to_numeric(df["value"], errors="coerce").dropna().astype("float64")
    lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    edges = [lo + (hi - lo) * i / bins for i in range(bins + 1)]
    counts = pd.cut(values, edges, include_lowest=True).value_counts(sort=False)
    data = pd.DataFrame({"series": "all", "lower": edges[:-1], "upper": edges[1:],
                         "height": counts.to_numpy(dtype="float64")})
    return ck.histogram_chart(data, title=title, subtitle=subtitle, x_title="value", y_title="scores",
                              series=None)


def top_by_cost(df: pd.DataFrame, *, by: str = "userId", n: int = 10) -> alt.Chart:
    """The ``n`` users (or traces, sessions, models …) with the highest total cost.

    Raw observations / traces: ``totalCost`` summed per ``by``. Metrics
    result: its ``*_totalCost`` column per its dimension ``by``.
    """
    if df.empty:
        return ck.empty_chart(f"Top {by} by cost")
    if _is_metrics(df):
        cost = _metric_column(df, ("totalCost",), "top_by_cost")
    else:
        cost = _need(df, "top_by_cost", ("totalCost", "costDetails.total"))
    by_col = _resolve_by(df, by)
    data = pd.DataFrame({by_col: cf.labels(df[by_col]),
                         "cost": pd.to_numeric(df[cost], errors="coerce").astype("Float64")})
    totals = data.groupby(by_col, sort=False)["cost"].sum(min_count=1).astype("Float64").fillna(0)
    ranked = totals.sort_values(ascending=False, kind="stable")
    share = ranked.iloc[:n].sum() / ranked.sum() if ranked.sum() else float("nan")
    data = ranked.iloc[:n].reset_index()
    subtitle = f"top {min(n, len(ranked))} of {len(ranked):,} · {share:.0%} of ${ranked.sum():,.4g}"
    return ck.bar_chart(data, category=by_col, value="cost", title=f"Top {by_col} by cost", subtitle=subtitle,
                        value_title="total cost (USD)", value_format=cf.axis_format("USD"), category_title=by_col)
