"""GET /api/public/v2/observations handler, called with ApiRequest objects (no HTTP).

Expected values come from the store read independently (pandas, plain SQL, xxhash),
never from the handler.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
import xxhash

from lfnb.local.handlers import ApiProblem, ApiRequest
from lfnb.local.observations_v2 import PARSE_IO_MESSAGE, get_observations_v2
from lfnb.local.store import Store

PATH = "/api/public/v2/observations"
CORE = ["id", "traceId", "startTime", "endTime", "projectId", "parentObservationId", "type"]
BASIC = ["name", "level", "statusMessage", "version", "environment", "bookmarked", "public", "userId",
         "sessionId", "isRootObservation"]
ALWAYS = ["latency", "timeToFirstToken", "modelId", "inputPrice", "outputPrice", "totalPrice"]
GROUP_KEYS = {
    "time": ["completionStartTime", "createdAt", "updatedAt"],
    "io": ["input", "output"],
    "metadata": ["metadata"],
    "model": ["model", "internalModelId", "modelParameters"],
    "usage": ["usageDetails", "costDetails", "totalCost", "usagePricingTierName", "usagePricingTierId",
              "inputUsage", "outputUsage", "totalUsage", "inputCost", "outputCost"],
    "prompt": ["promptId", "promptName", "promptVersion"],
    "metrics": [],
    "trace_context": ["tags", "release", "traceName"],
}
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def call(store, params=()):
    """(status, body) of one request; ``params`` is a list of (name, value) pairs."""
    req = ApiRequest("GET", PATH, {}, list(params))
    try:
        reply = get_observations_v2(store, req)
    except ApiProblem as problem:
        return problem.status, problem.body
    return reply.status, json.loads(reply.raw_json)


def walk(store, limit, params=()):
    """Every row over all pages, plus the number of pages."""
    rows, cursor, pages = [], None, 0
    while True:
        q = [("limit", str(limit)), *params] + ([("cursor", cursor)] if cursor else [])
        status, body = call(store, q)
        assert status == 200, body
        pages += 1
        rows.extend(body["data"])
        if "cursor" not in body["meta"]:
            assert body["meta"] == {}
            return rows, pages
        cursor = body["meta"]["cursor"]
        assert pages < 5000


@pytest.fixture(scope="module")
def obs(store_small) -> pd.DataFrame:
    df = pd.DataFrame(store_small.fetch("SELECT * FROM observations"))
    df["meta"] = df["metadata"].map(lambda m: json.loads(m) if m else {})
    return df


def expected_order(df: pd.DataFrame) -> list[str]:
    """start time (ms) DESC, xxHash32(trace id) DESC, id DESC — computed without the store's hash column."""
    keys = df.assign(
        ms=df["start_time"].map(lambda t: int(t.timestamp() * 1000) if t.tzinfo else
                                int(t.replace(tzinfo=UTC).timestamp() * 1000)),
        h=df["trace_id"].map(lambda t: xxhash.xxh32_intdigest(t.encode(), seed=0)))
    return list(keys.sort_values(["ms", "h", "id"], ascending=False)["id"])


# --- field groups ----------------------------------------------------------------------------

def test_default_groups_are_core_and_basic(store_small):
    status, body = call(store_small, [("limit", "5")])
    assert status == 200
    assert len(body["data"]) == 5
    for row in body["data"]:
        assert list(row) == CORE + BASIC + ALWAYS


@pytest.mark.parametrize("group", sorted(GROUP_KEYS))
def test_each_group_adds_exactly_its_fields(store_small, group):
    status, body = call(store_small, [("limit", "3"), ("fields", group)])
    assert status == 200
    assert list(body["data"][0]) == CORE + GROUP_KEYS[group] + ALWAYS


def test_unknown_groups_dropped_and_only_unknown_means_core(store_small):
    assert list(call(store_small, [("limit", "1"), ("fields", "basic,io,cost,model,metadata")])[1]["data"][0]) == (
        CORE + BASIC + GROUP_KEYS["io"] + GROUP_KEYS["metadata"] + GROUP_KEYS["model"] + ALWAYS)
    assert list(call(store_small, [("limit", "1"), ("fields", "id")])[1]["data"][0]) == CORE + ALWAYS
    assert list(call(store_small, [("limit", "1"), ("fields", "")])[1]["data"][0]) == CORE + BASIC + ALWAYS


def test_row_values_match_the_store(store_small, obs):
    fields = "core,basic,time,io,model,usage,prompt,trace_context"
    rows, _ = walk(store_small, 1000, [("fields", fields)])
    by_id = obs.set_index("id")
    prices = {m["id"]: m for m in store_small.fetch("SELECT * FROM models")}

    def iso(t):
        return None if t is None or pd.isna(t) else t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"

    def price(v):
        return None if v is None or pd.isna(v) else format(Decimal(repr(float(v))).normalize(), "f")

    def none(v):
        return None if v is None or (not isinstance(v, (list, dict)) and pd.isna(v)) else v

    assert len(rows) == len(obs)
    for row in rows:
        o = by_id.loc[row["id"]]
        assert row["traceId"] == o["trace_id"] and row["type"] == o["type"]
        assert row["startTime"] == iso(o["start_time"]) and ISO_MS.match(row["startTime"])
        assert row["endTime"] == iso(none(o["end_time"]))
        assert row["completionStartTime"] == iso(none(o["completion_start_time"]))
        assert row["parentObservationId"] == none(o["parent_observation_id"])
        assert row["isRootObservation"] is (none(o["parent_observation_id"]) is None)
        assert row["name"] == none(o["name"]) and row["level"] == o["level"]
        assert row["userId"] == none(o["user_id"]) and row["sessionId"] == none(o["session_id"])
        assert row["input"] == none(o["input"]) and row["output"] == none(o["output"])
        assert row["model"] == none(o["model"]) and row["internalModelId"] == none(o["internal_model_id"])
        assert row["modelParameters"] == (json.loads(o["model_parameters"]) if none(o["model_parameters"]) else None)
        assert row["usageDetails"] == json.loads(o["usage_details"])
        assert row["costDetails"] == json.loads(o["cost_details"])
        assert row["totalCost"] == (none(o["total_cost"]) or 0) and row["inputUsage"] == (none(o["input_usage"]) or 0)
        assert row["promptName"] == none(o["prompt_name"]) and row["promptVersion"] == none(o["prompt_version"])
        assert row["tags"] == list(o["tags"]) and row["release"] == none(o["release"])
        assert row["traceName"] == none(o["trace_name"])
        end, start, cst = none(o["end_time"]), o["start_time"], none(o["completion_start_time"])
        ms = lambda t: (t - datetime(1970, 1, 1)) // timedelta(milliseconds=1)  # noqa: E731
        assert row["latency"] == (None if end is None else (ms(end) - ms(start)) / 1000)
        assert row["timeToFirstToken"] == (None if cst is None else (ms(cst) - ms(start)) / 1000)
        mid = none(o["internal_model_id"])
        assert row["modelId"] == mid
        assert row["inputPrice"] == (price(prices[mid]["input_price"]) if mid else None)
        assert row["totalPrice"] == (price(prices[mid]["total_price"]) if mid else None)
    assert any(r["inputPrice"] for r in rows) and all(isinstance(r["inputPrice"], (str, type(None))) for r in rows)


def test_prices_and_model_id_null_without_model_group(store_small):
    rows = call(store_small, [("limit", "200"), ("fields", "core,usage")])[1]["data"]
    assert {(r["modelId"], r["inputPrice"], r["outputPrice"], r["totalPrice"]) for r in rows} == {(None,) * 4}
    assert any(r["latency"] is not None for r in rows)


def test_metadata_truncated_to_200_unless_expanded(store_small, obs):
    long_ids = {i for i, m in zip(obs["id"], obs["meta"]) if any(len(str(v)) > 200 for v in m.values())}
    assert long_ids, "the generated store has long metadata values"
    cut, _ = walk(store_small, 1000, [("fields", "metadata")])
    full, _ = walk(store_small, 1000, [("fields", "metadata"), ("expandMetadata", "unknown-key")])
    same, _ = walk(store_small, 1000, [("fields", "metadata"), ("expandMetadata", "")])
    meta = dict(zip(obs["id"], obs["meta"]))
    for row in cut:
        assert row["metadata"] == {k: v[:200] for k, v in meta[row["id"]].items()}
    assert {r["id"]: r["metadata"] for r in full} == meta
    assert same == cut


def test_trace_context_empty_strings_become_null_and_dates_have_ms():
    store = Store()
    with store.write() as cur:
        cur.execute("""INSERT INTO observations (id, trace_id, trace_id_hash, project_id, type, start_time, level,
                       environment, release, trace_name, tags, usage_details, cost_details)
                       VALUES ('o1', 't1', ?, 'p', 'SPAN', TIMESTAMP '2026-01-02 03:04:05.678912', 'DEFAULT',
                       'default', '', '', [], '{}', '{}')""", [xxhash.xxh32_intdigest(b"t1")])
    row = call(store, [("fields", "trace_context,time")])[1]["data"][0]
    assert row["release"] is None and row["traceName"] is None and row["tags"] == []
    assert row["startTime"] == "2026-01-02T03:04:05.678Z"
    assert row["endTime"] is None and row["latency"] is None and row["createdAt"] is None


# --- pagination ------------------------------------------------------------------------------

@pytest.mark.parametrize("limit", [1, 7, 50])
def test_walk_all_pages_in_exact_order(store_small, obs, limit):
    lo, hi = datetime(2026, 10, 30, 9), datetime(2026, 10, 30, 12)
    window = [("fromStartTime", lo.isoformat() + "Z"), ("toStartTime", hi.isoformat() + "+00:00")]
    params = window if limit < 50 else []
    rows, pages = walk(store_small, limit, params)
    df = obs if limit >= 50 else obs[(obs["start_time"] >= lo) & (obs["start_time"] < hi)]
    assert 40 < len(df)
    assert [r["id"] for r in rows] == expected_order(df)
    # limit + 1 rows are read, so the last page is full or short and carries no cursor
    assert pages == -(-len(df) // limit)


def test_cursor_is_standard_base64_json(store_small, obs):
    status, body = call(store_small, [("limit", "3")])
    payload = json.loads(base64.b64decode(body["meta"]["cursor"], validate=True))
    assert list(payload) == ["lastStartTimeTo", "lastTraceId", "lastId"]
    last = body["data"][-1]
    assert payload["lastId"] == last["id"] and payload["lastTraceId"] == last["traceId"]
    assert payload["lastStartTimeTo"] == last["startTime"]


def test_last_page_meta_is_empty_and_limit_zero_is_empty(store_small):
    status, body = call(store_small, [("limit", "1000"), ("traceId", "does-not-exist")])
    assert (status, body) == (200, {"data": [], "meta": {}})
    assert call(store_small, [("limit", "0")]) == (200, {"data": [], "meta": {}})
    assert len(call(store_small)[1]["data"]) == 50


# --- simple query parameters -------------------------------------------------------------------

def ids(store, params):
    return {r["id"] for r in walk(store, 1000, params)[0]}


def test_simple_parameters(store_small, obs):
    one = obs.iloc[17]
    cases = [
        ([("name", "reason")], obs["name"] == "reason"),
        ([("type", "GENERATION")], obs["type"] == "GENERATION"),
        ([("level", "WARNING")], obs["level"] == "WARNING"),
        ([("userId", "user-00002")], obs["user_id"] == "user-00002"),
        ([("sessionId", one["session_id"])], obs["session_id"] == one["session_id"]),
        ([("traceId", one["trace_id"])], obs["trace_id"] == one["trace_id"]),
        ([("version", "v2")], obs["version"] == "v2"),
        ([("parentObservationId", one["id"])], obs["parent_observation_id"] == one["id"]),
        ([("isRootObservation", "true")], obs["parent_observation_id"].isna()),
        ([("isRootObservation", "false")], obs["parent_observation_id"].notna()),
        ([("environment", "staging"), ("environment", "development")],
         obs["environment"].isin(["staging", "development"])),
        ([("environment", "staging,development")], obs["environment"].isin(["staging", "development"])),
        ([("fromStartTime", "2026-10-30T00:00:00Z"), ("toStartTime", "2026-10-31T02:00:00+02:00")],
         (obs["start_time"] >= datetime(2026, 10, 30)) & (obs["start_time"] < datetime(2026, 10, 31))),
    ]
    for params, mask in cases:
        expected = set(obs.loc[mask.fillna(False).astype(bool), "id"])
        assert expected, params
        assert ids(store_small, params) == expected, params


def test_advanced_filter_replaces_only_the_same_field(store_small, obs):
    f = json.dumps([{"type": "stringOptions", "column": "name", "operator": "any of", "value": ["reason"]}])
    # name= is overridden by the filter on name; type= still applies
    got = ids(store_small, [("filter", f), ("name", "chat-turn"), ("type", "GENERATION")])
    assert got == set(obs.loc[(obs["name"] == "reason") & (obs["type"] == "GENERATION"), "id"]) != set()


# --- 400s ------------------------------------------------------------------------------------

@pytest.mark.parametrize("params, issue", [
    ([("limit", "1001")], {"code": "too_big", "origin": "number", "maximum": 1000, "inclusive": True,
                           "path": ["limit"], "message": "Too big: expected number to be <=1000"}),
    ([("limit", "-1")], {"code": "too_small", "origin": "number", "minimum": 0, "inclusive": True,
                         "path": ["limit"], "message": "Too small: expected number to be >=0"}),
    ([("limit", "abc")], {"code": "invalid_type", "expected": "number", "path": ["limit"],
                          "message": "Invalid input: expected number, received NaN"}),
    ([("parseIoAsJson", "true")], {"code": "custom", "path": ["parseIoAsJson"], "message": PARSE_IO_MESSAGE}),
    ([("type", "FOO")], {"code": "invalid_value", "values": ["GENERATION", "SPAN", "EVENT", "AGENT", "TOOL",
                                                            "CHAIN", "RETRIEVER", "EVALUATOR", "EMBEDDING",
                                                            "GUARDRAIL"], "path": ["type"],
                         "message": 'Invalid option: expected one of "GENERATION"|"SPAN"|"EVENT"|"AGENT"|"TOOL"|'
                                    '"CHAIN"|"RETRIEVER"|"EVALUATOR"|"EMBEDDING"|"GUARDRAIL"'}),
    ([("fromStartTime", "2026-10-30T00:00:00")], {"code": "invalid_format", "format": "datetime",
                                                  "path": ["fromStartTime"], "message": "Invalid ISO datetime"}),
])
def test_invalid_request_data(store_small, params, issue):
    assert call(store_small, params) == (400, {"message": "Invalid request data", "error": [issue]})


def test_parse_io_as_json_message_and_false_is_fine(store_small):
    assert PARSE_IO_MESSAGE == (
        "parseIoAsJson=true is no longer supported on the v2 observations endpoint. Input/output fields are "
        "always returned as raw strings. Remove the parseIoAsJson parameter or set it to false.")
    assert call(store_small, [("parseIoAsJson", "false"), ("limit", "1")])[0] == 200


@pytest.mark.parametrize("cursor", ["not-base64!!", base64.b64encode(b"{}").decode(),
                                    base64.b64encode(b'{"lastStartTimeTo": "yesterday", "lastTraceId": "", '
                                                     b'"lastId": "x"}').decode(), "eyJh"])
def test_invalid_cursor(store_small, cursor):
    status, body = call(store_small, [("cursor", cursor)])
    assert status == 400 and body["error"] == "InvalidRequestError"
    assert "Invalid cursor format" in body["message"]


@pytest.mark.parametrize("conds, message", [
    ([{"type": "string", "column": "doesNotExist", "operator": "=", "value": "x"}],
     "Column doesNotExist does not match a UI / CH table mapping."),
    ([{"type": "string", "column": "metadata", "operator": "=", "value": "x"}],
     "Invalid filter type 'string' for column 'metadata'. Expected filter type 'stringObject'."),
    ([{"type": "string", "column": "input", "operator": "contains", "value": "x"}],
     "Input/output filters require at least one `matches` or `=` operator."),
    ([{"type": "string", "column": "name", "operator": "matches", "value": "hello"}],
     "`matches` is only supported for input, output, and metadata filters."),
    ([{"type": "string", "column": "input", "operator": "matches", "value": "%%"}],
     "`matches` requires at least one search token."),
])
def test_filter_errors_use_the_servers_words(store_small, conds, message):
    assert call(store_small, [("filter", json.dumps(conds))]) == (
        400, {"message": message, "error": "InvalidRequestError"})


def test_malformed_filter_is_invalid_request_data(store_small):
    status, body = call(store_small, [("filter", "[{not json")])
    assert status == 400 and body["message"] == "Invalid request data"
    assert body["error"][0]["path"] == ["filter"]
    status, body = call(store_small, [("filter", json.dumps([{"type": "number", "column": "latency",
                                                                "operator": "~", "value": 1}]))])
    assert status == 400 and body["message"] == "Invalid request data"
    assert body["error"][0]["path"] == ["filter", 0, "operator"]
