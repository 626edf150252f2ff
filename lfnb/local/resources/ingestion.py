"""``POST /api/public/ingestion`` (``ingestion_batch``): Langfuse's batched event API.

Modelled on Langfuse's ``web/src/pages/api/public/ingestion.ts`` and
``packages/shared/src/server/ingestion/{types,processEventBatch}.ts`` (the research
is in the project's ingestion spec). Per request:

1. the body must be ``{"batch": [...], "metadata"?: JSON}``, else a whole-request 400
   ``{"message": "Invalid request data", "errors": [<issue messages>]}`` (plural ``errors``);
2. generation ``v4`` (Langfuse's default write mode ``events_only``): only ``score-create``
   and ``sdk-log`` go on; every other element gets Langfuse's per-event refusal
   (:data:`EVENTS_ONLY_ERROR`), listed after all other errors. ``v3`` and ``both``
   (legacy / dual write) accept every event type;
3. each event is validated on its own (envelope and body, zod-like issues; the
   per-event ``error`` is the issues as pretty-printed JSON, as zod 4's message is);
4. the answer is always 207 ``{"successes": [{"id", "status": 201}], "errors": [...]}``:
   successes in Langfuse's ``sortBatch`` order (creates by envelope timestamp, then
   updates by timestamp), ``sdk-log`` in neither list, no de-duplication;
5. valid events are merged into the store synchronously
   (:mod:`lfnb.local.resources.ingestion_merge`); real Langfuse shows them after a few
   seconds.

The 4.5 MB body limit (Next.js' 413, :mod:`lfnb.langfuse.bodylimits`) is applied by the app
before authentication, and with ``--rate-limit`` a request counts in the ``ingestion`` bucket
(:func:`lfnb.langfuse.ratelimits.resource_of`). Not emulated: Bearer (public-key-only) scope,
project sampling, and the ``dataset-run-item-create`` internal path
(always a per-event 400, as on the public API).
"""

from __future__ import annotations

import json
import re
from typing import Any

from lfnb.local.handlers import ApiProblem, ApiRequest, Reply
from lfnb.local.resources.common import js_type
from lfnb.local.resources.ingestion_merge import apply_events, event_time

__all__ = ["ROUTES", "ingestion_batch", "validate_event", "sort_batch", "EVENTS_ONLY_ERROR",
           "OBSERVATION_TYPES", "UPDATE_TYPES"]

EVENTS_ONLY_ERROR = (
    'Event type "{type}" is not accepted by /api/public/ingestion when LANGFUSE_MIGRATION_V4_WRITE_MODE is '
    "events_only. This endpoint only accepts score and log events. Upgrade the client or integration to a "
    "v4-compatible SDK or OTLP ingestion path. As a temporary migration bridge, set "
    "LANGFUSE_MIGRATION_V4_WRITE_MODE=dual on both the web and worker services and redeploy. Docs: "
    "https://langfuse.com/self-hosting/upgrade/upgrade-guides/upgrade-v3-to-v4"
)
EVENTS_ONLY_TYPES = ("score-create", "sdk-log")

#: event type -> observation type (``observation-*`` take ``body.type``)
OBSERVATION_TYPES = {
    "span-create": "SPAN", "span-update": "SPAN", "generation-create": "GENERATION",
    "generation-update": "GENERATION", "event-create": "EVENT", "agent-create": "AGENT",
    "tool-create": "TOOL", "chain-create": "CHAIN", "retriever-create": "RETRIEVER",
    "evaluator-create": "EVALUATOR", "embedding-create": "EMBEDDING", "guardrail-create": "GUARDRAIL",
    "observation-create": None, "observation-update": None,
}
UPDATE_TYPES = ("generation-update", "span-update", "observation-update")
EVENT_TYPES = ("trace-create", "score-create", "sdk-log", "dataset-run-item-create", *OBSERVATION_TYPES)

# zod 4.3's iso.datetime({offset: true}): Z or ±HH:MM, seconds optional, any fraction digits.
_DATETIME = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d"
                       r"(?::[0-5]\d(?:\.\d+)?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$")
_LEVELS = ("DEBUG", "DEFAULT", "WARNING", "ERROR")
_UNITS = ("CHARACTERS", "TOKENS", "SECONDS", "MILLISECONDS", "IMAGES", "REQUESTS")
_SCORE_TARGETS = ("Provide exactly one of the following: traceId (with optional observationId), sessionId "
                  "or datasetRunId. ObservationId requires traceId.")


def _type_issue(path: list, expected: str, value: Any) -> dict:
    got = "undefined" if value is _MISSING else js_type(value)
    return {"expected": expected, "code": "invalid_type", "path": path,
            "message": f"Invalid input: expected {expected}, received {got}"}


_MISSING = object()


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return _is_number(v) and float(v).is_integer()


# ---------------------------------------------------------------------------- field checks
# Each check returns a list of issues for ``value`` at ``path`` (value may be _MISSING).

def _id(path, v):
    if not isinstance(v, str):
        return [_type_issue(path, "string", v)]
    if not v:
        return [{"origin": "string", "code": "too_small", "minimum": 1, "inclusive": True, "path": path,
                 "message": "Too small: expected string to have >=1 characters"}]
    if len(v) > 800:
        return [{"origin": "string", "code": "too_big", "maximum": 800, "inclusive": True, "path": path,
                 "message": "Too big: expected string to have <=800 characters"}]
    if "\r" in v:
        return [{"code": "custom", "path": path, "message": "ID cannot contain carriage return characters"}]
    return []


def _string(path, v, max_len=None, min_len=None):
    if not isinstance(v, str):
        return [_type_issue(path, "string", v)]
    if max_len is not None and len(v) > max_len:
        return [{"origin": "string", "code": "too_big", "maximum": max_len, "inclusive": True, "path": path,
                 "message": f"Too big: expected string to have <={max_len} characters"}]
    if min_len is not None and len(v) < min_len:
        return [{"origin": "string", "code": "too_small", "minimum": min_len, "inclusive": True, "path": path,
                 "message": f"Too small: expected string to have >={min_len} characters"}]
    return []


def _datetime(path, v):
    if not isinstance(v, str):
        return [_type_issue(path, "string", v)]
    if not _DATETIME.match(v):
        return [{"origin": "string", "code": "invalid_format", "format": "datetime", "pattern": _DATETIME.pattern,
                 "path": path, "message": "Invalid ISO datetime"}]
    return []


def _enum(options):
    def check(path, v):
        if v not in options:
            quoted = "|".join(f'"{o}"' for o in options)
            return [{"code": "invalid_value", "values": list(options), "path": path,
                     "message": f"Invalid option: expected one of {quoted}"}]
        return []
    return check


def _bool(path, v):
    return [] if isinstance(v, bool) else [_type_issue(path, "boolean", v)]


def _int(path, v):
    if not _is_number(v):
        return [_type_issue(path, "number", v)]
    if not _is_int(v):
        return [{"expected": "int", "format": "safeint", "code": "invalid_type", "path": path,
                 "message": "Invalid input: expected int, received number"}]
    return []


def _string_list(path, v):
    if not isinstance(v, list):
        return [_type_issue(path, "array", v)]
    return [i for k, item in enumerate(v) for i in _string(path + [k], item)]


def _any(path, v):
    return []


def _record(path, v):
    return [] if isinstance(v, dict) else [_type_issue(path, "record", v)]


def _model_parameters(path, v):
    if not isinstance(v, dict):
        return [_type_issue(path, "record", v)]
    out = []
    for k, item in v.items():
        ok = item is None or isinstance(item, (str, bool)) or _is_number(item) or (
            isinstance(item, list) and all(isinstance(x, str) for x in item)) or (
            isinstance(item, dict) and all(isinstance(x, str) for x in item.values()))
        if not ok:
            out.append({"code": "invalid_union", "path": path + [k], "message": "Invalid input"})
    return out


def _usage(path, v):
    if not isinstance(v, dict):
        return [_type_issue(path, "object", v)]
    out = []
    for k in ("input", "output", "total", "promptTokens", "completionTokens", "totalTokens"):
        if v.get(k) is not None:
            out += _int(path + [k], v[k])
    for k in ("inputCost", "outputCost", "totalCost"):
        if v.get(k) is not None and not _is_number(v[k]):
            out.append(_type_issue(path + [k], "number", v[k]))
    if v.get("unit") is not None:
        out += _enum(_UNITS)(path + ["unit"], v["unit"])
    return out


def _environment(path, v):
    return []   # normalised, never an error (``.catch("default")``)


# field name -> (check, required); a missing optional field and ``null`` are both fine
_OBS_OPTIONAL = {
    "traceId": (_id, False), "environment": (_environment, False), "name": (_string, False),
    "startTime": (_datetime, False), "metadata": (_any, False), "input": (_any, False), "output": (_any, False),
    "level": (_enum(_LEVELS), False), "statusMessage": (_string, False),
    "parentObservationId": (_string, False), "version": (_string, False),
}
_EVENT = {**_OBS_OPTIONAL, "id": (_id, True)}
_SPAN = {**_EVENT, "endTime": (_datetime, False)}
_GENERATION = {**_SPAN, "completionStartTime": (_datetime, False), "model": (_string, False),
               "modelParameters": (_model_parameters, False), "usage": (_usage, False),
               "usageDetails": (_record, False), "costDetails": (_record, False),
               "promptName": (_string, False), "promptVersion": (_int, False)}
_LEGACY = {"id": (_id, False), "traceId": (_id, False), "type": (_enum(("GENERATION", "SPAN", "EVENT")), True),
           "name": (_string, False), "startTime": (_datetime, False), "endTime": (_datetime, False),
           "completionStartTime": (_datetime, False), "model": (_string, False),
           "modelParameters": (_model_parameters, False), "input": (_any, False), "output": (_any, False),
           "usage": (_usage, False), "usageDetails": (_record, False), "costDetails": (_record, False),
           "metadata": (_any, False), "parentObservationId": (_string, False),
           "level": (_enum(_LEVELS), False), "statusMessage": (_string, False), "version": (_string, False)}
_TRACE = {"id": (_id, False), "timestamp": (_datetime, False),
          "name": (lambda p, v: _string(p, v, max_len=1000), False), "externalId": (_string, False),
          "input": (_any, False), "output": (_any, False), "sessionId": (_string, False),
          "userId": (_string, False), "environment": (_environment, False), "metadata": (_any, False),
          "release": (_string, False), "version": (_string, False), "public": (_bool, False),
          "tags": (_string_list, False)}
_SCORE = {"id": (_id, False), "name": (lambda p, v: _string(p, v, min_len=1), True),
          "traceId": (_string, False), "sessionId": (_string, False), "datasetRunId": (_string, False),
          "environment": (_environment, False), "observationId": (_string, False), "comment": (_string, False),
          "metadata": (_any, False), "source": (_enum(("API", "EVAL", "ANNOTATION")), False),
          "executionTraceId": (_string, False), "queueId": (_string, False), "configId": (_string, False),
          "dataType": (_enum(("NUMERIC", "CATEGORICAL", "BOOLEAN", "CORRECTION", "TEXT")), False)}

_BODIES = {"trace-create": _TRACE, "score-create": _SCORE, "event-create": _EVENT,
           "span-create": _SPAN, "span-update": _SPAN, "observation-create": _LEGACY,
           "observation-update": _LEGACY, "sdk-log": {"log": (_any, True), "id": (_string, False)}}
for _t in OBSERVATION_TYPES:
    _BODIES.setdefault(_t, _GENERATION)


def _check_object(spec: dict, body: dict, path: list) -> list[dict]:
    out: list[dict] = []
    for name, (check, required) in spec.items():
        value = body.get(name, _MISSING)
        if value is _MISSING or value is None:
            if required:
                # a required field: its own check says what was expected (JSON values: any non-null)
                out += check(path + [name], value) if check is not _any else [
                    {"code": "custom", "path": path + [name], "message": "Invalid input: expected JSON value, "
                     f"received {'undefined' if value is _MISSING else 'null'}"}]
            continue
        out += check(path + [name], value)
    return out


def _score_value_issues(body: dict) -> list[dict]:
    value, dtype = body.get("value", _MISSING), body.get("dataType")
    path = ["body", "value"]
    if value is _MISSING or value is None:
        return [_type_issue(path, "number" if dtype in ("NUMERIC", "BOOLEAN") else "string", value)]
    if dtype in ("NUMERIC", "BOOLEAN"):
        if not _is_number(value):
            return [_type_issue(path, "number", value)]
        if dtype == "BOOLEAN" and value not in (0, 1):
            return [{"code": "custom", "path": path,
                     "message": "Value must be a number equal to either 0 or 1 for data type BOOLEAN"}]
    elif dtype in ("CATEGORICAL", "CORRECTION", "TEXT"):
        if not isinstance(value, str):
            return [_type_issue(path, "string", value)]
        if dtype == "TEXT":
            return _string(path, value, max_len=500, min_len=1)
        if dtype == "CORRECTION" and body.get("configId") is not None:
            return [_type_issue(["body", "configId"], "undefined", body["configId"])]
    elif not (isinstance(value, str) or _is_number(value)):
        return [{"code": "invalid_union", "path": path, "message": "Invalid input"}]
    return []


def validate_event(event: Any) -> list[dict]:
    """Zod-like issues of one batch element (empty when it is a valid event)."""
    if not isinstance(event, dict):
        return [_type_issue([], "object", event)]
    etype = event.get("type")
    if etype not in EVENT_TYPES:
        return [{"code": "invalid_union", "errors": [], "note": "No matching discriminator",
                 "discriminator": "type", "path": ["type"], "message": "Invalid input"}]
    issues = _id(["id"], event.get("id", _MISSING))
    issues += _datetime(["timestamp"], event.get("timestamp", _MISSING))
    body = event.get("body", _MISSING)
    if etype == "dataset-run-item-create":
        return issues + [{"code": "custom", "path": ["body"],
                          "message": "Dataset run item creation is only allowed for internal usage"}]
    if not isinstance(body, dict):
        return issues + [_type_issue(["body"], "object", body)]
    issues += _check_object(_BODIES[etype], body, ["body"])
    if etype in _BODIES and _BODIES[etype] is _GENERATION:
        if (body.get("promptName") is None) != (body.get("promptVersion") is None):
            issues.append({"code": "custom", "path": ["body"], "message": "Invalid input"})
    if etype == "score-create":
        issues += _score_value_issues(body)
        targets = [k for k in ("traceId", "sessionId", "datasetRunId") if body.get(k) is not None]
        if len(targets) != 1 or (body.get("observationId") is not None and body.get("traceId") is None):
            issues.append({"code": "custom", "path": ["body"], "message": _SCORE_TARGETS})
    return issues


def sort_batch(events: list[dict]) -> list[dict]:
    """Langfuse's ``sortBatch``: non-updates by envelope timestamp, then updates by timestamp."""
    creates = [e for e in events if e["type"] not in UPDATE_TYPES]
    updates = [e for e in events if e["type"] in UPDATE_TYPES]
    return sorted(creates, key=event_time) + sorted(updates, key=event_time)


def _request_errors(body: Any) -> list[str]:
    if not isinstance(body, dict):
        kind = "undefined" if body is None else js_type(body)
        return [f"Invalid input: expected object, received {kind}"]
    out = []
    if not isinstance(body.get("batch"), list):
        got = "undefined" if "batch" not in body else js_type(body["batch"])
        out.append(f"Invalid input: expected array, received {got}")
    return out


def ingestion_batch(store, req: ApiRequest) -> Reply:
    """``POST /api/public/ingestion`` → 207 ``{"successes", "errors"}`` (see the module docstring)."""
    body = req.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    errors = _request_errors(body)
    if errors:
        raise ApiProblem(400, {"message": "Invalid request data", "errors": errors})
    refused: list[dict] = []
    batch = body["batch"]
    if req.generation == "v4":
        kept = []
        for event in batch:
            etype = event.get("type") if isinstance(event, dict) else None
            if etype in EVENTS_ONLY_TYPES:
                kept.append(event)
                continue
            eid = event.get("id") if isinstance(event, dict) else None
            refused.append({"id": eid if isinstance(eid, str) else "unknown", "status": 400,
                            "message": "Event type not accepted",
                            "error": EVENTS_ONLY_ERROR.format(type=etype if isinstance(etype, str) else "unknown")})
        batch = kept
    valid, invalid = [], []
    for event in batch:
        issues = validate_event(event)
        if issues:
            eid = event.get("id") if isinstance(event, dict) else None
            invalid.append({"id": eid if isinstance(eid, str) else "unknown", "status": 400,
                            "message": "Invalid request data", "error": json.dumps(issues, indent=2)})
        elif event["type"] != "sdk-log":
            valid.append(event)
    ordered = sort_batch(valid)
    apply_events(store, ordered)
    return Reply(207, {"successes": [{"id": e["id"], "status": 201} for e in ordered],
                       "errors": invalid + refused})


ROUTES = [("POST", "/api/public/ingestion", "ingestion_batch", ingestion_batch)]
