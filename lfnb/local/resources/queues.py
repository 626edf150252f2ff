"""Annotation queues and their items.

Orders: queues ``created_at DESC, id DESC``; a queue's items ``created_at ASC, id ASC``
(the order a reviewer works through them). Item writes: create (status PENDING by
default), PATCH status (COMPLETED sets ``completedAt``, PENDING clears it), delete.
Queues can be created (with existing score config ids); assignments to users are not
emulated (501 from the app).
"""

from __future__ import annotations

import uuid

from lfnb.langfuse.enums import ANNOTATION_QUEUE_STATUSES as ITEM_STATUSES
from lfnb.local.resources.common import (
    ApiRequest,
    Where,
    check_fields,
    enum_param,
    iso,
    issue,
    not_found,
    one_row,
    page_params,
    paged_json,
    project,
    require_body,
    zod_error,
)
from lfnb.local.resources.writes import now_utc

__all__ = ["ROUTES", "queue_json", "queue_item_json"]

OBJECT_TYPES = ("TRACE", "OBSERVATION", "SESSION")
_OBJECT_TABLES = {"TRACE": "traces", "OBSERVATION": "observations", "SESSION": "sessions"}


def queue_json(row: dict) -> dict:
    return {"id": row["id"], "name": row["name"],  # strict AnnotationQueueSchema: no projectId
            "description": row["description"], "scoreConfigIds": list(row["score_config_ids"] or []),
            "createdAt": iso(row["created_at"]), "updatedAt": iso(row["updated_at"])}


def queue_item_json(row: dict) -> dict:
    return {"id": row["id"], "queueId": row["queue_id"], "objectId": row["object_id"],
            "objectType": row["object_type"], "status": row["status"],
            "completedAt": iso(row["completed_at"]), "createdAt": iso(row["created_at"]),
            "updatedAt": iso(row["updated_at"])}


def _queue(store, queue_id: str) -> dict:
    return one_row(store, "SELECT * FROM annotation_queues WHERE id = ?", [queue_id],
                   "Annotation queue not found within authorized project")


def _item(store, queue_id: str, item_id: str) -> dict:
    return one_row(store, "SELECT * FROM annotation_queue_items WHERE queue_id = ? AND id = ?", [queue_id, item_id],
                   "Annotation queue item not found within authorized project")


def list_queues(store, req: ApiRequest) -> dict:
    """``GET /api/public/annotation-queues`` (``PaginatedAnnotationQueues``)."""
    issues: list[dict] = []
    page, limit = page_params(req, issues)
    if issues:
        raise zod_error(issues)
    return paged_json(queue_json, store, "*", "annotation_queues", Where(), "created_at DESC NULLS LAST, id DESC",
                      page, limit)


def create_queue(store, req: ApiRequest) -> dict:
    """``POST /api/public/annotation-queues``: ``name`` plus existing ``scoreConfigIds``."""
    body = require_body(req)
    issues: list[dict] = []
    check_fields(body, {"name": ("string", True), "description": ("string", False),
                        "scoreConfigIds": ("array", True)}, issues)
    config_ids = body.get("scoreConfigIds") if isinstance(body.get("scoreConfigIds"), list) else []
    if not all(isinstance(c, str) for c in config_ids):
        issues.append(issue("invalid_type", ["scoreConfigIds"], "scoreConfigIds must be a list of strings"))
    elif config_ids:
        known = {r["id"] for r in store.fetch("SELECT id FROM score_configs WHERE id IN (SELECT unnest(?))",
                                              [config_ids])}
        unknown = [c for c in config_ids if c not in known]
        if unknown:
            issues.append(issue("custom", ["scoreConfigIds"], f"Unknown score config id(s): {', '.join(unknown)}"))
    if issues:
        raise zod_error(issues)
    now = now_utc()
    row_id = str(uuid.uuid4())
    with store.write() as cur:
        cur.execute("INSERT INTO annotation_queues (id, project_id, name, description, score_config_ids, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [row_id, project(store)["id"], body["name"], body.get("description"), config_ids, now, now])
    return queue_json(_queue(store, row_id))


def get_queue(store, req: ApiRequest) -> dict:
    return queue_json(_queue(store, req.path_params["queueId"]))


def list_queue_items(store, req: ApiRequest) -> dict:
    """``GET /api/public/annotation-queues/{queueId}/items`` (``PaginatedAnnotationQueueItems``)."""
    issues: list[dict] = []
    page, limit = page_params(req, issues)
    status = enum_param(req, "status", ITEM_STATUSES, issues)
    if issues:
        raise zod_error(issues)
    queue = _queue(store, req.path_params["queueId"])
    where = Where().eq("queue_id", queue["id"]).eq("status", status)
    return paged_json(queue_item_json, store, "*", "annotation_queue_items", where, "created_at NULLS LAST, id",
                      page, limit)


def get_queue_item(store, req: ApiRequest) -> dict:
    return queue_item_json(_item(store, req.path_params["queueId"], req.path_params["itemId"]))


def _status_issue(body: dict, issues: list[dict]) -> None:
    if isinstance(body.get("status"), str) and body["status"] not in ITEM_STATUSES:
        issues.append(issue("invalid_value", ["status"], 'Invalid option: expected one of "PENDING"|"COMPLETED"',
                            values=list(ITEM_STATUSES)))


def create_queue_item(store, req: ApiRequest) -> dict:
    """``POST /api/public/annotation-queues/{queueId}/items``: the object must exist (else 404)."""
    body = require_body(req)
    issues: list[dict] = []
    check_fields(body, {"objectId": ("string", True), "objectType": ("string", True),
                        "status": ("string", False)}, issues)
    if isinstance(body.get("objectType"), str) and body["objectType"] not in OBJECT_TYPES:
        issues.append(issue("invalid_value", ["objectType"], 'Invalid option: expected one of '
                            '"TRACE"|"OBSERVATION"|"SESSION"', values=list(OBJECT_TYPES)))
    _status_issue(body, issues)
    if issues:
        raise zod_error(issues)
    queue = _queue(store, req.path_params["queueId"])
    table = _OBJECT_TABLES[body["objectType"]]
    if not store.fetch(f"SELECT 1 AS ok FROM {table} WHERE id = ?", [body["objectId"]]):
        raise not_found(f"No {body['objectType'].lower()} with id {body['objectId']} in this project")
    now = now_utc()
    status = body.get("status") or "PENDING"
    row_id = str(uuid.uuid4())
    with store.write() as cur:
        cur.execute("INSERT INTO annotation_queue_items (id, project_id, queue_id, object_id, object_type, status, "
                    "completed_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [row_id, queue["project_id"], queue["id"], body["objectId"], body["objectType"], status,
                     now if status == "COMPLETED" else None, now, now])
    return queue_item_json(_item(store, queue["id"], row_id))


def update_queue_item(store, req: ApiRequest) -> dict:
    """``PATCH /api/public/annotation-queues/{queueId}/items/{itemId}``: change ``status``."""
    body = require_body(req)
    issues: list[dict] = []
    check_fields(body, {"status": ("string", False)}, issues)
    _status_issue(body, issues)
    if issues:
        raise zod_error(issues)
    row = _item(store, req.path_params["queueId"], req.path_params["itemId"])
    status = body.get("status") or row["status"]
    now = now_utc()
    completed = (row["completed_at"] or now) if status == "COMPLETED" else None
    with store.write() as cur:
        cur.execute("UPDATE annotation_queue_items SET status = ?, completed_at = ?, updated_at = ? WHERE id = ?",
                    [status, completed, now, row["id"]])
    return queue_item_json(_item(store, row["queue_id"], row["id"]))


def delete_queue_item(store, req: ApiRequest) -> dict:
    row = _item(store, req.path_params["queueId"], req.path_params["itemId"])
    with store.write() as cur:
        cur.execute("DELETE FROM annotation_queue_items WHERE id = ?", [row["id"]])
    return {"success": True, "message": "Item successfully deleted from annotation queue"}


_Q = "/api/public/annotation-queues"
ROUTES = [
    ("GET", _Q, "annotation_queues_list_queues", list_queues),
    ("POST", _Q, "annotation_queues_create_queue", create_queue),
    ("GET", _Q + "/{queueId}", "annotation_queues_get_queue", get_queue),
    ("GET", _Q + "/{queueId}/items", "annotation_queues_list_queue_items", list_queue_items),
    ("POST", _Q + "/{queueId}/items", "annotation_queues_create_queue_item", create_queue_item),
    ("GET", _Q + "/{queueId}/items/{itemId}", "annotation_queues_get_queue_item", get_queue_item),
    ("PATCH", _Q + "/{queueId}/items/{itemId}", "annotation_queues_update_queue_item", update_queue_item),
    ("DELETE", _Q + "/{queueId}/items/{itemId}", "annotation_queues_delete_queue_item", delete_queue_item),
]
