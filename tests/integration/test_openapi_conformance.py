"""Responses of every implemented GET endpoint of lfnb.local, validated against Langfuse's OpenAPI.

The spec is ``<shared>/reference/langfuse-openapi.yml`` (``$LFNB_SHARED_DIR`` or ``../shared``;
skipped when absent). openapi-core is told not to validate the spec itself
(``spec_validator_cls=None``): the file uses the JSON-Schema keyword ``const``, which strict
OpenAPI 3.0 validators reject (facts sheet §1).

Where the facts sheet (the real server's behaviour) and the spec disagree, lfnb.local follows
the facts sheet; each such difference is listed in :data:`ALLOWED` with its reason, and only
the errors listed there are tolerated.
"""

from __future__ import annotations

import json
import re

import pytest
import requests

from lfnb.langfuse.operations import OPERATIONS

# (method, path template, operation name) of every catalogue operation
CATALOGUE = [(op.method, op.path, op.name) for op in OPERATIONS.values()]

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
    "scores_v3_get_many": [{"limit": "30"}],
    "sessions_list": [{"limit": "10"}],
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

GET_OPS = [op for op in CATALOGUE if op[0] == "GET"]
CASES = [(name, template, variant) for _, template, name in GET_OPS
         for variant in VARIANTS.get(name, [{}])]


@pytest.fixture(scope="module")
def openapi(shared):
    from openapi_core import Config, OpenAPI

    path = shared / "reference" / "langfuse-openapi.yml"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return OpenAPI.from_file_path(str(path), config=Config(spec_validator_cls=None))


@pytest.fixture(scope="module")
def conformance_server(store_small):
    from lfnb.local import serve

    # read-only requests only, so the shared session store can be served as is
    with serve(store=store_small, generation="both") as server:
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


@pytest.mark.parametrize("name,template,variant", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_response_conforms(openapi, conformance_server, name, template, variant):
    from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

    op = conformance_server.app.state.lfnb.table.get("GET", template)
    if op is None or op.handler is None:
        pytest.skip(f"{name} is not implemented in lfnb.local")
    params = {}
    if "{" in template:
        sql = PATH_SQL.get(name)
        rows = conformance_server.store.fetch(sql) if sql else []
        if not rows:
            pytest.skip(f"no example path parameters for {name} in the generated store")
        params = {k: str(v) for k, v in rows[0].items()}
    query = dict(variant)
    if name in QUERY_SQL:
        rows = conformance_server.store.fetch(QUERY_SQL[name])
        if not rows:
            pytest.skip(f"no example query parameters for {name} in the generated store")
        query.update({k: str(v) for k, v in rows[0].items()})
    path = template.format(**{k: requests.utils.quote(v, safe="") for k, v in params.items()})
    r = requests.get(conformance_server.base_url + path, params=query, auth=AUTH, timeout=60)
    assert r.status_code == 200, f"{name}: HTTP {r.status_code} {r.text[:300]}"
    try:
        openapi.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))
    except Exception as exc:  # noqa: BLE001 - openapi-core raises several unrelated classes; all are reported
        errors = [(p, m) for p, m in schema_errors(exc) if not allowed(name, p, m)]
        assert not errors, f"{name} {path}: " + "; ".join(f"{p or '$'}: {m}" for p, m in errors[:5]) + (
            f" … and {len(errors) - 5} more" if len(errors) > 5 else "")


def test_every_seed_get_is_a_case():
    names = {c[0] for c in CASES}
    assert len(GET_OPS) == 46      # 45 seed GETs + v3 scores
    assert names == {op[2] for op in GET_OPS}
