"""Store rows → Langfuse JSON objects (camelCase keys, ISO timestamps with ms and ``Z``).

One function per API object, shared by the list, get-by-id and nested renderings
(a trace's observations and scores, a session's traces). The v1 trace, observation and
session objects have exactly the keys of Langfuse's strict zod schemas
(``web/src/features/public-api/types/*.ts``, ``.strict()``), which its own server tests
verify; score objects follow the non-strict v2/v3 score schemas.
"""

from __future__ import annotations

from typing import Any

from lfnb.local.resources.common import iso, parse_json

__all__ = [
    "trace_json", "observation_json", "score_v1_json", "score_json", "score_v3_json",
    "session_json", "html_path", "SCORE_V1_TYPES", "seconds_between",
]

# ScoreV1 (nested in a trace's details) has no CORRECTION variant in the OpenAPI.
SCORE_V1_TYPES = ("NUMERIC", "CATEGORICAL", "BOOLEAN", "TEXT")


def html_path(project_id: str, trace_id: str) -> str:
    return f"/project/{project_id}/traces/{trace_id}"


def seconds_between(start, end) -> float | None:
    """``end - start`` in seconds (float), ``None`` if either is missing."""
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def trace_json(row: dict, *, io: bool = True) -> dict:
    """A ``traces`` row as Langfuse's strict ``APITrace`` (``web/src/features/public-api/types/traces.ts``):
    18 keys, ``externalId`` always null; without ``io`` ``input``/``output`` are null and
    ``metadata`` is ``{}`` (``convertClickhouseTracesListToDomain``), as is a missing metadata."""
    metadata = parse_json(row["metadata"]) if io else None
    out = {
        "id": row["id"],
        "externalId": None,
        "projectId": row["project_id"],
        "timestamp": iso(row["timestamp"]),
        "name": row["name"],
        "sessionId": row["session_id"],
        "release": row["release"],
        "version": row["version"],
        "userId": row["user_id"],
        "tags": list(row["tags"] or []),
        "public": bool(row["public"]),
        "bookmarked": bool(row["bookmarked"]),
        "environment": row["environment"] or "default",
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
    }
    out["input"] = parse_json(row["input"]) if io else None
    out["output"] = parse_json(row["output"]) if io else None
    out["metadata"] = {} if metadata is None else metadata
    return out


def _int_dict(text: Any) -> dict:
    value = parse_json(text)
    if not isinstance(value, dict):
        return {}
    return {k: int(v) for k, v in value.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _num_dict(text: Any) -> dict:
    value = parse_json(text)
    if not isinstance(value, dict):
        return {}
    return {k: float(v) for k, v in value.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _keyed_sum(details: dict, word: str) -> float | None:
    """Sum of the values whose key contains ``word``; None when no key does."""
    values = [v for k, v in details.items() if word in k]
    return sum(values) if values else None


def observation_json(row: dict, *, nested: bool = False) -> dict:
    """An ``observations`` row (joined with its model's prices as ``input_price`` …) as
    Langfuse's strict ``APIObservation`` (``web/src/features/public-api/types/observations.ts``,
    ``transformDbToApiObservation``): exactly its 42 keys, latency and timeToFirstToken in
    seconds, prices numbers. ``unit`` is always ``"TOKENS"``; ``promptTokens`` /
    ``completionTokens`` sum the usage keys containing "input"/"output" (0 without any),
    ``totalTokens`` is ``usageDetails.total`` or 0; ``calculatedInputCost`` /
    ``calculatedOutputCost`` sum the matching cost keys (null without any) and
    ``calculatedTotalCost`` is ``costDetails.total`` or **0** (``reduceUsageOrCostDetails``).
    ``nested`` (observations inside ``GET /traces/{id}``) gives missing prices 0, as
    Langfuse's trace route does (``?? new Decimal(0)``)."""
    usage_details = _int_dict(row["usage_details"])
    cost_details = _num_dict(row["cost_details"])
    prompt_tokens = _keyed_sum(usage_details, "input") or 0
    completion_tokens = _keyed_sum(usage_details, "output") or 0
    total_tokens = usage_details.get("total", 0)
    prices = {k: row.get(k) for k in ("input_price", "output_price", "total_price")}
    if nested:
        prices = {k: 0.0 if v is None else v for k, v in prices.items()}
    return {
        "id": row["id"],
        "projectId": row["project_id"],
        "traceId": row["trace_id"],
        "parentObservationId": row["parent_observation_id"],
        "name": row["name"],
        "type": row["type"],
        "environment": row["environment"] or "default",
        "startTime": iso(row["start_time"]),
        "endTime": iso(row["end_time"]),
        "version": row["version"],
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "input": parse_json(row["input"]),
        "output": parse_json(row["output"]),
        "metadata": parse_json(row["metadata"]),
        "level": row["level"],
        "statusMessage": row["status_message"],
        "model": row["model"],
        "modelParameters": parse_json(row["model_parameters"]),
        "completionStartTime": iso(row["completion_start_time"]),
        "promptId": row["prompt_id"],
        "promptName": row["prompt_name"],
        "promptVersion": row["prompt_version"],
        "usageDetails": usage_details,
        "costDetails": cost_details,
        "usage": {"unit": "TOKENS", "input": prompt_tokens, "output": completion_tokens,
                  "total": total_tokens},
        "unit": "TOKENS",
        "promptTokens": prompt_tokens,
        "completionTokens": completion_tokens,
        "totalTokens": total_tokens,
        "usagePricingTierName": row.get("usage_pricing_tier_name"),
        "usagePricingTierId": None,
        "modelId": row["internal_model_id"],
        "inputPrice": prices["input_price"],
        "outputPrice": prices["output_price"],
        "totalPrice": prices["total_price"],
        "calculatedInputCost": _keyed_sum(cost_details, "input"),
        "calculatedOutputCost": _keyed_sum(cost_details, "output"),
        "calculatedTotalCost": cost_details.get("total", 0.0),
        "latency": seconds_between(row["start_time"], row["end_time"]),
        "timeToFirstToken": seconds_between(row["start_time"], row["completion_start_time"]),
    }


def _score_base(row: dict) -> dict:
    return {
        "id": row["id"],
        "projectId": row["project_id"],
        "traceId": row["trace_id"],
        "sessionId": row["session_id"],
        "observationId": row["observation_id"],
        "datasetRunId": row["dataset_run_id"],
        "name": row["name"],
        "source": row["source"],
        "timestamp": iso(row["timestamp"]),
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "authorUserId": row["author_user_id"],
        "comment": row["comment"],
        "metadata": parse_json(row["metadata"]) if row["metadata"] is not None else {},
        "configId": row["config_id"],
        "queueId": row["queue_id"],
        "environment": row["environment"] or "default",
        "dataType": row["data_type"],
    }


def _value_fields(row: dict) -> dict:
    """``value``/``stringValue`` per data type (NUMERIC: value; TEXT: stringValue; the
    others both — the schemas make ``value`` a non-null number there, so a missing
    numeric value of a categorical score is sent as 0, as ClickHouse's default does)."""
    dtype = row["data_type"]
    value = row["value"]
    if dtype == "NUMERIC":
        return {"value": float(value) if value is not None else 0.0}
    if dtype == "TEXT":
        return {"stringValue": row["string_value"] or ""}
    string_value = row["string_value"]
    if dtype == "BOOLEAN" and string_value is None and value is not None:
        string_value = "True" if value else "False"
    return {"value": float(value) if value is not None else 0.0, "stringValue": string_value or ""}


def score_v1_json(row: dict) -> dict:
    """A score nested in ``TraceWithFullDetails.scores`` (OpenAPI ``ScoreV1``)."""
    out = _score_base(row)
    out.update(_value_fields(row))
    return out


def score_json(row: dict, *, trace: bool | None = None) -> dict:
    """A ``scores`` row as the v2 ``Score`` / ``GetScoresResponseData`` object.

    In a list (``trace`` True or False) every row has the ``trace`` key, as Langfuse's
    ``_handleGenerateScoresForPublicApi`` writes it: ``includeTrace && record.trace_id !== null
    ? {userId, tags, environment, sessionId} : null``; the row must then carry ``t_user_id``,
    ``t_tags``, ``t_environment``, ``t_session_id`` from a join on its trace. ``trace`` None
    (get by id) leaves the key out."""
    out = _score_base(row)
    out["executionTraceId"] = None     # APIScoreSchemaV2 requires the key (nullable)
    out.update(_value_fields(row))
    if trace is not None:
        if trace and row.get("trace_id") is not None and row.get("t_id") is not None:
            out["trace"] = {
                "userId": row["t_user_id"],
                "tags": list(row["t_tags"] or []),
                "environment": row["t_environment"],
                "sessionId": row["t_session_id"],
            }
        else:
            out["trace"] = None
    return out


def _v3_value(row: dict) -> Any:
    dtype = row["data_type"]
    if dtype == "NUMERIC":
        return float(row["value"]) if row["value"] is not None else 0.0
    if dtype == "BOOLEAN":
        if row["value"] is not None:
            return bool(row["value"])
        return (row["string_value"] or "").lower() == "true"
    return row["string_value"] or ""


def score_v3_json(row: dict, groups: set[str]) -> dict:
    """A ``scores`` row as ``ScoreV3``: polymorphic ``value`` plus the requested field groups."""
    out = {
        "id": row["id"],
        "projectId": row["project_id"],
        "name": row["name"],
        "value": _v3_value(row),
        "dataType": row["data_type"],
        "source": row["source"],
        "timestamp": iso(row["timestamp"]),
        "environment": row["environment"] or "default",
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
    }
    if "details" in groups:
        meta = parse_json(row["metadata"])
        out["comment"] = row["comment"]
        out["configId"] = row["config_id"]
        out["metadata"] = meta if isinstance(meta, dict) else {}
    if "subject" in groups:
        out["subject"] = _v3_subject(row)
    if "annotation" in groups:
        out["authorUserId"] = row["author_user_id"]
        out["queueId"] = row["queue_id"]
    return out


def _v3_subject(row: dict) -> dict | None:
    """Langfuse's ``deriveSubjectForV3``: experiment, then observation (``traceId`` only when
    set), then session, then trace."""
    if row["dataset_run_id"]:
        return {"kind": "experiment", "id": row["dataset_run_id"]}
    if row["observation_id"]:
        subject = {"kind": "observation", "id": row["observation_id"]}
        if row["trace_id"]:
            subject["traceId"] = row["trace_id"]
        return subject
    if row["session_id"]:
        return {"kind": "session", "id": row["session_id"]}
    if row["trace_id"]:
        return {"kind": "trace", "id": row["trace_id"]}
    return None


def session_json(row: dict) -> dict:
    return {
        "id": row["id"],
        "createdAt": iso(row["created_at"]),
        "projectId": row["project_id"],
        "environment": row["environment"] or "default",
    }
