"""Score reads: ``GET /api/public/v2/scores`` (page-based), ``/v2/scores/{id}`` and the
cursor-based ``GET /api/public/v3/scores``.

Both lists are ordered ``timestamp DESC, id DESC``.

v3 cursor: URL-safe base64 (no padding) of the JSON ``{"ts": "<timestamp, ISO µs>",
"id": "<score id>"}`` of the last row of the page; the next page is
``(timestamp, id) < (ts, id)``. The handler reads ``limit + 1`` rows and sets
``meta.cursor`` only when that extra row exists, so the final page has no cursor.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from datetime import datetime

from lfnb.local.resources.common import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    ApiRequest,
    Where,
    csv_param,
    datetime_param,
    enum_param,
    int_param,
    invalid_request,
    issue,
    not_found,
    number_param,
    page_meta,
    page_params,
    paged,
    zod_error,
)
from lfnb.local.resources.filter import apply_filter
from lfnb.local.resources.render import score_json, score_v3_json

__all__ = ["score_v2_get", "score_v2_get_by_id", "scores_v3_get_many", "encode_cursor",
           "decode_cursor", "SCORE_SOURCES", "SCORE_DATA_TYPES", "V3_PARAMS", "V3_FIELD_GROUPS"]

SCORE_SOURCES = ("ANNOTATION", "API", "EVAL")
SCORE_DATA_TYPES = ("NUMERIC", "BOOLEAN", "CATEGORICAL", "CORRECTION", "TEXT")
V2_OPERATORS = {"<": "<", ">": ">", "<=": "<=", ">=": ">=", "!=": "<>", "=": "="}
V2_FIELD_GROUPS = ("score", "trace")
V3_FIELD_GROUPS = ("details", "subject", "annotation")
V3_PARAMS = ("limit", "cursor", "fields", "id", "name", "source", "dataType", "environment",
             "configId", "queueId", "authorUserId", "value", "valueMin", "valueMax", "traceId",
             "sessionId", "observationId", "experimentId", "fromTimestamp", "toTimestamp")

_V2_SELECT = ("s.*, t.id AS t_id, t.user_id AS t_user_id, t.tags AS t_tags, "
              "t.environment AS t_environment, t.session_id AS t_session_id")
_V2_FROM = "scores s LEFT JOIN traces t ON t.id = s.trace_id"


def score_v2_get(store, req: ApiRequest) -> dict:
    """``GET /api/public/v2/scores`` (``GetScoresResponse``)."""
    issues: list[dict] = []
    page, limit = page_params(req, issues)
    from_ts = datetime_param(req, "fromTimestamp", issues)
    to_ts = datetime_param(req, "toTimestamp", issues)
    source = enum_param(req, "source", SCORE_SOURCES, issues)
    data_type = enum_param(req, "dataType", SCORE_DATA_TYPES, issues)
    operator = enum_param(req, "operator", tuple(V2_OPERATORS), issues)
    value = number_param(req, "value", issues)
    if issues:
        raise zod_error(issues)
    groups = {p.strip() for p in (req.get("fields") or "").split(",") if p.strip()}
    groups = (groups & set(V2_FIELD_GROUPS)) or set(V2_FIELD_GROUPS)
    trace_tags = [t for t in req.get_all("traceTags") if t]
    if "trace" not in groups and (req.get("userId") or trace_tags):
        raise invalid_request(
            "Filtering by trace properties (userId, traceTags) requires the 'trace' field group; "
            "add 'trace' to the fields parameter (e.g. fields=score,trace).")
    where = Where()
    overridden = apply_filter(req, "scores", where, alias="s")
    simple = {
        "userId": ("s.user_id", req.get("userId")), "name": ("s.name", req.get("name")),
        "source": ("s.source", source), "configId": ("s.config_id", req.get("configId")),
        "sessionId": ("s.session_id", req.get("sessionId")),
        "datasetRunId": ("s.dataset_run_id", req.get("datasetRunId")),
        "traceId": ("s.trace_id", req.get("traceId")), "queueId": ("s.queue_id", req.get("queueId")),
        "dataType": ("s.data_type", data_type),
    }
    for key, (col, val) in simple.items():
        if key not in overridden:
            where.eq(col, val)
    if "fromTimestamp" not in overridden and from_ts is not None:
        where.add("s.timestamp >= ?", from_ts)
    if "toTimestamp" not in overridden and to_ts is not None:
        where.add("s.timestamp < ?", to_ts)
    if "environment" not in overridden:
        where.any_of("s.environment", req.get_all("environment"))
    if "scoreIds" not in overridden:
        where.any_of("s.id", csv_param(req, "scoreIds"))
    if "observationId" not in overridden:
        where.any_of("s.observation_id", csv_param(req, "observationId"))
    if trace_tags and "traceTags" not in overridden:
        where.add("list_has_all(t.tags, ?)", trace_tags)
    if operator is not None and value is not None and "value" not in overridden:
        # the operator is one of six fixed SQL tokens from V2_OPERATORS, never user text
        where.add(f"s.value {V2_OPERATORS[operator]} ?", value)
    rows, total = paged(store, _V2_SELECT, _V2_FROM, where, "s.timestamp DESC, s.id DESC",
                        page, limit)
    with_trace = "trace" in groups
    return {"data": [score_json(r, trace=with_trace) for r in rows],
            "meta": page_meta(page, limit, total)}


def score_v2_get_by_id(store, req: ApiRequest) -> dict:
    """``GET /api/public/v2/scores/{scoreId}`` (``Score``)."""
    rows = store.fetch("SELECT * FROM scores WHERE id = ?", [req.path_params["scoreId"]])
    if not rows:
        raise not_found("Score not found within authorized project")
    return score_json(rows[0])


def encode_cursor(ts: datetime, score_id: str) -> str:
    raw = json.dumps({"ts": ts.isoformat(timespec="microseconds"), "id": score_id},
                     separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[datetime, str]:
    """A v3 cursor → ``(timestamp, id)``; raises ``ValueError`` when malformed."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw)
        return datetime.fromisoformat(data["ts"]).replace(tzinfo=None), str(data["id"])
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ValueError(f"invalid cursor: {exc}") from exc


def _upper_csv(req: ApiRequest, name: str, options: tuple[str, ...], issues: list[dict]) -> list[str]:
    values = [v.upper() for v in csv_param(req, name)]
    bad = [v for v in values if v not in options]
    if bad:
        issues.append(issue("invalid_value", [name],
                            f"Invalid {name} value(s) {', '.join(bad)}; valid: {', '.join(options)}",
                            values=list(options)))
    return values


def _v3_value_filter(req: ApiRequest, data_types: list[str], issues: list[dict], where: Where) -> None:
    values = csv_param(req, "value")
    value_min = number_param(req, "valueMin", issues)
    value_max = number_param(req, "valueMax", issues)
    if values:
        if len(data_types) != 1 or data_types[0] not in ("NUMERIC", "BOOLEAN", "CATEGORICAL"):
            issues.append(issue("custom", ["value"], "value requires exactly one dataType from "
                                "NUMERIC, BOOLEAN, CATEGORICAL"))
        elif data_types[0] == "BOOLEAN":
            if any(v.lower() not in ("true", "false") for v in values):
                issues.append(issue("custom", ["value"], 'BOOLEAN values must be "true" or "false"'))
            else:
                where.any_of("value", [1.0 if v.lower() == "true" else 0.0 for v in values])
        elif data_types[0] == "NUMERIC":
            try:
                numbers = [float(v) for v in values]
            except ValueError:
                numbers = [math.nan]
            if not all(math.isfinite(n) for n in numbers):
                issues.append(issue("custom", ["value"], "NUMERIC values must be finite numbers"))
            else:
                where.any_of("value", numbers)
        else:
            where.any_of("string_value", values)
    for name, bound, op in (("valueMin", value_min, ">="), ("valueMax", value_max, "<=")):
        if bound is None:
            continue
        if data_types != ["NUMERIC"]:
            issues.append(issue("custom", [name], f"{name} requires dataType=NUMERIC as a single value"))
        else:
            where.add(f"value {op} ?", bound)


def scores_v3_get_many(store, req: ApiRequest) -> dict:
    """``GET /api/public/v3/scores`` (``GetScoresV3Response``), cursor-paged."""
    issues: list[dict] = []
    unknown = sorted({k for k, _ in req.query} - set(V3_PARAMS))
    if unknown:
        keys = ", ".join(f'"{k}"' for k in unknown)
        issues.append(issue("unrecognized_keys", [],
                            f"Unrecognized key{'s' if len(unknown) > 1 else ''}: {keys}; "
                            f"valid: {', '.join(V3_PARAMS)}", keys=unknown))
    limit = int_param(req, "limit", issues, default=DEFAULT_LIMIT, positive=True, maximum=MAX_LIMIT)
    groups = csv_param(req, "fields")
    bad_groups = [g for g in groups if g not in V3_FIELD_GROUPS]
    if bad_groups:
        issues.append(issue("invalid_value", ["fields"],
                            f"Unknown field group(s) {', '.join(bad_groups)}; valid: "
                            + ", ".join(V3_FIELD_GROUPS), values=list(V3_FIELD_GROUPS)))
    sources = _upper_csv(req, "source", SCORE_SOURCES, issues)
    data_types = _upper_csv(req, "dataType", SCORE_DATA_TYPES, issues)
    from_ts = datetime_param(req, "fromTimestamp", issues)
    to_ts = datetime_param(req, "toTimestamp", issues)
    trace_ids, session_ids = csv_param(req, "traceId"), csv_param(req, "sessionId")
    observation_ids, experiment_ids = csv_param(req, "observationId"), csv_param(req, "experimentId")
    subjects = [n for n, v in (("traceId", trace_ids), ("sessionId", session_ids),
                               ("experimentId", experiment_ids)) if v]
    if len(subjects) > 1:
        issues.append(issue("custom", [subjects[1]], f"{' and '.join(subjects)} are mutually "
                            "exclusive; use only one of traceId, sessionId, experimentId"))
    if observation_ids and not trace_ids:
        issues.append(issue("custom", ["observationId"], "observationId requires traceId "
                            "(observation ids are scoped to a trace)"))
    where = Where()
    _v3_value_filter(req, data_types, issues, where)
    cursor = req.get("cursor")
    if cursor:
        try:
            ts, last_id = decode_cursor(cursor)
            where.add("(timestamp < ? OR (timestamp = ? AND id < ?))", ts, ts, last_id)
        except ValueError:
            issues.append(issue("custom", ["cursor"], "Invalid cursor format"))
    if issues:
        raise zod_error(issues)
    where.any_of("id", csv_param(req, "id"))
    where.any_of("name", csv_param(req, "name"))
    where.any_of("source", sources)
    where.any_of("data_type", data_types)
    where.any_of("environment", csv_param(req, "environment"))
    where.any_of("config_id", csv_param(req, "configId"))
    where.any_of("queue_id", csv_param(req, "queueId"))
    where.any_of("author_user_id", csv_param(req, "authorUserId"))
    where.any_of("trace_id", trace_ids)
    where.any_of("session_id", session_ids)
    where.any_of("observation_id", observation_ids)
    where.any_of("dataset_run_id", experiment_ids)
    if from_ts is not None:
        where.add("timestamp >= ?", from_ts)
    if to_ts is not None:
        where.add("timestamp < ?", to_ts)
    rows = store.fetch(f"SELECT * FROM scores {where.sql()} ORDER BY timestamp DESC, id DESC "
                       "LIMIT ?", [*where.params, limit + 1])
    meta: dict = {"limit": limit}
    if len(rows) > limit:
        rows = rows[:limit]
        meta["cursor"] = encode_cursor(rows[-1]["timestamp"], rows[-1]["id"])
    wanted = set(groups)
    return {"data": [score_v3_json(r, wanted) for r in rows], "meta": meta}
