"""Merging validated ingestion events into lfnb.local's tables (Langfuse's worker rules).

Modelled on ``worker/src/services/IngestionService`` (``mergeRecords``, ``overwriteObject``,
``mapTraceEventsToRecords``, ``mapObservationEventsToRecords``, ``getGenerationUsage``):

* events are grouped by entity ``(trace | observation | score, body.id)``; an event
  without ``body.id`` is accepted but stored nowhere;
* a group is replayed in envelope-timestamp order (creates first on ties) on top of
  the stored row: for each field the last event carrying a value wins, an explicit
  ``null`` clears where Langfuse passes it through (trace name/userId/sessionId/release/
  version, observation name/level/model, score comment/sessionId/observationId/
  datasetRunId) and is ignored elsewhere; ``{}`` never overwrites; immutable fields
  (ids, trace/start timestamps, environment, an observation's traceId) keep their first
  value; metadata merges deeply by key; tags are a sorted union; input/output come from
  the latest event whose value is truthy; a trace's ``public`` is reset by every event
  without ``public: true``;
* observations: ``endTime`` before ``startTime`` is clamped to it; usage keeps
  non-negative integers (``total`` = sum when absent); provided costs win
  (``total`` = input + output when only those are given), else the ``models`` table's
  prices (first ``match_pattern`` match) give the cost;
* traces are denormalised onto their observations and scores (as the store expects),
  and a trace with a ``sessionId`` creates the session row if absent.

Differences from Langfuse, on purpose: events are applied synchronously (Langfuse shows
them after a few seconds); the stored row is the only memory (Langfuse also keeps every
request's event file and replays them all); no tokenisation of input/output when usage
is missing; score-config checks of the worker are not repeated (a ``configId`` is stored
as given).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import xxhash

from lfnb.local.resources.common import parse_datetime, parse_json, project

__all__ = ["apply_events", "event_time", "normalise_environment", "entity_of"]

_OBS_TYPE = {
    "span-create": "SPAN", "span-update": "SPAN", "generation-create": "GENERATION",
    "generation-update": "GENERATION", "event-create": "EVENT", "agent-create": "AGENT",
    "tool-create": "TOOL", "chain-create": "CHAIN", "retriever-create": "RETRIEVER",
    "evaluator-create": "EVALUATOR", "embedding-create": "EMBEDDING", "guardrail-create": "GUARDRAIL",
}
_EPOCH = datetime(1970, 1, 1)


def event_time(event: dict) -> datetime:
    return parse_datetime(event["timestamp"]) or _EPOCH


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def normalise_environment(value: Any) -> str:
    """Langfuse's ``PublicEnvironmentName``: lower case, ``langfuse-`` prefixes stripped, ≤ 40 chars."""
    if not isinstance(value, str):
        return "default"
    name = re.sub(r"^(?:langfuse[-_]?)+", "", value.lower())[:40]
    return name if name and re.fullmatch(r"[a-z0-9_-]+", name) else "default"


def entity_of(event: dict) -> str | None:
    etype = event["type"]
    if etype == "trace-create":
        return "trace"
    if etype == "score-create":
        return "score"
    return "observation"


def _replay_order(events: list[dict]) -> list[dict]:
    return sorted(events, key=lambda e: (event_time(e), 0 if "create" in e["type"] else 1))


def apply_events(store, ordered: list[dict]) -> None:
    """Merge the valid events of one request (in ``sortBatch`` order) into the store."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for event in ordered:
        body_id = event["body"].get("id")
        if not body_id:
            continue     # accepted (201) but never stored, as in Langfuse
        groups.setdefault((entity_of(event), body_id), []).append(event)
    if not groups:
        return
    project_id = project(store)["id"]
    with store.write() as cur:
        # traces first, so observations and scores of the same request see them
        for kind in ("trace", "observation", "score"):
            for (entity, body_id), events in groups.items():
                if entity == kind:
                    _WRITERS[kind](cur, project_id, body_id, _replay_order(events))


# ---------------------------------------------------------------------------- helpers

def _row(cur, table: str, key: str) -> dict | None:
    rel = cur.execute(f"SELECT * FROM {table} WHERE id = ?", [key])
    row = rel.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in rel.description], row))


def _upsert(cur, table: str, values: dict, exists: bool) -> None:
    cols = list(values)
    if exists:
        cols.remove("id")
        cur.execute(f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
                    [*(values[c] for c in cols), values["id"]])
    else:
        cur.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    [values[c] for c in cols])


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _deep_merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _deep_merge(out[k], v) if isinstance(out.get(k), dict) and isinstance(v, dict) else v
    return out


def _metadata(current: Any, events: list[dict]) -> str | None:
    merged = parse_json(current) if current is not None else None
    merged = merged if isinstance(merged, dict) else {}
    for e in events:
        m = e["body"].get("metadata")
        if m is None:
            continue
        if not isinstance(m, dict):
            m = {"metadata": _text(m)}
        merged = _deep_merge(merged, m)
    return json.dumps(merged, ensure_ascii=False) if merged else (current if current is not None else None)


def _io(current: Any, events: list[dict], key: str) -> Any:
    for e in reversed(events):
        v = e["body"].get(key)
        if v:       # Langfuse: the latest *truthy* value ({} and [] count, "" and 0 do not)
            return _text(v)
    return current


def _set(state: dict, key: str, body: dict, field: str, *, clears: bool) -> None:
    """Langfuse's overwrite rule for one field: absent keeps, null clears only when ``clears``."""
    if field not in body:
        return
    value = body[field]
    if value is None and not clears:
        return
    state[key] = value


def _ts(value: Any) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) else None


# ---------------------------------------------------------------------------- traces

_TRACE_DENORMALISED = ("user_id", "session_id", "name", "tags", "release", "version")


def _write_trace(cur, project_id: str, trace_id: str, events: list[dict]) -> None:
    old = _row(cur, "traces", trace_id)
    state = dict(old) if old else {"id": trace_id, "project_id": project_id, "bookmarked": False,
                                   "created_at": _now()}
    for e in events:
        body = e["body"]
        if state.get("timestamp") is None:
            state["timestamp"] = _ts(body.get("timestamp")) or event_time(e)
        if state.get("environment") is None:
            state["environment"] = normalise_environment(body.get("environment"))
        for field, col in (("name", "name"), ("userId", "user_id"), ("release", "release"),
                           ("version", "version"), ("sessionId", "session_id")):
            _set(state, col, body, field, clears=True)
        state["public"] = body.get("public") is True
        if body.get("tags"):
            state["tags"] = sorted(set(state.get("tags") or []) | set(body["tags"]))
    state["metadata"] = _metadata(state.get("metadata"), events)
    state["input"] = _io(state.get("input"), events, "input")
    state["output"] = _io(state.get("output"), events, "output")
    state["updated_at"] = _now()
    _upsert(cur, "traces", state, old is not None)
    session_events = [e for e in events if e["body"].get("sessionId")]
    if session_events:
        sid = session_events[-1]["body"]["sessionId"]
        if cur.execute("SELECT count(*) FROM sessions WHERE id = ?", [sid]).fetchone()[0] == 0:
            cur.execute("INSERT INTO sessions (id, project_id, environment, created_at) VALUES (?, ?, ?, ?)",
                        [sid, project_id, state["environment"], state["timestamp"]])
    # the store keeps trace fields on observations and scores (filters and metrics read them there)
    cur.execute("UPDATE observations SET user_id = ?, session_id = ?, trace_name = ?, tags = ?, release = ?, "
                "trace_version = ?, public = ?, updated_at = ? WHERE trace_id = ?",
                [state.get("user_id"), state.get("session_id"), state.get("name"), state.get("tags"),
                 state.get("release"), state.get("version"), state["public"], _now(), trace_id])
    cur.execute("UPDATE scores SET trace_name = ?, user_id = ?, tags = ?, trace_release = ?, trace_version = ? "
                "WHERE trace_id = ?", [state.get("name"), state.get("user_id"), state.get("tags"),
                                       state.get("release"), state.get("version"), trace_id])


# ---------------------------------------------------------------------------- observations

def _usage_of(body: dict) -> tuple[dict | None, dict | None]:
    """Provided usage and cost of one event (Langfuse's per-event mapping), None when absent."""
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else None
    if usage and any(usage.get(k) is not None for k in ("promptTokens", "completionTokens", "totalTokens")):
        usage = {"input": usage.get("promptTokens"), "output": usage.get("completionTokens"),
                 "total": usage.get("totalTokens")}
    details = body.get("usageDetails") if isinstance(body.get("usageDetails"), dict) else {}
    details = _usage_details(details)
    u_in, u_out = (usage or {}).get("input"), (usage or {}).get("output")
    total = (usage or {}).get("total") or (
        ((u_in + u_out) if u_in and u_out else (u_in if u_in is not None else u_out)) if not details else None)
    provided = {k: v for k, v in (("input", u_in), ("output", u_out), ("total", total)) if v is not None}
    provided.update(details)
    costs = {k: (usage or {}).get(f"{k}Cost") for k in ("input", "output", "total")}
    cost = {k: v for k, v in costs.items() if v is not None}
    raw_cost = body.get("costDetails") if isinstance(body.get("costDetails"), dict) else {}
    cost.update({k: float(v) for k, v in raw_cost.items()
                 if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and v >= 0})
    return provided or None, cost or None


def _usage_details(raw: dict) -> dict:
    """``usageDetails``: OpenAI completion/response shapes mapped, else non-negative integers kept."""
    for a, b, prefix_in, prefix_out in (("prompt_tokens", "completion_tokens", "prompt_tokens_details",
                                         "completion_tokens_details"),
                                        ("input_tokens", "output_tokens", "input_tokens_details",
                                         "output_tokens_details")):
        if a in raw and b in raw and "total_tokens" in raw and set(raw) <= {a, b, "total_tokens", prefix_in,
                                                                           prefix_out}:
            out = {"input": raw[a], "output": raw[b], "total": raw["total_tokens"]}
            for side, key in (("input", prefix_in), ("output", prefix_out)):
                for k, v in (raw.get(key) or {}).items():
                    if isinstance(v, int) and v >= 0:
                        out[f"{side}_{k}"] = v
                        out[side] = max(out[side] - v, 0)
            return out
    out = {}
    for k, v in raw.items():
        if isinstance(v, str) and re.match(r"^\s*[+-]?\d", v):
            v = int(re.match(r"^\s*([+-]?\d+)", v).group(1))
        if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
            out[k] = v
    return out


def _model_row(cur, model: str | None) -> dict | None:
    if not model:
        return None
    rel = cur.execute("SELECT * FROM models ORDER BY project_id NULLS LAST, start_date DESC NULLS LAST, id")
    cols = [d[0] for d in rel.description]
    for values in rel.fetchall():
        row = dict(zip(cols, values))
        try:
            if re.search(row["match_pattern"], model):
                return row
        except re.error:
            continue
    return None


def _write_observation(cur, project_id: str, obs_id: str, events: list[dict]) -> None:
    old = _row(cur, "observations", obs_id)
    state = dict(old) if old else {"id": obs_id, "project_id": project_id, "bookmarked": False, "public": False,
                                   "created_at": _now()}
    provided_usage = provided_cost = None
    for e in events:
        body, etype = e["body"], e["type"]
        legacy = etype.startswith("observation-")
        state["type"] = body.get("type") if legacy else _OBS_TYPE[etype]
        if state.get("trace_id") is None:
            state["trace_id"] = body.get("traceId") or str(uuid.uuid4())
        if state.get("start_time") is None:
            state["start_time"] = _ts(body.get("startTime")) or event_time(e)
        if state.get("environment") is None:
            state["environment"] = "default" if legacy else normalise_environment(body.get("environment"))
        _set(state, "name", body, "name", clears=True)
        _set(state, "level", body, "level", clears=True)
        for field, col in (("statusMessage", "status_message"), ("parentObservationId", "parent_observation_id"),
                           ("version", "version")):
            _set(state, col, body, field, clears=False)
        for field, col in (("endTime", "end_time"), ("completionStartTime", "completion_start_time")):
            if body.get(field):
                state[col] = _ts(body[field])
        if "model" in body and (legacy or etype in _OBS_TYPE and _OBS_TYPE[etype] not in ("SPAN", "EVENT")):
            state["model"] = body["model"]
        if body.get("modelParameters"):
            state["model_parameters"] = json.dumps(body["modelParameters"])
        usage, cost = _usage_of(body)
        provided_usage = usage or provided_usage
        provided_cost = cost or provided_cost
        if isinstance(body.get("promptName"), str) and isinstance(body.get("promptVersion"), int):
            hit = cur.execute("SELECT id FROM prompts WHERE name = ? AND version = ?",
                              [body["promptName"], body["promptVersion"]]).fetchone()
            if hit:
                state.update(prompt_id=hit[0], prompt_name=body["promptName"], prompt_version=body["promptVersion"])
    state["level"] = state.get("level") or "DEFAULT"
    if state.get("end_time") is not None and state["end_time"] < state["start_time"]:
        state["end_time"] = state["start_time"]
    state["metadata"] = _metadata(state.get("metadata"), events)
    state["input"] = _io(state.get("input"), events, "input")
    state["output"] = _io(state.get("output"), events, "output")
    _usage_and_cost(cur, state, provided_usage, provided_cost)
    state["trace_id_hash"] = xxhash.xxh32_intdigest(state["trace_id"].encode())
    trace = cur.execute("SELECT user_id, session_id, name, tags, release, version, public FROM traces WHERE id = ?",
                        [state["trace_id"]]).fetchone()
    if trace:
        for col, value in zip(("user_id", "session_id", "trace_name", "tags", "release", "trace_version", "public"),
                              trace):
            state[col] = value
    state["updated_at"] = _now()
    _upsert(cur, "observations", state, old is not None)


def _usage_and_cost(cur, state: dict, provided_usage: dict | None, provided_cost: dict | None) -> None:
    model = _model_row(cur, state.get("model"))
    state["internal_model_id"] = model["id"] if model else state.get("internal_model_id")
    if provided_usage is not None:
        usage = {k: v for k, v in provided_usage.items() if isinstance(v, (int, float)) and v >= 0}
        if usage and "total" not in usage:
            usage["total"] = sum(usage.values())
        state["usage_details"] = json.dumps(usage)
    usage = parse_json(state.get("usage_details")) or {}
    if provided_cost is not None:
        cost = dict(provided_cost)
        if "total" not in cost and set(cost) <= {"input", "output"}:
            cost["total"] = cost.get("input", 0.0) + cost.get("output", 0.0)
        state["cost_details"] = json.dumps(cost)
    elif provided_usage is not None and model is not None:
        prices = {"input": model.get("input_price"), "output": model.get("output_price")}
        cost = {k: usage[k] * p for k, p in prices.items() if p is not None and k in usage}
        if cost:
            cost["total"] = sum(cost.values())
            state["usage_pricing_tier_name"] = "Standard"
        state["cost_details"] = json.dumps(cost)
    cost = parse_json(state.get("cost_details")) or {}
    state.setdefault("usage_details", "{}")
    state.setdefault("cost_details", "{}")
    state["input_usage"], state["output_usage"], state["total_usage"] = (
        usage.get("input"), usage.get("output"), usage.get("total"))
    state["input_cost"], state["output_cost"], state["total_cost"] = (
        cost.get("input"), cost.get("output"), cost.get("total"))


# ---------------------------------------------------------------------------- scores

def _write_score(cur, project_id: str, score_id: str, events: list[dict]) -> None:
    old = _row(cur, "scores", score_id)
    state = dict(old) if old else {"id": score_id, "project_id": project_id, "created_at": _now()}
    for e in events:
        body = e["body"]
        if state.get("timestamp") is None:
            state["timestamp"] = event_time(e)
        if state.get("environment") is None:
            state["environment"] = normalise_environment(body.get("environment"))
        if state.get("trace_id") is None:
            state["trace_id"] = body.get("traceId")
        state["name"] = body["name"]
        state["source"] = body.get("source") or "API"
        for field, col in (("comment", "comment"), ("sessionId", "session_id"), ("observationId", "observation_id"),
                           ("datasetRunId", "dataset_run_id"), ("configId", "config_id"), ("queueId", "queue_id")):
            _set(state, col, body, field, clears=True)
        value = body["value"]
        dtype = body.get("dataType") or ("NUMERIC" if not isinstance(value, str) else "CATEGORICAL")
        state["data_type"] = dtype
        if dtype == "NUMERIC":
            state["value"], state["string_value"] = float(value), None
        elif dtype == "BOOLEAN":
            state["value"], state["string_value"] = float(value), "True" if value == 1 else "False"
        else:
            state["value"], state["string_value"] = 0.0, value
            if dtype == "CORRECTION":
                state["name"] = "output"
    state["metadata"] = _metadata(state.get("metadata"), events)
    ctx = {"trace_name": None, "user_id": None, "tags": None, "trace_release": None, "trace_version": None}
    if state.get("trace_id"):
        t = cur.execute("SELECT name, user_id, tags, release, version FROM traces WHERE id = ?",
                        [state["trace_id"]]).fetchone()
        if t:
            ctx = dict(zip(ctx, t))
    state.update(ctx)
    if state.get("observation_id"):
        o = cur.execute("SELECT name, model, prompt_name, prompt_version FROM observations WHERE id = ?",
                        [state["observation_id"]]).fetchone()
        if o:
            state.update(zip(("observation_name", "observation_model_name", "observation_prompt_name",
                              "observation_prompt_version"), o))
    state["updated_at"] = _now()
    _upsert(cur, "scores", state, old is not None)


_WRITERS = {"trace": _write_trace, "observation": _write_observation, "score": _write_score}
