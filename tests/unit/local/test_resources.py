"""Read handlers of lfnb.local.resources against a small hand-made store (no HTTP).

The hand-made store makes exact expectations easy to state; the page walks are also
run on the generated ``store_small`` (see test_resources_generated.py).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from lfnb.local import resources
from lfnb.local.handlers import ApiProblem, ApiRequest
from lfnb.local.store import Store

T0 = datetime(2026, 10, 30, 12, 0, 0)
N_TRACES = 7


def build_mini_store() -> Store:
    """7 traces (t00..t06, one minute apart), 2 observations each, 1 score each, 3 sessions."""
    s = Store()
    with s.write() as c:
        c.execute("INSERT INTO projects VALUES ('proj-1', 'Local', 'org-1', '{}', ?)", [T0])
        c.execute("INSERT INTO models (id, project_id, model_name, match_pattern, unit, input_price, "
                  "output_price, total_price, is_langfuse_managed, created_at) VALUES ('m1', NULL, "
                  "'gpt-x', '(?i)^gpt-x$', 'TOKENS', 0.000001, 0.000002, NULL, TRUE, ?)", [T0])
        for i in range(N_TRACES):
            tid, ts, sess = f"t{i:02d}", T0 + timedelta(minutes=i), f"s{i % 3}"
            c.execute(
                "INSERT INTO traces VALUES (?, 'proj-1', ?, ?, ?, ?, ?, ?, ?, ?, '{\"k\": 1}', "
                "'\"in\"', '{\"o\": 2}', FALSE, ?, ?, ?)",
                [tid, "chat" if i % 2 else "rag", ts, f"u{i % 2}", sess, f"r{i % 2}", f"v{i % 3}",
                 "production" if i % 3 else "dev", ["a", "b"] if i % 2 else ["a"], i == 2, ts, ts])
            for j in range(2):
                st = ts + timedelta(seconds=j)
                gen = j == 1
                c.execute(
                    "INSERT INTO observations (id, trace_id, trace_id_hash, project_id, type, name, "
                    "start_time, end_time, completion_start_time, level, environment, model, "
                    "internal_model_id, usage_details, cost_details, input_usage, output_usage, "
                    "total_usage, input_cost, output_cost, total_cost, user_id, session_id, "
                    "parent_observation_id, version, input, created_at, updated_at) VALUES "
                    "(?, ?, 1, 'proj-1', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [f"{tid}-o{j}", tid, "GENERATION" if gen else "SPAN", f"op{j}", st,
                     st + timedelta(milliseconds=1500), st + timedelta(milliseconds=200) if gen else None,
                     "ERROR" if (i == 3 and gen) else "DEFAULT", "production" if i % 3 else "dev",
                     "gpt-x" if gen else None, "m1" if gen else None,
                     '{"input": 10, "output": 5, "total": 15}' if gen else "{}",
                     '{"input": 0.1, "output": 0.2, "total": 0.3}' if gen else "{}",
                     10 if gen else None, 5 if gen else None, 15 if gen else None,
                     0.1 if gen else None, 0.2 if gen else None, 0.3 if gen else None,
                     f"u{i % 2}", sess, f"{tid}-o0" if gen else None, "ov1" if gen else None,
                     '{"q": "hi"}', st, st])
            numeric = i % 2 == 1
            c.execute(
                "INSERT INTO scores (id, project_id, name, value, string_value, data_type, source, "
                "trace_id, observation_id, environment, timestamp, created_at, updated_at, user_id, "
                "tags, metadata, config_id, queue_id, author_user_id, comment) VALUES "
                "(?, 'proj-1', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{\"m\": 1}', ?, ?, ?, ?)",
                [f"sc{i:02d}", "quality" if numeric else "correct", 0.5 + i / 10 if numeric else float(i % 4 == 0),
                 None if numeric else ("True" if i % 4 == 0 else "False"),
                 "NUMERIC" if numeric else "BOOLEAN", "API" if i % 3 else "EVAL", tid,
                 f"{tid}-o1" if i == 1 else None, "production" if i % 3 else "dev", ts, ts, ts,
                 f"u{i % 2}", ["a", "b"] if i % 2 else ["a"], "cfg-1" if i == 5 else None,
                 "q-1" if i == 5 else None, "alice" if i == 5 else None, "nice" if i == 5 else None])
        # a session score and a categorical one without a trace
        c.execute("INSERT INTO scores (id, project_id, name, value, string_value, data_type, source, "
                  "session_id, environment, timestamp, created_at, updated_at) VALUES "
                  "('sc-sess', 'proj-1', 'tone', NULL, 'calm', 'CATEGORICAL', 'ANNOTATION', 's1', "
                  "'production', ?, ?, ?)", [T0 + timedelta(minutes=3), T0, T0])
        for k in range(3):
            c.execute("INSERT INTO sessions VALUES (?, 'proj-1', ?, ?)",
                      [f"s{k}", "production" if k else "dev", T0 + timedelta(minutes=k)])
    return s


@pytest.fixture()
def mini():
    store = build_mini_store()
    yield store
    store.close()


def route(op: str):
    found = [r for r in resources.ROUTES if r[2] == op]
    assert len(found) == 1, op
    return found[0]


def call(store, op: str, query=(), body=None, **path_params):
    """Run the handler of operation ``op`` like the app would."""
    method, template, _, handler = route(op)
    path = template
    for k, v in path_params.items():
        path = path.replace("{" + k + "}", v)
    if isinstance(query, dict):
        query = list(query.items())
    return handler(store, ApiRequest(method, path, dict(path_params), list(query), body))


def problem(store, op: str, query=(), body=None, **path_params) -> ApiProblem:
    with pytest.raises(ApiProblem) as info:
        call(store, op, query, body, **path_params)
    return info.value


def walk(store, op: str, limit: int, query=(), **path_params) -> tuple[list[dict], list[dict]]:
    """Every page of a page-based list: (items, metas)."""
    items, metas, page = [], [], 1
    while True:
        out = call(store, op, [*query, ("page", str(page)), ("limit", str(limit))], **path_params)
        items += out["data"]
        metas.append(out["meta"])
        if page >= out["meta"]["totalPages"]:
            return items, metas
        page += 1


# -------------------------------------------------------------------- OpenAPI conformance

@pytest.fixture(scope="module")
def openapi(shared):
    pytest.importorskip("yaml")
    core = pytest.importorskip("openapi_core")
    from lf_schemas import openapi_spec  # the OpenAPI file with Langfuse's nullable $refs honoured

    return core.OpenAPI.from_dict(openapi_spec(Path(shared)), config=core.Config(spec_validator_cls=None))


def conforms(openapi, method: str, path: str, body, status: int = 200) -> None:
    from openapi_core.testing import MockRequest, MockResponse

    openapi.validate_response(
        MockRequest("http://localhost", method.lower(), path),
        MockResponse(json.dumps(body).encode(), status_code=status, content_type="application/json"))


READ_CASES = [
    ("health_health", {}), ("projects_get", {}), ("trace_list", {}),
    ("trace_get", {"traceId": "t01"}), ("observations_get_many", {}),
    ("observations_get", {"observationId": "t01-o1"}), ("sessions_list", {}),
    ("sessions_get", {"sessionId": "s1"}), ("score_v2_get", {}),
    ("score_v2_get_by_id", {"scoreId": "sc01"}), ("score_v2_get_by_id", {"scoreId": "sc-sess"}),
    ("scores_v3_get_many", {}),
]


@pytest.mark.parametrize("op,params", READ_CASES)
def test_reads_conform_to_openapi(mini, openapi, op, params):
    method, template, _, _ = route(op)
    path = re.sub(r"{(\w+)}", lambda m: params[m.group(1)], template)
    conforms(openapi, method, path, call(mini, op, **params))


def test_v3_scores_with_all_groups_conform(mini, openapi):
    body = call(mini, "scores_v3_get_many", {"fields": "details,subject,annotation"})
    conforms(openapi, "GET", "/api/public/v3/scores", body)
    assert {d["subject"]["kind"] for d in body["data"]} == {"trace", "observation", "session"}


# -------------------------------------------------------------------- paging

def test_page_params_defaults_and_meta(mini):
    out = call(mini, "trace_list")
    assert out["meta"] == {"page": 1, "limit": 50, "totalItems": 7, "totalPages": 1}
    out = call(mini, "trace_list", {"page": "", "limit": ""})
    assert out["meta"] == {"page": 1, "limit": 50, "totalItems": 7, "totalPages": 1}
    out = call(mini, "trace_list", {"page": "9", "limit": "3"})
    assert out["data"] == [] and out["meta"] == {"page": 9, "limit": 3, "totalItems": 7, "totalPages": 3}


@pytest.mark.parametrize("query,path,message", [
    ({"limit": "0"}, ["limit"], "Too small: expected number to be >0"),
    ({"limit": "101"}, ["limit"], "Too big: expected number to be <=100"),
    ({"limit": "abc"}, ["limit"], "Invalid input: expected number, received NaN"),
    ({"page": "0"}, ["page"], "Too small: expected number to be >0"),
    ({"page": "-3"}, ["page"], "Too small: expected number to be >0"),
    ({"page": "1.5"}, ["page"], "Invalid input: expected int, received number"),
    ({"fromTimestamp": "2026-01-01"}, ["fromTimestamp"], "Invalid ISO datetime"),
    ({"toTimestamp": "2026-01-01T00:00:00"}, ["toTimestamp"], "Invalid ISO datetime"),
])
def test_bad_paging_params_are_zod_400s(mini, query, path, message):
    for op in ("trace_list", "sessions_list", "score_v2_get"):
        p = problem(mini, op, query)
        assert p.status == 400
        assert p.body["message"] == "Invalid request data"
        assert [(i["path"], i["message"]) for i in p.body["error"]] == [(path, message)]


@pytest.mark.parametrize("op,table,order", [
    ("trace_list", "traces", "timestamp DESC, id DESC"),
    ("observations_get_many", "observations", "start_time DESC, id DESC"),
    ("sessions_list", "sessions", "created_at DESC, id DESC"),
    ("score_v2_get", "scores", "timestamp DESC, id DESC"),
])
@pytest.mark.parametrize("limit", [1, 3, 50])
def test_walk_all_pages(mini, op, table, order, limit):
    items, metas = walk(mini, op, limit)
    expected = [r["id"] for r in mini.fetch(f"SELECT id FROM {table} ORDER BY {order}")]
    assert [i["id"] for i in items] == expected
    total = mini.count(table)
    assert all(m["totalItems"] == total and m["limit"] == limit for m in metas)
    assert metas[0]["totalPages"] == -(-total // limit)
    assert len(metas) == max(1, metas[0]["totalPages"])


# -------------------------------------------------------------------- traces

def ids(out) -> list[str]:
    return [d["id"] for d in out["data"]]


@pytest.mark.parametrize("query,expected", [
    ({"userId": "u1"}, ["t05", "t03", "t01"]),
    ({"name": "rag"}, ["t06", "t04", "t02", "t00"]),
    ({"sessionId": "s2"}, ["t05", "t02"]),
    ({"version": "v0"}, ["t06", "t03", "t00"]),
    ({"release": "r0"}, ["t06", "t04", "t02", "t00"]),
    ({"fromTimestamp": "2026-10-30T12:04:00Z"}, ["t06", "t05", "t04"]),
    ({"toTimestamp": "2026-10-30T14:02:00+02:00"}, ["t01", "t00"]),
    ([("tags", "a"), ("tags", "b")], ["t05", "t03", "t01"]),
    ([("environment", "dev")], ["t06", "t03", "t00"]),
    ([("environment", "dev"), ("environment", "production")], ["t06", "t05", "t04", "t03", "t02", "t01", "t00"]),
    ({"orderBy": "timestamp.asc"}, ["t00", "t01", "t02", "t03", "t04", "t05", "t06"]),
    ({"orderBy": "userId.asc"}, ["t06", "t04", "t02", "t00", "t05", "t03", "t01"]),
    ({"orderBy": "bookmarked.desc", "limit": "2"}, ["t02", "t06"]),
])
def test_trace_list_filters(mini, query, expected):
    assert ids(call(mini, "trace_list", query)) == expected


def test_trace_list_bad_order_by(mini):
    p = problem(mini, "trace_list", {"orderBy": "cost.desc"})
    assert p.body["error"][0]["path"] == ["orderBy"]
    assert p.body["error"][0]["message"] == (
        "Invalid orderBy 'cost.desc': expected <column>.<asc|desc> with column one of "
        "id, timestamp, name, userId, release, version, public, bookmarked, sessionId")


def test_trace_aggregates_and_field_groups(mini):
    t = call(mini, "trace_list", {"limit": "1"})["data"][0]
    assert t["id"] == "t06"
    assert t["latency"] == 2.5 and t["totalCost"] == 0.3
    assert t["observations"] == ["t06-o0", "t06-o1"] and t["scores"] == ["sc06"]
    assert t["htmlPath"] == "/project/proj-1/traces/t06"
    assert t["input"] == "in" and t["output"] == {"o": 2} and t["metadata"] == {"k": 1}
    core = call(mini, "trace_list", {"limit": "1", "fields": "core"})["data"][0]
    assert core["latency"] == -1 and core["totalCost"] == -1
    assert core["observations"] == [] and core["scores"] == []
    # strict APITrace (web/src/features/public-api/types/traces.ts): io keys always there, null/{} without io
    assert (core["input"], core["output"], core["metadata"], core["externalId"]) == (None, None, {}, None)
    assert call(mini, "trace_list", {"limit": "1", "fields": "bogus"})["data"][0] == t
    some = call(mini, "trace_list", {"limit": "1", "fields": "metrics,bogus"})["data"][0]
    assert some["latency"] == 2.5 and some["observations"] == [] and some["input"] is None


def test_trace_get(mini):
    t = call(mini, "trace_get", traceId="t01")
    assert [o["id"] for o in t["observations"]] == ["t01-o0", "t01-o1"]
    assert [s["id"] for s in t["scores"]] == ["sc01"]
    assert t["scores"][0]["observationId"] == "t01-o1"
    assert t["latency"] == 2.5
    p = problem(mini, "trace_get", traceId="nope")
    assert (p.status, p.body) == (404, {"message": "Trace not found within authorized project",
                                        "error": "LangfuseNotFoundError"})


# -------------------------------------------------------------------- observations v1

def test_observation_json(mini):
    o = call(mini, "observations_get", observationId="t03-o1")
    assert o["latency"] == 1.5 and o["timeToFirstToken"] == 0.2
    assert o["inputPrice"] == 0.000001 and o["outputPrice"] == 0.000002 and o["totalPrice"] is None
    # strict APIObservation / transformDbToApiObservation (web/src/features/public-api/types/observations.ts)
    assert o["usage"] == {"input": 10, "output": 5, "total": 15, "unit": "TOKENS"}
    assert (o["unit"], o["promptTokens"], o["completionTokens"], o["totalTokens"]) == ("TOKENS", 10, 5, 15)
    assert (o["calculatedInputCost"], o["calculatedOutputCost"], o["calculatedTotalCost"]) == (0.1, 0.2, 0.3)
    assert not {"inputCost", "outputCost", "totalCost", "inputUsage", "outputUsage", "totalUsage"} & set(o)
    assert o["usageDetails"] == {"input": 10, "output": 5, "total": 15}
    assert o["costDetails"] == {"input": 0.1, "output": 0.2, "total": 0.3}
    assert o["model"] == "gpt-x" and o["modelId"] == "m1" and o["level"] == "ERROR"
    assert o["input"] == {"q": "hi"} and o["startTime"] == "2026-10-30T12:03:01.000Z"
    span = call(mini, "observations_get", observationId="t03-o0")
    assert span["timeToFirstToken"] is None and span["usage"] == {"unit": "TOKENS", "input": 0, "output": 0, "total": 0}
    # reduceUsageOrCostDetails: total cost is 0 without a "total" key, input/output costs null
    assert (span["calculatedInputCost"], span["calculatedOutputCost"], span["calculatedTotalCost"]) == (None, None, 0)
    p = problem(mini, "observations_get", observationId="x")
    assert p.status == 404 and p.body["error"] == "LangfuseNotFoundError"


@pytest.mark.parametrize("query,expected", [
    ({"traceId": "t02"}, ["t02-o1", "t02-o0"]),
    ({"name": "op1", "userId": "u1", "limit": "2"}, ["t05-o1", "t03-o1"]),
    ({"type": "GENERATION", "level": "ERROR"}, ["t03-o1"]),
    ({"parentObservationId": "t04-o0"}, ["t04-o1"]),
    ({"version": "ov1", "fromStartTime": "2026-10-30T12:05:00Z"}, ["t06-o1", "t05-o1"]),
    ({"toStartTime": "2026-10-30T12:00:01Z"}, ["t00-o0"]),
    ([("environment", "dev"), ("type", "SPAN")], ["t06-o0", "t03-o0", "t00-o0"]),
])
def test_observation_filters(mini, query, expected):
    assert ids(call(mini, "observations_get_many", query)) == expected


def test_observation_bad_enum(mini):
    p = problem(mini, "observations_get_many", {"level": "LOUD"})
    assert p.body["error"][0]["path"] == ["level"]
    assert p.body["error"][0]["message"] == (
        'Invalid option: expected one of "DEBUG"|"DEFAULT"|"WARNING"|"ERROR"')


# -------------------------------------------------------------------- sessions

def test_sessions(mini):
    assert ids(call(mini, "sessions_list", [("environment", "dev")])) == ["s0"]
    assert ids(call(mini, "sessions_list", {"fromTimestamp": "2026-10-30T12:01:00.000Z"})) == ["s2", "s1"]
    assert ids(call(mini, "sessions_list", {"toTimestamp": "2026-10-30T12:01:00.000Z"})) == ["s0"]
    s = call(mini, "sessions_get", sessionId="s1")
    assert s["environment"] == "production" and [t["id"] for t in s["traces"]] == ["t01", "t04"]
    p = problem(mini, "sessions_get", sessionId="s9")
    assert p.status == 404 and p.body["message"] == "Session not found within authorized project"


def test_health_and_projects(mini):
    assert call(mini, "health_health")["status"] == "OK"
    assert call(mini, "projects_get")["data"][0]["id"] == "proj-1"


# -------------------------------------------------------------------- filter=

def fjson(*conds) -> str:
    return json.dumps(list(conds))


def test_filter_param_overrides_only_its_own_field(mini):
    u0 = {"type": "stringOptions", "column": "userId", "operator": "any of", "value": ["u0"]}
    # the filter's userId wins over userId=u1; name=rag still applies
    assert ids(call(mini, "trace_list", {"filter": fjson(u0), "userId": "u1"})) == ["t06", "t04", "t02", "t00"]
    assert ids(call(mini, "trace_list", {"filter": fjson(u0), "userId": "u1", "version": "v0"})) == ["t06", "t00"]
    slow = {"type": "number", "column": "Latency (s)", "operator": ">=", "value": 2.5}
    assert len(ids(call(mini, "trace_list", {"filter": fjson(slow)}))) == 7
    errors = {"type": "number", "column": "errorCount", "operator": ">", "value": 0}
    assert ids(call(mini, "trace_list", {"filter": fjson(errors)})) == ["t03"]
    ts = {"type": "datetime", "column": "timestamp", "operator": "<", "value": "2026-10-30T12:02:00Z"}
    assert ids(call(mini, "trace_list", {"filter": fjson(ts), "fromTimestamp": "2026-10-30T12:05:00Z"})) == [
        "t01", "t00"]


def test_filter_param_observations_and_scores(mini):
    gen = {"type": "stringOptions", "column": "type", "operator": "any of", "value": ["GENERATION"]}
    assert ids(call(mini, "observations_get_many", {"filter": fjson(gen), "type": "SPAN", "traceId": "t02"})) == [
        "t02-o1"]
    meta = {"type": "stringObject", "column": "metadata", "key": "m", "operator": "=", "value": "1"}
    assert ids(call(mini, "score_v2_get", {"filter": fjson(meta), "name": "quality"})) == ["sc05", "sc03", "sc01"]
    val = {"type": "number", "column": "value", "operator": ">", "value": 0.7}
    assert ids(call(mini, "score_v2_get", {"filter": fjson(val), "operator": "<", "value": "0"})) == [
        "sc05", "sc04", "sc03", "sc00"]


@pytest.mark.parametrize("raw,status,message", [
    ("not json", 400, "Invalid request data"),
    (fjson({"type": "number", "column": "nope", "operator": ">", "value": 1}), 400,
     "Column nope does not match a UI / CH table mapping."),
])
def test_filter_param_errors(mini, raw, status, message):
    p = problem(mini, "trace_list", {"filter": raw})
    assert (p.status, p.body["message"]) == (status, message)


def test_all_paging_issues_reported_together(mini):
    p = problem(mini, "trace_list", {"page": "-3", "limit": "7.5", "toTimestamp": "yesterday"})
    assert p.body["error"] == [
        {"code": "too_small", "path": ["page"], "message": "Too small: expected number to be >0",
         "origin": "number", "minimum": 0, "inclusive": False},
        {"code": "invalid_type", "path": ["limit"], "message": "Invalid input: expected int, received number",
         "expected": "int", "format": "safeint"},
        {"code": "invalid_format", "path": ["toTimestamp"], "message": "Invalid ISO datetime",
         "format": "datetime", "origin": "string"},
    ]


def test_routes_match_the_seed_catalogue(shared):
    import csv

    with open(Path(shared) / "reference" / "seed-operations.tsv") as fh:
        seed = {(r["method"], r["path"]): r["operation"] for r in csv.DictReader(fh, delimiter="\t")}
    extra = {("GET", "/api/public/v3/scores"): "scores_v3_get_many",
             ("GET", "/api/public/metrics/daily"): "metrics_daily"}
    keys = [(m, p) for m, p, _, _ in resources.ROUTES]
    assert len(keys) == len(set(keys)) == 53          # 52 + POST /api/public/ingestion
    for method, path, op, handler in resources.ROUTES:
        assert {**seed, **extra}[(method, path)] == op
        assert callable(handler)
    # v2 observations and both metrics endpoints belong to other modules
    assert not {("GET", "/api/public/v2/observations"), ("GET", "/api/public/metrics"),
                ("GET", "/api/public/v2/metrics")} & set(keys)
