"""Score reads: ``GET /api/public/v2/scores`` (page-based), ``/v2/scores/{id}`` and the
cursor-based ``GET /api/public/v3/scores``.

Both lists are ordered ``timestamp DESC, id DESC``.

v3 (``web/src/pages/api/public/v3/scores/index.ts``, ``GetScoresQueryV3`` in
``packages/shared/src/features/scores/interfaces/api/v3/endpoints.ts``, and
``listScoresV3ForPublicApi``/``encodeCursorV3`` in ``packages/shared/src/server/repositories/scores.ts``):

* field groups ``core`` (always), ``details``, ``subject``, ``annotation``; an unknown name
  is a zod ``invalid_value`` issue on ``["fields", i]``;
* ``fromTimestamp``/``toTimestamp`` are coerced like JS ``new Date``: a date is UTC
  midnight, an offset-less datetime is read as UTC (the server's zone);
* ``userId``/``traceTags`` are known parameters refused with Langfuse's "use v2" message
  (an empty value is ignored);
* cursor: base64url (no padding) of the compact JSON ``{"v":1,"lastTimestamp":"<ISO ms
  Z>","lastId":"<id>"}`` of the page's last row; rows sort on the timestamp at millisecond
  precision (ClickHouse's ``DateTime64(3)``, the cursor's precision) so a page never skips
  rows that differ below the millisecond. The handler reads ``limit + 1`` rows and sets
  ``meta.cursor`` only when that extra row exists, so the final page has no cursor.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime

from lfnb.langfuse.enums import SCORE_DATA_TYPES, SCORE_SOURCES
from lfnb.local.resources.common import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    ApiRequest,
    Where,
    csv_param,
    datetime_param,
    decode_v1_cursor,
    enum_param,
    fields_param,
    int_param,
    invalid_request,
    iso,
    issue,
    js_type,
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
           "decode_cursor", "coerce_date", "V2_SCORE_REQUIRED", "V2_TRACE_FILTER_MESSAGE", "SCORE_SOURCES",
           "SCORE_DATA_TYPES", "V3_PARAMS", "V3_FIELD_GROUPS"]

V2_OPERATORS = {"<": "<", ">": ">", "<=": "<=", ">=": ">=", "!=": "<>", "=": "="}
V2_FIELD_GROUPS = ("score", "trace")
V3_FIELD_GROUPS = ("core", "details", "subject", "annotation")
V3_PARAMS = ("limit", "fields", "id", "name", "source", "dataType", "environment",
             "configId", "queueId", "authorUserId", "value", "valueMin", "valueMax", "traceId",
             "sessionId", "observationId", "experimentId", "fromTimestamp", "toTimestamp",
             "userId", "traceTags", "cursor")
# Langfuse's own orders (ScoreSourceArray, ScoreDataTypeArray), used in its messages
_V3_SOURCES = ("API", "EVAL", "ANNOTATION")
_V3_DATA_TYPES = ("NUMERIC", "CATEGORICAL", "BOOLEAN", "CORRECTION", "TEXT")
_V3_JOIN_MESSAGE = "{} filter requires a trace JOIN and is not supported in v3 \u2014 use v2 or omit this filter"
V2_SCORE_REQUIRED = "Scores needs to be selected always."
V2_TRACE_FILTER_MESSAGE = (
    "Cannot filter by trace properties (userId, traceTags) when 'trace' field is not included. "
    "Please add 'trace' to the fields parameter or remove trace filters.")
_MS_TIME = "date_trunc('millisecond', timestamp)"

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
    # web/src/pages/api/public/v2/scores/index.ts: fields is commaSeparatedEnumArray(["score",
    # "trace"], null, {unknownValues: "filter"}); absent/empty → both, else "score" must remain
    raw_fields = req.get("fields")
    if raw_fields is None or raw_fields == "":
        groups = set(V2_FIELD_GROUPS)
    else:
        groups = {p.strip() for p in raw_fields.split(",") if p.strip()} & set(V2_FIELD_GROUPS)
        if "score" not in groups:
            raise invalid_request(V2_SCORE_REQUIRED)
    trace_tags = [t for t in req.get_all("traceTags") if t]
    # Boolean(query.userId || query.traceTags): an empty string is false, a repeated parameter an array
    if "trace" not in groups and (req.get("userId") or trace_tags or len(req.get_all("traceTags")) > 1):
        raise invalid_request(V2_TRACE_FILTER_MESSAGE)
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
    """Langfuse's ``encodeCursorV3``: base64url (no padding) of ``{"v":1,"lastTimestamp","lastId"}``."""
    raw = json.dumps({"v": 1, "lastTimestamp": iso(ts), "lastId": score_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[datetime, str]:
    """A v3 cursor → ``(timestamp, id)`` as ``EncodedScoresCursorV3`` parses it.

    Text that is not base64 JSON raises the 400 ``Invalid cursor format`` (thrown inside
    the zod transform, so not an issue list); JSON of the wrong shape raises a zod 400
    with the issue under ``["cursor", …]``.
    """
    data = decode_v1_cursor(text)
    issues = []
    last = coerce_date(data.get("lastTimestamp"))
    if last is None:
        issues.append(issue("invalid_type", ["cursor", "lastTimestamp"],
                            "Invalid input: expected date, received Date", expected="date", received="Invalid Date"))
    if not isinstance(data.get("lastId"), str):
        issues.append(issue("invalid_type", ["cursor", "lastId"],
                            "Invalid input: expected string, received "
                            + ("undefined" if data.get("lastId") is None else js_type(data["lastId"])),
                            expected="string"))
    if issues:
        raise zod_error(issues)
    return last, data["lastId"]


def coerce_date(value) -> datetime | None:
    """``z.coerce.date()`` (JS ``new Date(value)``) for the ISO forms clients send, as naive UTC:
    a date is UTC midnight, a datetime without offset is read in the server's zone (UTC).
    None when JS would give an Invalid Date (or for a non-string)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:     # date-only ISO forms are UTC in JS
            return datetime.fromisoformat(text)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _date_param(req: ApiRequest, name: str, issues: list[dict]) -> datetime | None:
    raw = req.get(name)
    if raw is None or raw == "":
        return None
    value = coerce_date(raw)
    if value is None:
        issues.append(issue("invalid_type", [name], "Invalid input: expected date, received Date",
                            expected="date", received="Invalid Date"))
    return value


def _upper_csv(req: ApiRequest, name: str, options: tuple[str, ...], issues: list[dict]) -> list[str]:
    values = [v.upper() for v in csv_param(req, name)]
    for v in values:
        if v not in options:
            issues.append(issue("custom", [name], f'Invalid {name} value: "{v}". Allowed: {", ".join(options)}'))
    return values


def _v3_refine(req: ApiRequest, data_types: list[str], refine: list[dict]) -> None:
    """The handler's superRefine (``GetScoresV3Query``), in its order, every issue with ``path: []``."""
    for name in ("userId", "traceTags"):
        if req.get(name):
            refine.append(issue("custom", [], _V3_JOIN_MESSAGE.format(name)))
    values = csv_param(req, "value")
    if values:
        if len(data_types) != 1:
            refine.append(issue("custom", [], "value filter requires a single dataType from: "
                                "NUMERIC, BOOLEAN, CATEGORICAL"))
        elif data_types[0] not in ("NUMERIC", "BOOLEAN", "CATEGORICAL"):
            refine.append(issue("custom", [], "value filter requires dataType to be NUMERIC, BOOLEAN, "
                                f'or CATEGORICAL (got "{data_types[0]}")'))
        elif data_types[0] == "NUMERIC":
            for v in values:
                if not _finite(v):
                    refine.append(issue("custom", [], "value filter with dataType=NUMERIC requires each "
                                        f'value to be a finite number (got "{v}")'))
        elif data_types[0] == "BOOLEAN":
            for v in values:
                if v not in ("true", "false"):
                    refine.append(issue("custom", [], "value filter with dataType=BOOLEAN requires each "
                                        f'value to be "true" or "false" (got "{v}")'))
    if (req.get("valueMin") or req.get("valueMax")) and data_types != ["NUMERIC"]:
        refine.append(issue("custom", [], "valueMin and valueMax require dataType=NUMERIC as a single value"))
    if csv_param(req, "observationId") and not csv_param(req, "traceId"):
        refine.append(issue("custom", [], "observationId filter requires traceId \u2014 observation IDs "
                            "are scoped to a trace"))
    if sum(bool(csv_param(req, n)) for n in ("traceId", "sessionId", "experimentId")) > 1:
        refine.append(issue("custom", [], "At most one of traceId, sessionId, experimentId may be specified"))


def _finite(text: str) -> bool:
    """JS ``isFinite(Number(text))`` (``Number("")`` is 0)."""
    try:
        return math.isfinite(float(text)) if text.strip() else True
    except ValueError:
        return False


def _v3_value_filter(req: ApiRequest, data_types: list[str], where: Where) -> None:
    values = csv_param(req, "value")
    if values:
        if data_types[0] == "BOOLEAN":
            where.any_of("value", [1.0 if v == "true" else 0.0 for v in values])
        elif data_types[0] == "NUMERIC":
            where.any_of("value", [float(v) if v.strip() else 0.0 for v in values])
        else:
            where.any_of("string_value", values)
    for name, op in (("valueMin", ">="), ("valueMax", "<=")):
        bound = req.get(name)
        if bound:
            where.add(f"value {op} ?", float(bound))


def scores_v3_get_many(store, req: ApiRequest) -> dict:
    """``GET /api/public/v3/scores`` (``GetScoresV3Response``), cursor-paged (module docstring)."""
    cursor = req.get("cursor")
    last = decode_cursor(cursor) if cursor else None   # thrown in the zod transform: comes first
    issues: list[dict] = []
    limit = int_param(req, "limit", issues, default=DEFAULT_LIMIT, positive=True, maximum=MAX_LIMIT)
    groups = fields_param(req, V3_FIELD_GROUPS, ["core"], issues)
    sources = _upper_csv(req, "source", _V3_SOURCES, issues)
    data_types = _upper_csv(req, "dataType", _V3_DATA_TYPES, issues)
    number_param(req, "valueMin", issues)
    number_param(req, "valueMax", issues)
    from_ts = _date_param(req, "fromTimestamp", issues)
    to_ts = _date_param(req, "toTimestamp", issues)
    unknown = [k for k in dict.fromkeys(k for k, _ in req.query) if k not in V3_PARAMS]
    if unknown:
        keys = ", ".join(f'"{k}"' for k in unknown)
        issues.append(issue("unrecognized_keys", [], f"Unrecognized key{'s' if len(unknown) > 1 else ''}: {keys}",
                            keys=unknown))
    if not issues:      # zod runs the superRefine only on a value that parsed
        _v3_refine(req, data_types, issues)
    if issues:
        raise zod_error(issues)
    where = Where()
    _v3_value_filter(req, data_types, where)
    if last is not None:
        ts, last_id = last
        where.add(f"({_MS_TIME} < ? OR ({_MS_TIME} = ? AND id < ?))", ts, ts, last_id)
    where.any_of("id", csv_param(req, "id"))
    where.any_of("name", csv_param(req, "name"))
    where.any_of("source", sources)
    where.any_of("data_type", data_types)
    where.any_of("environment", csv_param(req, "environment"))
    where.any_of("config_id", csv_param(req, "configId"))
    where.any_of("queue_id", csv_param(req, "queueId"))
    where.any_of("author_user_id", csv_param(req, "authorUserId"))
    where.any_of("trace_id", csv_param(req, "traceId"))
    where.any_of("session_id", csv_param(req, "sessionId"))
    where.any_of("observation_id", csv_param(req, "observationId"))
    where.any_of("dataset_run_id", csv_param(req, "experimentId"))
    if from_ts is not None:
        where.add("timestamp >= ?", from_ts)
    if to_ts is not None:
        where.add("timestamp < ?", to_ts)
    rows = store.fetch(f"SELECT * FROM scores {where.sql()} ORDER BY {_MS_TIME} DESC, id DESC "
                       "LIMIT ?", [*where.params, limit + 1])
    meta: dict = {"limit": limit}
    if len(rows) > limit:
        rows = rows[:limit]
        meta["cursor"] = encode_cursor(rows[-1]["timestamp"], rows[-1]["id"])
    wanted = set(groups)
    return {"data": [score_v3_json(r, wanted) for r in rows], "meta": meta}
