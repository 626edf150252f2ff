"""``GET /api/public/metrics/daily`` (deprecated in Langfuse, still served): per-day totals.

One row per UTC day that has traces matching the filters (``traceName``, ``userId``,
``tags`` (all of), ``environment`` (any of), ``fromTimestamp`` inclusive,
``toTimestamp`` exclusive), newest day first, page-based like every v1 list::

    {"date": "2026-10-31", "countTraces": 41, "countObservations": 310, "totalCost": 0.52,
     "usage": [{"model": "gpt-4o", "inputUsage": ..., "outputUsage": ..., "totalUsage": ...,
                "countObservations": ..., "countTraces": ..., "totalCost": ...}, ...]}

A day is the day of the *trace* timestamp; its observations are those of its traces.
``usage`` has one entry per provided model name (observations without a model are
counted in ``countObservations`` but get no usage entry), ordered by model.
"""

from __future__ import annotations

from lfnb.local.resources.common import (
    ApiRequest,
    Where,
    datetime_param,
    page_meta,
    page_params,
    zod_error,
)

__all__ = ["ROUTES", "metrics_daily"]

_SQL = """
WITH t AS (SELECT id, CAST(timestamp AS DATE) AS day FROM traces {where}),
page_days AS (
    SELECT day, count(*) AS count_traces FROM t GROUP BY day ORDER BY day DESC LIMIT ? OFFSET ?
),
per_model AS (
    SELECT t.day, o.model, count(*) AS n, count(DISTINCT o.trace_id) AS n_traces,
           coalesce(sum(o.input_usage), 0) AS input_usage, coalesce(sum(o.output_usage), 0) AS output_usage,
           coalesce(sum(o.total_usage), 0) AS total_usage, coalesce(sum(o.total_cost), 0.0) AS cost
    FROM t JOIN observations o ON o.trace_id = t.id
    WHERE t.day IN (SELECT day FROM page_days)
    GROUP BY t.day, o.model
)
SELECT d.day, d.count_traces,
       coalesce(sum(m.n), 0) AS count_observations, coalesce(sum(m.cost), 0.0) AS total_cost,
       list({{'model': m.model, 'inputUsage': m.input_usage, 'outputUsage': m.output_usage,
              'totalUsage': m.total_usage, 'countObservations': m.n, 'countTraces': m.n_traces,
              'totalCost': m.cost}} ORDER BY m.model) FILTER (WHERE m.model IS NOT NULL) AS usage
FROM page_days d LEFT JOIN per_model m ON m.day = d.day
GROUP BY d.day, d.count_traces
ORDER BY d.day DESC
"""


def metrics_daily(store, req: ApiRequest) -> dict:
    """``GET /api/public/metrics/daily``: ``{"data": [day, ...], "meta": {page, limit, ...}}``."""
    issues: list[dict] = []
    page, limit = page_params(req, issues)
    from_ts = datetime_param(req, "fromTimestamp", issues)
    to_ts = datetime_param(req, "toTimestamp", issues)
    if issues:
        raise zod_error(issues)
    where = Where().eq("name", req.get("traceName")).eq("user_id", req.get("userId"))
    tags = [t for t in req.get_all("tags") if t]
    if tags:
        where.add("list_has_all(tags, ?)", tags)
    where.any_of("environment", req.get_all("environment"))
    if from_ts is not None:
        where.add("timestamp >= ?", from_ts)
    if to_ts is not None:
        where.add("timestamp < ?", to_ts)
    total = store.fetch(f"SELECT count(DISTINCT CAST(timestamp AS DATE)) AS n FROM traces {where.sql()}",
                        where.params)[0]["n"]
    rows = store.fetch(_SQL.format(where=where.sql()), [*where.params, limit, (page - 1) * limit])
    data = [{
        "date": r["day"].isoformat(),
        "countTraces": int(r["count_traces"]),
        "countObservations": int(r["count_observations"]),
        "totalCost": float(r["total_cost"]),
        "usage": [{**u, "inputUsage": int(u["inputUsage"]), "outputUsage": int(u["outputUsage"]),
                   "totalUsage": int(u["totalUsage"]), "countObservations": int(u["countObservations"]),
                   "countTraces": int(u["countTraces"]), "totalCost": float(u["totalCost"])}
                  for u in (r["usage"] or [])],
    } for r in rows]
    return {"data": data, "meta": page_meta(page, limit, total)}


ROUTES = [("GET", "/api/public/metrics/daily", "metrics_daily", metrics_daily)]
