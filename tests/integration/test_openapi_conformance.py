"""The 2xx body of every operation lfnb.local serves (reads and writes), validated as Langfuse would.

Two checks (see ``tests/lf_schemas.py``): the OpenAPI file's types and required keys
(``<shared>/reference/langfuse-openapi.yml``, ``$LFNB_SHARED_DIR`` or ``../shared``; skipped when
absent; openapi-core does not validate the spec itself, ``spec_validator_cls=None``: the file
uses the JSON-Schema keyword ``const``, facts sheet §1), and — where Langfuse's zod response
schema is ``.strict()`` — no key beyond that schema's.

Where the facts sheet (the real server's behaviour) and the spec disagree, lfnb.local follows
the facts sheet; each such difference is listed in :data:`ALLOWED` with its reason, and only
the errors listed there are tolerated.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from lf_schemas import STRICT, extra_keys, openapi_spec

from lfnb.langfuse.operations import OPERATIONS
from lfnb.local.routes import build_table

pytestmark = pytest.mark.integration

AUTH = ("pk-lf-local", "sk-lf-local")

# (operation, JSON path regex, message regex) -> why it is allowed
ALLOWED: dict[tuple[str, str, str], str] = {
    # facts §4: the runtime and SDK 5.0.4 name the provided model `model`; the snapshot's
    # OpenAPI text says `providedModelName`. Extra keys are not an error for the spec
    # (no additionalProperties: false), so nothing needs allowing for that today.
}

_METRICS_V1 = {"view": "traces", "metrics": [{"measure": "count", "aggregation": "count"}],
               "dimensions": [{"field": "name"}],
               "fromTimestamp": "2026-10-01T00:00:00Z", "toTimestamp": "2026-11-02T00:00:00Z"}
_METRICS_V2 = {"view": "observations", "metrics": [{"measure": "count", "aggregation": "count"}],
               "dimensions": [{"field": "type"}], "timeDimension": {"granularity": "day"},
               "fromTimestamp": "2026-10-01T00:00:00Z", "toTimestamp": "2026-11-02T00:00:00Z",
               "config": {"row_limit": 100}}

# Extra query strings per operation (several variants widen the coverage of field groups).
VARIANTS: dict[str, list[dict]] = {
    "metrics_metrics": [{"query": json.dumps(_METRICS_V1)}],
    "metrics_v2_metrics": [{"query": json.dumps(_METRICS_V2)}],
    "observations_v2_get_many": [
        {"limit": "20"},
        {"limit": "20", "fields": "core,basic,time,io,metadata,model,usage,prompt,metrics,trace_context"},
    ],
    "trace_list": [{"limit": "10"}, {"limit": "5", "fields": "core,io,scores,observations,metrics"}],
    "observations_get_many": [{"limit": "20"}],
    "score_v2_get": [{"limit": "30"}],
    "scores_v3_get_many": [{"limit": "30"}, {"limit": "30", "fields": "core,details,subject,annotation"}],
    "sessions_list": [{"limit": "10"}],
    "experiments_list": [{"fromStartTime": "2020-01-01T00:00:00Z", "fields": "core,metadata,scores", "limit": "5"}],
    "experiments_list_items": [{"fromStartTime": "2020-01-01T00:00:00Z", "limit": "5",
                                "fields": "core,dataset,io,metadata,itemMetadata,experimentMetadata,scores"}],
    "metrics_daily": [{"limit": "5"}],
}

# operation -> SQL giving its path parameters (column names = the template's parameter names)
PATH_SQL = {
    "annotation_queues_get_queue": "SELECT id AS queueId FROM annotation_queues ORDER BY id LIMIT 1",
    "annotation_queues_list_queue_items": "SELECT id AS queueId FROM annotation_queues ORDER BY id LIMIT 1",
    "annotation_queues_get_queue_item":
        "SELECT queue_id AS queueId, id AS itemId FROM annotation_queue_items ORDER BY id LIMIT 1",
    "comments_get_by_id": "SELECT id AS commentId FROM comments ORDER BY id LIMIT 1",
    "dataset_items_get": "SELECT id FROM dataset_items ORDER BY id LIMIT 1",
    "datasets_get_runs": "SELECT name AS datasetName FROM datasets ORDER BY name LIMIT 1",
    "datasets_get_run": "SELECT dataset_name AS datasetName, name AS runName FROM dataset_runs ORDER BY id LIMIT 1",
    "datasets_get": "SELECT name AS datasetName FROM datasets ORDER BY name LIMIT 1",
    "models_get": "SELECT id FROM models ORDER BY id LIMIT 1",
    "observations_get": "SELECT id AS observationId FROM observations WHERE type = 'GENERATION' ORDER BY id LIMIT 1",
    "projects_get_api_keys": "SELECT id AS projectId FROM projects LIMIT 1",
    "organizations_get_project_memberships": "SELECT id AS projectId FROM projects LIMIT 1",
    "score_configs_get_by_id": "SELECT id AS configId FROM score_configs ORDER BY id LIMIT 1",
    "sessions_get": "SELECT id AS sessionId FROM sessions ORDER BY id LIMIT 1",
    "trace_get": "SELECT id AS traceId FROM traces ORDER BY id LIMIT 1",
    "prompts_get": "SELECT name AS promptName FROM prompts ORDER BY name LIMIT 1",
    "score_v2_get_by_id": "SELECT id AS scoreId FROM scores ORDER BY id LIMIT 1",
    "media_get": None,            # no media in the store
    "scim_get_user": None,        # no SCIM users in the store
}

# operation -> SQL giving required query parameters
QUERY_SQL = {
    "dataset_run_items_list": "SELECT dataset_id AS datasetId, name AS runName FROM dataset_runs ORDER BY id LIMIT 1",
}

# Write operations lfnb.local serves: (path SQL, body) built when the case runs, in this order
# (creates before the updates and deletes that use what they created; deletes last).
def _one(sql: str):
    return lambda store: store.fetch(sql)[0]


WRITES: list[tuple[str, Any, Any]] = [
    ("datasets_create", None, lambda r: {"name": "conformance-ds", "description": "d", "metadata": {"k": 1}}),
    ("dataset_items_create", None, lambda r: {"datasetName": "conformance-ds", "input": {"q": 1},
                                              "expectedOutput": {"a": 2}, "id": "conformance-item"}),
    ("dataset_run_items_create", _one("SELECT id AS traceId FROM traces ORDER BY id LIMIT 1"),
     lambda r: {"runName": "conformance-run", "datasetItemId": "conformance-item", "traceId": r["traceId"]}),
    ("comments_create", _one("SELECT id AS traceId, project_id AS projectId FROM traces ORDER BY id LIMIT 1"),
     lambda r: {"projectId": r["projectId"], "objectType": "TRACE", "objectId": r["traceId"], "content": "c"}),
    ("models_create", None, lambda r: {"modelName": "conformance-model", "matchPattern": "(?i)^conformance$",
                                       "unit": "TOKENS", "inputPrice": 0.000001, "outputPrice": 0.000002}),
    ("score_configs_create", None, lambda r: {"name": "conformance-config", "dataType": "NUMERIC"}),
    ("score_configs_update", _one("SELECT id AS configId FROM score_configs WHERE name = 'conformance-config'"),
     lambda r: {"description": "updated"}),
    ("annotation_queues_create_queue", _one("SELECT id FROM score_configs ORDER BY id LIMIT 1"),
     lambda r: {"name": "conformance-queue", "scoreConfigIds": [r["id"]]}),
    ("annotation_queues_create_queue_item",
     _one("SELECT q.id AS queueId, (SELECT min(id) FROM traces) AS traceId FROM annotation_queues q "
          "WHERE q.name = 'conformance-queue'"),
     lambda r: {"objectId": r["traceId"], "objectType": "TRACE"}),
    ("annotation_queues_update_queue_item",
     _one("SELECT i.queue_id AS queueId, i.id AS itemId FROM annotation_queue_items i JOIN annotation_queues q "
          "ON q.id = i.queue_id WHERE q.name = 'conformance-queue'"),
     lambda r: {"status": "COMPLETED"}),
    ("score_create", _one("SELECT id AS traceId FROM traces ORDER BY id LIMIT 1"),
     lambda r: {"id": "conformance-score", "traceId": r["traceId"], "name": "conformance", "value": 1}),
    ("ingestion_batch", _one("SELECT id AS traceId FROM traces ORDER BY id LIMIT 1"),
     lambda r: {"batch": [{"id": "conformance-event", "type": "score-create", "timestamp": "2026-10-31T00:00:00.000Z",
                           "body": {"id": "conformance-ingested", "traceId": r["traceId"], "name": "conformance",
                                    "value": 1}}]}),
    ("prompts_create", None, lambda r: {"name": "conformance-prompt", "prompt": "Hi {{x}}", "type": "text"}),
    ("prompt_version_update", _one("SELECT 'conformance-prompt' AS name, '1' AS version"),
     lambda r: {"newLabels": ["staging"]}),
    ("annotation_queues_delete_queue_item",
     _one("SELECT i.queue_id AS queueId, i.id AS itemId FROM annotation_queue_items i JOIN annotation_queues q "
          "ON q.id = i.queue_id WHERE q.name = 'conformance-queue'"), None),
    ("score_delete", _one("SELECT 'conformance-score' AS scoreId"), None),
    ("prompts_delete", _one("SELECT 'conformance-prompt' AS promptName"), None),
    ("models_delete", _one("SELECT id FROM models WHERE model_name = 'conformance-model'"), None),
    ("dataset_items_delete", _one("SELECT 'conformance-item' AS id"), None),
    ("datasets_delete_run", _one("SELECT 'conformance-ds' AS datasetName, 'conformance-run' AS runName"), None),
    ("trace_delete_multiple", _one("SELECT id FROM traces ORDER BY id DESC LIMIT 1"),
     lambda r: {"traceIds": [r["id"]]}),
    ("trace_delete", _one("SELECT id AS traceId FROM traces ORDER BY id DESC LIMIT 1"), None),
]

_TABLE = build_table()
SERVED = sorted((op.method, op.template, op.name) for op in _TABLE.operations() if op.handler is not None)
GET_CASES = [("GET", template, name, variant) for method, template, name in SERVED if method == "GET"
             for variant in VARIANTS.get(name, [{}])]
WRITE_CASES = [(m, t, n, {}) for name, _, _ in WRITES for m, t, n in SERVED if n == name]
CASES = GET_CASES + WRITE_CASES


@pytest.fixture(scope="module")
def openapi(shared):
    from openapi_core import Config, OpenAPI

    if not (shared / "reference" / "langfuse-openapi.yml").exists():
        pytest.skip("the OpenAPI file is absent")
    return OpenAPI.from_dict(openapi_spec(shared), config=Config(spec_validator_cls=None))


@pytest.fixture(scope="module")
def conformance_server():
    from lfnb.local import serve

    # a store of its own (the write cases change it), generated as the session's store_small
    with serve(port=0, generation="both", seed=0, traces=300, days=7, anchor=datetime(2026, 11, 1, tzinfo=UTC)) as server:
        yield server


def schema_errors(exc: BaseException) -> list[tuple[str, str]]:
    """(JSON path, message) of every schema error inside an openapi-core validation error."""
    found: list[tuple[str, str]] = []
    seen = set()
    stack = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        for err in getattr(e, "schema_errors", None) or []:
            found.append(("/".join(str(p) for p in err.absolute_path), err.message[:300]))
        stack.extend([e.__cause__, e.__context__])
    return found or [("", f"{type(exc).__name__}: {exc}"[:300])]


def allowed(name: str, path: str, message: str) -> bool:
    return any(op == name and re.search(p, path) and re.search(m, message) for op, p, m in ALLOWED)


def openapi_problems(openapi, name: str, r: requests.Response) -> None:
    from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

    try:
        openapi.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))
    except Exception as exc:  # noqa: BLE001 - openapi-core raises several unrelated classes; all are reported
        errors = [(p, m) for p, m in schema_errors(exc) if not allowed(name, p, m)]
        assert not errors, f"{name} {r.request.path_url}: " + "; ".join(
            f"{p or '$'}: {m}" for p, m in errors[:5]) + (f" … and {len(errors) - 5} more" if len(errors) > 5 else "")


def _request(server, method: str, template: str, name: str, variant: dict) -> requests.Response:
    store = server.store
    params, query, body = {}, dict(variant), None
    writes = {n: (sql, make) for n, sql, make in WRITES}
    if method != "GET":
        sql, make = writes[name]
        row = sql(store) if sql else {}
        params = {k: str(v) for k, v in row.items() if "{" + k + "}" in template}
        body = make(row) if make else None
    elif "{" in template:
        sql = PATH_SQL.get(name)
        rows = store.fetch(sql) if sql else []
        if not rows:
            pytest.skip(f"no example path parameters for {name} in the generated store")
        params = {k: str(v) for k, v in rows[0].items()}
    if name in QUERY_SQL:
        query.update({k: str(v) for k, v in store.fetch(QUERY_SQL[name])[0].items()})
    path = template.format(**{k: requests.utils.quote(v, safe="") for k, v in params.items()})
    return requests.request(method, server.base_url + path, params=query, json=body, auth=AUTH, timeout=60)


@pytest.mark.parametrize("method,template,name,variant", CASES,
                         ids=[f"{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_response_conforms(openapi, conformance_server, method, template, name, variant):
    """Every 2xx body: OpenAPI types and required keys, and no extra key where Langfuse is strict."""
    r = _request(conformance_server, method, template, name, variant)
    assert 200 <= r.status_code < 300, f"{name}: HTTP {r.status_code} {r.text[:300]}"
    if r.status_code == 204:
        return
    if name in OPERATIONS:       # GET /metrics/daily is served but not in the OpenAPI file: strictness only
        openapi_problems(openapi, name, r)
    else:
        assert name in STRICT, f"{name} is in neither the OpenAPI file nor STRICT"
    if name in STRICT:
        problems = extra_keys(r.json(), STRICT[name])
        assert not problems, f"{name}: " + "; ".join(problems[:5]) + (
            f" … and {len(problems) - 5} more" if len(problems) > 5 else "")


def test_every_served_operation_is_a_case():
    assert {c[2] for c in CASES} == {name for _, _, name in SERVED}
    assert len(WRITE_CASES) == len(WRITES)


def test_strict_shapes_reject_extra_keys():
    # the checker itself: an extra key on a strict v1 observation is reported, a missing one too
    from lf_schemas import API_OBSERVATION

    body = {k: None for k in API_OBSERVATION[0]} | {"usage": {"unit": "TOKENS", "input": 0, "output": 0, "total": 0}}
    assert extra_keys({"data": [body], "meta": {}}, STRICT["observations_get_many"]) == []
    body["totalCost"] = 0.1
    del body["unit"]
    assert extra_keys({"data": [body], "meta": {}}, STRICT["observations_get_many"]) == [
        "$.data[0]: unexpected key 'totalCost' (Langfuse's schema is strict)", "$.data[0]: missing key 'unit'"]
