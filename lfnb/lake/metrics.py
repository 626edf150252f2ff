"""``Lake.metrics``: a Metrics API query answered by lfnb.local's engine over the lake's rows.

The lake's Parquet files are loaded by DuckDB into an in-memory :class:`lfnb.local.store.Store`
(column names mapped back to the store's, trace fields denormalised as the store expects) and
the query goes through the same path as ``lf.read_metrics``: :func:`lfnb.metrics.run_query`
validates it and builds the frame, the engine's v1/v2 handler answers it. Nothing is sent
over the network and no quota applies.

Differences from the API on the same data: the lake's frames have no tool names, so the
``toolDefinitions``/``toolCalls`` measures and ``toolNames``/``calledToolNames`` dimensions are
empty; on a v4 lake the trace table the score views join is derived from observations.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from lfnb.errors import ApiError, ConfigError
from lfnb.lake import files

__all__ = ["run_over_lake", "load_store"]


def run_over_lake(lake, query: Any, version: str = "v2") -> pd.DataFrame:
    from lfnb.local import engine
    from lfnb.local.handlers import ApiProblem, ApiRequest
    from lfnb.metrics import run_query

    if version not in ("v1", "v2"):
        raise ConfigError(f"version must be 'v1' or 'v2', got {version!r}")

    def get(path: str, params: dict) -> Any:
        store = lake.metrics_store()
        handler = engine.handle_metrics_v2 if version == "v2" else engine.handle_metrics_v1
        try:
            return handler(store, ApiRequest("GET", path, {}, list(params.items())))
        except ApiProblem as problem:
            raise ApiError(problem.status, "GET", f"lake:{lake.root}{path}", json.dumps(problem.body)) from None

    return run_query(get, query, version, None)


def _glob(lake, resource: str) -> str | None:
    if not files.days_of(lake.root, resource):
        return None
    return lake.root.url(f"{resource}/day=*/{files.PART}").replace("'", "''")


def _details(columns: list[str], prefix: str) -> str:
    """A JSON object of the non-null ``prefix.*`` columns (the store's usage/cost details)."""
    keys = sorted(c for c in columns if c.startswith(prefix + "."))
    if not keys:
        return "'{}'"
    pairs = ", ".join(f"'{k.split('.', 1)[1]}', \"{k}\"" for k in keys)
    return f"CAST(json_object({pairs}) AS VARCHAR)"


def _strip_nulls(expr: str) -> str:
    # json_object keeps null members; the store's details hold only the keys that have a value
    return f"regexp_replace(regexp_replace({expr}, '\"[^\"]+\":null,?', '', 'g'), ',}}', '}}')"


def load_store(lake):
    """An in-memory Store holding the lake's observations, traces and scores, loaded by DuckDB
    straight from the Parquet files (JSON columns are stored as JSON text already)."""
    from lfnb.local.store import Store

    store = Store()
    project = (lake.state.project_id or "lake").replace("'", "''")
    with store.write() as cur:
        if not lake.root.local:
            cur.register_filesystem(lake.root.fs)     # DuckDB reads memory://, s3://… through fsspec
        cur.execute("INSERT INTO projects (id, name) VALUES (?, ?)", [project, project])
        obs = _glob(lake, "observations")
        if obs:
            cols = [r[0] for r in cur.execute(f"DESCRIBE SELECT * FROM read_parquet('{obs}', union_by_name = true)")
                    .fetchall()]
            # trace_id_hash only orders v2 observation pages; the metrics engine never reads it
            cur.execute(f"""
                INSERT INTO observations BY NAME
                SELECT id, "traceId" AS trace_id, 0 AS trace_id_hash, coalesce("projectId", '{project}') AS project_id,
                       "parentObservationId" AS parent_observation_id, type, name,
                       CAST("startTime" AS TIMESTAMP) AS start_time, CAST("endTime" AS TIMESTAMP) AS end_time,
                       CAST("completionStartTime" AS TIMESTAMP) AS completion_start_time,
                       coalesce(level, 'DEFAULT') AS level, "statusMessage" AS status_message, version,
                       coalesce(environment, 'default') AS environment, model, "internalModelId" AS internal_model_id,
                       "modelParameters" AS model_parameters, input, output, metadata,
                       {_strip_nulls(_details(cols, "usageDetails"))} AS usage_details,
                       {_strip_nulls(_details(cols, "costDetails"))} AS cost_details,
                       "usageDetails.input" AS input_usage, "usageDetails.output" AS output_usage,
                       "usageDetails.total" AS total_usage, "costDetails.input" AS input_cost,
                       "costDetails.output" AS output_cost,
                       -- no cost details = no cost: NULL as in the store (v1 sends calculatedTotalCost 0 for it,
                       -- v2 totalCost 0; v1 metrics keep such rows NULL, v2 metrics count them as 0 either way)
                       CASE WHEN {_strip_nulls(_details(cols, "costDetails"))} = '{{}}' THEN NULL
                            ELSE "totalCost" END AS total_cost,
                       "usagePricingTierName" AS usage_pricing_tier_name, "promptId" AS prompt_id,
                       "promptName" AS prompt_name, "promptVersion" AS prompt_version, "userId" AS user_id,
                       "sessionId" AS session_id, "traceName" AS trace_name,
                       CAST(CAST(tags AS JSON) AS VARCHAR[]) AS tags, release, bookmarked, public,
                       CAST("createdAt" AS TIMESTAMP) AS created_at, CAST("updatedAt" AS TIMESTAMP) AS updated_at
                FROM read_parquet('{obs}', union_by_name = true)""")
        traces = _glob(lake, "traces")
        if traces:
            cur.execute(f"""
                INSERT INTO traces BY NAME
                SELECT id, '{project}' AS project_id, name, CAST(timestamp AS TIMESTAMP) AS timestamp,
                       "userId" AS user_id, "sessionId" AS session_id, release, version,
                       coalesce(environment, 'default') AS environment,
                       CAST(CAST(tags AS JSON) AS VARCHAR[]) AS tags, metadata, public, bookmarked
                FROM read_parquet('{traces}', union_by_name = true)""")
        elif lake.generation == "v4":
            # v4 lakes store no traces: one per traceId from its observations, as lf.read_traces derives them
            cur.execute(f"""
                INSERT INTO traces BY NAME
                SELECT trace_id AS id, '{project}' AS project_id, first(trace_name) FILTER (trace_name IS NOT NULL) AS name,
                       min(start_time) AS timestamp, first(user_id) FILTER (user_id IS NOT NULL) AS user_id,
                       first(session_id) FILTER (session_id IS NOT NULL) AS session_id,
                       first(release) FILTER (release IS NOT NULL) AS release,
                       first(environment) AS environment, first(tags) FILTER (tags IS NOT NULL) AS tags
                FROM observations GROUP BY trace_id""")
        scores = _glob(lake, "scores")
        if scores:
            cur.execute(f"""
                INSERT INTO scores BY NAME
                SELECT id, '{project}' AS project_id, name, value, "stringValue" AS string_value,
                       "dataType" AS data_type, source, "traceId" AS trace_id, "observationId" AS observation_id,
                       "sessionId" AS session_id, "datasetRunId" AS dataset_run_id, comment, metadata,
                       "configId" AS config_id, "authorUserId" AS author_user_id, "queueId" AS queue_id,
                       coalesce(environment, 'default') AS environment, CAST(timestamp AS TIMESTAMP) AS timestamp,
                       CAST("createdAt" AS TIMESTAMP) AS created_at, CAST("updatedAt" AS TIMESTAMP) AS updated_at
                FROM read_parquet('{scores}', union_by_name = true)""")
        # the store's denormalised score context (filters and score views read it)
        cur.execute("""UPDATE scores SET trace_name = t.name, user_id = t.user_id, tags = t.tags,
                       trace_release = t.release, trace_version = t.version
                       FROM traces t WHERE scores.trace_id = t.id""")
        cur.execute("""UPDATE scores SET observation_name = o.name, observation_model_name = o.model,
                       observation_prompt_name = o.prompt_name, observation_prompt_version = o.prompt_version
                       FROM observations o WHERE scores.observation_id = o.id""")
    return store
