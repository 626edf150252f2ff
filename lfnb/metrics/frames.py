"""Metrics API results as typed DataFrames.

Column order: ``time_dimension`` (when the query has a timeDimension), the
dimensions (including one auto-added by ``costByType``/``usageByType``), then
the metrics named ``<aggregation>_<measure>`` (``count`` when the query has no
metrics).

======================  =====================================================
column                  dtype
======================  =====================================================
time_dimension          ``datetime64[us, UTC]`` (bucket start)
string dimensions       ``str`` (missing: NaN; v2 sends null for empty values)
boolean dimensions      ``boolean``
number dimensions       ``Float64`` (scores' ``value``)
``tags``                object: list of str
count/uniq/sum/min/max  ``Int64`` for integer measures, else ``Float64``
avg, p50 … p99          ``Float64``
histogram_*             object: list of ``[lower, upper, height]`` triples
======================  =====================================================

``df.attrs["units"]`` maps each metric column to its unit (``millisecond`` for
latency measures — the REST observation endpoints use seconds —, ``USD``,
``tokens``, …; ``integer`` for count/uniq results).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lfnb.errors import warn_truncated
from lfnb.metrics import schemas
from lfnb.metrics.checks import effective_dimensions

V2_DEFAULT_ROW_LIMIT = 100
_FLOAT_AGGS = ("avg", "p50", "p75", "p90", "p95", "p99")


def result_columns(query: dict, version: str = "v2") -> dict[str, str]:
    """Column name -> kind (time, string, boolean, number, list, int, float, histogram), in result order."""
    facts = schemas.views(version).get(query["view"], {"dimensions": {}, "measures": {}})
    cols: dict[str, str] = {}
    if query.get("timeDimension"):
        cols["time_dimension"] = "time"
    for dim in effective_dimensions(query, facts):
        dtype = facts["dimensions"].get(dim, {}).get("type", "string")
        cols[dim] = {"boolean": "boolean", "number": "number", "string[]": "list"}.get(dtype, "string")
    if not query.get("metrics"):
        cols["count"] = "int"
    for m in query.get("metrics") or []:
        agg, measure = m["aggregation"], m["measure"]
        mtype = facts["measures"].get(measure, {}).get("type", "decimal")
        if agg == "histogram":
            kind = "histogram"
        elif agg in ("count", "uniq"):
            kind = "int"
        elif agg in _FLOAT_AGGS or mtype != "integer":
            kind = "float"
        else:
            kind = "int"
        cols[f"{agg}_{measure}"] = kind
    return cols


def _numeric(values: pd.Series, kind: str) -> pd.Series:
    # 64-bit integers may arrive as JSON strings ("5") from older ClickHouse servers
    num = pd.to_numeric(values.astype("object").where(values.notna(), None), errors="coerce")
    num = num.astype("Float64")
    if kind == "int":
        whole = num.dropna()
        if (whole == whole.round()).all():
            return num.astype("Int64")
    return num


def _column(values: pd.Series, kind: str) -> pd.Series:
    if kind == "time":
        return pd.to_datetime(values, utc=True, format="ISO8601").astype("datetime64[us, UTC]")
    if kind in ("int", "float", "number"):
        return _numeric(values, "int" if kind == "int" else "float")
    if kind == "boolean":
        return values.astype("object").map(_to_bool, na_action="ignore").astype("boolean")
    if kind == "string":
        return values.astype("object").map(lambda v: v if isinstance(v, str) else str(v),
                                           na_action="ignore").astype("str")
    if kind == "histogram":
        return values.astype("object").map(
            lambda cell: [[float(x) for x in triple] for triple in cell] if isinstance(cell, list) else cell)
    return values.astype("object")


def _to_bool(v: Any) -> Any:
    if isinstance(v, str):
        return {"true": True, "false": False, "1": True, "0": False}.get(v.lower(), pd.NA)
    return bool(v)




_EMPTY = {"time": "datetime64[us, UTC]", "int": "Int64", "float": "Float64", "number": "Float64",
          "boolean": "boolean", "string": "str", "list": "object", "histogram": "object"}


def metrics_frame(data: list[dict], query: dict, *, version: str = "v2", warn: bool = True) -> pd.DataFrame:
    """The rows of a Metrics API response as a typed DataFrame (see the module table).

    Parameters
    ----------
    data : list of dict
        ``response["data"]``.
    query : dict
        The (validated) query that produced it: decides columns, dtypes and units.
    version : {"v2", "v1"}
        The API generation (v2 applies a default row_limit of 100).
    warn : bool
        Emit :class:`~lfnb.errors.LfnbTruncationWarning` when the result has
        exactly ``row_limit`` rows (probably cut short).
    """
    kinds = result_columns(query, version)
    rows = list(data)
    # object columns first: pandas' inference would turn [1, None] into 1.0/NaN before typing
    names = list(dict.fromkeys(k for row in rows for k in row))
    raw = {c: pd.Series([row.get(c) for row in rows], dtype=object) for c in names}
    out: dict[str, pd.Series] = {}
    for col, kind in kinds.items():
        if col in raw:
            out[col] = _column(raw[col], kind)
        else:
            out[col] = pd.Series([None] * len(rows), dtype=_EMPTY[kind]) if rows else pd.Series([], dtype=_EMPTY[kind])
    for col in names:  # keep anything the server added, with pandas' own inference
        if col not in out:
            out[col] = pd.Series(raw[col].tolist())
    df = pd.DataFrame(out, index=pd.RangeIndex(len(rows)))
    df.attrs["units"] = {
        f"{m['aggregation']}_{m['measure']}": schemas.measure_unit(version, query["view"], m["measure"], m["aggregation"])
        for m in query.get("metrics") or []
    } or {"count": "integer"}
    limit = (query.get("config") or {}).get("row_limit") or (V2_DEFAULT_ROW_LIMIT if version == "v2" else None)
    if warn and limit and len(df) == limit:
        warn_truncated(
            f"the metrics result has exactly {limit} rows (the row_limit"
            f"{'' if (query.get('config') or {}).get('row_limit') else ', v2 default'}): it is probably truncated; "
            "raise config.row_limit (max 1000) or narrow the query")
    return df


def histogram_frame(df: pd.DataFrame, column: str | None = None) -> pd.DataFrame:
    """Histogram cells as a tidy frame: one row per bin with ``lower``, ``upper``, ``height``.

    The other non-metric columns of ``df`` (``time_dimension``, dimensions) are
    repeated on each bin row. ``column`` defaults to the only ``histogram_*`` column.
    """
    hist_cols = [c for c in df.columns if str(c).startswith("histogram_")]
    if column is None:
        if len(hist_cols) != 1:
            raise ValueError(f"pass column=; histogram columns: {', '.join(hist_cols) or 'none'}")
        column = hist_cols[0]
    if column not in df.columns:
        raise KeyError(f"{column!r} is not a column; histogram columns: {', '.join(hist_cols) or 'none'}")
    units = df.attrs.get("units", {})
    keys = [c for c in df.columns if c not in units and not str(c).startswith("histogram_") and c != "count"]
    rows = []
    for _, row in df.iterrows():
        cell = row[column]
        for triple in cell if isinstance(cell, list) else []:
            rows.append([row[k] for k in keys] + [float(x) for x in triple[:3]])
    out = pd.DataFrame(rows, columns=keys + ["lower", "upper", "height"])
    for k in keys:
        out[k] = out[k].astype(df[k].dtype) if len(out) else pd.Series([], dtype=df[k].dtype)
    for c in ("lower", "upper", "height"):
        out[c] = out[c].astype("Float64")
    out.attrs["units"] = {"lower": units.get(column), "upper": units.get(column), "height": "count"}
    return out
