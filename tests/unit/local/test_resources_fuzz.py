"""Every resource handler answers malformed input with a 400/404 ApiProblem, never a crash
(an uncaught exception would be a 500 from the app)."""

from __future__ import annotations

import itertools
import re

import pytest
from test_resources import build_mini_store

from lfnb.local import resources
from lfnb.local.handlers import ApiProblem, ApiRequest

BODIES = [
    None, [], "x", 3, {}, {"name": 1}, {"name": "x", "value": None}, {"a": [1, {"b": None}]},
    {"name": "'; DROP TABLE scores; --", "value": "v", "traceId": "t01", "datasetName": "x", "prompt": "p",
     "objectType": "TRACE", "objectId": "t01", "projectId": "proj-1", "content": "c", "runName": "r",
     "datasetItemId": "x", "modelName": "m", "matchPattern": "m", "dataType": "NUMERIC", "status": "PENDING",
     "newLabels": ["a"], "traceIds": ["t05"], "scoreConfigIds": [], "categories": [1], "minValue": "a"},
    [{"name": 1}, None],
]
QUERIES = [
    [], [("page", "abc")], [("limit", "-1"), ("page", "1e400")], [("filter", "{")], [("filter", "[1]")],
    [("zzz", "1")], [("fromTimestamp", "2026-13-45T99:99:99Z")], [("version", "x"), ("label", "")],
    [("cursor", "@@@")], [("dataType", "numeric"), ("value", "nan")], [("orderBy", "id.")],
    [("objectId", "x")], [("datasetId", "x"), ("runName", "y")], [("fields", ",,,")],
]
PATH_VALUES = ["t01", "'; --"]


@pytest.mark.parametrize("method,template,op,handler", resources.ROUTES, ids=[r[2] for r in resources.ROUTES])
def test_no_crash_on_garbage(method, template, op, handler):
    store = build_mini_store()
    names = re.findall(r"{(\w+)}", template)
    # reads get every bad query; writes every bad body (with one bad query: they read few params)
    combos = (itertools.product(PATH_VALUES, QUERIES, [None]) if method == "GET"
              else itertools.product(PATH_VALUES, [[], QUERIES[7]], BODIES))
    for value, query, body in combos:
        try:
            handler(store, ApiRequest(method, template, {k: value for k in names}, query, body))
        except ApiProblem as problem:
            assert problem.status in (400, 404), (op, value, query, body, problem.body)
            assert isinstance(problem.body["message"], str) and problem.body["message"]
    store.close()
