"""``POST /api/public/ingestion`` in lfnb.local: validation, 207 answer, events_only, merge rules."""

from __future__ import annotations

import json

import pytest

from lfnb.local.handlers import ApiProblem, ApiRequest
from lfnb.local.resources.ingestion import EVENTS_ONLY_ERROR, ingestion_batch
from lfnb.local.store import Store

T0 = "2026-11-01T10:00:00Z"
T1 = "2026-11-01T10:00:01Z"
T2 = "2026-11-01T10:00:02.123456+00:00"


@pytest.fixture()
def store():
    s = Store()
    yield s
    s.close()


def post(store, batch, generation="both"):
    req = ApiRequest("POST", "/api/public/ingestion", {}, [], {"batch": batch}, generation=generation)
    reply = ingestion_batch(store, req)
    assert reply.status == 207
    return reply.body


def ev(eid, etype, body, ts=T0):
    return {"id": eid, "type": etype, "timestamp": ts, "body": body}


def one(store, table, key):
    rows = store.fetch(f"SELECT * FROM {table} WHERE id = ?", [key])
    return rows[0] if rows else None


def test_every_type_is_accepted_and_typed(store):
    kinds = {"span-create": "SPAN", "generation-create": "GENERATION", "event-create": "EVENT",
             "agent-create": "AGENT", "tool-create": "TOOL", "chain-create": "CHAIN", "retriever-create": "RETRIEVER",
             "evaluator-create": "EVALUATOR", "embedding-create": "EMBEDDING", "guardrail-create": "GUARDRAIL"}
    batch = [ev("tr", "trace-create", {"id": "t1", "environment": "Production"})]
    batch += [ev(f"e{i}", k, {"id": f"o{i}", "traceId": "t1"}) for i, k in enumerate(kinds)]
    batch += [ev("leg", "observation-create", {"id": "ol", "type": "SPAN", "traceId": "t1"}),
              ev("sc", "score-create", {"id": "s1", "traceId": "t1", "name": "q", "value": 1})]
    out = post(store, batch)
    assert out["errors"] == []
    assert len(out["successes"]) == len(batch) and {s["status"] for s in out["successes"]} == {201}
    for i, k in enumerate(kinds):
        assert one(store, "observations", f"o{i}")["type"] == kinds[k]
    assert one(store, "observations", "ol")["environment"] == "default"
    assert one(store, "traces", "t1")["environment"] == "production"
    assert one(store, "scores", "s1")["data_type"] == "NUMERIC"


def test_per_event_validation_errors(store):
    bad = [
        ev("a\rb", "trace-create", {"id": "t"}),
        ev("long", "trace-create", {"id": "t", "name": "x" * 1001}),
        ev("usage", "generation-create", {"id": "g", "usage": {"input": 1.5}}),
        ev("prompt", "generation-create", {"id": "g", "promptName": "p"}),
        ev("targets", "score-create", {"traceId": "t", "sessionId": "s", "name": "n", "value": 1}),
        ev("bool", "score-create", {"traceId": "t", "name": "n", "value": 2, "dataType": "BOOLEAN"}),
        ev("type", "no-such-type", {}),
        ev("naive", "trace-create", {"id": "t"}, ts="2026-11-01T10:00:00"),
        ev("run", "dataset-run-item-create", {}),
        "not an object",
    ]
    out = post(store, bad)
    assert out["successes"] == []
    assert [e["id"] for e in out["errors"]] == ["a\rb", "long", "usage", "prompt", "targets", "bool", "type",
                                                "naive", "run", "unknown"]
    assert {e["status"] for e in out["errors"]} == {400}
    assert {e["message"] for e in out["errors"]} == {"Invalid request data"}
    texts = [e["error"] for e in out["errors"]]
    assert "ID cannot contain carriage return characters" in texts[0]
    assert "Too big: expected string to have <=1000 characters" in texts[1]
    assert json.loads(texts[1])[0]["path"] == ["body", "name"]
    assert "expected int" in texts[2]
    assert "Provide exactly one of the following: traceId" in texts[4]
    assert "Value must be a number equal to either 0 or 1 for data type BOOLEAN" in texts[5]
    assert json.loads(texts[6])[0]["note"] == "No matching discriminator"
    assert "Invalid ISO datetime" in texts[7]
    assert "Dataset run item creation is only allowed for internal usage" in texts[8]
    assert store.count("traces") == 0 and store.count("observations") == 0 and store.count("scores") == 0


def test_whole_request_400():
    s = Store()
    with pytest.raises(ApiProblem) as err:
        ingestion_batch(s, ApiRequest("POST", "/", {}, [], {"events": []}))
    assert (err.value.status, err.value.body) == (
        400, {"message": "Invalid request data", "errors": ["Invalid input: expected array, received undefined"]})
    with pytest.raises(ApiProblem) as err:
        ingestion_batch(s, ApiRequest("POST", "/", {}, [], []))
    assert err.value.body["errors"] == ["Invalid input: expected object, received array"]
    s.close()


def test_order_sdk_log_duplicates_and_missing_body_id(store):
    out = post(store, [
        ev("upd", "span-update", {"id": "o1"}, ts=T0),
        ev("late", "span-create", {"id": "o1"}, ts=T2),
        ev("early", "trace-create", {"id": "t1"}, ts=T1),
        ev("log", "sdk-log", {"log": {"m": 1}}),
        ev("noid", "trace-create", {"name": "lost"}),
        ev("early", "trace-create", {"id": "t2"}, ts=T1),
    ])
    assert [s["id"] for s in out["successes"]] == ["noid", "early", "early", "late", "upd"]
    assert out["errors"] == []
    assert store.count("traces") == 2          # the trace without body.id is accepted, never stored


def test_events_only_accepts_scores_and_logs(store):
    out = post(store, [
        ev("t", "trace-create", {"id": "t1"}),
        ev("bad", "score-create", {"name": "n"}),
        ev("s", "score-create", {"id": "s1", "traceId": "t1", "name": "n", "value": 0.5}),
        ev("log", "sdk-log", {"log": "x"}),
        ev("g", "generation-update", {"id": "o1"}),
    ], generation="v4")
    assert out["successes"] == [{"id": "s", "status": 201}]
    assert [(e["id"], e["message"]) for e in out["errors"]] == [
        ("bad", "Invalid request data"), ("t", "Event type not accepted"), ("g", "Event type not accepted")]
    assert out["errors"][1]["error"] == EVENTS_ONLY_ERROR.format(type="trace-create")
    assert out["errors"][2]["error"].startswith('Event type "generation-update" is not accepted by '
                                                "/api/public/ingestion when LANGFUSE_MIGRATION_V4_WRITE_MODE")
    assert store.count("traces") == 0 and store.count("scores") == 1


def test_trace_merge_rules(store):
    post(store, [ev("1", "trace-create", {"id": "t", "name": "a", "userId": "u", "tags": ["b"], "public": True,
                                           "metadata": {"step": 1, "status": "ok"}, "input": {"q": 1}})])
    post(store, [ev("2", "trace-create", {"id": "t", "name": None, "tags": ["a"],
                                           "metadata": {"step": 2, "error": ""}, "input": ""}, ts=T1)])
    row = one(store, "traces", "t")
    assert row["name"] is None and row["user_id"] == "u"
    assert row["tags"] == ["a", "b"]
    assert row["public"] is False
    assert json.loads(row["metadata"]) == {"step": 2, "status": "ok", "error": ""}
    assert row["input"] == '{"q": 1}'
    assert row["timestamp"].isoformat() == "2026-11-01T10:00:00"


def test_observation_merge_usage_and_cost(store):
    post(store, [ev("t", "trace-create", {"id": "t", "userId": "u1", "name": "tn"}),
                 ev("c", "generation-create", {"id": "g", "traceId": "t", "startTime": T1, "name": "gen",
                                               "statusMessage": "s", "costDetails": {"input": 0.25, "output": 0.5}})])
    post(store, [ev("u", "generation-update", {"id": "g", "endTime": T0, "statusMessage": None, "output": "done",
                                               "usage": {"input": 4, "output": -7, "total": -3}}, ts=T2)])
    row = one(store, "observations", "g")
    assert row["end_time"] == row["start_time"]            # clamped: end before start
    assert row["status_message"] == "s"                    # null does not clear it
    assert json.loads(row["usage_details"]) == {"input": 4, "total": 4}
    assert json.loads(row["cost_details"]) == {"input": 0.25, "output": 0.5, "total": 0.75}
    assert (row["input_usage"], row["total_usage"], row["total_cost"]) == (4, 4, 0.75)
    assert (row["output"], row["user_id"], row["trace_name"]) == ("done", "u1", "tn")


def test_score_upsert_clears_comment(store):
    post(store, [ev("1", "score-create", {"id": "s", "traceId": "t", "name": "q", "value": 1, "comment": "c"})])
    post(store, [ev("2", "score-create", {"id": "s", "traceId": "t", "name": "q", "value": 0.5, "comment": None},
                    ts=T1)])
    row = one(store, "scores", "s")
    assert (row["value"], row["comment"], store.count("scores")) == (0.5, None, 1)
    assert row["timestamp"].isoformat() == "2026-11-01T10:00:00"


@pytest.mark.parametrize("generation", ["v3", "both"])
def test_legacy_and_dual_write_accept_every_type_and_updates(store, generation):
    out = post(store, [ev("t", "trace-create", {"id": "t1"}), ev("g", "generation-create", {"id": "o1", "traceId": "t1"}),
                       ev("u", "generation-update", {"id": "o1", "output": "x"}, ts=T1)], generation=generation)
    assert [s["id"] for s in out["successes"]] == ["t", "g", "u"] and out["errors"] == []
    assert one(store, "observations", "o1")["output"] == "x"
