"""A validated metrics query -> one DuckDB statement (Langfuse's two-level query).

Inner level: one row per entity (observation, trace or score id; per exploded
array element or details key too), dimensions taken with ``any_value`` and each
measure computed from the entity's (joined) rows. Outer level: grouped by the
dimensions and the time bucket, each metric is ``<aggregation>(<measure>)``.
Relations (traces/observations/scores) are INNER JOINs filtered to the query
window on their own time column, as on the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lfnb.langfuse.timestamps import auto_granularity
from lfnb.local.engine.views import Dim, ViewSql, det_sum, view_sql
from lfnb.metrics import schemas
from lfnb.metrics.checks import parse_filter_datetime

QUANTILES = {"p50": 0.5, "p75": 0.75, "p90": 0.9, "p95": 0.95, "p99": 0.99}
BUCKETS = {
    "minute": "date_trunc('minute', {c})",
    "hour": "date_trunc('hour', {c})",
    "day": "CAST({c} AS DATE)",
    "week": "CAST(date_trunc('week', {c}) AS DATE)",   # ISO weeks: Monday, like toMonday
    "month": "CAST(date_trunc('month', {c}) AS DATE)",
}


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Plan:
    sql: str
    params: dict
    dims: list[str]             # output dimension columns, in order
    metrics: list[tuple[str, str, str]]  # (column, aggregation, measure)
    granularity: str | None
    has_time: bool
    fill: dict                  # dimension -> value of a gap-filled row


class _Params:
    def __init__(self) -> None:
        self.values: dict = {}

    def add(self, value) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return "$" + name


def build(query: dict, version: str, start: datetime, end: datetime) -> Plan:
    """The statement for a normalised, validated query; ``start``/``end`` are naive UTC (ms precision)."""
    v = view_sql(version, query["view"])
    facts = schemas.view(version, query["view"])
    params = _Params()
    frm, to = params.add(start), params.add(end)
    dims = [d["field"] for d in query["dimensions"]]
    for m in query["metrics"]:  # costByType/usageByType bring their pairExpand dimension
        if v.measures[m["measure"]].pair:
            needed = "costType" if m["measure"] == "costByType" else "usageType"
            if needed not in dims:
                dims.append(needed)
    relations: list[str] = []

    def need(alias: str | None) -> None:
        if alias and alias not in relations:
            relations.append(alias)

    for d in dims:
        need(v.dims[d].relation)
    for m in query["metrics"]:
        need(v.measures[m["measure"]].relation)
    where = [f"date_trunc('millisecond', b.{v.time_column}) BETWEEN {frm} AND {to}"]
    if v.segment:
        where.append(v.segment)
    for f in query["filters"]:
        sql, alias = filter_sql(f, v, params)
        need(alias)
        where.append(sql)

    from_parts = [f"{v.table} b"] + [v.relations[a].format(frm=frm, to=to) for a in relations]
    inner_group = ["b.id"]
    inner_select = ["b.id AS _id"]
    lateral = 0
    for d in dims:
        dim = v.dims[d]
        if dim.pair_values:
            from_parts.append(f", LATERAL (SELECT unnest({dim.sql}) AS k, unnest({dim.pair_values}) AS v) _pair")
            inner_select.append(f"_pair.k AS {quote(d)}")
            inner_group.append("_pair.k")
        elif dim.explode:
            alias = f"_x{lateral}"
            lateral += 1
            from_parts.append(f", LATERAL (SELECT unnest({dim.sql}) AS v) {alias}")
            inner_select.append(f"{alias}.v AS {quote(d)}")
            inner_group.append(f"{alias}.v")
        else:
            inner_select.append(f"any_value({dim.sql}) AS {quote(d)}")

    granularity = None
    if query.get("timeDimension"):
        granularity = query["timeDimension"]["granularity"]
        if granularity == "auto":
            granularity = auto_granularity(start, end)
        bucket = BUCKETS[granularity].format(c=f"b.{v.time_column}")
        inner_select.append(f"any_value({bucket}) AS time_dimension")

    metrics: list[tuple[str, str, str]] = []
    outer_metrics: list[str] = []
    measure_cols: dict[str, str] = {}
    for m in query["metrics"]:
        measure, agg = m["measure"], m["aggregation"]
        if measure not in measure_cols:
            measure_cols[measure] = f"_m{len(measure_cols)}"
            inner_select.append(f"{v.measures[measure].sql} AS {measure_cols[measure]}")
        column = f"{agg}_{measure}"
        if any(c == column for c, _, _ in metrics):
            continue
        metrics.append((column, agg, measure))
        integer = facts["measures"][measure]["type"] == "integer"
        outer_metrics.append(f"{aggregate(agg, measure_cols[measure], integer)} AS {quote(column)}")
    if not metrics:
        outer_metrics.append("count(*) AS count")

    inner = (f"SELECT {', '.join(inner_select)} FROM {' '.join(from_parts)} "
             f"WHERE {' AND '.join(where)} GROUP BY {', '.join(inner_group)}")
    group_cols = [quote(d) for d in dims] + (["time_dimension"] if granularity else [])
    outer_select = group_cols + outer_metrics
    sql = f"SELECT {', '.join(outer_select)} FROM ({inner}) _inner"
    if group_cols:
        sql += f" GROUP BY {', '.join(group_cols)}"
    sql += " ORDER BY " + ", ".join(order_terms(query, dims, metrics, granularity))
    fill = {d: v.dims[d].fill_value() for d in dims}
    return Plan(sql, params.values, dims, metrics, granularity, bool(granularity), fill)


def aggregate(agg: str, col: str, integer: bool = False) -> str:
    """``<agg>(col)`` in DuckDB (integer sums are exact; float sums and averages order-independent)."""
    if agg == "sum" and not integer:
        return det_sum(col)
    if agg == "avg":
        return f"{det_sum(f'CAST({col} AS DOUBLE)')} / NULLIF(count({col}), 0)"
    if agg in QUANTILES:
        # ClickHouse quantile(): reservoir of 8192 with linear interpolation -> exact
        # quantile_cont for up to 8192 values per group (approximate beyond).
        return f"quantile_cont({col}, {QUANTILES[agg]})"
    if agg == "uniq":
        return f"count(DISTINCT {col})"
    if agg == "histogram":
        return f"list({col} ORDER BY {col}) FILTER (WHERE {col} IS NOT NULL)"
    return f"{agg}({col})"


def order_terms(query: dict, dims: list[str], metrics: list, granularity: str | None) -> list[str]:
    """Explicit orderBy, else the server's default; then every group column for a stable order."""
    terms: list[str] = []
    if query.get("orderBy"):
        terms = [f"{quote(o['field'])} {o['direction'].upper()} NULLS LAST" for o in query["orderBy"]]
    elif granularity:
        terms = ["time_dimension ASC"]
    elif metrics:
        terms = [f"{quote(metrics[0][0])} DESC NULLS LAST"]
    elif dims:
        terms = [f"{quote(dims[0])} ASC NULLS LAST"]
    tiebreak = [quote(d) for d in dims] + (["time_dimension"] if granularity else [])
    terms += [f"{c} ASC NULLS LAST" for c in tiebreak if not any(t.startswith(c + " ") for t in terms)]
    return terms or ["1"]


# -- filters -------------------------------------------------------------------------------

def filter_sql(f: dict, v: ViewSql, params: _Params) -> tuple[str, str | None]:
    """(SQL condition, relation alias it needs) for one validated filter (facts §3.3)."""
    column, ftype, op = f["column"], f["type"], f["operator"]
    value = f.get("value")
    dim = v.dims.get(column)
    if dim is None and column.endswith("Name") and "name" in v.dims:
        dim = v.dims["name"]
    if dim is None and column == v.time_column:
        if ftype == "null":       # allowed by validateFilters; the time column is never null
            return f"b.{column} IS {'NOT ' if op == 'is not null' else ''}NULL", None
        return f"b.{column} {op} {params.add(parse_filter_datetime(value))}", None
    if dim is None and column == "metadata":
        expr = f"coalesce(json_extract_string(b.metadata, {params.add('$.' + _json_key(f['key']))}), '')"
        return _string_condition(expr, op, value, params, False), None
    assert dim is not None, f"unvalidated filter column {column}"
    expr = _raw(dim)
    if ftype == "null":
        if dim.is_string and not dim.explode and not dim.pair_values:
            cond = f"({expr} IS NULL OR {expr} = '')"
        else:
            cond = f"{expr} IS NULL"
        return (cond if op == "is null" else f"NOT {cond}"), dim.relation
    if ftype == "arrayOptions" or dim.explode or dim.pair_values:
        values = value if isinstance(value, list) else [value]
        arr = f"coalesce({expr}, [])"
        p = params.add([str(x) for x in values])
        if ftype == "string" and op != "=":
            return f"len(list_filter({arr}, lambda x: {_string_condition('x', op, value, params, False)})) > 0", dim.relation
        if op == "all of":
            return f"list_has_all({arr}, {p})", dim.relation
        if op == "none of":
            return f"NOT list_has_any({arr}, {p})", dim.relation
        return f"list_has_any({arr}, {p})", dim.relation
    if ftype == "stringOptions":
        p = params.add([str(x) for x in value])
        col = f"coalesce({expr}, '')"
        if op == "any of":
            return f"{col} IN (SELECT unnest({p}))", dim.relation
        guard = f" AND {col} <> ''" if dim.empty_is_null else ""
        return f"({col} NOT IN (SELECT unnest({p})){guard})", dim.relation
    if ftype in ("number", "boolean"):
        sql_op = "<>" if op == "<>" else op
        return f"{expr} {sql_op} {params.add(value)}", dim.relation
    return _string_condition(f"coalesce({expr}, '')", op, value, params, dim.empty_is_null), dim.relation


def _raw(dim: Dim) -> str:
    """The row-level value a filter compares: the column itself, not its nullIf/'' presentation."""
    sql = dim.sql
    for prefix, suffix in (("NULLIF(", ", '')"), ("coalesce(", ", '')")):
        if sql.startswith(prefix) and sql.endswith(suffix):
            return sql[len(prefix):-len(suffix)]
    return sql


def _string_condition(expr: str, op: str, value, params: _Params, empty_is_null: bool) -> str:
    p = params.add("" if value is None else str(value))
    if op == "=":
        return f"{expr} = {p}"
    if op == "contains":
        return f"strpos({expr}, {p}) > 0"
    if op == "does not contain":
        guard = f"{expr} <> '' AND " if empty_is_null else ""
        return f"({guard}strpos({expr}, {p}) = 0)"
    if op == "starts with":
        return f"starts_with({expr}, {p})"
    if op == "ends with":
        return f"ends_with({expr}, {p})"
    raise ValueError(f"unsupported string operator {op!r}")


def _json_key(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
