"""lfnb.local's metrics handlers: request parsing, 400 bodies, result semantics."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from lfnb.errors import QueryValidationError
from lfnb.local.engine import handle_metrics_v1, handle_metrics_v2, query
from lfnb.local.engine.histogram import histogram
from lfnb.local.handlers import ApiProblem, ApiRequest

WINDOW = {"fromTimestamp": "2026-10-25T00:00:00Z", "toTimestamp": "2026-11-01T00:00:00Z"}


def req(query_value) -> ApiRequest:
    text = query_value if isinstance(query_value, str) else json.dumps(query_value)
    return ApiRequest("GET", "/api/public/v2/metrics", {}, [("query", text)])


def problem(handler, store, query_value) -> ApiProblem:
    with pytest.raises(ApiProblem) as info:
        handler(store, req(query_value))
    assert info.value.status == 400
    return info.value


def test_invalid_json(store_small):
    p = problem(handle_metrics_v2, store_small, "{view:")
    assert p.body == {"message": "Invalid JSON in query parameter", "error": "InvalidRequestError"}


def test_missing_query_parameter(store_small):
    with pytest.raises(ApiProblem) as info:
        handle_metrics_v2(store_small, ApiRequest("GET", "/api/public/v2/metrics", {}, []))
    assert info.value.body["error"][0]["path"] == ["query"]


def test_zod_issues_have_query_paths(store_small):
    p = problem(handle_metrics_v2, store_small, {"view": "traces", "metrics": [{"measure": "count"}],
                                                 "fromTimestamp": "2025-01-01", "config": {"bins": 0}})
    assert p.body["message"] == "Invalid request data"
    issues = {tuple(i["path"]): i for i in p.body["error"]}
    assert issues[("query", "view")] == {
        "code": "invalid_value", "values": ["observations", "scores-numeric", "scores-boolean", "scores-categorical"],
        "path": ["query", "view"],
        "message": 'Invalid option: expected one of "observations"|"scores-numeric"|"scores-boolean"|"scores-categorical"'}
    assert issues[("query", "metrics", 0, "aggregation")]["code"] == "invalid_value"
    assert issues[("query", "fromTimestamp")]["message"] == "Invalid ISO datetime"
    assert issues[("query", "toTimestamp")]["message"] == "Invalid input: expected string, received undefined"
    assert issues[("query", "config", "bins")]["message"] == "Too small: expected number to be >=1"


def test_datetime_filter_value_must_be_a_date(store_small):
    body = {"view": "observations", "metrics": [], **WINDOW,
            "filters": [{"column": "start_time", "type": "datetime", "operator": ">", "value": "soon"}]}
    p = problem(handle_metrics_v2, store_small, body)
    assert p.body == {"message": "Invalid request data", "error": [
        {"expected": "date", "code": "invalid_type", "received": "Invalid Date", "path": ["query", "filters", 0, "value"],
         "message": "Invalid input: expected date, received Date"}]}
    ok = {**body, "filters": [{**body["filters"][0], "value": 1793232000000}]}  # epoch ms = 2026-10-29T00:00Z
    assert handle_metrics_v2(store_small, req(ok))["data"] == query(store_small, {**body, "filters": [
        {**body["filters"][0], "value": "2026-10-29T00:00:00Z"}]})


def test_impossible_dates_are_invalid_iso_datetimes(store_small):
    p = problem(handle_metrics_v2, store_small, {"view": "observations", "metrics": [],
                                                 "fromTimestamp": "2026-02-29T00:00:00Z",
                                                 "toTimestamp": WINDOW["toTimestamp"]})
    assert p.body["error"] == [{"origin": "string", "code": "invalid_format", "format": "datetime",
                                "path": ["query", "fromTimestamp"], "message": "Invalid ISO datetime"}]


def test_from_not_before_to_is_a_zod_refine(store_small):
    p = problem(handle_metrics_v1, store_small, {"view": "traces", "metrics": [], "fromTimestamp": WINDOW["toTimestamp"],
                                                 "toTimestamp": WINDOW["toTimestamp"]})
    assert p.body == {"message": "Invalid request data", "error": [
        {"code": "custom", "path": ["query"], "message": "fromTimestamp must be before toTimestamp"}]}


@pytest.mark.parametrize("change,message", [
    ({"dimensions": [{"field": "nope"}]}, "Invalid dimension nope. Must be one of "),
    ({"metrics": [{"measure": "nope", "aggregation": "sum"}]}, "Invalid metric nope. Must be one of count,traceId,"),
    ({"metrics": [{"measure": "uniqueUserIds", "aggregation": "p95"}]},
     'Aggregation "p95" is not valid for measure "uniqueUserIds" (type: string). Valid aggregations: count, uniq'),
    ({"dimensions": [{"field": "traceId"}]}, "High cardinality dimension(s) 'traceId' require both"),
    ({"filters": [{"column": "tags", "type": "stringOptions", "operator": "any of", "value": ["a"]}]},
     "Invalid filter for field 'tags': Filter type 'stringOptions' is not supported for dimension type 'string[]'. "
     "Expected 'arrayOptions'."),
])
def test_semantic_errors_are_invalid_request_errors(store_small, change, message):
    body = {"view": "observations", "metrics": [{"measure": "count", "aggregation": "count"}], **WINDOW, **change}
    p = problem(handle_metrics_v2, store_small, body)
    assert p.body["error"] == "InvalidRequestError"
    assert p.body["message"].startswith(message)


def test_is_root_observation_is_v2_only(store_small):
    body = {"view": "observations", "metrics": [], "dimensions": [{"field": "isRootObservation"}], **WINDOW}
    p = problem(handle_metrics_v1, store_small, body)
    assert p.body["message"].startswith("Invalid dimension isRootObservation. Must be one of id,traceId,traceName,")
    assert handle_metrics_v2(store_small, req(body))["data"][0].keys() == {"isRootObservation", "count"}


def test_v2_default_row_limit_is_100_and_v1_has_none(store_small):
    body = {"view": "observations", "metrics": [{"measure": "count", "aggregation": "count"}],
            "dimensions": [{"field": "startTimeMonth"}, {"field": "name"}, {"field": "level"}, {"field": "environment"},
                           {"field": "providedModelName"}, {"field": "promptName"}], **WINDOW}
    v1 = query(store_small, body, "v1")
    v2 = query(store_small, body, "v2")
    assert len(v1) > 100
    assert len(v2) == 100
    assert len(query(store_small, {**body, "config": {"row_limit": 7}}, "v2")) == 7


def test_empty_values_are_empty_strings_in_v1_and_null_in_v2(store_small):
    body = {"view": "observations", "metrics": [], "dimensions": [{"field": "providedModelName"}], **WINDOW}
    assert "" in {r["providedModelName"] for r in query(store_small, body, "v1")}
    v2 = {r["providedModelName"] for r in query(store_small, body, "v2")}
    assert None in v2 and "" not in v2


def test_time_series_fill_and_formats(store_small):
    body = {"view": "observations", "metrics": [{"measure": "count", "aggregation": "count"}],
            "dimensions": [{"field": "environment"}], "timeDimension": {"granularity": "day"},
            "fromTimestamp": "2026-10-22T12:00:00Z", "toTimestamp": "2026-11-01T00:00:00Z"}
    rows = query(store_small, body, "v1")
    days = [r["time_dimension"] for r in rows]
    assert days == sorted(days)
    # one filler row per empty bucket (22..24 Oct), dimension columns default-valued ('' in v1), metric 0
    assert [r for r in rows if r["time_dimension"] < "2026-10-25"] == [
        {"environment": "", "time_dimension": d, "count_count": 0} for d in ("2026-10-22", "2026-10-23", "2026-10-24")]
    v2 = query(store_small, {**body, "dimensions": [{"field": "environment"}, {"field": "name"}, {"field": "tags"},
                                                    {"field": "isRootObservation"}]}, "v2")
    assert v2[0] == {"environment": None, "name": "", "tags": [], "isRootObservation": False,
                     "time_dimension": "2026-10-22", "count_count": 0}
    hourly = query(store_small, {**body, "timeDimension": {"granularity": "hour"},
                                 "fromTimestamp": "2026-10-30T00:00:00Z", "toTimestamp": "2026-10-30T06:00:00Z",
                                 "dimensions": []}, "v2")
    assert [r["time_dimension"] for r in hourly] == [f"2026-10-30T0{h}:00:00.000Z" for h in range(6)]


def test_default_ordering_first_metric_desc(store_small):
    body = {"view": "observations", "metrics": [{"measure": "count", "aggregation": "count"}],
            "dimensions": [{"field": "type"}], **WINDOW}
    counts = [r["count_count"] for r in query(store_small, body)]
    assert counts == sorted(counts, reverse=True)
    names = [r["type"] for r in query(store_small, {**body, "metrics": []})]
    assert names == sorted(names)


def test_cost_by_type_adds_its_dimension(store_small):
    rows = query(store_small, {"view": "observations", "metrics": [{"measure": "costByType", "aggregation": "sum"}],
                               **WINDOW})
    assert {r["costType"] for r in rows} == {"input", "output", "total"}
    assert list(rows[0]) == ["costType", "sum_costByType"]


def test_histogram_without_dimensions_is_one_row(store_small):
    body = {"view": "observations", "metrics": [{"measure": "latency", "aggregation": "histogram"}],
            "filters": [{"column": "type", "type": "string", "operator": "=", "value": "GENERATION"}],
            "config": {"bins": 8}, **WINDOW}
    rows = query(store_small, body)
    assert len(rows) == 1
    cells = rows[0]["histogram_latency"]
    lat = [r["max_latency"] for r in query(store_small, {**body, "metrics": [{"measure": "latency", "aggregation": "max"}],
                                                         "dimensions": [{"field": "id"}],
                                                         "orderBy": [{"field": "max_latency", "direction": "desc"}],
                                                         "config": {"row_limit": 1000}})]
    assert len(cells) == 8
    assert cells[0][0] == min(lat) and cells[-1][1] == max(lat)
    assert all(lo <= hi for lo, hi, _ in cells)
    assert all(cells[i][1] == cells[i + 1][0] for i in range(7))


def test_histogram_is_exact_when_values_fit_the_bins():
    values = [1.0] * 3 + [2.0] * 5 + [4.0]
    counts = sorted(Counter(values).items())
    expected = []
    for i, (v, c) in enumerate(counts):
        lo = v if i == 0 else (v + counts[i - 1][0]) / 2
        hi = v if i == len(counts) - 1 else (v + counts[i + 1][0]) / 2
        wl = c if i == 0 else (counts[i - 1][1] + 3 * c) / 4
        wh = c if i == len(counts) - 1 else (counts[i + 1][1] + 3 * c) / 4
        expected.append([lo, hi, (wl + wh) / 2])
    assert histogram(values, 10) == expected == [[1.0, 1.5, 3.25], [1.5, 3.0, 4.25], [3.0, 4.0, 1.5]]
    assert histogram([], 10) == []
    assert len(histogram([float(i) for i in range(1000)], 10)) == 10


def test_query_function_validates(store_small):
    with pytest.raises(QueryValidationError, match=r"\$\.view"):
        query(store_small, {"view": "traces", "metrics": [], **WINDOW}, "v2")
    rows = query(store_small, json.dumps({"view": "traces", "metrics": [], **WINDOW}), "v1")
    assert rows == [{"count": 300}]


def test_lfnb_local_exports_query():
    import lfnb.local

    assert lfnb.local.query is query


def _mutations(seed: int, n: int):
    """Seeded random corruptions of a rich valid query (wrong types, unknown names, missing keys)."""
    import copy
    import random

    rng = random.Random(seed)
    values = [None, 1, -1, 0, 2.5, "x", "", [], {}, [1], ["a"], True, "2026-10-30T00:00:00Z", "is null", "any of",
              {"field": "name"}, [{"field": "name"}], "metadata", "scoreName", "tags", 1e300, "userId", "sum_x"]
    base = {"view": "observations", "dimensions": [{"field": "name"}, {"field": "toolNames"}],
            "metrics": [{"measure": "latency", "aggregation": "p95"}, {"measure": "costByType", "aggregation": "sum"}],
            "filters": [{"column": "tags", "type": "arrayOptions", "operator": "any of", "value": ["rag"]},
                        {"column": "metadata", "type": "stringObject", "key": "worker", "operator": "=", "value": "w"}],
            "timeDimension": {"granularity": "hour"}, "fromTimestamp": "2026-10-30T00:00:00Z",
            "toTimestamp": "2026-11-01T00:00:00Z", "orderBy": [{"field": "p95_latency", "direction": "desc"}],
            "config": {"bins": 5, "row_limit": 50}}

    def paths(obj, prefix=()):
        if prefix:
            yield prefix
        items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
        for key, value in items:
            yield from paths(value, prefix + (key,))

    all_paths = list(paths(base))
    for _ in range(n):
        q = copy.deepcopy(base)
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(all_paths)
            target = q
            try:
                for key in path[:-1]:
                    target = target[key]
                if rng.random() < 0.15 and isinstance(target, dict):
                    target.pop(path[-1], None)
                else:
                    target[path[-1]] = copy.deepcopy(rng.choice(values))
            except (KeyError, IndexError, TypeError):
                pass
        yield q


def test_client_validation_rejects_exactly_what_the_server_rejects(store_small):
    """For 400 corrupted queries and both versions: no 500s, and validate_query agrees with the server."""
    from lfnb.metrics import query_issues

    outcomes = Counter()
    for q in _mutations(seed=7, n=200):
        for handler, version in ((handle_metrics_v1, "v1"), (handle_metrics_v2, "v2")):
            try:
                handler(store_small, req(q))
                server_ok = True
            except ApiProblem as exc:
                assert exc.status == 400
                server_ok = False
            client_ok = not query_issues(q, version)
            assert client_ok == server_ok, (version, q)
            outcomes[server_ok] += 1
    assert outcomes[True] > 0 and outcomes[False] > 0
