"""lfnb.local answers as Langfuse does on the ten points of issue #11, over real HTTP, in both generations.

Each test states Langfuse's behaviour and the file/function of Langfuse's source
(``langfuse/langfuse`` at the commit the facts sheet names) it comes from. ``server`` runs
each test on a v4 (events_only) and a v3 server where the point applies to both.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pandas as pd
import pytest
import requests
import xxhash

import lfnb
from lfnb.local import serve
from lfnb.local.store import Store

pytestmark = pytest.mark.integration

EVENTS_ONLY = ("This endpoint is not available on deployments running in Langfuse v4 events_only mode. "
               "Learn more about Langfuse v4 at: https://langfuse.com/docs/v4")


@pytest.fixture(scope="module", params=["v4", "v3"])
def server(request):
    return request.getfixturevalue("local_server" if request.param == "v4" else "local_server_v3")


def get(server, path, params=None, method="GET"):
    return requests.request(method, server.base_url + path, params=params,
                            auth=(server.public_key, server.secret_key), timeout=60)


def ok(server, path, params=None):
    r = get(server, path, params)
    assert r.status_code == 200, r.text[:300]
    return r.json()


def v2_rows(server, params):
    """Every row over all cursor pages."""
    rows, cursor = [], None
    while True:
        page = ok(server, "/api/public/v2/observations", {"limit": "1000", **params, **({"cursor": cursor} if cursor else {})})
        rows += page["data"]
        cursor = page["meta"].get("cursor")
        if cursor is None:
            return rows


# ------------------------------------------------------------------ 1. timeToFirstToken

def test_1_ttft_null_unless_time_or_metrics(local_server):
    # observations_converters.ts convertEventsObservation: timeToFirstToken is computed only when
    # completion_start_time was selected (group "time"); events.ts enrichObservationsWithModelData
    # fills it from the metrics SQL (group "metrics"); defaults are core,basic -> null on every row
    default = v2_rows(local_server, {})
    assert default and all("timeToFirstToken" in r and r["timeToFirstToken"] is None for r in default)
    assert any(r["latency"] is not None for r in default)          # latency comes from core's times
    expected = {r["id"]: r for r in v2_rows(local_server, {"fields": "core,time"})}
    assert any(r["timeToFirstToken"] is not None for r in expected.values())
    metrics = v2_rows(local_server, {"fields": "core,metrics"})
    assert {r["id"]: r["timeToFirstToken"] for r in metrics} == {i: r["timeToFirstToken"] for i, r in expected.items()}


def test_1_client_frame_has_ttft_in_both_generations(server):
    # the frame always has a timeToFirstToken column, so the client asks for what fills it
    lf = lfnb.connect(server.base_url, server.public_key, server.secret_key)
    try:
        df = lf.read_observations(fields=("core",), progress=False)
    finally:
        lf.close()
    n = server.store.fetch("SELECT count(*) AS n FROM observations WHERE completion_start_time IS NOT NULL")[0]["n"]
    assert n > 0 and df["timeToFirstToken"].notna().sum() == n


# ------------------------------------------------------------------ 2. v3 scores

def test_2_v3_scores_core_group_dates_user_filters_and_cursor(server):
    # endpoints.ts GetScoresQueryV3: fields = commaSeparatedEnumArray(["core","details","subject",
    # "annotation"], ["core"]); fromTimestamp/toTimestamp z.coerce.date(); userId/traceTags known and
    # refused by the superRefine of web/src/pages/api/public/v3/scores/index.ts (empty values ignored)
    assert ok(server, "/api/public/v3/scores", {"fields": "core"}) == ok(server, "/api/public/v3/scores")
    by_date = ok(server, "/api/public/v3/scores", {"fromTimestamp": "2026-10-30", "toTimestamp": "2026-10-31",
                                                  "limit": "100"})["data"]
    assert by_date and all("2026-10-30T" <= r["timestamp"] < "2026-10-31T" for r in by_date)
    assert get(server, "/api/public/v3/scores", {"userId": "", "traceTags": ""}).status_code == 200
    r = get(server, "/api/public/v3/scores", {"userId": "u", "traceTags": "t"})
    assert (r.status_code, r.json()) == (400, {"message": "Invalid request data", "error": [
        {"code": "custom", "path": [], "message":
         "userId filter requires a trace JOIN and is not supported in v3 \u2014 use v2 or omit this filter"},
        {"code": "custom", "path": [], "message":
         "traceTags filter requires a trace JOIN and is not supported in v3 \u2014 use v2 or omit this filter"}]})
    # scores.ts encodeCursorV3: base64url of {"v":1,"lastTimestamp": toISOString(),"lastId"}
    first = ok(server, "/api/public/v3/scores", {"limit": "7"})
    last = first["data"][-1]
    text = json.dumps({"v": 1, "lastTimestamp": last["timestamp"], "lastId": last["id"]}, separators=(",", ":"))
    cursor = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    assert first["meta"] == {"limit": 7, "cursor": cursor}
    second = ok(server, "/api/public/v3/scores", {"limit": "7", "cursor": cursor})
    everything = ok(server, "/api/public/v3/scores", {"limit": "14"})["data"]
    assert [r["id"] for r in first["data"] + second["data"]] == [r["id"] for r in everything]


# ------------------------------------------------------------------ 3. events_only gate, experiments

GATED = [("GET", "/api/public/traces"), ("GET", "/api/public/observations/o"), ("GET", "/api/public/sessions"),
         ("GET", "/api/public/v2/scores"), ("GET", "/api/public/metrics"), ("GET", "/api/public/metrics/daily"),
         ("GET", "/api/public/dataset-run-items"), ("GET", "/api/public/datasets/d/runs"),
         ("GET", "/api/public/datasets/d/runs/r"), ("DELETE", "/api/public/datasets/d/runs/r")]


@pytest.mark.parametrize("method,path", GATED)
def test_3_events_only_gate_runs_before_auth_and_validation(local_server, method, path):
    # createAuthedProjectAPIRoute.ts: `if (routeConfig.rejectInEventsOnlyMode && ... "events_only")` is the
    # handler's first statement, before verifyAuth, rate limiting and querySchema.parse
    r = requests.request(method, local_server.base_url + path, params={"page": "0", "limit": "x"}, timeout=10)
    assert (r.status_code, r.json()) == (404, {"message": EVENTS_ONLY})


def test_3_v4_only_gates_run_after_validation_on_v3(local_server_v3):
    # v2/observations/index.ts, v2/metrics.ts, experiments/index.ts throw LangfuseNotFoundError inside fn,
    # i.e. after zod parsing: an invalid request to them is a 400 on a v3 server
    r = get(local_server_v3, "/api/public/v2/observations", {"limit": "5000"})
    assert r.status_code == 400 and r.json()["error"][0]["message"] == "Too big: expected number to be <=1000"
    r = get(local_server_v3, "/api/public/experiments")
    assert r.status_code == 400 and r.json()["error"][0]["path"] == ["fromStartTime"]
    r = get(local_server_v3, "/api/public/v2/metrics", {"query": "{}"})
    assert r.status_code == 400 and r.json()["message"] == "Invalid request data"


def test_3_dataset_runs_on_v4_come_from_experiments(local_server, local_server_v3):
    # a dataset run is an experiment on v4 (GET /api/public/experiments, /experiment-items); both servers
    # hold the same data, so the client's frames name the same runs and items in both generations
    frames = {}
    for srv in (local_server, local_server_v3):
        lf = lfnb.connect(srv.base_url, srv.public_key, srv.secret_key)
        try:
            runs = pd.concat([lf.read_dataset_runs(n, progress=False) for n in lf.read_datasets()["name"]])
            items = pd.concat([lf.read_dataset_run_items(r.datasetId, run_name=r.name, progress=False)
                               for r in runs.itertuples()])
        finally:
            lf.close()
        frames[srv.generation] = (runs, items)
    (runs4, items4), (runs3, items3) = frames["v4"], frames["v3"]
    assert len(runs4) == len(runs3) > 0 and len(items4) == len(items3) > 0
    cols = ["id", "name", "datasetId", "datasetName", "description"]
    assert runs4.sort_values("id")[cols].reset_index(drop=True).equals(runs3.sort_values("id")[cols].reset_index(drop=True))
    cols = ["id", "datasetRunId", "datasetRunName", "datasetItemId", "traceId"]
    assert items4.sort_values("id")[cols].reset_index(drop=True).equals(
        items3.sort_values("id")[cols].reset_index(drop=True))
    assert runs4["createdAt"].notna().all() and runs4["updatedAt"].isna().all()


def test_3_experiments_cursor_walk(local_server):
    # experiments.ts encodeExperimentCursor: base64url {"v":1,"lastTime","lastTraceId","lastId","lastExperimentId"}
    seen, cursor = [], None
    while True:
        page = ok(local_server, "/api/public/experiment-items", {"fromStartTime": "2020-01-01T00:00:00Z", "limit": "37",
                                                                 **({"cursor": cursor} if cursor else {})})
        seen += [r["id"] for r in page["data"]]
        cursor = page["meta"].get("cursor")
        if cursor is None:
            break
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        assert list(decoded) == ["v", "lastTime", "lastTraceId", "lastId", "lastExperimentId"]
    n = local_server.store.fetch("SELECT count(*) AS n FROM dataset_run_items")[0]["n"]
    assert len(seen) == len(set(seen)) == n


# ------------------------------------------------------------------ 4. v1 shapes

def test_4_v1_traces_and_observations_have_langfuse_keys(local_server_v3):
    # web/src/features/public-api/types/traces.ts APITrace (.strict()) and convertClickhouseTracesListToDomain:
    # externalId null; without the io group input/output null and metadata {}
    trace = ok(local_server_v3, "/api/public/traces", {"fields": "core", "limit": "1"})["data"][0]
    assert (trace["externalId"], trace["input"], trace["output"], trace["metadata"]) == (None, None, None, {})
    # observations.ts transformDbToApiObservation: strict APIObservation, legacy token fields, no v2 names
    obs = ok(local_server_v3, "/api/public/observations", {"type": "GENERATION", "limit": "5"})["data"]
    for o in obs:
        assert {"unit", "promptTokens", "completionTokens", "totalTokens", "usagePricingTierName",
                "usagePricingTierId"} <= set(o)
        assert not {"inputCost", "outputCost", "totalCost", "inputUsage", "outputUsage", "totalUsage"} & set(o)
        assert o["usage"] == {"unit": "TOKENS", "input": o["promptTokens"], "output": o["completionTokens"],
                              "total": o["totalTokens"]}


# ------------------------------------------------------------------ 5. v3 scores on v3

def test_5_v3_server_serves_v3_scores_with_the_v2_rows(local_server_v3):
    # d32b8521a3 "release v3 scores API" (first tag v3.180.0) removed LANGFUSE_ENABLE_SCORES_V3_API
    v3 = ok(local_server_v3, "/api/public/v3/scores", {"limit": "100"})["data"]
    v2 = ok(local_server_v3, "/api/public/v2/scores", {"limit": "100"})["data"]
    assert [r["id"] for r in v3] == [r["id"] for r in v2]


# ------------------------------------------------------------------ 6. comma lists

def test_6_v1_comma_lists(local_server_v3):
    # public-api-filter-builder.ts convertApiProvidedFilterToClickhouseFilter: one value is split on ","
    # (environment: any of; traces tags: all of); a repeated parameter is not split
    def total(path, params):
        params = list(params.items()) if isinstance(params, dict) else params
        return ok(local_server_v3, path, [*params, ("limit", "1")])["meta"]["totalItems"]

    for path in ("/api/public/traces", "/api/public/observations"):
        prod, stag = total(path, {"environment": "production"}), total(path, {"environment": "staging"})
        assert prod and stag
        assert total(path, {"environment": "production,staging"}) == prod + stag
        assert total(path, [("environment", "production,staging"), ("environment", "x")]) == 0
        assert total(path, {"environment": ""}) == 0           # [""] matches nothing
    tagged = local_server_v3.store.fetch("SELECT tags FROM traces WHERE len(tags) >= 2 LIMIT 1")[0]["tags"]
    both = total("/api/public/traces", {"tags": f"{tagged[0]},{tagged[1]}"})
    assert 0 < both <= total("/api/public/traces", {"tags": tagged[0]})
    assert both == total("/api/public/traces", [("tags", tagged[0]), ("tags", tagged[1])])
    # sessions/index.ts: one value compares literally
    assert total("/api/public/sessions", {"environment": "production,staging"}) == 0


def test_6_v2_observations_environment_split(local_server):
    # createPublicApiObservationsColumnMapping serves "events_proto" too: environment splits the same way
    prod = len(v2_rows(local_server, {"environment": "production", "fields": "core"}))
    stag = len(v2_rows(local_server, {"environment": "staging", "fields": "core"}))
    assert len(v2_rows(local_server, {"environment": "production,staging", "fields": "core"})) == prod + stag


# ------------------------------------------------------------------ 7. parentObservationId=

def test_7_empty_parent_observation_id_selects_roots(local_server):
    # GetObservationsV2Query.parentObservationId = z.string().nullish() keeps "", mapped to
    # parent_span_id = '' (observations-api-v2.servertest.ts: "parentObservationId=")
    roots = v2_rows(local_server, {"parentObservationId": "", "fields": "core,basic"})
    n = local_server.store.fetch("SELECT count(*) AS n FROM observations WHERE parent_observation_id IS NULL")[0]["n"]
    assert len(roots) == n > 0 and all(r["parentObservationId"] is None and r["isRootObservation"] for r in roots)


# ------------------------------------------------------------------ 8. v2 scores fields

def test_8_v2_scores_fields(local_server_v3):
    # web/src/pages/api/public/v2/scores/index.ts: "score" must be requested; fields=score -> trace: null
    for fields in ("trace", "foo"):
        r = get(local_server_v3, "/api/public/v2/scores", {"fields": fields})
        assert (r.status_code, r.json()) == (400, {"message": "Scores needs to be selected always.",
                                                   "error": "InvalidRequestError"})
    rows = ok(local_server_v3, "/api/public/v2/scores", {"fields": "score", "limit": "20"})["data"]
    assert rows and all(r["trace"] is None for r in rows)
    r = get(local_server_v3, "/api/public/v2/scores", {"fields": "score", "traceTags": "a"})
    assert r.status_code == 400 and r.json()["message"] == (
        "Cannot filter by trace properties (userId, traceTags) when 'trace' field is not included. "
        "Please add 'trace' to the fields parameter or remove trace filters.")


# ------------------------------------------------------------------ 9. message texts

def test_9_io_filter_type_message_first(local_server):
    # events.ts validateInputOutputFilterTypes runs first in buildObservationsQueryComponents
    filt = [{"type": "null", "column": "output", "operator": "is null", "value": ""},
            {"type": "string", "column": "nope", "operator": "=", "value": "x"}]
    r = get(local_server, "/api/public/v2/observations", {"filter": json.dumps(filt)})
    assert (r.status_code, r.json()) == (400, {"message": "Input/output filters only support filter type `string`.",
                                               "error": "InvalidRequestError"})


def test_9_time_dimension_filter_message(server):
    # queryBuilder.ts validateFilters: "... is not supported for time dimension '<view.timeDimension>'"
    path = "/api/public/v2/metrics" if server.generation == "v4" else "/api/public/metrics"
    query = {"view": "observations", "metrics": [{"measure": "count", "aggregation": "count"}],
             "filters": [{"column": "start_time", "operator": "=", "value": "x", "type": "string"}],
             "fromTimestamp": "2026-10-01T00:00:00Z", "toTimestamp": "2026-11-01T00:00:00Z"}
    r = get(server, path, {"query": json.dumps(query)})
    assert (r.status_code, r.json()) == (400, {"error": "InvalidRequestError", "message": (
        "Invalid filter for field 'start_time': Filter type 'string' is not supported for time dimension "
        "'start_time'. Expected 'datetime'.")})
    query["filters"][0].update(type="null", operator="is not null", value="")   # null filters pass the check
    assert get(server, path, {"query": json.dumps(query)}).status_code == 200


def test_9_method_not_allowed(server):
    # withMiddlewares.ts + MethodNotAllowedError.ts
    r = get(server, "/api/public/v2/datasets", method="PATCH")
    assert (r.status_code, r.json()) == (405, {"message": "Method not allowed", "error": "MethodNotAllowedError"})


# ------------------------------------------------------------------ 10. metrics v2 totalCost, traceName

def _metrics(server, path, query):
    return ok(server, path, {"query": json.dumps(query)})["data"]


def test_10_v2_total_cost_counts_missing_cost_as_zero(server):
    # v2: events_core.total_cost ALIAS cost_details['total'] (0040_create_events_core.up.sql) read by
    # dataModel.ts eventsObservationsView.measures.totalCost -> 0 when missing; v1: Nullable -> NULL
    q = {"view": "observations", "dimensions": [{"field": "environment"}],
         "metrics": [{"measure": "totalCost", "aggregation": "avg"}],
         "fromTimestamp": "2026-01-01T00:00:00Z", "toTimestamp": "2026-12-01T00:00:00Z"}
    expr = "coalesce(total_cost, 0)" if server.generation == "v4" else "total_cost"
    expected = {r["environment"]: r["v"] for r in server.store.fetch(
        f"SELECT environment, avg({expr}) AS v FROM observations GROUP BY 1")}
    if server.generation == "v4":
        got = _metrics(server, "/api/public/v2/metrics", {**q, "config": {"row_limit": 100}})
    else:
        got = _metrics(server, "/api/public/metrics", q)
    assert {r["environment"]: pytest.approx(r["avg_totalCost"]) for r in got} == expected


def test_10_v2_trace_name_is_null_when_empty_and_falls_back_to_root_name():
    # eventsTable.ts eventsTableTraceNameSqlForAlias: COALESCE(nullIf(trace_name,''), root ? nullIf(name,'') : NULL)
    store = Store()
    t0 = datetime(2026, 10, 31, 12, tzinfo=UTC).replace(tzinfo=None)
    rows = [("root", "tr", None, "agent-run", ""), ("child", "tr", "root", "llm", ""),
            ("named", "tr2", None, "x", "checkout")]
    with store.write() as cur:
        cur.executemany("INSERT INTO observations (id, trace_id, trace_id_hash, project_id, type, start_time, level, "
                        "environment, parent_observation_id, name, trace_name) VALUES (?, ?, ?, 'p', 'SPAN', ?, "
                        "'DEFAULT', 'default', ?, ?, ?)",
                        [(i, t, xxhash.xxh32_intdigest(t.encode()), t0, p, n, tn) for i, t, p, n, tn in rows])
    with serve(port=0, generation="v4", store=store) as srv:
        got = _metrics(srv, "/api/public/v2/metrics", {
            "view": "observations", "dimensions": [{"field": "traceName"}],
            "metrics": [{"measure": "count", "aggregation": "count"}],
            "fromTimestamp": "2026-10-31T00:00:00Z", "toTimestamp": "2026-11-01T00:00:00Z"})
    store.close()
    assert sorted((r["traceName"] or "", r["count_count"]) for r in got) == [("", 1), ("agent-run", 1), ("checkout", 1)]
    assert any(r["traceName"] is None for r in got)
