"""Write-back rows: local checks and per-row results, with a recording transport (no HTTP)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from lfnb.errors import ApiError, ServerError, TransportError
from lfnb.reads.writes import create_dataset_items, create_scores


class Recorder:
    def __init__(self, fail_names=()):
        self.bodies = []
        self.fail_names = set(fail_names)

    def request(self, method, path, *, json_body=None, idempotent=None, **kw):
        assert method == "POST" and idempotent is True  # the body carries an id the server upserts on
        self.bodies.append((path, json_body))
        if json_body.get("name") in self.fail_names:
            raise ApiError(400, method, path, '{"message": "Invalid request data"}')
        if json_body.get("name") == "lost":
            err = TransportError("POST /api/public/scores got no answer from http://x after 6 attempts (ConnectionError)")
            err.may_have_applied = True
            raise err
        if json_body.get("name") == "5xx":
            err = ServerError(500, method, path, '{"message": "Internal Server Error"}')
            err.may_have_applied = True
            raise err
        return {"id": json_body["id"]}


def test_scores_rows_are_cleaned_checked_and_reported():
    t = Recorder(fail_names={"bad"})
    df = pd.DataFrame({"traceId": ["t1", "t2", "t3", None],
                       "name": ["acc", "bad", "acc", "acc"],
                       "value": [np.float64(0.5), 1.0, np.nan, 2.0],
                       "metadata": [{"k": 1}, None, {"x": object()}, None]})
    result = create_scores(t, df, workers=1)
    assert result["written"].tolist() == [True, False, False, False]
    assert result["error"].tolist()[1] == "POST /api/public/scores failed with HTTP 400: Invalid request data"
    assert result["error"].tolist()[2] == "missing required field(s): value"
    assert result["error"].tolist()[3] == "a score needs one of traceId, sessionId, observationId, datasetRunId"
    path, body = t.bodies[0]
    assert path == "/api/public/scores"
    assert body["value"] == 0.5 and type(body["value"]) is float and body["metadata"] == {"k": 1}
    assert len(body["id"]) == 36  # a UUID, so a retried POST upserts
    assert result["id"].tolist()[0] == body["id"]


def test_unserialisable_row_is_reported_not_raised():
    t = Recorder()
    df = pd.DataFrame({"traceId": ["t1", "t2"], "name": ["a", "b"], "value": [1.0, 2.0],
                       "metadata": [{"x": object()}, {"y": 1}]})
    result = create_scores(t, df, workers=2)
    assert result["written"].tolist() == [False, True]
    assert result["error"].tolist()[0].startswith("row is not JSON-serialisable")


def test_dataset_items_carry_the_dataset_name_and_keep_given_ids():
    t = Recorder()
    df = pd.DataFrame({"id": ["item-1", None], "input": [{"q": 1}, "plain text"],
                       "expectedOutput": [None, "x"]})
    result = create_dataset_items(t, "golden", df, workers=1)
    assert result["written"].tolist() == [True, True]
    assert [b["datasetName"] for _, b in t.bodies] == ["golden", "golden"]
    assert t.bodies[0][1]["id"] == "item-1" and "expectedOutput" not in t.bodies[0][1]
    assert str(result["written"].dtype) == "boolean" and str(result["id"].dtype) == "str"


def test_unconfirmed_rows_say_may_have_been_written_and_keep_their_id():
    t = Recorder(fail_names={"bad"})
    df = pd.DataFrame({"traceId": ["t1"] * 4, "name": ["ok", "lost", "5xx", "bad"], "value": [1.0] * 4})
    result = create_scores(t, df, workers=1)
    assert result["outcome"].tolist() == ["written", "may have been written", "may have been written", "not written"]
    assert result["written"].tolist() == [True, pd.NA, pd.NA, False]
    ids = [b["id"] for _, b in t.bodies]
    assert result["id"].tolist() == ids
    assert result.loc[1, "error"] == (
        f"may have been written (no confirmation came back; re-send it with id {ids[1]} to upsert, not duplicate): "
        "POST /api/public/scores got no answer from http://x after 6 attempts (ConnectionError)")
    assert result.loc[2, "error"].endswith("POST /api/public/scores failed with HTTP 500: Internal Server Error")


def test_nested_numpy_timestamp_decimal_are_converted_and_non_finite_is_a_row_error():
    t = Recorder()
    df = pd.DataFrame({"traceId": ["t1", "t2", "t3"], "name": ["a", "b", "c"], "value": [1.0, float("inf"), 2.0],
                       "metadata": [{"n": np.int64(3), "at": pd.Timestamp("2026-11-01", tz="UTC"),
                                     "price": Decimal("1.50"), "xs": (np.float32(0.5),), "deep": {"k": [np.bool_(True)]}},
                                    None, {"x": float("nan")}]})
    result = create_scores(t, df, workers=1)
    assert result["outcome"].tolist() == ["written", "not written", "not written"]
    assert t.bodies[0][1]["metadata"] == {"n": 3, "at": "2026-11-01T00:00:00+00:00", "price": 1.5, "xs": [0.5],
                                          "deep": {"k": [True]}}
    assert result.loc[1, "error"] == "row is not JSON-serialisable: $.value is inf (JSON has no NaN or infinity)"
    assert result.loc[2, "error"] == "row is not JSON-serialisable: $.metadata.x is nan (JSON has no NaN or infinity)"
    assert len(t.bodies) == 1
