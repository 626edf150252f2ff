"""The resource handlers of lfnb.local, exported as :data:`ROUTES` for the HTTP app.

``ROUTES`` is a list of ``(method, path_template, operation_name, handler)``; path
templates and operation names are those of ``seed-operations.tsv`` (plus
``scores_v3_get_many`` for ``GET /api/public/v3/scores`` and ``metrics_daily`` for the
deprecated ``GET /api/public/metrics/daily``, which the seed catalogue lacks). Every
handler follows the contract of :mod:`lfnb.local.handlers`:
``handler(store, ApiRequest) -> dict | Reply | None`` (None = 204),
errors raised as :class:`~lfnb.local.handlers.ApiProblem`. Operations missing here
(v2 observations and metrics have their own modules; organisation, SCIM, media,
... are not emulated) are answered by the app with a JSON 501.

The handlers live in modules by resource:

==========================  ===================================================
module                      resources
==========================  ===================================================
``traces``                  traces, v1 observations, sessions
``scores``                  v2 scores (page) and v3 scores (cursor)
``writes``                  score create/delete, score configs, comments
``datasets``                datasets, dataset items, runs, run items
``catalog``                 prompts, models
``queues``                  annotation queues and their items
``daily``                   daily metrics (deprecated endpoint)
``ingestion``               the batched event API (``POST /api/public/ingestion``)
(this module)               projects, health
==========================  ===================================================
"""

from __future__ import annotations

from lfnb.local.handlers import ApiRequest, Handler
from lfnb.local.resources import catalog as resources_catalog
from lfnb.local.resources import daily as resources_daily
from lfnb.local.resources import datasets as resources_datasets
from lfnb.local.resources import ingestion as resources_ingestion
from lfnb.local.resources import queues as resources_queues
from lfnb.local.resources import scores as _scores
from lfnb.local.resources import traces as _traces
from lfnb.local.resources import writes as resources_writes
from lfnb.local.resources.common import iso, parse_json, project

__all__ = ["ROUTES", "health", "projects_get", "route_table"]


def health(store, req: ApiRequest) -> dict:
    """``GET /api/public/health``: ``{"status": "OK", "version": <lfnb version>}``."""
    return {"status": "OK", "version": _version()}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lfnb")
    except PackageNotFoundError:
        return "0.0.0"


def projects_get(store, req: ApiRequest) -> dict:
    """``GET /api/public/projects``: the store's one project (``Projects``)."""
    row = project(store)
    meta = parse_json(row.get("metadata"))
    org = row.get("organization_id") or "lfnb"
    return {"data": [{
        "id": row["id"],
        "name": row["name"],
        "organization": {"id": org, "name": org},
        "metadata": meta if isinstance(meta, dict) else {},
        "retentionDays": None,
        "createdAt": iso(row.get("created_at")),
    }]}


def _routes() -> list[tuple[str, str, str, Handler]]:
    routes: list[tuple[str, str, str, Handler]] = [
        ("GET", "/api/public/health", "health_health", health),
        ("GET", "/api/public/projects", "projects_get", projects_get),
        ("GET", "/api/public/traces", "trace_list", _traces.trace_list),
        ("GET", "/api/public/traces/{traceId}", "trace_get", _traces.trace_get),
        ("DELETE", "/api/public/traces/{traceId}", "trace_delete", _traces.trace_delete),
        ("DELETE", "/api/public/traces", "trace_delete_multiple", _traces.trace_delete_multiple),
        ("GET", "/api/public/observations", "observations_get_many", _traces.observations_get_many),
        ("GET", "/api/public/observations/{observationId}", "observations_get",
         _traces.observations_get),
        ("GET", "/api/public/sessions", "sessions_list", _traces.sessions_list),
        ("GET", "/api/public/sessions/{sessionId}", "sessions_get", _traces.sessions_get),
        ("GET", "/api/public/v2/scores", "score_v2_get", _scores.score_v2_get),
        ("GET", "/api/public/v2/scores/{scoreId}", "score_v2_get_by_id", _scores.score_v2_get_by_id),
        ("GET", "/api/public/v3/scores", "scores_v3_get_many", _scores.scores_v3_get_many),
    ]
    for module in (resources_writes, resources_datasets, resources_catalog, resources_queues,
                   resources_daily, resources_ingestion):
        routes.extend(module.ROUTES)
    return routes


ROUTES: list[tuple[str, str, str, Handler]] = _routes()


def route_table() -> str:
    """``ROUTES`` as a readable table (method, path, operation), one line each."""
    return "\n".join(f"{m:6} {p:60} {op}" for m, p, op, _ in ROUTES)
