"""``GET /api/public/experiments`` and ``GET /api/public/experiment-items``: the v4 reads of dataset runs.

On a Langfuse v4 deployment in events_only mode the dataset-run routes answer 404; a
dataset run is an *experiment* there and its run items are *experiment items*, read
from the events table (``web/src/pages/api/public/experiments/index.ts``,
``experiment-items/index.ts``; query and response schemas in
``web/src/features/public-api/types/experiments.ts``; rows in
``web/src/features/experiments/server/public/service.ts``). Both answer 404 on a v3
server, after parameter validation (:func:`lfnb.local.handlers.require_v4`).

lfnb.local derives them from its dataset tables. An experiment item is a dataset run
item: its ``id`` is the run item's id (Langfuse: the item's root span id; lfnb's demo
data links several run items to one trace, so the root observation would not be
unique); it starts when the run item was created (Langfuse: when the item's root span
started, i.e. when the run executed it) and lasts as long as its trace's root
observation, whose level, input, output and metadata it carries (``DEFAULT`` and
nulls without one); an experiment is a dataset run with

* ``startTime``/``endTime``: the earliest start and the latest end (or start) of its
  items in the requested window, ``itemCount`` the number of those items;
* order: latest item start first, then experiment id, descending (Langfuse: latest event
  start, experiment id, span id);
* items ordered ``startTime DESC, traceId DESC, id DESC, experimentId DESC`` (Langfuse
  sorts on ``xxHash32(trace_id)`` where lfnb uses the trace id itself).

Cursor (both): base64url of ``{"v":1,"lastTime","lastTraceId","lastId","lastExperimentId"}``
(``encodeExperimentCursor``); ``meta`` is ``{}`` on the last page.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime

from lfnb.local.handlers import ApiRequest, invalid_request, require_v4, zod_error
from lfnb.local.resources.common import (
    csv_param,
    decode_v1_cursor,
    fields_param,
    int_param,
    iso,
    issue,
    parse_datetime,
    parse_json,
)
from lfnb.local.resources.render import score_v3_json

__all__ = ["experiments_list", "experiments_list_items", "EXPERIMENT_FIELD_GROUPS",
           "EXPERIMENT_ITEM_FIELD_GROUPS"]

EXPERIMENT_FIELD_GROUPS = ("core", "metadata", "scores")
EXPERIMENT_ITEM_FIELD_GROUPS = ("core", "dataset", "io", "metadata", "itemMetadata", "experimentMetadata",
                                "scores")
_EXPERIMENT_FILTER_COLUMNS = {"id": "experiment_id", "name": "experiment_name", "datasetId": "dataset_id"}
_ITEM_FILTER_COLUMNS = {"experimentId": "experiment_id", "experimentName": "experiment_name",
                        "experimentItemId": "experiment_item_id", "datasetId": "dataset_id"}

# One row per dataset run item, at its trace's root observation. Every value is bound.
_ITEMS_SQL = """
    SELECT dri.id AS id, dri.trace_id, dri.created_at AS start_time,
           dri.created_at + (r.end_time - r.start_time) AS end_time,
           coalesce(r.level, 'DEFAULT') AS level, coalesce(t.environment, 'default') AS environment,
           dr.id AS experiment_id, dr.name AS experiment_name, dr.description AS experiment_description,
           dr.metadata AS experiment_metadata, dr.dataset_id, dri.dataset_item_id AS experiment_item_id,
           di.updated_at AS experiment_item_version, r.input, r.output, di.expected_output,
           r.metadata, di.metadata AS experiment_item_metadata
    FROM dataset_run_items dri
    JOIN dataset_runs dr ON dr.id = dri.dataset_run_id
    LEFT JOIN traces t ON t.id = dri.trace_id
    LEFT JOIN dataset_items di ON di.id = dri.dataset_item_id
    LEFT JOIN (SELECT * FROM observations WHERE parent_observation_id IS NULL
               QUALIFY row_number() OVER (PARTITION BY trace_id ORDER BY start_time, id) = 1) r
           ON r.trace_id = dri.trace_id
"""


def _issue_required(name: str) -> dict:
    return issue("invalid_type", [name], "Invalid input: expected string, received undefined", expected="string")


def _window(req: ApiRequest, issues: list[dict]) -> tuple[datetime | None, datetime | None]:
    out = []
    for name in ("fromStartTime", "toStartTime"):
        raw = req.get(name)
        if raw is None:
            if name == "fromStartTime":
                issues.append(_issue_required(name))
            out.append(None)
            continue
        value = parse_datetime(raw)
        if value is None:
            issues.append(issue("invalid_format", [name], "Invalid ISO datetime", format="datetime",
                                origin="string"))
        out.append(value)
    return out[0], out[1]


def _filter(req: ApiRequest, columns: dict[str, str], issues: list[dict]) -> list[tuple[str, list]]:
    """``filter`` conditions on the allowed columns: ``stringOptions`` (any of / none of) or ``string`` (=)."""
    raw = req.get("filter")
    if raw is None or raw == "":
        return []
    try:
        conds = json.loads(raw)
    except ValueError:
        issues.append(issue("custom", ["filter"], "Invalid JSON in filter parameter"))
        return []
    if not isinstance(conds, list):
        issues.append(issue("invalid_type", ["filter"], "Invalid input: expected array", expected="array"))
        return []
    out = []
    for i, c in enumerate(conds):
        col = columns.get(c.get("column")) if isinstance(c, dict) else None
        if col is None:
            quoted = "|".join(f'"{k}"' for k in columns)
            issues.append(issue("invalid_value", ["filter", i, "column"], f"Invalid option: expected one of {quoted}",
                                values=list(columns)))
            continue
        kind, op, value = c.get("type"), c.get("operator"), c.get("value")
        if kind == "stringOptions" and op in ("any of", "none of") and isinstance(value, list):
            out.append((f"{col} {'NOT ' if op == 'none of' else ''}IN (SELECT unnest(?))", [list(map(str, value))]))
        elif kind == "string" and op == "=" and isinstance(value, str):
            out.append((f"{col} = ?", [value]))
        else:
            issues.append(issue("custom", ["filter", i], "lfnb.local supports stringOptions (any of, none of) "
                                "and string (=) conditions on experiment columns"))
    return out


def _decode_cursor(text: str) -> tuple[datetime, str, str, str]:
    data = decode_v1_cursor(text)
    keys = ("lastTime", "lastTraceId", "lastId", "lastExperimentId")
    bad = [k for k in keys if not isinstance(data.get(k), str)]
    if bad:
        raise zod_error([issue("invalid_type", ["cursor", k], "Invalid input: expected string, received undefined",
                               expected="string") for k in bad])
    last = parse_datetime(data["lastTime"])
    if last is None:
        raise invalid_request("Invalid cursor format")
    return last, data["lastTraceId"], data["lastId"], data["lastExperimentId"]


def _encode_cursor(last_time: datetime, trace_id: str, last_id: str, experiment_id: str) -> str:
    text = json.dumps({"v": 1, "lastTime": last_time.isoformat(timespec="microseconds") + "Z",
                       "lastTraceId": trace_id, "lastId": last_id, "lastExperimentId": experiment_id},
                      separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _common(req: ApiRequest, options: tuple[str, ...], default: list[str], columns: dict[str, str],
            api: str) -> tuple[list[str], int, int, tuple, list[str], list]:
    """Validated (fields, limit, scoreLimit, window, where clauses, params); then the v3 gate."""
    issues: list[dict] = []
    groups = fields_param(req, options, default, issues)
    limit = int_param(req, "limit", issues, default=50, positive=True, maximum=100)
    score_limit = int_param(req, "scoreLimit", issues, default=50, minimum=1, maximum=50)
    start, end = _window(req, issues)
    conds = _filter(req, columns, issues)
    if issues:
        raise zod_error(issues)
    cursor = req.get("cursor")
    last = _decode_cursor(cursor) if cursor else None
    require_v4(req, api)
    clauses, params = ["i.start_time >= ?"], [start]
    if end is not None:
        clauses.append("i.start_time < ?")
        params.append(end)
    for name, col in columns.items():
        values = csv_param(req, name)
        if values:
            clauses.append(f"i.{col} IN (SELECT unnest(?))")
            params.append(values)
    for clause, values in conds:
        clauses.append(f"i.{clause}")
        params.extend(values)
    return groups, limit, score_limit, last, clauses, params


def _scores(store, column: str, key: str, limit: int) -> list[dict]:
    rows = store.fetch(f"SELECT * FROM scores WHERE {column} = ? ORDER BY timestamp DESC, id DESC LIMIT ?",
                       [key, limit])
    return [score_v3_json(r, {"subject"}) for r in rows]


def _dict_or_none(text) -> dict | None:
    value = parse_json(text)
    return value if isinstance(value, dict) else None


def experiments_list(store, req: ApiRequest) -> dict:
    """``GET /api/public/experiments`` (``GetExperimentsV1Response``): one row per dataset run."""
    groups, limit, score_limit, last, clauses, params = _common(
        req, EXPERIMENT_FIELD_GROUPS, ["core"], _EXPERIMENT_FILTER_COLUMNS, "experiments")
    having, hparams = "", []
    if last is not None:
        last_time, _, _, last_experiment = last
        having = "HAVING (max(i.start_time) < ? OR (max(i.start_time) = ? AND i.experiment_id < ?))"
        hparams = [last_time, last_time, last_experiment]
    rows = store.fetch(
        f"SELECT i.experiment_id, any_value(i.experiment_name) AS name, "
        f"any_value(i.experiment_description) AS description, any_value(i.experiment_metadata) AS metadata, "
        f"any_value(i.dataset_id) AS dataset_id, min(i.start_time) AS start_time, "
        f"max(greatest(i.start_time, coalesce(i.end_time, i.start_time))) AS end_time, "
        f"count(DISTINCT i.experiment_item_id) AS item_count, max(i.start_time) AS cursor_time, "
        f"arg_max(i.trace_id, (i.start_time, i.id)) AS cursor_trace_id, "
        f"arg_max(i.id, (i.start_time, i.id)) AS cursor_id "
        f"FROM ({_ITEMS_SQL}) i WHERE {' AND '.join(clauses)} GROUP BY i.experiment_id {having} "
        f"ORDER BY cursor_time DESC, i.experiment_id DESC LIMIT ?", [*params, *hparams, limit + 1])
    meta: dict = {}
    if len(rows) > limit:
        rows = rows[:limit]
        r = rows[-1]
        meta["cursor"] = _encode_cursor(r["cursor_time"], r["cursor_trace_id"], r["cursor_id"], r["experiment_id"])
    data = []
    for r in rows:
        item = {"id": r["experiment_id"], "name": r["name"], "description": r["description"],
                "startTime": iso(r["start_time"]), "endTime": iso(r["end_time"]),
                "itemCount": int(r["item_count"]), "datasetId": r["dataset_id"] or None}
        if "metadata" in groups:
            item["metadata"] = _dict_or_none(r["metadata"])
        if "scores" in groups:
            item["scores"] = _scores(store, "dataset_run_id", r["experiment_id"], score_limit)
        data.append(item)
    return {"data": data, "meta": meta}


def experiments_list_items(store, req: ApiRequest) -> dict:
    """``GET /api/public/experiment-items`` (``GetExperimentItemsV1Response``): one row per run item."""
    groups, limit, score_limit, last, clauses, params = _common(
        req, EXPERIMENT_ITEM_FIELD_GROUPS, ["core", "dataset"], _ITEM_FILTER_COLUMNS, "experiment_items")
    if last is not None:
        last_time, last_trace, last_id, last_experiment = last
        clauses.append("(i.start_time, i.trace_id, i.id, i.experiment_id) < (?, ?, ?, ?)")
        params += [last_time, last_trace, last_id, last_experiment]
    rows = store.fetch(f"SELECT i.* FROM ({_ITEMS_SQL}) i WHERE {' AND '.join(clauses)} "
                       "ORDER BY i.start_time DESC, i.trace_id DESC, i.id DESC, i.experiment_id DESC LIMIT ?",
                       [*params, limit + 1])
    meta: dict = {}
    if len(rows) > limit:
        rows = rows[:limit]
        r = rows[-1]
        meta["cursor"] = _encode_cursor(r["start_time"], r["trace_id"], r["id"], r["experiment_id"])
    data = []
    for r in rows:
        item = {"id": r["id"], "traceId": r["trace_id"], "startTime": iso(r["start_time"]),
                "endTime": iso(r["end_time"]), "level": r["level"], "environment": r["environment"],
                "experimentId": r["experiment_id"], "experimentName": r["experiment_name"] or "",
                "experimentItemId": r["experiment_item_id"]}
        if "dataset" in groups:
            item["experimentDatasetId"] = r["dataset_id"] or None
            item["experimentItemVersion"] = iso(r["experiment_item_version"])
        if "io" in groups:
            item["input"] = r["input"]
            item["output"] = r["output"]
            item["expectedOutput"] = r["expected_output"]
        if "metadata" in groups:
            item["metadata"] = _dict_or_none(r["metadata"])
        if "itemMetadata" in groups:
            item["experimentItemMetadata"] = _dict_or_none(r["experiment_item_metadata"])
        if "experimentMetadata" in groups:
            item["experimentMetadata"] = _dict_or_none(r["experiment_metadata"])
            item["experimentDescription"] = r["experiment_description"]
        if "scores" in groups:
            item["scores"] = _scores(store, "trace_id", r["trace_id"], score_limit)
        data.append(item)
    return {"data": data, "meta": meta}
