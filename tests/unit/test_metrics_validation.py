"""validate_query: bundled schemas, every problem with its path, server-worded semantic checks."""

from __future__ import annotations

import copy
import json

import pytest

import lfnb
from lfnb.errors import QueryValidationError
from lfnb.metrics import query_issues, validate_query
from lfnb.metrics.schemas import load_schema, views

BASE = {"view": "observations", "metrics": [{"measure": "count", "aggregation": "count"}],
        "fromTimestamp": "2026-10-25T00:00:00Z", "toTimestamp": "2026-11-01T00:00:00Z"}


def q(**changes):
    out = copy.deepcopy(BASE)
    out.update(changes)
    return out


def messages(query, version="v2"):
    return [(i["path"], i["message"]) for i in query_issues(query, version)]


# -- accepted: the examples of the facts sheet and the seed documents --------------------------------

FACTS_EXAMPLES = [
    # §2.4: a high-cardinality dimension as a top-N
    ("v2", {"view": "observations", "dimensions": [{"field": "traceId"}],
            "metrics": [{"measure": "totalCost", "aggregation": "sum"}],
            "orderBy": [{"field": "sum_totalCost", "direction": "desc"}], "config": {"row_limit": 10},
            "fromTimestamp": "2025-01-01T00:00:00.000Z", "toTimestamp": "2025-02-01T00:00:00.000Z"}),
    # OpenAPI v2 example: count semantic roots with a boolean filter
    ("v2", {"view": "observations", "metrics": [{"measure": "count", "aggregation": "count"}],
            "filters": [{"column": "isRootObservation", "operator": "=", "value": True, "type": "boolean"}],
            "fromTimestamp": "2025-01-01T00:00:00.000Z", "toTimestamp": "2025-02-01T00:00:00.000Z"}),
    # §2.2: epoch start, any fraction, offsets, metrics may be empty, unknown keys stripped
    ("v2", {"view": "scores-numeric", "metrics": [], "fromTimestamp": "1970-01-01T00:00:00.000Z",
            "toTimestamp": "2025-01-01T00:00:00.123456789+02:00", "chartConfig": {"type": "LINE"}, "page": 2}),
    ("v2", {"view": "observations", "metrics": [{"measure": "traceId", "aggregation": "uniq"}],
            "timeDimension": {"granularity": "auto"}, "fromTimestamp": "2025-01-01T00:00:00+0100",
            "toTimestamp": "2025-01-02T00:00:00-05:00"}),
    # §2.3: costByType auto-adds costType; orderBy may name it
    ("v2", {"view": "observations", "metrics": [{"measure": "costByType", "aggregation": "sum"}],
            "orderBy": [{"field": "costType", "direction": "asc"}],
            "fromTimestamp": "2025-01-01T00:00:00Z", "toTimestamp": "2025-01-02T00:00:00Z"}),
    # §3.3: *Name fallback, raw time column, metadata, null always allowed, arrays
    ("v2", {"view": "scores-categorical", "metrics": [{"measure": "count", "aggregation": "count"}],
            "dimensions": [{"field": "stringValue"}],
            "filters": [{"column": "scoreName", "type": "string", "operator": "=", "value": "tone"},
                        {"column": "timestamp", "type": "datetime", "operator": ">=", "value": "2025-01-01T00:00:00Z"},
                        {"column": "metadata", "type": "stringObject", "key": "k", "operator": "=", "value": "v"},
                        {"column": "userId", "type": "null", "operator": "is null", "value": ""},
                        {"column": "tags", "type": "arrayOptions", "operator": "all of", "value": []}],
            "fromTimestamp": "2025-01-01T00:00:00Z", "toTimestamp": "2025-01-02T00:00:00Z"}),
    # v1 traces view (legacy endpoint), v1 never applies the high-cardinality rule
    ("v1", {"view": "traces", "dimensions": [{"field": "userId"}], "timeDimension": {"granularity": "week"},
            "metrics": [{"measure": "latency", "aggregation": "p95"}, {"measure": "totalCost", "aggregation": "histogram"}],
            "config": {"bins": 100, "row_limit": 1000},
            "fromTimestamp": "2025-01-01T00:00:00Z", "toTimestamp": "2025-03-01T00:00:00Z"}),
    ("v1", {"view": "observations", "dimensions": [{"field": "id"}],
            "metrics": [{"measure": "countScores", "aggregation": "sum"}], "timeDimension": {"granularity": "day"},
            "fromTimestamp": "2025-01-01T00:00:00Z", "toTimestamp": "2025-01-03T00:00:00Z"}),
]


@pytest.mark.parametrize("version,query", FACTS_EXAMPLES)
def test_documented_examples_are_valid(version, query):
    assert query_issues(query, version) == []
    out = validate_query(json.dumps(query), version)
    assert set(out) >= {"view", "dimensions", "metrics", "filters", "timeDimension", "fromTimestamp",
                        "toTimestamp", "orderBy"}
    assert "chartConfig" not in out and "page" not in out


def test_normalised_defaults_like_zod():
    out = validate_query({**BASE, "dimensions": [{"field": "name", "extra": 1}], "entityDimension": {"field": "x"}})
    assert out == {"view": "observations", "dimensions": [{"field": "name"}],
                   "metrics": [{"measure": "count", "aggregation": "count"}], "filters": [], "timeDimension": None,
                   "fromTimestamp": "2026-10-25T00:00:00Z", "toTimestamp": "2026-11-01T00:00:00Z", "orderBy": None}


# -- rejected, with path-precise pinned messages ------------------------------------------------------

def test_view_enum_lists_choices_and_the_traces_translation():
    assert messages(q(view="traces")) == [(
        "$.view", "must be one of observations, scores-numeric, scores-boolean, scores-categorical; got 'traces'. "
                  "The traces view exists only in the v1 API (/api/public/metrics); on v2 use the observations "
                  "view, e.g. measure 'traceId' with aggregation 'uniq' counts traces")]


def test_v2_only_dimension_on_v1_says_so():
    (path, msg), = messages(q(dimensions=[{"field": "isRootObservation"}]), "v1")
    assert path == "$.dimensions[0].field"
    assert msg.endswith("got 'isRootObservation'. 'isRootObservation' is a dimension of the observations view "
                        "only in the v2 API")


def test_every_problem_is_listed_and_the_message_shows_three():
    bad = q(view="observations", metrics=[{"measure": "traceId", "aggregation": "sum"}, {"measure": "nope"}],
            dimensions=[{"field": "bogus"}], fromTimestamp="2025-01-01", config={"bins": 0, "row_limit": 5000},
            filters=[{"column": "tags", "type": "string", "operator": "=", "value": "x"}])
    with pytest.raises(QueryValidationError) as info:
        validate_query(bad)
    paths = [i["path"] for i in info.value.issues]
    assert paths == ["$.dimensions[0].field", "$.metrics[0].aggregation", "$.metrics[1].aggregation",
                     "$.metrics[1].measure", "$.filters[0].type", "$.fromTimestamp", "$.config.bins",
                     "$.config.row_limit"]
    text = str(info.value)
    assert text.splitlines()[0] == "Invalid metrics query (v2): 8 problems"
    assert text.splitlines()[-1] == "and 5 more"
    assert len(text.splitlines()) == 5
    assert info.value.issues[1] == {"path": "$.metrics[0].aggregation", "message": "must be one of count, uniq; got 'sum'",
                                    "valid": ["count", "uniq"]}
    assert info.value.issues[2] == {"path": "$.metrics[1].aggregation", "message": "is required"}
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("change,expected", [
    ({"fromTimestamp": "2025-01-01"}, [("$.fromTimestamp", "must be an ISO 8601 datetime with seconds and a UTC "
                                        "offset (e.g. 2026-11-01T00:00:00Z or 2026-11-01T01:00:00+01:00); got '2025-01-01'")]),
    ({"toTimestamp": "2025-01-01T00:00:00"}, [("$.toTimestamp", "must be an ISO 8601 datetime with seconds and a "
                                               "UTC offset (e.g. 2026-11-01T00:00:00Z or 2026-11-01T01:00:00+01:00); "
                                               "got '2025-01-01T00:00:00'")]),
    ({"toTimestamp": "2026-10-25T00:00:00Z"}, [("$.fromTimestamp", "fromTimestamp must be before toTimestamp")]),
    ({"toTimestamp": "2026-10-25T01:00:00+02:00"}, [("$.fromTimestamp", "fromTimestamp must be before toTimestamp")]),
    ({"toTimestamp": "2026-10-25T00:00:00.0009Z"}, [("$.fromTimestamp", "fromTimestamp must be before toTimestamp")]),
    ({"toTimestamp": "2026-02-30T00:00:00Z"}, [("$.toTimestamp", "is not a valid date and time; "
                                                "got '2026-02-30T00:00:00Z'")]),
    ({"metrics": None}, [("$.metrics", "must be of type array; got null")]),
    ({"timeDimension": {"granularity": "5m"}}, [("$.timeDimension.granularity",
                                                 "must be one of auto, minute, hour, day, week, month; got '5m'")]),
    ({"config": {"row_limit": 0}}, [("$.config.row_limit", "must be >= 1; got 0")]),
    ({"config": {"bins": 101}}, [("$.config.bins", "must be <= 100; got 101")]),
    ({"orderBy": [{"field": "count_count", "direction": "up"}]}, [("$.orderBy[0].direction",
                                                                   "must be one of asc, desc; got 'up'")]),
    ({"metrics": [{"measure": "count", "aggregation": "median"}]}, [(
        "$.metrics[0].aggregation",
        "must be one of sum, avg, count, max, min, p50, p75, p90, p95, p99, histogram, uniq; got 'median'")]),
    ({"filters": [{"column": "name", "type": "stringOptions", "operator": "any of", "value": []}]},
     [("$.filters[0].value", "must have at least 1 item(s)")]),
    ({"filters": [{"column": "name", "type": "null", "operator": "is null", "value": None}]},
     [("$.filters[0].value", "must be \"\"; got None")]),
    ({"filters": [{"column": "name", "type": "string", "operator": "matches", "value": "x"}]},
     [("$.filters[0].operator", "must be one of =, contains, does not contain, starts with, ends with; got 'matches'")]),
    ({"filters": [{"column": "start_time", "type": "string", "operator": "=", "value": "x"}]},
     [("$.filters[0].type", "must be one of datetime, null; got 'string'")]),
    ({"filters": [{"column": "startTime", "type": "datetime", "operator": ">", "value": "2025-01-01T00:00:00Z"}]},
     [("$.filters[0].column", "must be one of id, traceId, environment, parentObservationId, isRootObservation, type, "
       "name, level, version, userId, sessionId, tags, release, traceName, traceRelease, traceVersion, "
       "providedModelName, promptName, promptVersion, startTimeMonth, toolNames, calledToolNames, costType, "
       "usageType, experimentName, experimentDatasetId, experimentId, start_time, metadata; got 'startTime'")]),
    ({"filters": [{"column": "promptVersion", "type": "number", "operator": "=", "value": 3}]},
     [("$.filters[0].type", "must be one of string, stringOptions, null; got 'number'")]),
    ({"filters": [{"column": "metadata", "type": "stringObject", "operator": "=", "value": "x"}]},
     [("$.filters[0].key", "is required")]),
    ({"filters": [{"column": "start_time", "type": "datetime", "operator": ">", "value": "yesterday"}]},
     [("$.filters[0].value", "must be a date, e.g. 2026-11-01T00:00:00Z; got 'yesterday'")]),
])
def test_pinned_messages(change, expected):
    assert messages(q(**change)) == expected


@pytest.mark.parametrize("change,message", [
    ({"dimensions": [{"field": "userId"}]},
     "High cardinality dimension(s) 'userId' require both 'config.row_limit' and 'orderBy' with direction 'desc' "
     "on a measure field."),
    ({"dimensions": [{"field": "userId"}, {"field": "id"}], "timeDimension": {"granularity": "day"}},
     "High cardinality dimension(s) 'userId, id' cannot be used with timeDimension. Time series queries with high "
     "cardinality dimensions produce unbounded result sets."),
    ({"dimensions": [{"field": "sessionId"}], "config": {"row_limit": 5},
      "orderBy": [{"field": "sessionId", "direction": "desc"}]},
     "High cardinality dimension(s) 'sessionId' require 'orderBy' with direction 'desc' on a measure field. "
     "'sessionId' is not a measure in this query."),
    ({"orderBy": [{"field": "sum_count", "direction": "desc"}]},
     "Invalid orderBy field: sum_count. Must be one of the dimension or metric fields."),
    ({"metrics": [{"measure": "latency", "aggregation": "histogram"}],
      "orderBy": [{"field": "histogram_latency", "direction": "desc"}]},
     "Invalid orderBy field: histogram_latency. Must be one of the dimension or metric fields."),
    ({"orderBy": [{"field": "time_dimension", "direction": "asc"}]},
     "Invalid orderBy field: time_dimension. Must be one of the dimension or metric fields."),
    ({"metrics": [{"measure": "costByType", "aggregation": "sum"}, {"measure": "usageByType", "aggregation": "sum"}]},
     "Only one pairExpand dimension is supported per query. Found: costType, usageType"),
])
def test_semantic_checks_use_the_server_wording(change, message):
    issues = query_issues(q(**change), "v2")
    assert [i["message"] for i in issues] == [message]


def test_bare_measure_name_passes_the_hc_rule_but_not_the_order_by_check():
    # facts §2.4 trap: validateQuery accepts "totalCost", the query builder then rejects it
    trap = q(dimensions=[{"field": "traceId"}], metrics=[{"measure": "totalCost", "aggregation": "sum"}],
             orderBy=[{"field": "totalCost", "direction": "desc"}], config={"row_limit": 10})
    assert messages(trap) == [("$.orderBy[0].field",
                               "Invalid orderBy field: totalCost. Must be one of the dimension or metric fields.")]


def test_high_cardinality_rule_is_v2_only_and_top_n_passes():
    hc = q(dimensions=[{"field": "userId"}])
    assert query_issues(hc, "v1") == []
    top = q(dimensions=[{"field": "userId"}], config={"row_limit": 10},
            orderBy=[{"field": "count_count", "direction": "desc"}])
    assert query_issues(top, "v2") == []


def test_server_messages_for_checks_the_schema_also_makes():
    from lfnb.metrics.checks import builder_issues
    facts_q = q(dimensions=[{"field": "bogus"}], metrics=[{"measure": "traceId", "aggregation": "avg"}],
                filters=[{"column": "tags", "type": "string", "operator": "=", "value": "x"},
                         {"column": "metadata", "type": "string", "operator": "=", "value": "x"},
                         {"column": "zzz", "type": "string", "operator": "=", "value": "x"}])
    got = [i["message"] for i in builder_issues(facts_q, "v2")]
    dims = ",".join(views("v2")["observations"]["dimensions"])
    assert got == [
        f"Invalid dimension bogus. Must be one of {dims}",
        'Aggregation "avg" is not valid for measure "traceId" (type: string). Valid aggregations: count, uniq',
        "Invalid filter for field 'tags': Filter type 'string' is not supported for dimension type 'string[]'. "
        "Expected 'arrayOptions'.",
        "Invalid filter for field 'metadata': Metadata filters require type 'stringObject' with a 'key' property, "
        "not 'string'. Example: {\"column\": \"metadata\", \"type\": \"stringObject\", \"key\": \"environment\", "
        "\"operator\": \"=\", \"value\": \"production\"}",
        f"Invalid filter column zzz. Must be one of {dims} or start_time",
    ]


def test_json_text_and_non_objects():
    with pytest.raises(QueryValidationError) as info:
        validate_query("{not json")
    assert info.value.issues[0]["path"] == "$"
    assert info.value.issues[0]["message"].startswith("Invalid JSON in query: ")
    assert query_issues([1, 2]) == [{"path": "$", "message": "must be a JSON object; got array"}]
    with pytest.raises(ValueError, match="version must be one of v1, v2"):
        validate_query(BASE, "v3")


def test_facade_exports():
    assert lfnb.validate_query is validate_query
    assert lfnb.MetricsQuery.__module__ == "lfnb.metrics.query"


def test_schemas_are_2020_12_and_carry_view_facts():
    for name in ("filter-conditions.schema.json", "metrics-query-v1.schema.json", "metrics-query-v2.schema.json"):
        assert load_schema(name)["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    v2 = load_schema("metrics-query-v2.schema.json")
    assert v2["properties"]["metrics"]["items"]["properties"]["aggregation"]["enum"][-1] == "uniq"
    assert list(v2["x-lfnb-views"]) == ["observations", "scores-numeric", "scores-boolean", "scores-categorical"]
    assert views("v1")["traces"]["timeColumn"] == "timestamp"
    assert views("v2")["observations"]["measures"]["latency"] == {"type": "integer", "unit": "millisecond"}


def test_validate_query_accepts_the_builder_like_a_dict():
    from lfnb.metrics import MetricsQuery

    q = (MetricsQuery("observations").measure("totalCost", "sum").by("userId")
         .between("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z"))
    with pytest.raises(QueryValidationError, match="High cardinality") as err:
        validate_query(q)
    assert [i["path"] for i in err.value.issues] == [i["path"] for i in q.problems()]
    assert validate_query(q.order("sum_totalCost", "desc").limit(10)) == validate_query(
        q.order("sum_totalCost", "desc").limit(10).to_dict())
