"""Score reads of lfnb.local.resources: v2 (page-based) filters, v3 (cursor) paging and validation."""

from __future__ import annotations

import base64
import json

import pytest
from test_resources import build_mini_store, call, ids, problem

from lfnb.local.resources.scores import decode_cursor, encode_cursor


@pytest.fixture()
def mini():
    store = build_mini_store()
    yield store
    store.close()


ALL_ORDERED = ["sc06", "sc05", "sc04", "sc03", "sc-sess", "sc02", "sc01", "sc00"]


@pytest.mark.parametrize("query,expected", [
    ({}, ALL_ORDERED),
    ({"userId": "u1"}, ["sc05", "sc03", "sc01"]),
    ({"name": "tone"}, ["sc-sess"]),
    ({"source": "EVAL"}, ["sc06", "sc03", "sc00"]),
    ({"dataType": "BOOLEAN"}, ["sc06", "sc04", "sc02", "sc00"]),
    ({"operator": ">=", "value": "0.8"}, ["sc05", "sc04", "sc03", "sc00"]),
    ({"operator": "!=", "value": "0"}, ["sc05", "sc04", "sc03", "sc01", "sc00"]),
    ({"scoreIds": "sc01,sc02, sc-sess"}, ["sc-sess", "sc02", "sc01"]),
    ({"configId": "cfg-1"}, ["sc05"]),
    ({"queueId": "q-1"}, ["sc05"]),
    ({"sessionId": "s1"}, ["sc-sess"]),
    ({"traceId": "t03"}, ["sc03"]),
    ({"observationId": "t01-o1,zzz"}, ["sc01"]),
    ({"fromTimestamp": "2026-10-30T12:03:00Z", "toTimestamp": "2026-10-30T12:05:00Z"},
     ["sc04", "sc03", "sc-sess"]),
    ([("environment", "dev")], ["sc06", "sc03", "sc00"]),
    ([("traceTags", "b"), ("traceTags", "a")], ["sc05", "sc03", "sc01"]),
])
def test_v2_filters(mini, query, expected):
    assert ids(call(mini, "score_v2_get", query)) == expected


def test_v2_fields_and_values(mini):
    # web/src/pages/api/public/v2/scores/index.ts and _handleGenerateScoresForPublicApi (scores.ts):
    # fields=score gives every row `trace: null`; a score without a trace gets null too
    out = call(mini, "score_v2_get", {"fields": "score"})["data"]
    assert out and all(d["trace"] is None for d in out)
    full = {d["id"]: d for d in call(mini, "score_v2_get")["data"]}
    assert full["sc05"]["trace"] == {"userId": "u1", "tags": ["a", "b"], "environment": "production",
                                     "sessionId": "s2"}
    assert full["sc-sess"]["trace"] is None
    assert all(d["executionTraceId"] is None for d in full.values())   # APIScoreSchemaV2 requires the key
    assert (full["sc04"]["value"], full["sc04"]["stringValue"]) == (1.0, "True")
    assert (full["sc-sess"]["value"], full["sc-sess"]["stringValue"]) == (0.0, "calm")
    assert "stringValue" not in full["sc05"] and full["sc05"]["value"] == pytest.approx(1.0)
    p = problem(mini, "score_v2_get", {"fields": "score", "userId": "u1"})
    assert (p.status, p.body) == (400, {"error": "InvalidRequestError", "message": (
        "Cannot filter by trace properties (userId, traceTags) when 'trace' field is not included. "
        "Please add 'trace' to the fields parameter or remove trace filters.")})


@pytest.mark.parametrize("fields", ["trace", "foo", "trace,foo"])
def test_v2_fields_without_score_is_400(mini, fields):
    # commaSeparatedEnumArray(["score","trace"], null, {unknownValues: "filter"}), then
    # `if (!requestedFields.includes("score"))` in web/src/pages/api/public/v2/scores/index.ts
    p = problem(mini, "score_v2_get", {"fields": fields})
    assert (p.status, p.body) == (400, {"message": "Scores needs to be selected always.",
                                        "error": "InvalidRequestError"})
    assert len(call(mini, "score_v2_get", {"fields": "score,trace,invalid"})["data"]) == len(ALL_ORDERED)
    assert len(call(mini, "score_v2_get", {"fields": ""})["data"]) == len(ALL_ORDERED)


def test_v2_get_by_id(mini):
    assert call(mini, "score_v2_get_by_id", scoreId="sc05")["comment"] == "nice"
    p = problem(mini, "score_v2_get_by_id", scoreId="nope")
    assert (p.status, p.body) == (404, {"message": "Score not found within authorized project",
                                        "error": "LangfuseNotFoundError"})


def test_v2_bad_params(mini):
    p = problem(mini, "score_v2_get", {"source": "HUMAN", "operator": "~"})
    assert [(i["path"], i["message"]) for i in p.body["error"]] == [
        (["source"], 'Invalid option: expected one of "ANNOTATION"|"API"|"EVAL"'),
        (["operator"], 'Invalid option: expected one of "<"|">"|"<="|">="|"!="|"="'),
    ]


# -------------------------------------------------------------------- v3

def v3_walk(store, limit: int, query=()) -> tuple[list[dict], int]:
    items, pages, cursor = [], 0, None
    while True:
        q = [*query, ("limit", str(limit))] + ([("cursor", cursor)] if cursor else [])
        out = call(store, "scores_v3_get_many", q)
        pages += 1
        assert out["meta"]["limit"] == limit
        items += out["data"]
        cursor = out["meta"].get("cursor")
        if cursor is None:
            assert "cursor" not in out["meta"]
            return items, pages


@pytest.mark.parametrize("limit,pages", [(1, 8), (3, 3), (7, 2), (8, 1), (100, 1)])
def test_v3_cursor_walk(mini, limit, pages):
    items, n = v3_walk(mini, limit)
    assert [i["id"] for i in items] == ALL_ORDERED
    assert n == pages


def test_v3_values_and_groups(mini):
    data = {d["id"]: d for d in call(mini, "scores_v3_get_many")["data"]}
    assert data["sc04"]["value"] is True and data["sc02"]["value"] is False
    assert data["sc-sess"]["value"] == "calm" and data["sc05"]["value"] == pytest.approx(1.0)
    assert set(data["sc05"]) == {"id", "projectId", "name", "value", "dataType", "source", "timestamp",
                                 "environment", "createdAt", "updatedAt"}
    full = {d["id"]: d for d in call(mini, "scores_v3_get_many",
                                     {"fields": "details,subject,annotation"})["data"]}
    assert full["sc05"]["comment"] == "nice" and full["sc05"]["configId"] == "cfg-1"
    assert full["sc05"]["authorUserId"] == "alice" and full["sc05"]["queueId"] == "q-1"
    assert full["sc01"]["subject"] == {"kind": "observation", "id": "t01-o1", "traceId": "t01"}
    assert full["sc-sess"]["subject"] == {"kind": "session", "id": "s1"}


@pytest.mark.parametrize("query,expected", [
    ({"name": "tone,correct", "source": "annotation"}, ["sc-sess"]),
    ({"dataType": "boolean", "value": "true"}, ["sc04", "sc00"]),
    ({"dataType": "NUMERIC", "valueMin": "0.8", "valueMax": "1.0"}, ["sc05", "sc03"]),
    ({"dataType": "NUMERIC", "value": "0.6,1"}, ["sc05", "sc01"]),
    ({"dataType": "CATEGORICAL", "value": "calm"}, ["sc-sess"]),
    ({"traceId": "t01,t02", "observationId": "t01-o1"}, ["sc01"]),
    ({"sessionId": "s1"}, ["sc-sess"]),
    ({"environment": "dev", "id": "sc06,sc05,sc03"}, ["sc06", "sc03"]),
    ({"configId": "cfg-1", "queueId": "q-1", "authorUserId": "alice"}, ["sc05"]),
    ({"fromTimestamp": "2026-10-30T12:03:00Z", "toTimestamp": "2026-10-30T12:05:00Z"},
     ["sc04", "sc03", "sc-sess"]),
])
def test_v3_filters(mini, query, expected):
    assert ids(call(mini, "scores_v3_get_many", query)) == expected


def test_v3_filtered_cursor_walk(mini):
    items, pages = v3_walk(mini, 2, [("dataType", "BOOLEAN")])
    assert [i["id"] for i in items] == ["sc06", "sc04", "sc02", "sc00"] and pages == 2


# web/src/pages/api/public/v3/scores/index.ts (GetScoresV3Query superRefine: path []) and
# GetScoresQueryV3 in packages/shared/src/features/scores/interfaces/api/v3/endpoints.ts
@pytest.mark.parametrize("query,path,message", [
    ({"page": "2"}, [], 'Unrecognized key: "page"'),
    ({"page": "2", "x": "1"}, [], 'Unrecognized keys: "page", "x"'),
    ({"limit": "101"}, ["limit"], "Too big: expected number to be <=100"),
    ({"fields": "details,io"}, ["fields", 1], 'Invalid option: expected one of "core"|"details"|"subject"|"annotation"'),
    ({"dataType": "NUMBER"}, ["dataType"],
     'Invalid dataType value: "NUMBER". Allowed: NUMERIC, CATEGORICAL, BOOLEAN, CORRECTION, TEXT'),
    ({"source": "human"}, ["source"], 'Invalid source value: "HUMAN". Allowed: API, EVAL, ANNOTATION'),
    ({"fromTimestamp": "yesterday"}, ["fromTimestamp"], "Invalid input: expected date, received Date"),
    ({"value": "1"}, [], "value filter requires a single dataType from: NUMERIC, BOOLEAN, CATEGORICAL"),
    ({"dataType": "TEXT", "value": "a"}, [],
     'value filter requires dataType to be NUMERIC, BOOLEAN, or CATEGORICAL (got "TEXT")'),
    ({"dataType": "BOOLEAN", "value": "yes"}, [],
     'value filter with dataType=BOOLEAN requires each value to be "true" or "false" (got "yes")'),
    ({"dataType": "NUMERIC", "value": "1,x"}, [],
     'value filter with dataType=NUMERIC requires each value to be a finite number (got "x")'),
    ({"dataType": "BOOLEAN", "valueMin": "0"}, [], "valueMin and valueMax require dataType=NUMERIC as a single value"),
    ({"observationId": "o"}, [], "observationId filter requires traceId \u2014 observation IDs are scoped to a trace"),
    ({"traceId": "t", "sessionId": "s"}, [], "At most one of traceId, sessionId, experimentId may be specified"),
    ({"userId": "u"}, [], "userId filter requires a trace JOIN and is not supported in v3 \u2014 use v2 or omit this filter"),
    ({"traceTags": "a"}, [],
     "traceTags filter requires a trace JOIN and is not supported in v3 \u2014 use v2 or omit this filter"),
    ({"cursor": base64.urlsafe_b64encode(b'{"v":2}').decode().rstrip("=")}, ["cursor", "v"], "Invalid input"),
])
def test_v3_validation(mini, query, path, message):
    p = problem(mini, "scores_v3_get_many", query)
    assert p.status == 400 and p.body["message"] == "Invalid request data"
    assert [(i["path"], i["message"]) for i in p.body["error"]] == [(path, message)]


def test_v3_undecodable_cursor_is_invalid_request_error(mini):
    # EncodedScoresCursorV3 throws InvalidRequestError inside its transform: not a zod issue list
    p = problem(mini, "scores_v3_get_many", {"cursor": "not-a-cursor"})
    assert (p.status, p.body) == (400, {"message": "Invalid cursor format", "error": "InvalidRequestError"})


def test_v3_core_group_empty_user_filters_and_date_coercion(mini):
    # fields=core equals omitting fields; ?userId=&traceTags= is ignored; a date is UTC midnight
    assert call(mini, "scores_v3_get_many", {"fields": "core"}) == call(mini, "scores_v3_get_many")
    assert ids(call(mini, "scores_v3_get_many", {"userId": "", "traceTags": ""})) == ALL_ORDERED
    assert ids(call(mini, "scores_v3_get_many", {"fromTimestamp": "2026-10-30", "toTimestamp": "2026-10-30T12:01"})) \
        == ["sc00"]


def test_cursor_roundtrip():
    # encodeCursorV3 (packages/shared/src/server/repositories/scores.ts): base64url of
    # {"v":1,"lastTimestamp": toISOString(), "lastId"}; timestamps at millisecond precision
    from datetime import datetime

    ts = datetime(2026, 1, 2, 3, 4, 5, 678901)
    text = encode_cursor(ts, "a/b+c")
    assert "=" not in text and "+" not in text and "/" not in text
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    assert raw == '{"v":1,"lastTimestamp":"2026-01-02T03:04:05.678Z","lastId":"a/b+c"}'
    assert decode_cursor(text) == (datetime(2026, 1, 2, 3, 4, 5, 678000), "a/b+c")


def test_langfuse_encoded_cursor_resumes(mini):
    # a cursor spelled exactly as Langfuse encodes it (standard JSON, base64url) continues the walk
    first = call(mini, "scores_v3_get_many", {"limit": "3"})
    last = first["data"][-1]
    raw = json.dumps({"v": 1, "lastTimestamp": last["timestamp"], "lastId": last["id"]}, separators=(",", ":"))
    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    assert cursor == first["meta"]["cursor"]
    rest = call(mini, "scores_v3_get_many", {"cursor": cursor, "limit": "50"})
    assert ids(first) + ids(rest) == ALL_ORDERED and "cursor" not in rest["meta"]
