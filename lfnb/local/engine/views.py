"""Langfuse's metrics views mapped onto the lfnb.local DuckDB store.

One :class:`ViewSql` per (API version, view) says, in DuckDB SQL over the
store's tables (``b`` = the view's base table, ``t`` traces, ``o`` observations,
``s`` scores joined as relations):

* each dimension's row-level expression and whether it needs a relation, is
  exploded (one row per array element, ClickHouse ``arrayJoin``) or
  pair-expanded (``costType``/``usageType``: one row per key of the details JSON);
* each measure's per-entity expression (the inner level of Langfuse's
  two-level query: grouped by the entity id, aggregated again outside).

Value conventions follow the server (facts §2.8): v1 string dimensions read
ClickHouse's non-nullable ``String`` columns, so a missing value is ``""``; v2
declares many dimensions as ``nullIf(col, '')``, so a missing value is null.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Dim:
    sql: str
    relation: str | None = None
    explode: bool = False
    pair_values: str | None = None      # pairExpand: SQL of the values list, keys list is ``sql``
    is_string: bool = True
    empty_is_null: bool = False         # v2 nullIf(col, '') dimensions
    non_string_fill: Any = None         # gap-filled rows: the ClickHouse default of a non-string column

    def fill_value(self) -> Any:
        """The value a WITH FILL row carries: '' for String columns, null for nullIf ones."""
        if self.explode or self.pair_values:
            return ""
        if self.is_string:
            return None if self.empty_is_null else ""
        return list(self.non_string_fill) if isinstance(self.non_string_fill, tuple) else self.non_string_fill


@dataclass(frozen=True)
class Measure:
    sql: str
    relation: str | None = None
    pair: bool = False                  # the value of the pairExpand dimension


@dataclass(frozen=True)
class ViewSql:
    table: str
    time_column: str
    dims: dict[str, Dim]
    measures: dict[str, Measure]
    relations: dict[str, str] = field(default_factory=dict)  # alias -> join template ({frm}, {to})
    segment: str = ""


def s1(col: str) -> Dim:
    """A string column as ClickHouse's non-nullable String returns it (missing = '')."""
    return Dim(f"coalesce({col}, '')")


def ni(col: str, relation: str | None = None) -> Dim:
    """A v2 ``nullIf(col, '')`` dimension."""
    return Dim(f"NULLIF({col}, '')", relation=relation, empty_is_null=True)


def rel(d: Dim, relation: str) -> Dim:
    return Dim(d.sql, relation, d.explode, d.pair_values, d.is_string, d.empty_is_null, d.non_string_fill)


def tags(col: str, relation: str | None = None) -> Dim:
    return Dim(f"coalesce({col}, [])", relation=relation, is_string=False, non_string_fill=())


def _map(col: str) -> str:
    return f"CAST({col} AS MAP(VARCHAR, DOUBLE))"


def _keyed_sum(col: str, word: str) -> str:
    """Sum of the details entries whose key contains ``word`` (case-insensitive), 0 when none."""
    return (f"coalesce(list_sum(list_transform(list_filter(map_entries({_map(f'any_value({col})')}), "
            f"lambda e: contains(lower(e.key), '{word}')), lambda e: e.value)), 0)")


def det_sum(expr: str) -> str:
    """A float sum independent of row order: values sorted, then added left to right.

    DuckDB's ``sum``/``avg`` add in the (parallel, unspecified) order rows arrive, so the
    last digits could change between two identical requests.
    """
    return f"list_sum(list_sort(list({expr}) FILTER (WHERE {expr} IS NOT NULL)))"


def _ms(a: str, b: str) -> str:
    return f"date_diff('millisecond', {a}, {b})"


TOTAL_TOKENS = "coalesce(sum(TRY_CAST(json_extract_string(b.usage_details, '$.total') AS DOUBLE)), 0)"
OBS_MEASURES = {
    "count": Measure("count(1)"),
    "latency": Measure(_ms("any_value(b.start_time)", "any_value(b.end_time)")),
    "streamingLatency": Measure(_ms("any_value(b.completion_start_time)", "any_value(b.end_time)")),
    "inputTokens": Measure(f"CAST({_keyed_sum('b.usage_details', 'input')} AS BIGINT)"),
    "outputTokens": Measure(f"CAST({_keyed_sum('b.usage_details', 'output')} AS BIGINT)"),
    "totalTokens": Measure(f"CAST({TOTAL_TOKENS} AS BIGINT)"),
    "outputTokensPerSecond": Measure(
        f"{_keyed_sum('b.usage_details', 'output')} / NULLIF(date_diff('second', "
        "any_value(b.completion_start_time), any_value(b.end_time)), 0)"),
    "tokensPerSecond": Measure(
        f"{TOTAL_TOKENS} / NULLIF(date_diff('second', any_value(b.start_time), any_value(b.end_time)), 0)"),
    "inputCost": Measure(_keyed_sum("b.cost_details", "input")),
    "outputCost": Measure(_keyed_sum("b.cost_details", "output")),
    "totalCost": Measure(det_sum("b.total_cost")),
    "timeToFirstToken": Measure(_ms("any_value(b.start_time)", "any_value(b.completion_start_time)")),
    "countScores": Measure("count(DISTINCT s.id)", relation="s"),
    "toolDefinitions": Measure("NULLIF(len(any_value(b.tool_names)), 0)"),
    "toolCalls": Measure("NULLIF(len(any_value(b.called_tool_names)), 0)"),
}

WINDOW = "BETWEEN {frm} AND {to}"
OBS_RELATIONS_V1 = {
    "t": "JOIN traces t ON t.id = b.trace_id AND date_trunc('millisecond', t.timestamp) " + WINDOW,
    "s": "JOIN scores s ON s.observation_id = b.id AND date_trunc('millisecond', s.timestamp) " + WINDOW,
}
SCORE_RELATIONS = {
    "t": "JOIN traces t ON t.id = b.trace_id AND date_trunc('millisecond', t.timestamp) " + WINDOW,
    "o": "JOIN observations o ON o.id = b.observation_id AND date_trunc('millisecond', o.start_time) " + WINDOW,
}


def _explode(col: str) -> Dim:
    return Dim(col, explode=True)


def _pair(col: str) -> Dim:
    return Dim(f"map_keys({_map(col)})", pair_values=f"map_values({_map(col)})")


def _month(col: str) -> Dim:
    return Dim(f"strftime({col}, '%Y-%m')")


NULL_STR = Dim("CAST(NULL AS VARCHAR)", empty_is_null=True)


def observations_v1() -> ViewSql:
    dims = {
        "id": s1("b.id"), "traceId": s1("b.trace_id"), "traceName": rel(s1("t.name"), "t"),
        "environment": s1("b.environment"), "parentObservationId": s1("b.parent_observation_id"),
        "type": s1("b.type"), "name": s1("b.name"), "level": s1("b.level"), "version": s1("b.version"),
        "tags": tags("t.tags", "t"),
        "providedModelName": s1("b.model"), "promptName": s1("b.prompt_name"),
        "promptVersion": Dim("b.prompt_version", is_string=False),
        "userId": rel(s1("t.user_id"), "t"), "sessionId": rel(s1("t.session_id"), "t"),
        "traceRelease": rel(s1("t.release"), "t"), "traceVersion": rel(s1("t.version"), "t"),
        "startTimeMonth": _month("b.start_time"),
        "toolNames": _explode("b.tool_names"), "calledToolNames": _explode("b.called_tool_names"),
    }
    return ViewSql("observations", "start_time", dims, dict(OBS_MEASURES), OBS_RELATIONS_V1)


def observations_v2() -> ViewSql:
    dims = {
        "id": s1("b.id"), "traceId": s1("b.trace_id"), "environment": ni("b.environment"),
        "parentObservationId": ni("b.parent_observation_id"),
        "isRootObservation": Dim("(b.parent_observation_id IS NULL)", is_string=False, non_string_fill=False),
        "type": s1("b.type"), "name": s1("b.name"), "level": s1("b.level"), "version": ni("b.version"),
        "userId": ni("b.user_id"), "sessionId": ni("b.session_id"),
        "tags": tags("b.tags"), "release": ni("b.release"),
        # eventsTableTraceNameSqlForAlias (packages/shared/src/eventsTable.ts): the trace name, else
        # the row's own name when it is a root; null when empty (no join on this view)
        "traceName": Dim("COALESCE(NULLIF(b.trace_name, ''), CASE WHEN b.parent_observation_id IS NULL "
                         "THEN NULLIF(b.name, '') END)", empty_is_null=True),
        "traceRelease": ni("b.release"), "traceVersion": ni("b.trace_version"),
        "providedModelName": ni("b.model"), "promptName": ni("b.prompt_name"),
        "promptVersion": Dim("b.prompt_version", is_string=False),
        "startTimeMonth": _month("b.start_time"),
        "toolNames": _explode("b.tool_names"), "calledToolNames": _explode("b.called_tool_names"),
        "costType": _pair("b.cost_details"), "usageType": _pair("b.usage_details"),
        # the store has no experiment columns: always null, as for observations outside experiments
        "experimentName": NULL_STR, "experimentDatasetId": NULL_STR, "experimentId": NULL_STR,
    }
    measures = dict(OBS_MEASURES)
    measures.update({
        # events_core.total_cost is ALIAS cost_details['total'] (0040_create_events_core.up.sql), not
        # nullable: an observation without cost counts as 0 in sums, averages and percentiles (v1: NULL)
        "totalCost": Measure(f"coalesce({det_sum('b.total_cost')}, 0)"),
        "traceId": Measure("any_value(b.trace_id)"),
        "uniqueUserIds": Measure("any_value(NULLIF(b.user_id, ''))"),
        "uniqueSessionIds": Measure("any_value(NULLIF(b.session_id, ''))"),
        "costByType": Measure("any_value(_pair.v)", pair=True),
        "usageByType": Measure("CAST(any_value(_pair.v) AS BIGINT)", pair=True),
    })
    relations = {"s": OBS_RELATIONS_V1["s"]}
    return ViewSql("observations", "start_time", dims, measures, relations)


def traces_v1() -> ViewSql:
    dims = {
        "id": s1("b.id"), "name": s1("b.name"), "tags": tags("b.tags"),
        "userId": s1("b.user_id"), "sessionId": s1("b.session_id"), "release": s1("b.release"),
        "version": s1("b.version"), "environment": s1("b.environment"), "timestampMonth": _month("b.timestamp"),
    }
    o_total = "coalesce(sum(TRY_CAST(json_extract_string(o.usage_details, '$.total') AS DOUBLE)), 0)"
    measures = {
        "count": Measure("count(*)"),
        "observationsCount": Measure("count(DISTINCT o.id)", relation="o"),
        "scoresCount": Measure("count(DISTINCT s.id)", relation="s"),
        "uniqueUserIds": Measure("count(DISTINCT b.user_id)"),
        "uniqueSessionIds": Measure("count(DISTINCT b.session_id)"),
        "latency": Measure(_ms("min(o.start_time)", "max(o.end_time)"), relation="o"),
        "totalTokens": Measure(f"CAST({o_total} AS BIGINT)", relation="o"),
        "totalCost": Measure(det_sum("o.total_cost"), relation="o"),
    }
    relations = {
        "o": "JOIN observations o ON o.trace_id = b.id AND date_trunc('millisecond', o.start_time) " + WINDOW,
        "s": "JOIN scores s ON s.trace_id = b.id AND date_trunc('millisecond', s.timestamp) " + WINDOW,
    }
    return ViewSql("traces", "timestamp", dims, measures, relations)


SEGMENTS = {
    "scores-numeric": "b.data_type IN ('NUMERIC', 'BOOLEAN')",
    "scores-boolean": "b.data_type = 'BOOLEAN'",
    "scores-categorical": "b.data_type = 'CATEGORICAL'",
}


def scores(version: str, view: str) -> ViewSql:
    if version == "v1":
        trace_dims = {
            "traceName": rel(s1("t.name"), "t"), "tags": tags("t.tags", "t"),
            "userId": rel(s1("t.user_id"), "t"), "sessionId": rel(s1("t.session_id"), "t"),
            "traceRelease": rel(s1("t.release"), "t"), "traceVersion": rel(s1("t.version"), "t"),
            "observationName": rel(s1("o.name"), "o"), "observationModelName": rel(s1("o.model"), "o"),
            "observationPromptName": rel(s1("o.prompt_name"), "o"),
            "observationPromptVersion": Dim("o.prompt_version", relation="o", is_string=False),
        }
    else:
        trace_dims = {
            "sessionId": s1("b.session_id"), "datasetRunId": ni("b.dataset_run_id"),
            "traceName": ni("t.name", "t"), "userId": ni("t.user_id", "t"),
            "tags": tags("t.tags", "t"),
            "traceRelease": ni("t.release", "t"), "traceVersion": ni("t.version", "t"),
            "observationName": rel(s1("o.name"), "o"), "observationModelName": ni("o.model", "o"),
            "observationPromptName": ni("o.prompt_name", "o"),
            "observationPromptVersion": Dim("o.prompt_version", relation="o", is_string=False),
            "experimentName": rel(NULL_STR, "o"), "experimentId": rel(NULL_STR, "o"),
        }
    dims = dict(trace_dims)
    dims.update({
        "id": s1("b.id"), "environment": s1("b.environment"), "name": s1("b.name"),
        "evaluatorId": s1("b.evaluator_id"), "source": s1("b.source"), "dataType": s1("b.data_type"),
        "traceId": s1("b.trace_id"), "configId": s1("b.config_id"), "timestampMonth": _month("b.timestamp"),
        "timestampDay": Dim("strftime(b.timestamp, '%Y-%m-%d')"), "observationId": s1("b.observation_id"),
    })
    measures = {"count": Measure("count(*)")}
    if view == "scores-numeric":
        dims["value"] = Dim("b.value", is_string=False, non_string_fill=0.0)
    elif view == "scores-boolean":
        dims["booleanValue"] = Dim("(b.value <> 0)", is_string=False, non_string_fill=False)
    else:
        dims["stringValue"] = s1("b.string_value")
    if view != "scores-categorical":
        measures["value"] = Measure("any_value(b.value)")
    return ViewSql("scores", "timestamp", dims, measures, dict(SCORE_RELATIONS), SEGMENTS[view])


def view_sql(version: str, view: str) -> ViewSql:
    if view == "observations":
        return observations_v1() if version == "v1" else observations_v2()
    if view == "traces":
        return traces_v1()
    return scores(version, view)
