"""The Metrics API of lfnb.local: ``/api/public/metrics`` (v1) and ``/api/public/v2/metrics`` (v2).

``query(store, query, version)`` runs a query straight over a :class:`~lfnb.local.store.Store`
(also exported as ``lfnb.local.query``); the two handlers wrap it with the
server's request parsing and 400 bodies (facts §2.1):

1. ``query`` is not JSON -> ``{"message": "Invalid JSON in query parameter", "error": "InvalidRequestError"}``
2. the zod schema fails -> ``{"message": "Invalid request data", "error": [zod issues]}``, paths start with ``"query"``
3. a semantic check fails (v2 high-cardinality rule, unknown dimension/metric, aggregation for the
   measure type, filter column/type, pairExpand, orderBy) -> ``{"message": <server text>, "error": "InvalidRequestError"}``

Result semantics follow Langfuse (facts §2.5-2.8): inclusive window, ``<agg>_<measure>``
columns (``count`` without metrics), ``time_dimension`` as ``YYYY-MM-DD`` (day/week/month)
or ``YYYY-MM-DDThh:mm:ss.000Z`` (minute/hour), gap filling without orderBy, v2's default
row_limit of 100, histograms as ``[lower, upper, height]`` triples.

Where DuckDB and ClickHouse differ, lfnb.local chooses determinism:

* ``p50``…``p99``: ClickHouse ``quantile`` keeps a reservoir of 8192 values and
  interpolates linearly, i.e. it equals DuckDB's ``quantile_cont`` for up to 8192
  values per group; beyond that ClickHouse samples and lfnb.local stays exact.
* ``uniq``: exact ``count(DISTINCT)`` (ClickHouse's ``uniq`` is approximate on large sets).
* ``histogram``: ClickHouse's algorithm, values added in ascending order (ClickHouse
  adds them in storage order, so its bins can differ slightly on the same data).
* float sums and averages add sorted values, so a query gives the same digits every time.
* the store has no experiment columns (those dimensions are null), v2's ``traceVersion``
  reads the trace version, and v2 score views join the ``traces`` table (its
  ``timestamp`` in the window) where Langfuse joins the trace's root event.

Examples
--------
>>> from datetime import datetime, timezone
>>> from lfnb.local.store import Store
>>> from lfnb.local.generator import generate
>>> store = Store()
>>> _ = generate(store, traces=50, days=2, anchor=datetime(2026, 11, 1, tzinfo=timezone.utc))
>>> rows = query(store, {"view": "observations", "metrics": [{"measure": "count", "aggregation": "count"}],
...                      "fromTimestamp": "2026-10-30T00:00:00Z", "toTimestamp": "2026-11-01T00:00:00Z"})
>>> list(rows[0])
['count_count']
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from lfnb.errors import QueryValidationError
from lfnb.local.engine.histogram import histogram
from lfnb.local.engine.sql import Plan, build
from lfnb.local.engine.zod import zod_issues
from lfnb.local.handlers import ApiRequest, invalid_request, require_v4, zod_error
from lfnb.metrics import checks
from lfnb.metrics.validation import normalize, query_issues

V2_DEFAULT_ROW_LIMIT = 100
DEFAULT_BINS = 10
_STEPS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1),
          "week": timedelta(weeks=1)}


def handle_metrics_v1(store, req: ApiRequest) -> dict:
    return _handle(store, req, "v1")


def handle_metrics_v2(store, req: ApiRequest) -> dict:
    return _handle(store, req, "v2")


def _handle(store, req: ApiRequest, version: str) -> dict:
    raw = req.get("query")
    if raw is None:
        raise zod_error([{"expected": "string", "code": "invalid_type", "path": ["query"],
                          "message": "Invalid input: expected string, received undefined"}])
    try:
        data = json.loads(raw)
    except ValueError:
        raise invalid_request("Invalid JSON in query parameter") from None
    issues = zod_issues(data, version)
    if issues:
        raise zod_error(issues)
    if version == "v2":
        require_v4(req, "metrics_v2")      # after zod, before validateQuery (web/src/pages/api/public/v2/metrics.ts)
    q = normalize(data)
    problems = checks.semantic_issues(q, version)
    if problems:
        raise invalid_request(problems[0]["message"])
    return {"data": execute(store, q, version)}


def query(store, query: dict | str, version: str = "v2") -> list[dict]:
    """Run a metrics query over a store and return the rows the API would send.

    Parameters
    ----------
    store : lfnb.local.store.Store
    query : dict or str
        A Metrics API query (object or JSON text).
    version : {"v2", "v1"}

    Raises
    ------
    lfnb.errors.QueryValidationError
        When the query is invalid for ``version`` (every problem listed).
    """
    data = json.loads(query) if isinstance(query, str) else query
    issues = query_issues(data, version)
    if issues:
        raise QueryValidationError(issues, title=f"Invalid metrics query ({version})")
    return execute(store, normalize(data), version)


def execute(store, q: dict, version: str) -> list[dict]:
    """Rows for a normalised query that passed every check."""
    start = _ms_naive(checks.parse_timestamp(q["fromTimestamp"]))
    end = _ms_naive(checks.parse_timestamp(q["toTimestamp"]))
    plan = build(q, version, start, end)
    cur = store.cursor()
    try:
        rel = cur.execute(plan.sql, plan.params)
        cols = [d[0] for d in rel.description]
        raw_rows = [dict(zip(cols, r)) for r in rel.fetchall()]
    finally:
        cur.close()
    bins = (q.get("config") or {}).get("bins") or DEFAULT_BINS
    rows = [_finish_row(r, plan, bins) for r in raw_rows]
    if plan.has_time and not q.get("orderBy"):
        rows = _fill_gaps(rows, plan, start, end)
    limit = (q.get("config") or {}).get("row_limit") or (V2_DEFAULT_ROW_LIMIT if version == "v2" else None)
    if limit:
        rows = rows[:limit]
    for row in rows:
        if plan.has_time:
            row["time_dimension"] = _format_bucket(row["time_dimension"], plan.granularity)
    return rows


def _ms_naive(value: datetime) -> datetime:
    """UTC, naive, truncated to milliseconds (the server compares ``new Date(ts)``)."""
    value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _finish_row(row: dict, plan: Plan, bins: int) -> dict:
    out: dict[str, Any] = {}
    for d in plan.dims:
        out[d] = _plain(row[d])
    if plan.has_time:
        out["time_dimension"] = row["time_dimension"]
    if not plan.metrics:
        out["count"] = int(row["count"])
    for column, agg, _measure in plan.metrics:
        value = row[column]
        if agg == "histogram":
            out[column] = histogram([float(x) for x in value or []], bins)
        else:
            out[column] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    """JSON-ready Python values (DuckDB returns Decimal/HUGEINT-backed ints, lists, dates)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return None if value != value else value  # NaN -> null
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "is_integer"):  # Decimal
        return float(value)
    return value


def _bucket_start(value: datetime, granularity: str) -> datetime | date:
    if granularity == "minute":
        return value.replace(second=0, microsecond=0)
    if granularity == "hour":
        return value.replace(minute=0, second=0, microsecond=0)
    day = value.date()
    if granularity == "day":
        return day
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_bucket(value, granularity: str):
    if granularity == "month":
        return date(value.year + value.month // 12, value.month % 12 + 1, 1)
    return value + _STEPS[granularity]


def _fill_gaps(rows: list[dict], plan: Plan, start: datetime, end: datetime) -> list[dict]:
    """ClickHouse ``WITH FILL FROM bucket(from) TO bucket(to) STEP 1 <unit>``: the TO bucket is
    exclusive; one row per missing bucket (not per dimension value), dimensions at their column
    default ('' for String, null for v2's nullIf columns), counts and sums 0."""
    present = {r["time_dimension"] for r in rows}
    filled = list(rows)
    bucket, last = _bucket_start(start, plan.granularity), _bucket_start(end, plan.granularity)
    while bucket < last:
        if bucket not in present:
            row: dict[str, Any] = {d: plan.fill[d] for d in plan.dims}
            row["time_dimension"] = bucket
            if not plan.metrics:
                row["count"] = 0
            for column, agg, _m in plan.metrics:
                row[column] = 0 if agg in ("count", "uniq", "sum") else ([] if agg == "histogram" else None)
            filled.append(row)
        bucket = _next_bucket(bucket, plan.granularity)
    # stable: rows of one bucket keep their dimension order
    return sorted(filled, key=lambda r: _sortable(r["time_dimension"]))


def _sortable(value) -> datetime:
    return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)


def _format_bucket(value, granularity: str) -> str:
    if isinstance(value, datetime) and granularity in ("minute", "hour"):
        return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(value, datetime):
        value = value.date()
    return value.isoformat()


__all__ = ["handle_metrics_v1", "handle_metrics_v2", "query", "execute"]
