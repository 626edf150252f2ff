"""Datasets, dataset items, dataset runs and run items (reads and writes).

Orders: datasets, items, runs and run items lists are ``created_at DESC, id DESC``
(newest first, as Langfuse lists them); a run's nested ``datasetRunItems`` are
``created_at ASC, id ASC``.

Writes: ``POST /api/public/v2/datasets`` upserts by name; ``POST /api/public/dataset-items``
upserts by ``id`` (a new id when absent; an id of another dataset's item is a 400);
``POST /api/public/dataset-run-items`` creates the run on first use (by dataset and name).
"""

from __future__ import annotations

import json
import uuid

from lfnb.local.resources.common import (
    ApiRequest,
    Where,
    check_fields,
    datetime_param,
    invalid_request,
    iso,
    issue,
    not_found,
    one_row,
    page_params,
    paged_json,
    parse_json,
    project,
    require_body,
    zod_error,
)
from lfnb.local.resources.writes import now_utc

__all__ = ["ROUTES", "dataset_json", "item_json", "run_json", "run_item_json"]

ITEM_STATUSES = ("ACTIVE", "ARCHIVED")


def _dump(value):
    return None if value is None else json.dumps(value)


def dataset_json(row: dict) -> dict:
    return {"id": row["id"], "name": row["name"], "description": row["description"],
            "metadata": parse_json(row["metadata"]), "inputSchema": parse_json(row["input_schema"]),
            "expectedOutputSchema": parse_json(row["expected_output_schema"]),
            "projectId": row["project_id"], "createdAt": iso(row["created_at"]),
            "updatedAt": iso(row["updated_at"])}


def item_json(row: dict) -> dict:
    return {"id": row["id"], "status": row["status"], "input": parse_json(row["input"]),
            "expectedOutput": parse_json(row["expected_output"]), "metadata": parse_json(row["metadata"]),
            "sourceTraceId": row["source_trace_id"], "sourceObservationId": row["source_observation_id"],
            "datasetId": row["dataset_id"], "datasetName": row["dataset_name"],
            "createdAt": iso(row["created_at"]), "updatedAt": iso(row["updated_at"]),
            "mediaReferences": []}


def run_json(row: dict) -> dict:
    return {"id": row["id"], "name": row["name"], "description": row["description"],
            "metadata": parse_json(row["metadata"]), "datasetId": row["dataset_id"],
            "datasetName": row["dataset_name"], "createdAt": iso(row["created_at"]),
            "updatedAt": iso(row["updated_at"])}


def run_item_json(row: dict) -> dict:
    return {"id": row["id"], "datasetRunId": row["dataset_run_id"], "datasetRunName": row["dataset_run_name"],
            "datasetItemId": row["dataset_item_id"], "traceId": row["trace_id"],
            "observationId": row["observation_id"], "createdAt": iso(row["created_at"]),
            "updatedAt": iso(row["updated_at"])}


def _page(req: ApiRequest, issues: list[dict] | None = None) -> tuple[int, int]:
    issues = [] if issues is None else issues
    page, limit = page_params(req, issues)
    if issues:
        raise zod_error(issues)
    return page, limit


def _dataset(store, name: str) -> dict:
    return one_row(store, "SELECT * FROM datasets WHERE name = ?", [name], f"Dataset {name} not found within authorized project")


_ORDER = "created_at DESC NULLS LAST, id DESC"


# ---------------------------------------------------------------------------- datasets

def datasets_list(store, req: ApiRequest) -> dict:
    """``GET /api/public/v2/datasets`` (``PaginatedDatasets``)."""
    page, limit = _page(req)
    return paged_json(dataset_json, store, "*", "datasets", Where(), _ORDER, page, limit)


def datasets_get(store, req: ApiRequest) -> dict:
    """``GET /api/public/v2/datasets/{datasetName}`` (``Dataset``)."""
    return dataset_json(_dataset(store, req.path_params["datasetName"]))


def datasets_create(store, req: ApiRequest) -> dict:
    """``POST /api/public/v2/datasets``: create, or update the dataset of that name."""
    body = require_body(req)
    issues: list[dict] = []
    check_fields(body, {"name": ("string", True), "description": ("string", False),
                        "metadata": ("any", False), "inputSchema": ("any", False),
                        "expectedOutputSchema": ("any", False)}, issues)
    if isinstance(body.get("name"), str) and not body["name"].strip():
        issues.append(issue("too_small", ["name"], "name must not be empty"))
    for key in ("inputSchema", "expectedOutputSchema"):
        if body.get(key) is not None and not isinstance(body[key], dict):
            issues.append(issue("invalid_type", [key], f"{key} must be a JSON Schema object or null"))
    if issues:
        raise zod_error(issues)
    now = now_utc()
    with store.write() as cur:
        found = cur.execute("SELECT id FROM datasets WHERE name = ?", [body["name"]]).fetchone()
        values = [body.get("description"), _dump(body.get("metadata")), _dump(body.get("inputSchema")),
                  _dump(body.get("expectedOutputSchema"))]
        if found:
            cur.execute("UPDATE datasets SET description = ?, metadata = ?, input_schema = ?, "
                        "expected_output_schema = ?, updated_at = ? WHERE id = ?", [*values, now, found[0]])
        else:
            cur.execute("INSERT INTO datasets (id, project_id, name, description, metadata, input_schema, "
                        "expected_output_schema, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [str(uuid.uuid4()), project(store)["id"], body["name"], *values, now, now])
    return dataset_json(_dataset(store, body["name"]))


# ---------------------------------------------------------------------------- items

def dataset_items_list(store, req: ApiRequest) -> dict:
    """``GET /api/public/dataset-items`` (``PaginatedDatasetItems``); ``version`` = state at that time
    (items created at or before it)."""
    issues: list[dict] = []
    version = datetime_param(req, "version", issues)
    page, limit = _page(req, issues)
    where = Where()
    if req.get("datasetName"):
        where.eq("dataset_id", _dataset(store, req.get("datasetName"))["id"])
    where.eq("source_trace_id", req.get("sourceTraceId")).eq("source_observation_id", req.get("sourceObservationId"))
    if version is not None:
        where.add("created_at <= ?", version)
    return paged_json(item_json, store, "dataset_items.*", "dataset_items", where, _ORDER,
                      page, limit, key="dataset_items.id")


def _item(store, item_id: str) -> dict:
    return one_row(store, "SELECT * FROM dataset_items WHERE id = ?", [item_id],
                   "Dataset item not found within authorized project")


def dataset_items_get(store, req: ApiRequest) -> dict:
    return item_json(_item(store, req.path_params["id"]))


def dataset_items_create(store, req: ApiRequest) -> dict:
    """``POST /api/public/dataset-items``: upsert by ``id`` into the named dataset."""
    body = require_body(req)
    issues: list[dict] = []
    check_fields(body, {"datasetName": ("string", True), "id": ("string", False),
                        "status": ("string", False), "sourceTraceId": ("string", False),
                        "sourceObservationId": ("string", False), "input": ("any", False),
                        "expectedOutput": ("any", False), "metadata": ("any", False)}, issues)
    if isinstance(body.get("status"), str) and body["status"] not in ITEM_STATUSES:
        issues.append(issue("invalid_value", ["status"], 'Invalid option: expected one of "ACTIVE"|"ARCHIVED"',
                            values=list(ITEM_STATUSES)))
    if issues:
        raise zod_error(issues)
    dataset = _dataset(store, body["datasetName"])
    item_id = body.get("id") or str(uuid.uuid4())
    now = now_utc()
    values = [body.get("status") or "ACTIVE", _dump(body.get("input")), _dump(body.get("expectedOutput")),
              _dump(body.get("metadata")), body.get("sourceTraceId"), body.get("sourceObservationId")]
    with store.write() as cur:
        found = cur.execute("SELECT dataset_id FROM dataset_items WHERE id = ?", [item_id]).fetchone()
        if found and found[0] != dataset["id"]:
            raise invalid_request(f"Dataset item {item_id} already exists in another dataset; "
                                  "use a new id or the item's own datasetName")
        if found:
            cur.execute("UPDATE dataset_items SET status = ?, input = ?, expected_output = ?, metadata = ?, "
                        "source_trace_id = ?, source_observation_id = ?, updated_at = ? WHERE id = ?",
                        [*values, now, item_id])
        else:
            cur.execute("INSERT INTO dataset_items (id, project_id, dataset_id, dataset_name, status, input, "
                        "expected_output, metadata, source_trace_id, source_observation_id, created_at, "
                        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [item_id, dataset["project_id"], dataset["id"], dataset["name"], *values, now, now])
    return item_json(_item(store, item_id))


def dataset_items_delete(store, req: ApiRequest) -> dict:
    item_id = req.path_params["id"]
    _item(store, item_id)
    with store.write() as cur:
        cur.execute("DELETE FROM dataset_items WHERE id = ?", [item_id])
    return {"message": "Dataset item successfully deleted"}


# ---------------------------------------------------------------------------- runs

def datasets_get_runs(store, req: ApiRequest) -> dict:
    """``GET /api/public/datasets/{datasetName}/runs`` (``PaginatedDatasetRuns``)."""
    page, limit = _page(req)
    dataset = _dataset(store, req.path_params["datasetName"])
    return paged_json(run_json, store, "*", "dataset_runs", Where().eq("dataset_id", dataset["id"]), _ORDER,
                      page, limit)


def _run(store, dataset: dict, run_name: str) -> dict:
    rows = store.fetch("SELECT * FROM dataset_runs WHERE dataset_id = ? AND name = ?", [dataset["id"], run_name])
    if not rows:
        raise not_found(f"Dataset run {run_name} not found within dataset {dataset['name']}")
    return rows[0]


def datasets_get_run(store, req: ApiRequest) -> dict:
    """``GET /api/public/datasets/{datasetName}/runs/{runName}`` (``DatasetRunWithItems``)."""
    dataset = _dataset(store, req.path_params["datasetName"])
    run = _run(store, dataset, req.path_params["runName"])
    items = store.fetch("SELECT * FROM dataset_run_items WHERE dataset_run_id = ? ORDER BY created_at, id",
                        [run["id"]])
    return {**run_json(run), "datasetRunItems": [run_item_json(i) for i in items]}


def datasets_delete_run(store, req: ApiRequest) -> dict:
    dataset = _dataset(store, req.path_params["datasetName"])
    run = _run(store, dataset, req.path_params["runName"])
    with store.write() as cur:
        cur.execute("DELETE FROM dataset_run_items WHERE dataset_run_id = ?", [run["id"]])
        cur.execute("DELETE FROM dataset_runs WHERE id = ?", [run["id"]])
    return {"message": "Dataset run successfully deleted"}


def dataset_run_items_list(store, req: ApiRequest) -> dict:
    """``GET /api/public/dataset-run-items?datasetId=&runName=`` (``PaginatedDatasetRunItems``)."""
    issues: list[dict] = []
    for name in ("datasetId", "runName"):
        if not req.get(name):
            issues.append(issue("invalid_type", [name], "Invalid input: expected string, received undefined",
                                expected="string"))
    page, limit = _page(req, issues)
    runs = store.fetch("SELECT * FROM dataset_runs WHERE dataset_id = ? AND name = ?",
                       [req.get("datasetId"), req.get("runName")])
    if not runs:
        raise not_found(f"Dataset run {req.get('runName')} not found within dataset {req.get('datasetId')}")
    return paged_json(run_item_json, store, "*", "dataset_run_items", Where().eq("dataset_run_id", runs[0]["id"]), _ORDER,
                      page, limit)


def dataset_run_items_create(store, req: ApiRequest) -> dict:
    """``POST /api/public/dataset-run-items``: link a trace/observation to an item in a run."""
    body = require_body(req)
    issues: list[dict] = []
    check_fields(body, {"runName": ("string", True), "datasetItemId": ("string", True),
                        "runDescription": ("string", False), "metadata": ("any", False),
                        "observationId": ("string", False), "traceId": ("string", False)}, issues)
    if not issues and not body.get("traceId") and not body.get("observationId"):
        issues.append(issue("custom", ["traceId"], "traceId or observationId must be provided"))
    if issues:
        raise zod_error(issues)
    item = _item(store, body["datasetItemId"])
    trace_id = body.get("traceId")
    if not trace_id:
        obs = store.fetch("SELECT trace_id FROM observations WHERE id = ?", [body["observationId"]])
        if not obs:
            raise not_found(f"Observation {body['observationId']} not found within authorized project")
        trace_id = obs[0]["trace_id"]
    now = now_utc()
    row_id = str(uuid.uuid4())
    with store.write() as cur:
        run = cur.execute("SELECT id FROM dataset_runs WHERE dataset_id = ? AND name = ?",
                          [item["dataset_id"], body["runName"]]).fetchone()
        if run:
            run_id = run[0]
        else:
            run_id = str(uuid.uuid4())
            cur.execute("INSERT INTO dataset_runs (id, project_id, dataset_id, dataset_name, name, description, "
                        "metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [run_id, item["project_id"], item["dataset_id"], item["dataset_name"], body["runName"],
                         body.get("runDescription"), _dump(body.get("metadata")), now, now])
        cur.execute("INSERT INTO dataset_run_items (id, project_id, dataset_run_id, dataset_run_name, "
                    "dataset_item_id, trace_id, observation_id, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [row_id, item["project_id"], run_id, body["runName"], item["id"], trace_id,
                     body.get("observationId"), now, now])
    return run_item_json(store.fetch("SELECT * FROM dataset_run_items WHERE id = ?", [row_id])[0])


ROUTES = [
    ("GET", "/api/public/v2/datasets", "datasets_list", datasets_list),
    ("POST", "/api/public/v2/datasets", "datasets_create", datasets_create),
    ("GET", "/api/public/v2/datasets/{datasetName}", "datasets_get", datasets_get),
    ("GET", "/api/public/dataset-items", "dataset_items_list", dataset_items_list),
    ("POST", "/api/public/dataset-items", "dataset_items_create", dataset_items_create),
    ("GET", "/api/public/dataset-items/{id}", "dataset_items_get", dataset_items_get),
    ("DELETE", "/api/public/dataset-items/{id}", "dataset_items_delete", dataset_items_delete),
    ("GET", "/api/public/datasets/{datasetName}/runs", "datasets_get_runs", datasets_get_runs),
    ("GET", "/api/public/datasets/{datasetName}/runs/{runName}", "datasets_get_run", datasets_get_run),
    ("DELETE", "/api/public/datasets/{datasetName}/runs/{runName}", "datasets_delete_run", datasets_delete_run),
    ("GET", "/api/public/dataset-run-items", "dataset_run_items_list", dataset_run_items_list),
    ("POST", "/api/public/dataset-run-items", "dataset_run_items_create", dataset_run_items_create),
]
