"""Filter conditions (``filter=`` JSON) → DuckDB WHERE fragments over the store's tables.

Every value travels as a bound parameter; only expressions from the column tables
below (data of this module) are pasted into SQL. Column ids follow
:mod:`lfnb.langfuse.filter_columns`; the main table alias is ``o`` (observations), ``t``
(traces) or ``s`` (scores) unless the caller passes another one.

Semantics follow Langfuse's ClickHouse filters:

* string operators are case-sensitive (``position``/``startsWith``/``endsWith``);
  ``matches`` on input/output is a case-insensitive containment of the whole value
  whose search tokens must also be whole tokens of the text (``%``/``_`` are literal),
  on metadata the same but case-sensitive, for the key's value.
* negative operators (``does not contain``, ``none of``) treat a missing string as
  ``''`` because ClickHouse's string columns are not nullable.
* ``parentObservationId`` treats ``''`` as null (the server's ``emptyEqualsNull``).
* ``positionInTrace`` is ignored, as by the REST list endpoints.
* ``latency``/``timeToFirstToken`` are millisecond differences in seconds.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from lfnb.filters import check_filters, search_tokens
from lfnb.langfuse.filter_columns import COMPATIBLE_FILTER_TYPES, find_column
from lfnb.local.handlers import invalid_request, zod_error

__all__ = ["parse_filter_param", "where_sql", "condition_sql", "column_expr", "COLUMN_SQL"]

_LATENCY = "(((epoch_us({a}.end_time) // 1000) - (epoch_us({a}.start_time) // 1000)) / 1000.0)"
_TTFT = "(((epoch_us({a}.completion_start_time) // 1000) - (epoch_us({a}.start_time) // 1000)) / 1000.0)"
_NULL_STR = "CAST(NULL AS VARCHAR)"

_OBSERVATIONS = {
    "environment": "{a}.environment", "type": "{a}.type", "id": "{a}.id", "name": "{a}.name",
    "traceId": "{a}.trace_id", "parentObservationId": "{a}.parent_observation_id",
    "startTime": "{a}.start_time", "endTime": "{a}.end_time",
    "timeToFirstToken": _TTFT, "latency": _LATENCY,
    "tokensPerSecond": f"({{a}}.output_usage / nullif({_LATENCY}, 0))",
    "inputCost": "{a}.input_cost", "outputCost": "{a}.output_cost", "totalCost": "{a}.total_cost",
    "level": "{a}.level", "statusMessage": "{a}.status_message",
    "model": "{a}.model", "providedModelName": "{a}.model", "modelId": "{a}.internal_model_id",
    "inputTokens": "{a}.input_usage", "outputTokens": "{a}.output_usage",
    "totalTokens": "{a}.total_usage", "tokens": "{a}.total_usage",
    "metadata": "{a}.metadata", "version": "{a}.version",
    "promptName": "{a}.prompt_name", "promptVersion": "{a}.prompt_version",
    "toolDefinitions": "coalesce(len({a}.tool_names), 0)", "toolCalls": "coalesce(len({a}.called_tool_names), 0)",
    "toolNames": "{a}.tool_names", "calledToolNames": "{a}.called_tool_names",
    "release": "{a}.release", "input": "{a}.input", "output": "{a}.output",
    "sessionId": "{a}.session_id", "userId": "{a}.user_id", "traceName": "{a}.trace_name",
    "traceTags": "{a}.tags", "tags": "{a}.tags", "traceEnvironment": "{a}.environment",
    "isRootObservation": "({a}.parent_observation_id IS NULL)",
    "hasParentObservation": "({a}.parent_observation_id IS NOT NULL)",
    "hasInput": "(coalesce({a}.input, '') <> '')", "hasOutput": "(coalesce({a}.output, '') <> '')",
    "isExperimentItemRootSpan": "FALSE",
    "evaluatorId": "json_extract_string({a}.metadata, '$.evaluator_id')",
    "ruleId": "json_extract_string({a}.metadata, '$.rule_id')",
    "ingestionApiKey": _NULL_STR, "ingestionSdkName": _NULL_STR, "ingestionSdkVersion": _NULL_STR,
    "ingestionSource": _NULL_STR, "experimentDatasetId": _NULL_STR, "experimentId": _NULL_STR,
    "experimentName": _NULL_STR,
}


def _trace_agg(expr: str) -> str:
    return f"(SELECT {expr} FROM observations _fo WHERE _fo.trace_id = {{a}}.id)"


_TRACES = {
    "bookmarked": "{a}.bookmarked", "id": "{a}.id", "traceId": "{a}.id",
    "name": "{a}.name", "traceName": "{a}.name", "timestamp": "{a}.timestamp",
    "userId": "{a}.user_id", "sessionId": "{a}.session_id", "metadata": "{a}.metadata",
    "evaluatorId": "json_extract_string({a}.metadata, '$.evaluator_id')",
    "ruleId": "json_extract_string({a}.metadata, '$.rule_id')",
    "version": "{a}.version", "release": "{a}.release", "environment": "{a}.environment",
    "tags": "{a}.tags", "traceTags": "{a}.tags",
    # the most severe level of the trace's observations
    "level": _trace_agg("CASE max(CASE _fo.level WHEN 'ERROR' THEN 4 WHEN 'WARNING' THEN 3 "
                        "WHEN 'DEFAULT' THEN 2 WHEN 'DEBUG' THEN 1 END) WHEN 4 THEN 'ERROR' "
                        "WHEN 3 THEN 'WARNING' WHEN 2 THEN 'DEFAULT' WHEN 1 THEN 'DEBUG' END"),
    "warningCount": _trace_agg("count(*) FILTER (WHERE _fo.level = 'WARNING')"),
    "errorCount": _trace_agg("count(*) FILTER (WHERE _fo.level = 'ERROR')"),
    "defaultCount": _trace_agg("count(*) FILTER (WHERE _fo.level = 'DEFAULT')"),
    "debugCount": _trace_agg("count(*) FILTER (WHERE _fo.level = 'DEBUG')"),
    "inputTokens": _trace_agg("sum(_fo.input_usage)"), "outputTokens": _trace_agg("sum(_fo.output_usage)"),
    "totalTokens": _trace_agg("sum(_fo.total_usage)"), "tokens": _trace_agg("sum(_fo.total_usage)"),
    "latency": _trace_agg("(epoch_us(max(coalesce(_fo.end_time, _fo.start_time))) // 1000 "
                          "- epoch_us(min(_fo.start_time)) // 1000) / 1000.0"),
    "inputCost": _trace_agg("sum(_fo.input_cost)"), "outputCost": _trace_agg("sum(_fo.output_cost)"),
    "totalCost": _trace_agg("sum(_fo.total_cost)"),
    # score columns are handled per filter type in _score_condition
    "scores_avg": None, "score_categories": None, "score_booleans": None,
}

_SCORES = {
    "id": "{a}.id", "timestamp": "{a}.timestamp", "environment": "{a}.environment",
    "traceId": "{a}.trace_id", "observationId": "{a}.observation_id", "sessionId": "{a}.session_id",
    "name": "{a}.name", "evaluatorId": "{a}.evaluator_id", "source": "{a}.source",
    "dataType": "{a}.data_type", "stringValue": "{a}.string_value",
    "booleanValue": "CASE WHEN {a}.data_type = 'BOOLEAN' THEN CASE WHEN {a}.value = 1 THEN 'true' ELSE 'false' END END",
    "userId": "{a}.user_id", "value": "{a}.value", "comment": "{a}.comment",
    "authorUserId": "{a}.author_user_id", "metadata": "{a}.metadata", "traceName": "{a}.trace_name",
    "trace_tags": "{a}.tags",
}

#: target → column id → SQL expression (``{a}`` = the main table's alias).
COLUMN_SQL: dict[str, dict[str, str | None]] = {
    "observations_v2": _OBSERVATIONS, "observations_v1": _OBSERVATIONS, "traces": _TRACES, "scores": _SCORES,
}
_DEFAULT_ALIAS = {"observations_v2": "o", "observations_v1": "o", "traces": "t", "scores": "s"}
_ARRAY_COLUMNS = frozenset({"toolNames", "calledToolNames", "traceTags", "tags", "trace_tags"})
_EMPTY_IS_NULL = frozenset({"parentObservationId"})


def parse_filter_param(raw: str | None, target: str) -> list[dict]:
    """The ``filter=`` query parameter parsed and validated as the server does.

    Raises
    ------
    ApiProblem
        400 ``{"message": "Invalid request data", "error": [issues]}`` for malformed JSON
        or a condition that breaks the schema; 400 ``{"message": <server message>,
        "error": "InvalidRequestError"}`` for an unknown column, an incompatible
        filter type, the v2 input/output rule or a misplaced ``matches``.
    """
    if raw is None or raw == "":
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        raise zod_error([{"code": "custom", "path": ["filter"],
                          "message": "Invalid JSON in filter parameter"}]) from None
    if not isinstance(data, list):
        raise zod_error([{"code": "invalid_type", "expected": "array", "path": ["filter"],
                          "message": "Expected array, received " + type(data).__name__}])
    normalised, issues = check_filters(data, target)
    schema = [i for i in issues if i["kind"] == "schema"]
    if schema:
        raise zod_error([{"code": "custom", "path": ["filter", *_path_parts(i["path"])],
                          "message": i["message"]} for i in schema])
    if issues:
        raise invalid_request(issues[0]["message"])
    return normalised


def _path_parts(path: str) -> list[Any]:
    """``$[2].operator`` → ``[2, "operator"]``."""
    parts: list[Any] = []
    for chunk in path.lstrip("$").replace("]", "").split("["):
        for piece in chunk.split("."):
            if piece:
                parts.append(int(piece) if piece.isdigit() else piece)
    return parts


def column_expr(target: str, column: str, alias: str | None = None) -> str | None:
    """The SQL expression of a filter column on ``target`` (None for score columns / unknown)."""
    col = find_column(target, column)
    if col is None:
        return None
    expr = COLUMN_SQL[target].get(col.id)
    return None if expr is None else expr.format(a=alias or _DEFAULT_ALIAS[target])


def where_sql(conditions: list[dict], target: str, *, alias: str | None = None) -> tuple[str, list[Any]]:
    """AND of every condition as ``(sql, params)``; ``("TRUE", [])`` for no conditions.

    ``conditions`` must be validated (:func:`parse_filter_param` or
    :func:`lfnb.filters.validate_filters`).
    """
    parts, params = [], []
    for cond in conditions:
        sql, p = condition_sql(cond, target, alias=alias)
        if sql is not None:
            parts.append(f"({sql})")
            params.extend(p)
    return (" AND ".join(parts) or "TRUE"), params


def _iso_to_naive(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)


def _json_path(key: str) -> str:
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def condition_sql(cond: dict, target: str, *, alias: str | None = None) -> tuple[str | None, list[Any]]:
    """One validated condition as ``(sql, params)``; ``(None, [])`` when it is ignored."""
    ftype, op, value = cond["type"], cond["operator"], cond.get("value")
    if ftype == "positionInTrace":
        return None, []
    a = alias or _DEFAULT_ALIAS[target]
    col = find_column(target, cond["column"])
    if col is None:
        raise invalid_request(f"Column {cond['column']} does not match a UI / CH table mapping.")
    if target == "traces" and col.id in ("scores_avg", "score_categories", "score_booleans"):
        return _score_condition(ftype, op, cond.get("key"), value, a)
    if col.type is None:
        # The server skips the type check on these columns and ClickHouse then fails on a
        # mismatch; answer that with a 400 rather than a DuckDB error.
        as_type = "arrayOptions" if col.id in _ARRAY_COLUMNS else "string"
        if ftype != "null" and ftype not in COMPATIBLE_FILTER_TYPES[as_type]:
            raise invalid_request(f"Invalid filter type '{ftype}' for column '{cond['column']}'. "
                                  f"Expected filter type '{as_type}'.")
    expr = COLUMN_SQL[target][col.id].format(a=a)

    if ftype == "null":
        if col.id in _EMPTY_IS_NULL:
            return (f"coalesce({expr}, '') = ''" if op == "is null" else f"coalesce({expr}, '') <> ''"), []
        return f"{expr} {'IS NULL' if op == 'is null' else 'IS NOT NULL'}", []
    if ftype == "string":
        if col.id in _EMPTY_IS_NULL and value == "" and op != "does not contain":
            return f"coalesce({expr}, '') = ''", []
        if op == "matches":
            return _matches_sql(expr, value, case_sensitive=False)
        return _string_op(expr, op, value)
    if ftype == "stringOptions":
        if col.id in _ARRAY_COLUMNS:
            sql = f"list_has_any(coalesce({expr}, []), ?::VARCHAR[])"
            return (sql if op == "any of" else f"NOT {sql}"), [list(value)]
        if op == "any of":
            return f"list_contains(?::VARCHAR[], {expr})", [list(value)]
        return f"NOT list_contains(?::VARCHAR[], coalesce({expr}, ''))", [list(value)]
    if ftype == "arrayOptions":
        arr = f"coalesce({expr}, [])"
        if op == "any of":
            return f"list_has_any({arr}, ?::VARCHAR[])", [list(value)]
        if op == "none of":
            return f"NOT list_has_any({arr}, ?::VARCHAR[])", [list(value)]
        return f"list_has_all({arr}, ?::VARCHAR[])", [list(value)]
    if ftype == "number":
        return f"{expr} {op} ?::DOUBLE", [float(value)]
    if ftype == "datetime":
        return f"{expr} {op} ?::TIMESTAMP", [_iso_to_naive(value)]
    if ftype == "boolean":
        return f"{expr} {'=' if op == '=' else '<>'} ?::BOOLEAN", [bool(value)]
    if ftype in ("stringObject", "numberObject", "booleanObject", "categoryOptions"):
        return _object_condition(ftype, op, cond["key"], value, expr)
    raise invalid_request("Invalid filter type")


def _string_op(expr: str, op: str, value: str) -> tuple[str, list[Any]]:
    if op == "=":
        return f"{expr} = ?", [value]
    if op == "contains":
        return f"contains({expr}, ?)", [value]
    if op == "does not contain":
        return f"NOT contains(coalesce({expr}, ''), ?)", [value]
    if op == "starts with":
        return f"starts_with({expr}, ?)", [value]
    if op == "ends with":
        return f"ends_with({expr}, ?)", [value]
    raise invalid_request(f"Invalid operator {op} for a string filter")


def _matches_sql(expr: str, value: str, *, case_sensitive: bool) -> tuple[str, list[Any]]:
    """Whole value contained, and each search token a whole token of the text."""
    text = expr if case_sensitive else f"lower({expr})"
    needle = value if case_sensitive else value.lower()
    sql = [f"contains({text}, ?)"]
    params: list[Any] = [needle]
    for tok in search_tokens(needle):
        # tokens hold only alphanumerics/non-ASCII, so they are regex-safe literals
        sql.append(f"regexp_matches({text}, ?)")
        params.append(r"(^|[^0-9A-Za-z\x{80}-\x{10FFFF}])" + tok + r"($|[^0-9A-Za-z\x{80}-\x{10FFFF}])")
    return " AND ".join(sql), params


def _object_condition(ftype: str, op: str, key: str, value: Any, expr: str) -> tuple[str, list[Any]]:
    """Key/value filters over a JSON object column (metadata)."""
    path = _json_path(key)
    has_key = f"json_exists({expr}, ?)"
    val = f"json_extract_string({expr}, ?)"
    if ftype == "stringObject":
        if op == "matches":
            sql, p = _matches_sql(val, value, case_sensitive=True)
            return f"{has_key} AND {sql}", [path, *[x for pair in zip([path] * len(p), p) for x in pair]]
        sql, p = _string_op(val, op, value)
        return f"{has_key} AND {sql}", [path, path, *p]
    if ftype == "numberObject":
        return f"TRY_CAST({val} AS DOUBLE) {op} ?::DOUBLE", [path, float(value)]
    if ftype == "booleanObject":
        cmp = "=" if op == "=" else "<>"
        return f"lower({val}) {cmp} ?", [path, "true" if value else "false"]
    sql = f"list_contains(?::VARCHAR[], {val})"
    return (sql if op == "any of" else f"NOT coalesce({sql}, FALSE)"), [list(value), path]


def _score_condition(ftype: str, op: str, key: str | None, value: Any, a: str) -> tuple[str, list[Any]]:
    """Trace score filters: average numeric score, categorical values, boolean values by score name."""
    base = f"FROM scores _fs WHERE _fs.trace_id = {a}.id AND _fs.name = ?"
    if ftype == "numberObject":
        return (f"EXISTS (SELECT 1 {base} AND _fs.data_type = 'NUMERIC' "
                f"HAVING avg(_fs.value) {op} ?::DOUBLE)"), [key, float(value)]
    if ftype == "categoryOptions":
        sql = (f"EXISTS (SELECT 1 {base} AND _fs.data_type = 'CATEGORICAL' "
               "AND list_contains(?::VARCHAR[], _fs.string_value))")
        return (sql if op == "any of" else f"NOT {sql}"), [key, list(value)]
    if ftype == "booleanObject":
        sql = f"EXISTS (SELECT 1 {base} AND _fs.data_type = 'BOOLEAN' AND _fs.value = ?::DOUBLE)"
        return (sql if op == "=" else f"NOT {sql}"), [key, 1.0 if value else 0.0]
    if ftype == "null":
        return None, []
    raise invalid_request(f"Invalid filter type '{ftype}' for score column")
