"""Store rows → Langfuse JSON objects (camelCase keys, ISO timestamps with ms and ``Z``).

One function per API object, shared by the list, get-by-id and nested renderings
(a trace's observations and scores, a session's traces). Shapes follow the OpenAPI
schemas named in each docstring; extra keys Langfuse also sends are kept where the
schema allows them (it never sets ``additionalProperties: false`` on these objects).
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
    """A ``traces`` row as the OpenAPI ``Trace`` object (input/output/metadata only with ``io``)."""
    out = {
        "id": row["id"],
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
    if io:
        out["input"] = parse_json(row["input"])
        out["output"] = parse_json(row["output"])
        out["metadata"] = parse_json(row["metadata"])
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


def observation_json(row: dict) -> dict:
    """An ``observations`` row (joined with its model's prices as ``input_price`` …) as the
    OpenAPI ``ObservationsView``: latency and timeToFirstToken in seconds, prices numbers."""
    has_usage = any(row.get(k) is not None for k in ("input_usage", "output_usage", "total_usage"))
    usage = {
        "input": int(row["input_usage"] or 0),
        "output": int(row["output_usage"] or 0),
        "total": int(row["total_usage"] or 0),
        "unit": "TOKENS" if has_usage else None,
        "inputCost": row["input_cost"],
        "outputCost": row["output_cost"],
        "totalCost": row["total_cost"],
    }
    return {
        "id": row["id"],
        "traceId": row["trace_id"],
        "projectId": row["project_id"],
        "type": row["type"],
        "name": row["name"],
        "startTime": iso(row["start_time"]),
        "endTime": iso(row["end_time"]),
        "completionStartTime": iso(row["completion_start_time"]),
        "model": row["model"],
        "modelParameters": parse_json(row["model_parameters"]),
        "input": parse_json(row["input"]),
        "output": parse_json(row["output"]),
        "metadata": parse_json(row["metadata"]),
        "version": row["version"],
        "usage": usage,
        "level": row["level"],
        "statusMessage": row["status_message"],
        "parentObservationId": row["parent_observation_id"],
        "promptId": row["prompt_id"],
        "promptName": row["prompt_name"],
        "promptVersion": row["prompt_version"],
        "usageDetails": _int_dict(row["usage_details"]),
        "costDetails": _num_dict(row["cost_details"]),
        "environment": row["environment"] or "default",
        "modelId": row["internal_model_id"],
        "inputPrice": row.get("input_price"),
        "outputPrice": row.get("output_price"),
        "totalPrice": row.get("total_price"),
        "calculatedInputCost": row["input_cost"],
        "calculatedOutputCost": row["output_cost"],
        "calculatedTotalCost": row["total_cost"],
        "inputUsage": int(row["input_usage"] or 0),
        "outputUsage": int(row["output_usage"] or 0),
        "totalUsage": int(row["total_usage"] or 0),
        "inputCost": row["input_cost"],
        "outputCost": row["output_cost"],
        "totalCost": row["total_cost"],
        "latency": seconds_between(row["start_time"], row["end_time"]),
        "timeToFirstToken": seconds_between(row["start_time"], row["completion_start_time"]),
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
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


def score_json(row: dict, *, trace: bool = False) -> dict:
    """A ``scores`` row as the v2 ``Score`` / ``GetScoresResponseData`` object; with
    ``trace`` the row must carry ``t_user_id``, ``t_tags``, ``t_environment``,
    ``t_session_id`` from a join on its trace. A score without a trace gets a ``trace``
    object of nulls: the OpenAPI ``$ref`` makes a plain ``null`` invalid there."""
    out = _score_base(row)
    out.update(_value_fields(row))
    if trace:
        if row.get("t_id") is None:
            out["trace"] = {"userId": None, "tags": None, "environment": None, "sessionId": None}
        else:
            out["trace"] = {
                "userId": row["t_user_id"],
                "tags": list(row["t_tags"] or []),
                "environment": row["t_environment"],
                "sessionId": row["t_session_id"],
            }
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
        out["metadata"] = meta if isinstance(meta, dict) else None
    if "subject" in groups:
        out["subject"] = _v3_subject(row)
    if "annotation" in groups:
        out["authorUserId"] = row["author_user_id"]
        out["queueId"] = row["queue_id"]
    return out


def _v3_subject(row: dict) -> dict | None:
    if row["observation_id"]:
        return {"kind": "observation", "id": row["observation_id"], "traceId": row["trace_id"]}
    if row["trace_id"]:
        return {"kind": "trace", "id": row["trace_id"]}
    if row["session_id"]:
        return {"kind": "session", "id": row["session_id"]}
    if row["dataset_run_id"]:
        return {"kind": "experiment", "id": row["dataset_run_id"]}
    return None


def session_json(row: dict) -> dict:
    return {
        "id": row["id"],
        "createdAt": iso(row["created_at"]),
        "projectId": row["project_id"],
        "environment": row["environment"] or "default",
    }
