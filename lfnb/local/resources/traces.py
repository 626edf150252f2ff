"""Handlers for traces, v1 observations and sessions (the legacy page-based reads).

Orders (stable, documented):

* ``GET /api/public/traces`` — ``timestamp DESC, id DESC``; with ``orderBy=<col>.<dir>``
  the column first (NULLs last), then ``timestamp DESC, id DESC``.
* ``GET /api/public/observations`` — ``start_time DESC, id DESC``.
* ``GET /api/public/sessions`` — ``created_at DESC, id DESC``.
* Nested lists: a trace's observations ``start_time ASC, id ASC``, its scores
  ``timestamp ASC, id ASC``; a session's traces ``timestamp ASC, id ASC``.

Comma lists (``public-api-filter-builder.ts``): one ``environment`` value (traces, v1
observations) or ``tags`` value (traces) is split on ``,``; repeated values are not.
Sessions compare ``environment`` literally (``sessions/index.ts``).

Trace aggregates come from the page's observations only (computed in DuckDB):
``latency`` = seconds from the earliest start to the latest start/end, ``totalCost`` =
sum of ``total_cost``; a trace without observations has 0 for both.
"""

from __future__ import annotations

from lfnb.langfuse.enums import OBSERVATION_LEVELS as LEVELS
from lfnb.langfuse.enums import OBSERVATION_TYPES
from lfnb.local.handlers import scalar_list
from lfnb.local.resources.common import (
    ApiRequest,
    Where,
    datetime_param,
    enum_param,
    issue,
    not_found,
    page_meta,
    page_params,
    paged,
    paged_json,
    project,
    zod_error,
)
from lfnb.local.resources.filter import apply_filter
from lfnb.local.resources.render import (
    SCORE_V1_TYPES,
    html_path,
    observation_json,
    score_v1_json,
    session_json,
    trace_json,
)

__all__ = ["trace_list", "trace_get", "observations_get_many", "observations_get",
           "sessions_list", "sessions_get", "trace_delete", "trace_delete_multiple", "TRACE_FIELD_GROUPS", "OBSERVATION_TYPES"]

TRACE_FIELD_GROUPS = ("core", "io", "scores", "observations", "metrics")
TRACE_ORDER_COLUMNS = {
    "id": "id", "timestamp": "timestamp", "name": "name", "userId": "user_id",
    "release": "release", "version": "version", "public": "public",
    "bookmarked": "bookmarked", "sessionId": "session_id",
}

# Observation aggregates per trace, restricted to the trace ids of one page.
_TRACE_AGG_SQL = """
    SELECT trace_id,
           date_diff('millisecond', min(start_time),
                     greatest(max(start_time), max(end_time))) / 1000.0 AS latency,
           coalesce(sum(total_cost), 0.0) AS total_cost,
           list(id ORDER BY start_time, id) AS observation_ids
    FROM observations WHERE trace_id IN (SELECT unnest(?)) GROUP BY trace_id
"""
_TRACE_SCORES_SQL = """
    SELECT trace_id, list(id ORDER BY timestamp, id) AS score_ids
    FROM scores WHERE trace_id IN (SELECT unnest(?)) GROUP BY trace_id
"""
_OBS_SELECT = ("o.*, m.input_price AS input_price, m.output_price AS output_price, "
               "m.total_price AS total_price")
_OBS_FROM = "observations o LEFT JOIN models m ON m.id = o.internal_model_id"


def field_groups(raw: str | None) -> set[str]:
    """Traces ``fields``: unknown names are dropped; absent, empty or only-unknown → all."""
    names = {p.strip() for p in (raw or "").split(",") if p.strip()} & set(TRACE_FIELD_GROUPS)
    return (names | {"core"}) if names else set(TRACE_FIELD_GROUPS)


def _trace_order(req: ApiRequest, issues: list[dict]) -> str:
    raw = req.get("orderBy")
    if raw is None or raw == "":
        return "timestamp DESC, id DESC"
    col, _, direction = raw.rpartition(".")
    if col not in TRACE_ORDER_COLUMNS or direction not in ("asc", "desc"):
        issues.append(issue(
            "custom", ["orderBy"],
            f"Invalid orderBy '{raw}': expected <column>.<asc|desc> with column one of "
            + ", ".join(TRACE_ORDER_COLUMNS)))
        return "timestamp DESC, id DESC"
    return f"{TRACE_ORDER_COLUMNS[col]} {direction.upper()} NULLS LAST, timestamp DESC, id DESC"


def _decorate_traces(store, rows: list[dict], groups: set[str]) -> list[dict]:
    """Trace rows → ``TraceWithDetails`` objects with the page's aggregates."""
    ids = [r["id"] for r in rows]
    proj = project(store)["id"]
    aggs = {a["trace_id"]: a for a in store.fetch(_TRACE_AGG_SQL, [ids])} if ids else {}
    scores = ({s["trace_id"]: s["score_ids"] for s in store.fetch(_TRACE_SCORES_SQL, [ids])}
              if ids and "scores" in groups else {})
    out = []
    for row in rows:
        item = trace_json(row, io="io" in groups)
        agg = aggs.get(row["id"])
        item["htmlPath"] = html_path(row["project_id"] or proj, row["id"])
        if "metrics" in groups:
            item["latency"] = float(agg["latency"]) if agg and agg["latency"] is not None else 0.0
            item["totalCost"] = float(agg["total_cost"]) if agg else 0.0
        else:
            item["latency"] = -1.0
            item["totalCost"] = -1.0
        item["observations"] = list(agg["observation_ids"]) if agg and "observations" in groups else []
        item["scores"] = list(scores.get(row["id"], [])) if "scores" in groups else []
        out.append(item)
    return out


def trace_list(store, req: ApiRequest) -> dict:
    """``GET /api/public/traces`` (``Traces``)."""
    issues: list[dict] = []
    page, limit = page_params(req, issues)
    from_ts = datetime_param(req, "fromTimestamp", issues)
    to_ts = datetime_param(req, "toTimestamp", issues)
    order = _trace_order(req, issues)
    if issues:
        raise zod_error(issues)
    where = Where()
    overridden = apply_filter(req, "traces", where, alias="t")
    simple = {
        "userId": ("user_id", req.get("userId")), "name": ("name", req.get("name")),
        "sessionId": ("session_id", req.get("sessionId")),
        "version": ("version", req.get("version")), "release": ("release", req.get("release")),
    }
    for key, (col, value) in simple.items():
        if key not in overridden:
            where.eq(col, value)
    if "fromTimestamp" not in overridden and from_ts is not None:
        where.add("timestamp >= ?", from_ts)
    if "toTimestamp" not in overridden and to_ts is not None:
        where.add("timestamp < ?", to_ts)
    # one value is split on "," (tags: all of; environment: any of), repeated values are not
    tags = scalar_list(req, "tags")
    if tags and "tags" not in overridden:
        where.add("list_has_all(tags, ?)", tags)
    environments = scalar_list(req, "environment")
    if environments and "environment" not in overridden:
        where.add("environment IN (SELECT unnest(?))", environments)
    rows, total = paged(store, "t.*", "traces t", where, order, page, limit, key="t.id")
    groups = field_groups(req.get("fields"))
    return {"data": _decorate_traces(store, rows, groups), "meta": page_meta(page, limit, total)}


def trace_get(store, req: ApiRequest) -> dict:
    """``GET /api/public/traces/{traceId}`` (``TraceWithFullDetails``)."""
    trace_id = req.path_params["traceId"]
    rows = store.fetch("SELECT * FROM traces WHERE id = ?", [trace_id])
    if not rows:
        raise not_found("Trace not found within authorized project")
    groups = field_groups(req.get("fields"))
    item = _decorate_traces(store, rows, groups - {"observations", "scores"})[0]
    item["observations"] = []
    item["scores"] = []
    if "observations" in groups:
        obs = store.fetch(f"SELECT {_OBS_SELECT} FROM {_OBS_FROM} WHERE o.trace_id = ? "
                          "ORDER BY o.start_time, o.id", [trace_id])
        item["observations"] = [observation_json(o, nested=True) for o in obs]
    if "scores" in groups:
        scores = store.fetch("SELECT * FROM scores WHERE trace_id = ? AND data_type IN "
                             "(SELECT unnest(?)) ORDER BY timestamp, id",
                             [trace_id, list(SCORE_V1_TYPES)])
        item["scores"] = [score_v1_json(s) for s in scores]
    return item


def observations_get_many(store, req: ApiRequest) -> dict:
    """``GET /api/public/observations`` (``legacyObservationsViews``)."""
    issues: list[dict] = []
    page, limit = page_params(req, issues)
    obs_type = enum_param(req, "type", OBSERVATION_TYPES, issues)
    level = enum_param(req, "level", LEVELS, issues)
    from_ts = datetime_param(req, "fromStartTime", issues)
    to_ts = datetime_param(req, "toStartTime", issues)
    if issues:
        raise zod_error(issues)
    where = Where()
    overridden = apply_filter(req, "observations", where, alias="o")
    simple = {
        "name": ("o.name", req.get("name")), "userId": ("o.user_id", req.get("userId")),
        "type": ("o.type", obs_type), "traceId": ("o.trace_id", req.get("traceId")),
        "level": ("o.level", level), "version": ("o.version", req.get("version")),
        "parentObservationId": ("o.parent_observation_id", req.get("parentObservationId")),
    }
    for key, (col, value) in simple.items():
        if key not in overridden:
            where.eq(col, value)
    environments = scalar_list(req, "environment")
    if environments and "environment" not in overridden:
        where.add("o.environment IN (SELECT unnest(?))", environments)
    if from_ts is not None and "fromStartTime" not in overridden:
        where.add("o.start_time >= ?", from_ts)
    if to_ts is not None and "toStartTime" not in overridden:
        where.add("o.start_time < ?", to_ts)
    return paged_json(observation_json, store, _OBS_SELECT, _OBS_FROM, where, "o.start_time DESC, o.id DESC",
                      page, limit, key="o.id")


def observations_get(store, req: ApiRequest) -> dict:
    """``GET /api/public/observations/{observationId}`` (``ObservationsViewSingle``)."""
    rows = store.fetch(f"SELECT {_OBS_SELECT} FROM {_OBS_FROM} WHERE o.id = ?",
                       [req.path_params["observationId"]])
    if not rows:
        raise not_found("Observation not found within authorized project")
    return observation_json(rows[0])


def sessions_list(store, req: ApiRequest) -> dict:
    """``GET /api/public/sessions`` (``PaginatedSessions``)."""
    issues: list[dict] = []
    page, limit = page_params(req, issues)
    from_ts = datetime_param(req, "fromTimestamp", issues)
    to_ts = datetime_param(req, "toTimestamp", issues)
    if issues:
        raise zod_error(issues)
    where = Where()
    if from_ts is not None:
        where.add("created_at >= ?", from_ts)
    if to_ts is not None:
        where.add("created_at < ?", to_ts)
    # sessions compare one value literally ("a,b" is one name) and repeated values as IN
    where.any_of("environment", req.get_all("environment"))
    return paged_json(session_json, store, "*", "sessions", where, "created_at DESC, id DESC", page, limit)


def sessions_get(store, req: ApiRequest) -> dict:
    """``GET /api/public/sessions/{sessionId}`` (``SessionWithTraces``)."""
    session_id = req.path_params["sessionId"]
    rows = store.fetch("SELECT * FROM sessions WHERE id = ?", [session_id])
    if not rows:
        raise not_found("Session not found within authorized project")
    traces = store.fetch("SELECT * FROM traces WHERE session_id = ? ORDER BY timestamp, id",
                         [session_id])
    out = session_json(rows[0])
    out["traces"] = [trace_json(t) for t in traces]
    return out


# ---------------------------------------------------------------------------- deletes

def _delete_traces(store, trace_ids: list[str]) -> int:
    """Delete traces with their observations and trace-level scores; the number of traces deleted."""
    with store.write() as cur:
        found = cur.execute("SELECT count(*) FROM traces WHERE id IN (SELECT unnest(?))", [trace_ids]).fetchone()[0]
        for table in ("observations", "scores"):
            # table names come from this fixed tuple; ids are bound
            cur.execute(f"DELETE FROM {table} WHERE trace_id IN (SELECT unnest(?))", [trace_ids])
        cur.execute("DELETE FROM traces WHERE id IN (SELECT unnest(?))", [trace_ids])
    return found


def trace_delete(store, req: ApiRequest) -> dict:
    """``DELETE /api/public/traces/{traceId}`` (``DeleteTraceResponse``); 404 when absent."""
    trace_id = req.path_params["traceId"]
    if not _delete_traces(store, [trace_id]):
        raise not_found("Trace not found within authorized project")
    return {"message": "Trace deleted successfully"}


def trace_delete_multiple(store, req: ApiRequest) -> dict:
    """``DELETE /api/public/traces`` with ``{"traceIds": [...]}``; unknown ids are ignored."""
    body = req.body if isinstance(req.body, dict) else {}
    ids = body.get("traceIds")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise zod_error([issue("invalid_type", ["traceIds"], "traceIds must be a non-empty list of trace id strings",
                               expected="array")])
    _delete_traces(store, ids)
    return {"message": "Traces deleted successfully"}
