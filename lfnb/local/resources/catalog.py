"""Prompts and models (reads and writes).

* ``GET /api/public/v2/prompts`` lists one ``PromptMeta`` per prompt *name* (versions,
  union of labels, the newest version's tags and config), ordered by name; the filters
  (``name``, ``label``, ``tag``, ``fromUpdatedAt``/``toUpdatedAt``) select versions first.
* ``GET /api/public/v2/prompts/{name}``: ``version`` or ``label`` (not both); neither means
  label ``production``. Label ``latest`` is the highest version when no version carries it.
* ``POST /api/public/v2/prompts`` adds version max+1; its labels (plus ``latest``) move
  off the older versions, as a label names one version only.
* ``GET /api/public/models`` ordered ``model_name ASC, id ASC``; Langfuse-managed models
  cannot be deleted.
"""

from __future__ import annotations

import json
import uuid

from lfnb.local.resources.common import (
    ApiRequest,
    Where,
    check_fields,
    datetime_param,
    int_param,
    invalid_request,
    iso,
    issue,
    not_found,
    one_row,
    page_meta,
    page_params,
    paged,
    paged_json,
    parse_datetime,
    parse_json,
    project,
    require_body,
    zod_error,
)
from lfnb.local.resources.writes import now_utc

__all__ = ["ROUTES", "prompt_json", "model_json"]

PROMPT_TYPES = ("chat", "text")
MODEL_UNITS = ("CHARACTERS", "TOKENS", "MILLISECONDS", "SECONDS", "IMAGES", "REQUESTS")


# ---------------------------------------------------------------------------- prompts

def prompt_json(row: dict) -> dict:
    return {"id": row["id"], "projectId": row["project_id"], "name": row["name"], "version": row["version"],
            "type": row["type"], "prompt": parse_json(row["prompt"]), "config": parse_json(row["config"]) or {},
            "labels": list(row["labels"] or []), "tags": list(row["tags"] or []),
            "commitMessage": row["commit_message"], "resolutionGraph": None, "createdBy": row["created_by"],
            "createdAt": iso(row["created_at"]), "updatedAt": iso(row["updated_at"])}


def prompts_list(store, req: ApiRequest) -> dict:
    """``GET /api/public/v2/prompts`` (``PromptMetaListResponse``)."""
    issues: list[dict] = []
    page, limit = page_params(req, issues)
    from_ts = datetime_param(req, "fromUpdatedAt", issues)
    to_ts = datetime_param(req, "toUpdatedAt", issues)
    if issues:
        raise zod_error(issues)
    where = Where().eq("name", req.get("name"))
    if req.get("label"):
        where.add("list_contains(labels, ?)", req.get("label"))
    if req.get("tag"):
        where.add("list_contains(tags, ?)", req.get("tag"))
    if from_ts is not None:
        where.add("updated_at >= ?", from_ts)
    if to_ts is not None:
        where.add("updated_at < ?", to_ts)
    grouped = (f"(SELECT name, arg_max(type, version) AS type, list(version ORDER BY version) AS versions, "
               f"list_sort(list_distinct(flatten(list(coalesce(labels, []))))) AS labels, "
               f"arg_max(tags, version) AS tags, max(updated_at) AS last_updated_at, "
               f"arg_max(config, version) AS last_config FROM prompts {where.sql()} GROUP BY name) g")
    outer = Where()
    outer.params = list(where.params)   # the placeholders sit inside ``grouped``
    rows, total = paged(store, "*", grouped, outer, "name", page, limit)
    data = [{"name": r["name"], "type": r["type"], "versions": list(r["versions"]),
             "labels": list(r["labels"] or []), "tags": list(r["tags"] or []),
             "lastUpdatedAt": iso(r["last_updated_at"]), "lastConfig": parse_json(r["last_config"]) or {}}
            for r in rows]
    return {"data": data, "meta": page_meta(page, limit, total)}


def prompts_get(store, req: ApiRequest) -> dict:
    """``GET /api/public/v2/prompts/{promptName}`` (``Prompt``)."""
    name = req.path_params["promptName"]
    issues: list[dict] = []
    version = int_param(req, "version", issues, default=None, positive=True)
    label = req.get("label") or None
    if version is not None and label is not None:
        issues.append(issue("custom", ["label"], "Cannot specify both version and label"))
    if issues:
        raise zod_error(issues)
    if version is not None:
        rows = store.fetch("SELECT * FROM prompts WHERE name = ? AND version = ?", [name, version])
        wanted = f"version {version}"
    else:
        label = label or "production"
        rows = store.fetch("SELECT * FROM prompts WHERE name = ? AND list_contains(labels, ?) "
                           "ORDER BY version DESC LIMIT 1", [name, label])
        if not rows and label == "latest":
            rows = store.fetch("SELECT * FROM prompts WHERE name = ? ORDER BY version DESC LIMIT 1", [name])
        wanted = f"label '{label}'"
    if not rows:
        raise not_found(f"Prompt not found: '{name}' with {wanted}")
    return prompt_json(rows[0])


def _chat_issues(messages: list, issues: list[dict]) -> None:
    for i, m in enumerate(messages):
        ok = isinstance(m, dict) and (
            (m.get("type") == "placeholder" and isinstance(m.get("name"), str))
            or (isinstance(m.get("role"), str) and isinstance(m.get("content"), str)))
        if not ok:
            issues.append(issue("invalid_type", ["prompt", i], "each chat message needs {role: string, "
                                "content: string} or {type: \"placeholder\", name: string}"))


def prompts_create(store, req: ApiRequest) -> dict:
    """``POST /api/public/v2/prompts``: a new version of the named prompt."""
    body = require_body(req)
    issues: list[dict] = []
    check_fields(body, {"name": ("string", True), "prompt": ("any", True), "type": ("string", False),
                        "config": ("any", False), "labels": ("array", False), "tags": ("array", False),
                        "commitMessage": ("string", False)}, issues)
    ptype = body.get("type") or "text"
    if ptype not in PROMPT_TYPES:
        issues.append(issue("invalid_value", ["type"], 'Invalid option: expected one of "chat"|"text"',
                            values=list(PROMPT_TYPES)))
    elif "prompt" in body and body["prompt"] is not None:
        if ptype == "text" and not isinstance(body["prompt"], str):
            issues.append(issue("invalid_type", ["prompt"], "text prompts need a string prompt"))
        if ptype == "chat":
            if isinstance(body["prompt"], list):
                _chat_issues(body["prompt"], issues)
            else:
                issues.append(issue("invalid_type", ["prompt"], "chat prompts need a list of messages"))
    for key in ("labels", "tags"):
        if isinstance(body.get(key), list) and not all(isinstance(x, str) for x in body[key]):
            issues.append(issue("invalid_type", [key], f"{key} must be a list of strings"))
    if issues:
        raise zod_error(issues)
    labels = list(dict.fromkeys([*(body.get("labels") or []), "latest"]))
    now = now_utc()
    with store.write() as cur:
        current = cur.execute("SELECT max(version), arg_max(tags, version) FROM prompts WHERE name = ?",
                              [body["name"]]).fetchone()
        version = (current[0] or 0) + 1
        tags = body["tags"] if body.get("tags") is not None else (current[1] or [])
        cur.execute("UPDATE prompts SET labels = list_filter(labels, lambda l: NOT list_contains(?, l)), "
                    "updated_at = ? WHERE name = ? AND len(list_intersect(labels, ?)) > 0",
                    [labels, now, body["name"], labels])
        # tags are shared by every version of a prompt
        cur.execute("UPDATE prompts SET tags = ? WHERE name = ?", [tags, body["name"]])
        row_id = str(uuid.uuid4())
        cur.execute("INSERT INTO prompts (id, project_id, name, version, type, prompt, config, labels, tags, "
                    "commit_message, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                    "'API', ?, ?)",
                    [row_id, project(store)["id"], body["name"], version, ptype, json.dumps(body["prompt"]),
                     json.dumps(body.get("config") if body.get("config") is not None else {}), labels, tags,
                     body.get("commitMessage"), now, now])
    return prompt_json(store.fetch("SELECT * FROM prompts WHERE id = ?", [row_id])[0])


def prompt_version_update(store, req: ApiRequest) -> dict:
    """``PATCH /api/public/v2/prompts/{name}/versions/{version}``: add ``newLabels`` to that
    version (each label leaves the version that had it; ``latest`` is reserved)."""
    body = require_body(req)
    name = req.path_params["name"]
    issues: list[dict] = []
    check_fields(body, {"newLabels": ("array", True)}, issues)
    labels = body.get("newLabels") if isinstance(body.get("newLabels"), list) else []
    if not all(isinstance(x, str) and x for x in labels):
        issues.append(issue("invalid_type", ["newLabels"], "newLabels must be a list of non-empty strings"))
    elif "latest" in labels:
        issues.append(issue("custom", ["newLabels"], "The 'latest' label is reserved and managed by Langfuse"))
    try:
        version = int(req.path_params["version"])
    except ValueError:
        version = None
        issues.append(issue("invalid_type", ["version"], "version must be an integer"))
    if issues:
        raise zod_error(issues)
    rows = store.fetch("SELECT id FROM prompts WHERE name = ? AND version = ?", [name, version])
    if not rows:
        raise not_found(f"Prompt not found: '{name}' with version {version}")
    now = now_utc()
    with store.write() as cur:
        cur.execute("UPDATE prompts SET labels = list_filter(labels, lambda l: NOT list_contains(?, l)), "
                    "updated_at = ? WHERE name = ? AND version <> ? AND len(list_intersect(labels, ?)) > 0",
                    [labels, now, name, version, labels])
        # keep the version's own labels first, then the new ones, in the order given
        cur.execute("UPDATE prompts SET labels = list_concat(coalesce(labels, []), "
                    "list_filter(?, lambda l: NOT list_contains(coalesce(labels, []), l))), "
                    "updated_at = ? WHERE id = ?", [list(dict.fromkeys(labels)), now, rows[0]["id"]])
    return prompt_json(store.fetch("SELECT * FROM prompts WHERE id = ?", [rows[0]["id"]])[0])


def prompts_delete(store, req: ApiRequest):
    """``DELETE /api/public/v2/prompts/{promptName}`` → 204: every version, or only those with
    ``label`` / the given ``version``; 404 when nothing matches."""
    name = req.path_params["promptName"]
    issues: list[dict] = []
    version = int_param(req, "version", issues, default=None, positive=True)
    if issues:
        raise zod_error(issues)
    where = Where().eq("name", name).eq("version", version)
    if req.get("label"):
        where.add("list_contains(labels, ?)", req.get("label"))
    with store.write() as cur:
        found = cur.execute(f"SELECT count(*) FROM prompts {where.sql()}", where.params).fetchone()[0]
        if not found:
            raise not_found(f"Prompt not found: '{name}'")
        cur.execute(f"DELETE FROM prompts {where.sql()}", where.params)
    return None


# ---------------------------------------------------------------------------- models

def model_json(row: dict) -> dict:
    prices = {k: {"price": row[f"{k}_price"]} for k in ("input", "output", "total")
              if row[f"{k}_price"] is not None}
    return {"id": row["id"], "modelName": row["model_name"], "matchPattern": row["match_pattern"],
            "startDate": iso(row["start_date"]), "unit": row["unit"], "inputPrice": row["input_price"],
            "outputPrice": row["output_price"], "totalPrice": row["total_price"],
            "tokenizerId": row["tokenizer_id"], "tokenizerConfig": parse_json(row["tokenizer_config"]),
            "isLangfuseManaged": bool(row["is_langfuse_managed"]), "createdAt": iso(row["created_at"]),
            "prices": prices, "pricingTiers": []}


def models_list(store, req: ApiRequest) -> dict:
    """``GET /api/public/models`` (``PaginatedModels``)."""
    issues: list[dict] = []
    page, limit = page_params(req, issues)
    if issues:
        raise zod_error(issues)
    return paged_json(model_json, store, "*", "models", Where(), "model_name, id", page, limit)


def _model(store, model_id: str) -> dict:
    return one_row(store, "SELECT * FROM models WHERE id = ?", [model_id],
                   "Model not found within authorized project")


def models_get(store, req: ApiRequest) -> dict:
    return model_json(_model(store, req.path_params["id"]))


def models_create(store, req: ApiRequest) -> dict:
    """``POST /api/public/models``: a project-owned price definition."""
    body = require_body(req)
    issues: list[dict] = []
    check_fields(body, {"modelName": ("string", True), "matchPattern": ("string", True),
                        "startDate": ("string", False), "unit": ("string", False),
                        "inputPrice": ("number", False), "outputPrice": ("number", False),
                        "totalPrice": ("number", False), "tokenizerId": ("string", False),
                        "tokenizerConfig": ("any", False)}, issues)
    if isinstance(body.get("unit"), str) and body["unit"] not in MODEL_UNITS:
        issues.append(issue("invalid_value", ["unit"], "Invalid option: expected one of "
                            + "|".join(f'"{u}"' for u in MODEL_UNITS), values=list(MODEL_UNITS)))
    start = None
    if isinstance(body.get("startDate"), str):
        start = parse_datetime(body["startDate"])
        if start is None:
            issues.append(issue("invalid_format", ["startDate"], "Invalid ISO datetime", format="datetime"))
    for key in ("inputPrice", "outputPrice", "totalPrice"):
        if isinstance(body.get(key), (int, float)) and body[key] < 0:
            issues.append(issue("too_small", [key], f"{key} must be >= 0"))
    if issues:
        raise zod_error(issues)
    now = now_utc()
    row_id = str(uuid.uuid4())
    with store.write() as cur:
        cur.execute("INSERT INTO models (id, project_id, model_name, match_pattern, start_date, unit, input_price, "
                    "output_price, total_price, tokenizer_id, tokenizer_config, is_langfuse_managed, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FALSE, ?, ?)",
                    [row_id, project(store)["id"], body["modelName"], body["matchPattern"], start,
                     body.get("unit") or "TOKENS", body.get("inputPrice"), body.get("outputPrice"),
                     body.get("totalPrice"), body.get("tokenizerId"),
                     json.dumps(body["tokenizerConfig"]) if body.get("tokenizerConfig") is not None else None,
                     now, now])
    return model_json(_model(store, row_id))


def models_delete(store, req: ApiRequest):
    """``DELETE /api/public/models/{id}`` → 204; Langfuse-managed models answer 400."""
    row = _model(store, req.path_params["id"])
    if row["is_langfuse_managed"]:
        raise invalid_request(f"Model {row['id']} is managed by Langfuse and cannot be deleted; "
                              "create a project model with the same matchPattern to override its prices")
    with store.write() as cur:
        cur.execute("DELETE FROM models WHERE id = ?", [row["id"]])
    return None


ROUTES = [
    ("GET", "/api/public/v2/prompts", "prompts_list", prompts_list),
    ("POST", "/api/public/v2/prompts", "prompts_create", prompts_create),
    ("GET", "/api/public/v2/prompts/{promptName}", "prompts_get", prompts_get),
    ("DELETE", "/api/public/v2/prompts/{promptName}", "prompts_delete", prompts_delete),
    ("PATCH", "/api/public/v2/prompts/{name}/versions/{version}", "prompt_version_update", prompt_version_update),
    ("GET", "/api/public/models", "models_list", models_list),
    ("POST", "/api/public/models", "models_create", models_create),
    ("GET", "/api/public/models/{id}", "models_get", models_get),
    ("DELETE", "/api/public/models/{id}", "models_delete", models_delete),
]
