"""``Lake.metrics``: a Metrics API query answered by lfnb.local's engine over the lake's rows.

The lake's frames are loaded into an in-memory :class:`lfnb.local.store.Store` (column
names mapped back to the store's, trace fields denormalised as the store expects) and
the query goes through the same path as ``lf.read_metrics``: :func:`lfnb.metrics.run_query`
validates it and builds the frame, the engine's v1/v2 handler answers it. Nothing is sent
over the network and no quota applies.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import xxhash

from lfnb.errors import ApiError, ConfigError

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


def _naive(series: pd.Series) -> pd.Series:
    return series.dt.tz_convert("UTC").dt.tz_localize(None)


def _details(frame: pd.DataFrame, prefix: str) -> list[str]:
    cols = [c for c in frame.columns if c.startswith(prefix + ".")]
    keys = [c.split(".", 1)[1] for c in cols]
    values = frame[cols].astype(object).where(frame[cols].notna(), None).to_numpy().tolist() if cols else \
        [[] for _ in range(len(frame))]
    return [json.dumps({k: v for k, v in zip(keys, row) if v is not None}) for row in values]


def load_store(lake):
    """An in-memory Store holding the lake's observations, traces and scores."""
    from lfnb.local.store import Store

    store = Store()
    project = lake.state.project_id or "lake"
    obs = lake.read("observations")
    traces = lake.read("traces")
    scores = lake.read("scores")
    with store.write() as cur:
        cur.execute("INSERT INTO projects (id, name) VALUES (?, ?)", [project, project])
        o = pd.DataFrame({
            "id": obs["id"], "trace_id": obs["traceId"],
            "trace_id_hash": pd.array([xxhash.xxh32_intdigest(t.encode()) for t in obs["traceId"]], dtype="UInt32"),
            "project_id": obs["projectId"].fillna(project), "parent_observation_id": obs["parentObservationId"],
            "type": obs["type"], "name": obs["name"], "start_time": _naive(obs["startTime"]),
            "end_time": _naive(obs["endTime"]), "completion_start_time": _naive(obs["completionStartTime"]),
            "level": obs["level"].fillna("DEFAULT"), "status_message": obs["statusMessage"],
            "version": obs["version"], "environment": obs["environment"].fillna("default"),
            "model": obs["model"], "internal_model_id": obs["internalModelId"],
            "model_parameters": [json.dumps(v) if v is not None else None for v in obs["modelParameters"]],
            "input": obs["input"], "output": obs["output"],
            "metadata": [json.dumps(v) if v is not None else None for v in obs["metadata"]],
            "usage_details": _details(obs, "usageDetails"), "cost_details": _details(obs, "costDetails"),
            "input_usage": obs["usageDetails.input"], "output_usage": obs["usageDetails.output"],
            "total_usage": obs["usageDetails.total"], "input_cost": obs["costDetails.input"],
            "output_cost": obs["costDetails.output"], "total_cost": obs["totalCost"],
            "usage_pricing_tier_name": obs["usagePricingTierName"], "prompt_id": obs["promptId"],
            "prompt_name": obs["promptName"], "prompt_version": obs["promptVersion"],
            "user_id": obs["userId"], "session_id": obs["sessionId"], "trace_name": obs["traceName"],
            "tags": [json.dumps(v) if v is not None else None for v in obs["tags"]],
            "release": obs["release"], "bookmarked": obs["bookmarked"], "public": obs["public"],
            "created_at": _naive(obs["createdAt"]), "updated_at": _naive(obs["updatedAt"]),
        })
        cur.register("lake_obs", o)
        cur.execute("INSERT INTO observations BY NAME SELECT * EXCLUDE (tags), "
                    "CAST(CAST(tags AS JSON) AS VARCHAR[]) AS tags FROM lake_obs")
        cur.unregister("lake_obs")
        t = pd.DataFrame({
            "id": traces["id"], "project_id": project, "name": traces["name"],
            "timestamp": _naive(traces["timestamp"]), "user_id": traces["userId"],
            "session_id": traces["sessionId"], "release": traces["release"], "version": traces["version"],
            "environment": traces["environment"].fillna("default"),
            "tags": [json.dumps(v) if v is not None else None for v in traces["tags"]],
            "metadata": [json.dumps(v) if v is not None else None for v in traces["metadata"]],
            "public": traces["public"], "bookmarked": traces["bookmarked"],
        })
        cur.register("lake_traces", t)
        cur.execute("INSERT INTO traces BY NAME SELECT * EXCLUDE (tags), "
                    "CAST(CAST(tags AS JSON) AS VARCHAR[]) AS tags FROM lake_traces")
        cur.unregister("lake_traces")
        s = pd.DataFrame({
            "id": scores["id"], "project_id": project, "name": scores["name"], "value": scores["value"],
            "string_value": scores["stringValue"], "data_type": scores["dataType"], "source": scores["source"],
            "trace_id": scores["traceId"], "observation_id": scores["observationId"],
            "session_id": scores["sessionId"], "dataset_run_id": scores["datasetRunId"],
            "comment": scores["comment"],
            "metadata": [json.dumps(v) if v is not None else None for v in scores["metadata"]],
            "config_id": scores["configId"], "author_user_id": scores["authorUserId"],
            "queue_id": scores["queueId"], "environment": scores["environment"].fillna("default"),
            "timestamp": _naive(scores["timestamp"]), "created_at": _naive(scores["createdAt"]),
            "updated_at": _naive(scores["updatedAt"]),
        })
        cur.register("lake_scores", s)
        cur.execute("INSERT INTO scores BY NAME SELECT * FROM lake_scores")
        cur.unregister("lake_scores")
        # the store's denormalised score context (filters and score views read it)
        cur.execute("""UPDATE scores SET trace_name = t.name, user_id = t.user_id, tags = t.tags,
                       trace_release = t.release, trace_version = t.version
                       FROM traces t WHERE scores.trace_id = t.id""")
        cur.execute("""UPDATE scores SET observation_name = o.name, observation_model_name = o.model,
                       observation_prompt_name = o.prompt_name, observation_prompt_version = o.prompt_version
                       FROM observations o WHERE scores.observation_id = o.id""")
    return store

