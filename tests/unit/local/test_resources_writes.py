"""Writes of lfnb.local.resources: validation 400s, persistence, and reads that see them."""

from __future__ import annotations

import pytest
from test_resources import build_mini_store, call, conforms, ids, openapi, problem, route  # noqa: F401

from lfnb.local.handlers import Reply


@pytest.fixture()
def mini():
    store = build_mini_store()
    yield store
    store.close()


def post(store, op, body, **params):
    return call(store, op, (), body, **params)


def issues(p) -> list[tuple[list, str]]:
    assert p.status == 400 and p.body["message"] == "Invalid request data", p.body
    return [(i["path"], i["message"]) for i in p.body["error"]]


def check(openapi, op: str, body, status: int = 200, **params):
    method, template, _, _ = route(op)
    path = template
    for k, v in params.items():
        path = path.replace("{" + k + "}", v)
    conforms(openapi, method, path, body, status)


# ---------------------------------------------------------------------------- scores

def test_score_create_then_read(mini, openapi):
    out = post(mini, "score_create", {"name": "helpful", "value": 0.75, "traceId": "t03",
                                      "observationId": "t03-o1", "comment": "ok", "metadata": {"a": 1}})
    check(openapi, "score_create", out)
    sid = out["id"]
    got = call(mini, "score_v2_get_by_id", scoreId=sid)
    assert (got["name"], got["value"], got["dataType"], got["source"], got["environment"]) == (
        "helpful", 0.75, "NUMERIC", "API", "default")
    assert got["metadata"] == {"a": 1} and got["observationId"] == "t03-o1"
    # denormalised trace context makes the trace filters work for the new score
    assert sid in ids(call(mini, "score_v2_get", {"userId": "u1", "name": "helpful"}))
    assert mini.fetch("SELECT observation_name FROM scores WHERE id = ?", [sid])[0]["observation_name"] == "op1"
    assert ids(call(mini, "scores_v3_get_many", {"name": "helpful"})) == [sid]
    assert sid in [s["id"] for s in call(mini, "trace_get", traceId="t03")["scores"]]


def test_score_create_types_and_upsert(mini):
    cat = post(mini, "score_create", {"name": "tone", "value": "warm", "sessionId": "s2"})["id"]
    boolean = post(mini, "score_create", {"id": "b1", "name": "ok", "value": 1, "dataType": "BOOLEAN",
                                          "datasetRunId": "run-1", "environment": "dev", "source": "ANNOTATION"})
    assert boolean == {"id": "b1"}
    v3 = {d["id"]: d for d in call(mini, "scores_v3_get_many", {"fields": "subject"})["data"]}
    assert v3[cat]["value"] == "warm" and v3[cat]["dataType"] == "CATEGORICAL"
    assert v3[cat]["subject"] == {"kind": "session", "id": "s2"}
    assert v3["b1"]["value"] is True and v3["b1"]["subject"] == {"kind": "experiment", "id": "run-1"}
    post(mini, "score_create", {"id": "b1", "name": "ok", "value": 0, "dataType": "BOOLEAN", "datasetRunId": "run-1"})
    again = call(mini, "score_v2_get_by_id", scoreId="b1")
    assert (again["value"], again["stringValue"], again["environment"]) == (0.0, "False", "default")
    assert mini.fetch("SELECT count(*) AS n FROM scores WHERE id = 'b1'")[0]["n"] == 1


@pytest.mark.parametrize("body,expected", [
    ({"value": 1, "traceId": "t01"}, [(["name"], "Invalid input: expected string, received undefined")]),
    ({"name": "x", "traceId": "t01"},
     [(["value"], "value is required: a number, or a string for CATEGORICAL, TEXT and CORRECTION scores")]),
    ({"name": "x", "value": True, "traceId": "t01"},
     [(["value"], "value is required: a number, or a string for CATEGORICAL, TEXT and CORRECTION scores")]),
    ({"name": "x", "value": 1},
     [(["traceId"], "Exactly one of traceId, sessionId or datasetRunId must be set (got none)")]),
    ({"name": "x", "value": 1, "traceId": "t", "sessionId": "s"},
     [(["traceId"], "Exactly one of traceId, sessionId or datasetRunId must be set (got traceId, sessionId)")]),
    ({"name": "x", "value": 1, "sessionId": "s", "observationId": "o"},
     [(["observationId"], "observationId requires traceId")]),
    ({"name": "x", "value": 1, "traceId": "t", "dataType": "SCALAR"},
     [(["dataType"], 'Invalid option: expected one of "NUMERIC"|"BOOLEAN"|"CATEGORICAL"|"CORRECTION"|"TEXT"')]),
    ({"name": "x", "value": 2, "traceId": "t", "dataType": "BOOLEAN"},
     [(["value"], "BOOLEAN scores need the value 0 or 1")]),
    ({"name": "x", "value": "high", "traceId": "t", "dataType": "NUMERIC"},
     [(["value"], "NUMERIC scores need a numeric value")]),
    ({"name": "x", "value": 3, "traceId": "t", "dataType": "TEXT"}, [(["value"], "TEXT scores need a string value")]),
    ({"name": " ", "value": 3, "traceId": "t", "source": "EVAL"},
     [(["name"], "name must not be empty"), (["source"], 'Invalid option: expected one of "API"|"ANNOTATION"')]),
    ({"name": "x", "value": 1, "traceId": "t", "metadata": "m"},
     [(["metadata"], "Invalid input: expected object, received string")]),
])
def test_score_create_400s(mini, body, expected):
    before = mini.count("scores")
    assert issues(problem(mini, "score_create", body=body)) == expected
    assert mini.count("scores") == before


def test_score_create_needs_object(mini):
    assert issues(problem(mini, "score_create", body=None)) == [([], "Invalid input: expected object, received nothing")]


def test_score_config_checks(mini, openapi):
    cfg = post(mini, "score_configs_create", {"name": "acc", "dataType": "NUMERIC", "minValue": 0, "maxValue": 1})
    check(openapi, "score_configs_create", cfg)
    cat = post(mini, "score_configs_create", {"name": "mood", "dataType": "CATEGORICAL",
                                              "categories": [{"value": 1, "label": "good"}, {"value": 0, "label": "bad"}]})
    ok = post(mini, "score_create", {"name": "acc", "value": 0.5, "traceId": "t01", "configId": cfg["id"]})
    assert call(mini, "score_v2_get_by_id", scoreId=ok["id"])["configId"] == cfg["id"]
    assert issues(problem(mini, "score_create", body={"name": "acc", "value": 2, "traceId": "t01",
                                                      "configId": cfg["id"]})) == [
        (["value"], "value 2 is outside the config's range [0, 1]")]
    assert issues(problem(mini, "score_create", body={"name": "other", "value": 1, "traceId": "t01",
                                                      "configId": cfg["id"]})) == [
        (["name"], "name must match the config's name 'acc'")]
    assert issues(problem(mini, "score_create", body={"name": "x", "value": 1, "traceId": "t01",
                                                      "configId": "nope"})) == [
        (["configId"], "Score config nope not found")]
    good = post(mini, "score_create", {"name": "mood", "value": "good", "traceId": "t01", "configId": cat["id"]})
    got = call(mini, "score_v2_get_by_id", scoreId=good["id"])
    assert (got["value"], got["stringValue"]) == (1.0, "good")
    assert issues(problem(mini, "score_create", body={"name": "mood", "value": "meh", "traceId": "t01",
                                                      "configId": cat["id"]})) == [
        (["value"], "value must be one of the config's categories: good, bad")]
    upd = call(mini, "score_configs_update", (), {"isArchived": True, "description": "old"}, configId=cfg["id"])
    check(openapi, "score_configs_update", upd, configId=cfg["id"])
    assert upd["isArchived"] is True and upd["description"] == "old"
    assert issues(problem(mini, "score_create", body={"name": "acc", "value": 0.5, "traceId": "t01",
                                                      "configId": cfg["id"]})) == [
        (["configId"], f"Score config {cfg['id']} is archived")]
    assert [c["id"] for c in call(mini, "score_configs_get")["data"]] == [cat["id"], cfg["id"]]  # newest first
    assert call(mini, "score_configs_get_by_id", configId=cat["id"])["categories"][0] == {"value": 1, "label": "good"}


def test_score_config_400s(mini):
    assert issues(problem(mini, "score_configs_create", body={"name": "m", "dataType": "CATEGORICAL"})) == [
        (["categories"], "CATEGORICAL configs need a non-empty categories list of {value: number, label: string}")]
    assert issues(problem(mini, "score_configs_create", body={"name": "m", "dataType": "NUMBER"})) == [
        (["dataType"], 'Invalid option: expected one of "NUMERIC"|"BOOLEAN"|"CATEGORICAL"|"TEXT"')]
    assert issues(problem(mini, "score_configs_create", body={"name": "m", "dataType": "NUMERIC",
                                                              "minValue": 2, "maxValue": 1})) == [
        (["minValue"], "minValue must not exceed maxValue")]
    p = problem(mini, "score_configs_get_by_id", configId="zz")
    assert p.status == 404 and p.body["error"] == "LangfuseNotFoundError"


def test_score_batch(mini):
    reply = post(mini, "score_create", [{"name": "a", "value": 1, "traceId": "t01"},
                                        {"name": "b", "value": "x", "traceId": "t02"}])
    assert isinstance(reply, Reply) and (reply.status, reply.body) == (202, {"message": "Accepted"})
    reply = post(mini, "score_create", [{"name": "c", "value": 1, "traceId": "t01"}, {"name": "d", "value": 1},
                                        "nope"])
    assert reply.status == 207
    assert reply.body == {"accepted": 1, "rejected": 2, "errors": [
        {"index": 1, "message": "traceId: Exactly one of traceId, sessionId or datasetRunId must be set (got none)"},
        {"index": 2, "message": "each score must be a JSON object"}]}
    assert sorted(r["name"] for r in mini.fetch("SELECT name FROM scores WHERE name IN ('a','b','c','d')")) == [
        "a", "b", "c"]


def test_score_delete(mini):
    assert call(mini, "score_delete", scoreId="sc03") is None
    assert "sc03" not in ids(call(mini, "score_v2_get"))
    assert problem(mini, "score_delete", scoreId="sc03").status == 404
    assert problem(mini, "score_v2_get_by_id", scoreId="sc03").status == 404


# ---------------------------------------------------------------------------- comments

def test_comments(mini, openapi):
    out = post(mini, "comments_create", {"projectId": "proj-1", "objectType": "TRACE", "objectId": "t02",
                                         "content": "look here", "authorUserId": "bob"})
    check(openapi, "comments_create", out)
    post(mini, "comments_create", {"projectId": "proj-1", "objectType": "SESSION", "objectId": "s1", "content": "s"})
    got = call(mini, "comments_get_by_id", commentId=out["id"])
    check(openapi, "comments_get_by_id", got, commentId=out["id"])
    assert (got["objectType"], got["objectId"], got["content"], got["authorUserId"]) == ("TRACE", "t02", "look here", "bob")
    assert ids(call(mini, "comments_get", {"objectType": "trace", "objectId": "t02"})) == [out["id"]]
    assert len(call(mini, "comments_get")["data"]) == 2
    assert ids(call(mini, "comments_get", {"authorUserId": "bob"})) == [out["id"]]
    p = problem(mini, "comments_create", body={"projectId": "proj-1", "objectType": "TRACE", "objectId": "zz",
                                               "content": "x"})
    assert (p.status, p.body["message"]) == (404, "No trace with id zz in this project")
    assert issues(problem(mini, "comments_create", body={"projectId": "other", "objectType": "NOTE",
                                                         "objectId": "t02", "content": ""})) == [
        (["projectId"], "projectId must be this project's id 'proj-1'"),
        (["objectType"], 'Invalid option: expected one of "TRACE"|"OBSERVATION"|"SESSION"|"PROMPT"'),
        (["content"], "content must be 1 to 5000 characters")]
    assert issues(problem(mini, "comments_get", {"objectId": "t02"})) == [
        (["objectType"], "objectType is required when objectId is given")]


# ---------------------------------------------------------------------------- datasets

def test_datasets_items_runs(mini, openapi):
    ds = post(mini, "datasets_create", {"name": "golden", "description": "first", "metadata": {"k": 1},
                                        "inputSchema": {"type": "object"}})
    check(openapi, "datasets_create", ds)
    again = post(mini, "datasets_create", {"name": "golden", "description": "second"})
    assert again["id"] == ds["id"] and again["description"] == "second" and again["inputSchema"] is None
    assert [d["name"] for d in call(mini, "datasets_list")["data"]] == ["golden"]
    assert call(mini, "datasets_get", datasetName="golden")["id"] == ds["id"]
    post(mini, "datasets_create", {"name": "other"})

    item = post(mini, "dataset_items_create", {"datasetName": "golden", "id": "i1", "input": {"q": 1},
                                               "expectedOutput": "a", "sourceTraceId": "t01"})
    check(openapi, "dataset_items_create", item)
    assert (item["id"], item["status"], item["input"], item["datasetName"]) == ("i1", "ACTIVE", {"q": 1}, "golden")
    upd = post(mini, "dataset_items_create", {"datasetName": "golden", "id": "i1", "input": {"q": 2},
                                              "status": "ARCHIVED"})
    assert (upd["input"], upd["status"], upd["sourceTraceId"]) == ({"q": 2}, "ARCHIVED", None)
    i2 = post(mini, "dataset_items_create", {"datasetName": "other", "input": [1, 2]})
    assert ids(call(mini, "dataset_items_list", {"datasetName": "golden"})) == ["i1"]
    assert ids(call(mini, "dataset_items_list", {"datasetName": "other"})) == [i2["id"]]
    p = problem(mini, "dataset_items_create", body={"datasetName": "other", "id": "i1"})
    assert (p.status, p.body["message"]) == (
        400, "Dataset item i1 already exists in another dataset; use a new id or the item's own datasetName")
    p = problem(mini, "dataset_items_create", body={"datasetName": "missing"})
    assert (p.status, p.body["message"]) == (404, "Dataset missing not found within authorized project")
    assert issues(problem(mini, "dataset_items_create", body={"datasetName": "golden", "status": "DONE"})) == [
        (["status"], 'Invalid option: expected one of "ACTIVE"|"ARCHIVED"')]

    ri = post(mini, "dataset_run_items_create", {"runName": "r1", "datasetItemId": "i1", "traceId": "t02",
                                                 "runDescription": "baseline", "metadata": {"m": "x"}})
    check(openapi, "dataset_run_items_create", ri)
    ri2 = post(mini, "dataset_run_items_create", {"runName": "r1", "datasetItemId": "i1", "observationId": "t04-o1"})
    assert (ri2["traceId"], ri2["observationId"], ri2["datasetRunId"]) == ("t04", "t04-o1", ri["datasetRunId"])
    run = call(mini, "datasets_get_run", datasetName="golden", runName="r1")
    check(openapi, "datasets_get_run", run, datasetName="golden", runName="r1")
    assert run["description"] == "baseline" and [i["id"] for i in run["datasetRunItems"]] == [ri["id"], ri2["id"]]
    assert ids(call(mini, "datasets_get_runs", datasetName="golden")) == [ri["datasetRunId"]]
    listed = call(mini, "dataset_run_items_list", {"datasetId": ds["id"], "runName": "r1"})
    assert ids(listed) == [ri2["id"], ri["id"]] and listed["meta"]["totalItems"] == 2
    assert issues(problem(mini, "dataset_run_items_create", body={"runName": "r1", "datasetItemId": "i1"})) == [
        (["traceId"], "traceId or observationId must be provided")]
    assert issues(problem(mini, "dataset_run_items_list", {"runName": "r1"})) == [
        (["datasetId"], "Invalid input: expected string, received undefined")]
    assert call(mini, "datasets_delete_run", datasetName="golden", runName="r1") == {
        "message": "Dataset run successfully deleted"}
    assert problem(mini, "datasets_get_run", datasetName="golden", runName="r1").status == 404
    assert mini.count("dataset_run_items") == 0

    assert call(mini, "dataset_items_delete", id="i1") == {"message": "Dataset item successfully deleted"}
    assert problem(mini, "dataset_items_get", id="i1").status == 404
    assert issues(problem(mini, "datasets_create", body={"name": "x", "inputSchema": "s"})) == [
        (["inputSchema"], "inputSchema must be a JSON Schema object or null")]


# ---------------------------------------------------------------------------- prompts, models

def test_prompts(mini, openapi):
    v1 = post(mini, "prompts_create", {"name": "greet", "prompt": "Hi {{name}}", "labels": ["production"],
                                       "tags": ["t1"], "config": {"temperature": 0.2}})
    check(openapi, "prompts_create", v1)
    assert (v1["version"], v1["type"], v1["labels"]) == (1, "text", ["production", "latest"])
    v2 = post(mini, "prompts_create", {"name": "greet", "prompt": "Hello {{name}}", "commitMessage": "friendlier"})
    assert (v2["version"], v2["labels"], v2["tags"]) == (2, ["latest"], ["t1"])
    assert call(mini, "prompts_get", promptName="greet")["version"] == 1
    assert call(mini, "prompts_get", {"label": "latest"}, promptName="greet")["version"] == 2
    assert call(mini, "prompts_get", {"version": "1"}, promptName="greet")["labels"] == ["production"]
    v3 = post(mini, "prompts_create", {"name": "greet", "prompt": "Hey", "labels": ["production"]})
    assert call(mini, "prompts_get", promptName="greet")["version"] == v3["version"] == 3
    assert call(mini, "prompts_get", {"version": "1"}, promptName="greet")["labels"] == []
    chat = post(mini, "prompts_create", {"name": "chat", "type": "chat", "prompt": [
        {"role": "system", "content": "be nice"}, {"type": "placeholder", "name": "history"}]})
    got = call(mini, "prompts_get", {"label": "latest"}, promptName="chat")
    check(openapi, "prompts_get", got, promptName="chat")
    assert got["prompt"] == chat["prompt"] and got["type"] == "chat"
    listed = call(mini, "prompts_list")
    check(openapi, "prompts_list", listed)
    assert [(p["name"], p["versions"], p["labels"]) for p in listed["data"]] == [
        ("chat", [1], ["latest"]), ("greet", [1, 2, 3], ["latest", "production"])]
    assert [p["name"] for p in call(mini, "prompts_list", {"label": "production"})["data"]] == ["greet"]
    assert [p["name"] for p in call(mini, "prompts_list", {"tag": "t1"})["data"]] == ["greet"]
    p = problem(mini, "prompts_get", {"label": "staging"}, promptName="greet")
    assert (p.status, p.body) == (404, {"message": "Prompt not found: 'greet' with label 'staging'",
                                        "error": "LangfuseNotFoundError"})
    assert issues(problem(mini, "prompts_get", {"label": "x", "version": "1"}, promptName="greet")) == [
        (["label"], "Cannot specify both version and label")]
    assert issues(problem(mini, "prompts_create", body={"name": "c", "type": "chat", "prompt": [{"role": "u"}]})) == [
        (["prompt", 0], 'each chat message needs {role: string, content: string} or {type: "placeholder", name: string}')]
    assert issues(problem(mini, "prompts_create", body={"name": "c", "prompt": ["x"]})) == [
        (["prompt"], "text prompts need a string prompt")]


def test_models(mini, openapi):
    m = post(mini, "models_create", {"modelName": "my-llm", "matchPattern": "(?i)^my-llm$", "unit": "TOKENS",
                                     "inputPrice": 0.001, "startDate": "2026-01-01T00:00:00Z"})
    check(openapi, "models_create", m)
    assert (m["isLangfuseManaged"], m["startDate"], m["prices"]) == (False, "2026-01-01T00:00:00.000Z",
                                                                      {"input": {"price": 0.001}})
    assert ids(call(mini, "models_list")) == ["m1", m["id"]]
    assert call(mini, "models_get", id=m["id"])["modelName"] == "my-llm"
    p = problem(mini, "models_delete", id="m1")
    assert p.status == 400 and p.body["message"].startswith("Model m1 is managed by Langfuse")
    assert call(mini, "models_delete", id=m["id"]) is None
    assert problem(mini, "models_get", id=m["id"]).status == 404
    assert issues(problem(mini, "models_create", body={"modelName": "x", "matchPattern": "x", "unit": "WORDS",
                                                       "inputPrice": -1})) == [
        (["unit"], 'Invalid option: expected one of "CHARACTERS"|"TOKENS"|"MILLISECONDS"|"SECONDS"|"IMAGES"|"REQUESTS"'),
        (["inputPrice"], "inputPrice must be >= 0")]


# ---------------------------------------------------------------------------- annotation queues

def test_annotation_queue_items(mini, openapi):
    with mini.write() as cur:
        cur.execute("INSERT INTO annotation_queues VALUES ('q1', 'proj-1', 'review', NULL, ['c1'], now(), now())")
    assert call(mini, "annotation_queues_get_queue", queueId="q1")["scoreConfigIds"] == ["c1"]
    a = post(mini, "annotation_queues_create_queue_item", {"objectId": "t01", "objectType": "TRACE"}, queueId="q1")
    check(openapi, "annotation_queues_create_queue_item", a, queueId="q1")
    b = post(mini, "annotation_queues_create_queue_item", {"objectId": "s1", "objectType": "SESSION",
                                                           "status": "COMPLETED"}, queueId="q1")
    assert (a["status"], a["completedAt"]) == ("PENDING", None) and b["completedAt"] is not None
    assert ids(call(mini, "annotation_queues_list_queue_items", {"status": "PENDING"}, queueId="q1")) == [a["id"]]
    done = call(mini, "annotation_queues_update_queue_item", (), {"status": "COMPLETED"}, queueId="q1", itemId=a["id"])
    check(openapi, "annotation_queues_update_queue_item", done, queueId="q1", itemId=a["id"])
    assert done["status"] == "COMPLETED" and done["completedAt"] is not None
    assert ids(call(mini, "annotation_queues_list_queue_items", {"status": "COMPLETED"}, queueId="q1")) == [
        a["id"], b["id"]]
    gone = call(mini, "annotation_queues_delete_queue_item", queueId="q1", itemId=b["id"])
    check(openapi, "annotation_queues_delete_queue_item", gone, queueId="q1", itemId=b["id"])
    assert problem(mini, "annotation_queues_get_queue_item", queueId="q1", itemId=b["id"]).status == 404
    p = problem(mini, "annotation_queues_create_queue_item", body={"objectId": "zz", "objectType": "TRACE"}, queueId="q1")
    assert (p.status, p.body["message"]) == (404, "No trace with id zz in this project")
    assert problem(mini, "annotation_queues_list_queue_items", queueId="q9").status == 404
    assert issues(problem(mini, "annotation_queues_create_queue_item", body={"objectId": "t01", "objectType": "X"},
                          queueId="q1")) == [
        (["objectType"], 'Invalid option: expected one of "TRACE"|"OBSERVATION"|"SESSION"')]


# ---------------------------------------------------------------------------- more writes

def test_prompt_version_update_and_delete(mini, openapi):
    for text in ("a", "b", "c"):
        post(mini, "prompts_create", {"name": "p", "prompt": text})
    post(mini, "prompts_create", {"name": "keep", "prompt": "k", "labels": ["production"]})
    out = call(mini, "prompt_version_update", (), {"newLabels": ["production", "staging"]}, name="p", version="2")
    check(openapi, "prompt_version_update", out, name="p", version="2")
    assert (out["version"], out["labels"]) == (2, ["production", "staging"])
    call(mini, "prompt_version_update", (), {"newLabels": ["staging"]}, name="p", version="1")
    assert call(mini, "prompts_get", {"version": "2"}, promptName="p")["labels"] == ["production"]
    assert call(mini, "prompts_get", {"label": "staging"}, promptName="p")["version"] == 1
    assert call(mini, "prompts_get", promptName="keep")["labels"] == ["production", "latest"]
    assert issues(problem(mini, "prompt_version_update", body={"newLabels": ["latest"]}, name="p", version="1")) == [
        (["newLabels"], "The 'latest' label is reserved and managed by Langfuse")]
    assert problem(mini, "prompt_version_update", body={"newLabels": ["x"]}, name="p", version="9").status == 404
    assert call(mini, "prompts_delete", {"label": "staging"}, promptName="p") is None
    assert [r["version"] for r in mini.fetch("SELECT version FROM prompts WHERE name = 'p' ORDER BY 1")] == [2, 3]
    assert call(mini, "prompts_delete", {"version": "3"}, promptName="p") is None
    assert call(mini, "prompts_delete", promptName="p") is None
    assert mini.fetch("SELECT count(*) AS n FROM prompts WHERE name = 'p'")[0]["n"] == 0
    assert problem(mini, "prompts_delete", promptName="p").status == 404


def test_annotation_queue_create(mini, openapi):
    cfg = post(mini, "score_configs_create", {"name": "acc", "dataType": "BOOLEAN"})
    q = post(mini, "annotation_queues_create_queue", {"name": "review", "scoreConfigIds": [cfg["id"]]})
    check(openapi, "annotation_queues_create_queue", q)
    assert (q["name"], q["scoreConfigIds"], q["description"]) == ("review", [cfg["id"]], None)
    assert ids(call(mini, "annotation_queues_list_queues")) == [q["id"]]
    assert issues(problem(mini, "annotation_queues_create_queue", body={"name": "r", "scoreConfigIds": ["zz"]})) == [
        (["scoreConfigIds"], "Unknown score config id(s): zz")]
    assert issues(problem(mini, "annotation_queues_create_queue", body={"name": "r"})) == [
        (["scoreConfigIds"], "Invalid input: expected array, received undefined")]


def test_trace_deletes(mini, openapi):
    out = call(mini, "trace_delete", traceId="t01")
    check(openapi, "trace_delete", out, traceId="t01")
    assert out == {"message": "Trace deleted successfully"}
    assert problem(mini, "trace_get", traceId="t01").status == 404
    assert mini.fetch("SELECT count(*) AS n FROM observations WHERE trace_id = 't01'")[0]["n"] == 0
    assert "sc01" not in ids(call(mini, "score_v2_get"))
    assert problem(mini, "trace_delete", traceId="t01").status == 404
    assert call(mini, "trace_delete_multiple", (), {"traceIds": ["t02", "t03", "nope"]}) == {
        "message": "Traces deleted successfully"}
    assert ids(call(mini, "trace_list")) == ["t06", "t05", "t04", "t00"]
    assert mini.count("observations") == 8 and mini.count("scores") == 5
    assert issues(problem(mini, "trace_delete_multiple", body={"traceIds": []})) == [
        (["traceIds"], "traceIds must be a non-empty list of trace id strings")]


def test_text_and_correction_scores_conform(mini, openapi):
    text = post(mini, "score_create", {"name": "note", "value": "fine answer", "dataType": "TEXT", "traceId": "t04"})
    corr = post(mini, "score_create", {"name": "fix", "value": "use v2", "dataType": "CORRECTION", "traceId": "t04",
                                       "observationId": "t04-o1"})
    v2 = call(mini, "score_v2_get", {"traceId": "t04"})
    conforms(openapi, "GET", "/api/public/v2/scores", v2)
    by_id = {d["id"]: d for d in v2["data"]}
    assert by_id[text["id"]]["stringValue"] == "fine answer" and "value" not in by_id[text["id"]]
    assert (by_id[corr["id"]]["stringValue"], by_id[corr["id"]]["value"]) == ("use v2", 0.0)
    for sid in (text["id"], corr["id"]):
        conforms(openapi, "GET", f"/api/public/v2/scores/{sid}", call(mini, "score_v2_get_by_id", scoreId=sid))
    v3 = call(mini, "scores_v3_get_many", {"traceId": "t04", "fields": "details,subject,annotation"})
    conforms(openapi, "GET", "/api/public/v3/scores", v3)
    assert {d["id"]: d["value"] for d in v3["data"]}[corr["id"]] == "use v2"
    trace = call(mini, "trace_get", traceId="t04")
    conforms(openapi, "GET", "/api/public/traces/t04", trace)
    # ScoreV1 has no CORRECTION variant: the nested list leaves those out
    assert sorted(s["id"] for s in trace["scores"]) == sorted(["sc04", text["id"]])
    assert corr["id"] in call(mini, "trace_list", {"limit": "1", "orderBy": "id.asc", "page": "5"})["data"][0]["scores"]
