"""Score reads of lfnb.local.resources: v2 (page-based) filters, v3 (cursor) paging and validation."""

from __future__ import annotations

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
    out = call(mini, "score_v2_get", {"fields": "score"})["data"]
    assert all("trace" not in d for d in out)
    full = {d["id"]: d for d in call(mini, "score_v2_get")["data"]}
    assert full["sc05"]["trace"] == {"userId": "u1", "tags": ["a", "b"], "environment": "production",
                                     "sessionId": "s2"}
    assert full["sc-sess"]["trace"] == {"userId": None, "tags": None, "environment": None, "sessionId": None}
    assert (full["sc04"]["value"], full["sc04"]["stringValue"]) == (1.0, "True")
    assert (full["sc-sess"]["value"], full["sc-sess"]["stringValue"]) == (0.0, "calm")
    assert "stringValue" not in full["sc05"] and full["sc05"]["value"] == pytest.approx(1.0)
    p = problem(mini, "score_v2_get", {"fields": "score", "userId": "u1"})
    assert p.status == 400 and p.body["error"] == "InvalidRequestError"
    assert p.body["message"].startswith("Filtering by trace properties (userId, traceTags) requires")


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


@pytest.mark.parametrize("query,path,message", [
    ({"page": "2"}, [], 'Unrecognized key: "page"; valid: limit, cursor, fields, id, name, source, '
     "dataType, environment, configId, queueId, authorUserId, value, valueMin, valueMax, traceId, "
     "sessionId, observationId, experimentId, fromTimestamp, toTimestamp"),
    ({"limit": "101"}, ["limit"], "Too big: expected number to be <=100"),
    ({"fields": "details,io"}, ["fields"], "Unknown field group(s) io; valid: details, subject, annotation"),
    ({"dataType": "NUMBER"}, ["dataType"],
     "Invalid dataType value(s) NUMBER; valid: NUMERIC, BOOLEAN, CATEGORICAL, CORRECTION, TEXT"),
    ({"value": "1"}, ["value"], "value requires exactly one dataType from NUMERIC, BOOLEAN, CATEGORICAL"),
    ({"dataType": "BOOLEAN", "value": "yes"}, ["value"], 'BOOLEAN values must be "true" or "false"'),
    ({"dataType": "NUMERIC", "value": "1,x"}, ["value"], "NUMERIC values must be finite numbers"),
    ({"dataType": "BOOLEAN", "valueMin": "0"}, ["valueMin"], "valueMin requires dataType=NUMERIC as a single value"),
    ({"observationId": "o"}, ["observationId"],
     "observationId requires traceId (observation ids are scoped to a trace)"),
    ({"traceId": "t", "sessionId": "s"}, ["sessionId"],
     "traceId and sessionId are mutually exclusive; use only one of traceId, sessionId, experimentId"),
    ({"cursor": "not-a-cursor"}, ["cursor"], "Invalid cursor format"),
])
def test_v3_validation(mini, query, path, message):
    p = problem(mini, "scores_v3_get_many", query)
    assert p.status == 400 and p.body["message"] == "Invalid request data"
    assert [(i["path"], i["message"]) for i in p.body["error"]] == [(path, message)]


def test_cursor_roundtrip():
    from datetime import datetime

    ts = datetime(2026, 1, 2, 3, 4, 5, 678901)
    text = encode_cursor(ts, "a/b+c")
    assert "=" not in text and "+" not in text and "/" not in text
    assert decode_cursor(text) == (ts, "a/b+c")
    with pytest.raises(ValueError):
        decode_cursor("e30")  # "{}"
