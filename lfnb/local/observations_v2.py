"""``GET /api/public/v2/observations``: cursor-paged observations with field groups.

Behaviour (facts sheet §4):

* Query parameters are validated as the server's zod schema does; violations answer
  400 ``{"message": "Invalid request data", "error": [issues]}`` (zod v4 wording).
  ``parseIoAsJson=true`` is such a 400 with the server's refine message.
* ``fields``: comma-separated groups; absent/empty → ``core,basic``; unknown names are
  dropped; only-unknown names → ``core`` alone. Fields of groups not requested are
  *absent*, not null. ``latency``/``timeToFirstToken`` (seconds) and ``modelId``,
  ``inputPrice``, ``outputPrice``, ``totalPrice`` are always present as keys.
  ``timeToFirstToken`` is null unless ``time`` or ``metrics`` is requested (Langfuse
  computes it only from a selected ``completion_start_time`` or the metrics SQL:
  ``observations_converters.ts`` ``convertEventsObservation`` and ``events.ts``
  ``enrichObservationsWithModelData``); ``latency`` comes from core's start/end times.
  The four model keys are null unless ``model`` is requested, prices being decimal
  strings from ``models``.
* ``usage``: ``totalCost`` and ``inputUsage``/``outputUsage``/``totalUsage`` are 0, never
  null, for an observation without cost or usage keys (``convertEventsObservation``:
  ``reducedCostDetails.total`` is ``Number(cost_details.total ?? 0)``, usages ``?? 0``);
  ``inputCost``/``outputCost`` stay null without a matching key.
* The provided model name is emitted as ``model`` only. The runtime and SDK 5.0.4
  (``ObservationV2.model``) use ``model``; the older OpenAPI text says
  ``providedModelName``. Emitting both would duplicate the value in every row for a
  name no current client reads, so lfnb's client accepts either name instead.
* ``metadata`` values (strings) are cut to 200 characters unless ``expandMetadata`` is
  non-empty. ``trace_context`` turns ``''`` into null.
* Order ``start_time DESC, xxHash32(trace_id) DESC, id DESC`` with start_time taken at
  millisecond precision, the precision of the cursor, so that pages never skip rows
  that differ only below the millisecond. ``limit + 1`` rows are read; when more exist
  ``meta.cursor`` is standard base64 of ``{"lastStartTimeTo", "lastTraceId", "lastId"}``,
  otherwise ``meta`` is ``{}``.
* Advanced ``filter`` conditions replace a simple query parameter only when both
  target the same store column; every other simple parameter still applies.

Performance: each row's JSON is built inside DuckDB (``json_object``) and the page
body is joined from those strings (``Reply.raw_json``), so no per-row Python objects
exist on the hot path. A page costs three small queries: the table's row count and
time span (cached two seconds) size a recent-time window; the bare start times in
that window give a *floor* below which the page cannot reach; the page query adds
``start_time >= floor`` and so renders JSON for about ``limit + 1`` rows instead of
ranking and rendering every match. Both shortcuts only narrow the candidates with
bounds that provably keep the page's rows, and fall back to the plain query when the
window holds too few rows. What remains is DuckDB reading each needed column for
every vector that holds a page row (with observations stored in start-time order a
page would touch a few vectors instead of nearly all, about 1.7x cheaper).
Unfiltered walks of a big table skip all of that after their first page: see
:mod:`lfnb.local.observations_v2_cache`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import weakref
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import xxhash

from lfnb.langfuse.enums import OBSERVATION_LEVELS as LEVELS
from lfnb.langfuse.enums import OBSERVATION_TYPES
from lfnb.local.filters_sql import column_expr, parse_filter_param, where_sql
from lfnb.local.handlers import ApiRequest, Reply, invalid_request, require_v4, scalar_list, zod_error
from lfnb.local.observations_v2_cache import cached_page

__all__ = ["get_observations_v2", "FIELD_GROUPS", "DEFAULT_GROUPS", "parse_fields",
           "encode_cursor", "decode_cursor", "PARSE_IO_MESSAGE"]

PARSE_IO_MESSAGE = (
    "parseIoAsJson=true is no longer supported on the v2 observations endpoint. Input/output fields "
    "are always returned as raw strings. Remove the parseIoAsJson parameter or set it to false."
)
MAX_LIMIT = 1000
DEFAULT_LIMIT = 50


def _ts(col: str) -> str:
    return f"strftime(o.{col}, '%Y-%m-%dT%H:%M:%S.%gZ')"


_KEY = "('$.\"' || replace(replace(k, '\\', '\\\\'), '\"', '\\\"') || '\"')"
_METADATA_CUT = (
    "CASE WHEN o.metadata IS NULL THEN NULL ELSE to_json(map_from_entries(list_transform("
    "json_keys(o.metadata), lambda k: struct_pack(k := k, v := CASE WHEN json_type(o.metadata, "
    f"{_KEY}) = 'VARCHAR' THEN to_json(left(json_extract_string(o.metadata, {_KEY}), 200)) "
    f"ELSE json_extract(o.metadata, {_KEY}) END)))) END"
)
_LATENCY = "(((epoch_us(o.end_time) // 1000) - (epoch_us(o.start_time) // 1000)) / 1000.0)"
_TTFT = "(((epoch_us(o.completion_start_time) // 1000) - (epoch_us(o.start_time) // 1000)) / 1000.0)"

#: group → ((JSON key, SQL expression over ``o``), ...), in response key order.
FIELD_GROUPS: dict[str, tuple[tuple[str, str], ...]] = {
    "core": (("id", "o.id"), ("traceId", "o.trace_id"), ("startTime", _ts("start_time")),
             ("endTime", _ts("end_time")), ("projectId", "o.project_id"),
             ("parentObservationId", "o.parent_observation_id"), ("type", "o.type")),
    "basic": (("name", "o.name"), ("level", "o.level"), ("statusMessage", "o.status_message"),
              ("version", "o.version"), ("environment", "o.environment"), ("bookmarked", "o.bookmarked"),
              ("public", "o.public"), ("userId", "o.user_id"), ("sessionId", "o.session_id"),
              ("isRootObservation", "(o.parent_observation_id IS NULL)")),
    "time": (("completionStartTime", _ts("completion_start_time")), ("createdAt", _ts("created_at")),
             ("updatedAt", _ts("updated_at"))),
    "io": (("input", "o.input"), ("output", "o.output")),
    "metadata": (("metadata", _METADATA_CUT),),
    "model": (("model", "o.model"), ("internalModelId", "o.internal_model_id"),
              ("modelParameters", "o.model_parameters")),
    "usage": (("usageDetails", "o.usage_details"), ("costDetails", "o.cost_details"),
              ("totalCost", "coalesce(o.total_cost, 0)"), ("usagePricingTierName", "o.usage_pricing_tier_name"),
              ("usagePricingTierId", "CAST(NULL AS VARCHAR)"), ("inputUsage", "coalesce(o.input_usage, 0)"),
              ("outputUsage", "coalesce(o.output_usage, 0)"), ("totalUsage", "coalesce(o.total_usage, 0)"),
              ("inputCost", "o.input_cost"), ("outputCost", "o.output_cost")),
    "prompt": (("promptId", "o.prompt_id"), ("promptName", "o.prompt_name"),
               ("promptVersion", "o.prompt_version")),
    # latency/timeToFirstToken are keys of every row (below); the group makes the latter non-null
    "metrics": (),
    "trace_context": (("tags", "o.tags"), ("release", "nullif(o.release, '')"),
                      ("traceName", "nullif(o.trace_name, '')")),
}
DEFAULT_GROUPS = ("core", "basic")
_ALWAYS = (("latency", _LATENCY),)
_PRICES_NULL = (("modelId", "NULL"), ("inputPrice", "NULL"), ("outputPrice", "NULL"), ("totalPrice", "NULL"))
_PRICES = (("modelId", "o.internal_model_id"), ("inputPrice", "mp.input_price"),
           ("outputPrice", "mp.output_price"), ("totalPrice", "mp.total_price"))
_SORT_TIME = "date_trunc('millisecond', o.start_time)"
_MS = timedelta(milliseconds=1)
_WINDOW_MIN_ROWS = 20_000
_WINDOW_MARGIN = 4

# simple query parameter → (store expression it targets, SQL with one ``?``)
_SIMPLE_EQ = {
    "name": "o.name", "userId": "o.user_id", "sessionId": "o.session_id", "level": "o.level",
    "traceId": "o.trace_id", "version": "o.version", "parentObservationId": "o.parent_observation_id",
    "type": "o.type",
}


def parse_fields(raw: str | None) -> tuple[str, ...]:
    """Requested groups in canonical order (``core`` always first)."""
    if raw is None or raw.strip() == "":
        return DEFAULT_GROUPS
    asked = {part.strip() for part in raw.split(",")}
    return tuple(g for g in FIELD_GROUPS if g == "core" or g in asked)


def encode_cursor(start_time_iso: str, trace_id: str | None, obs_id: str) -> str:
    payload = {"lastStartTimeTo": start_time_iso, "lastTraceId": trace_id or "", "lastId": obs_id}
    return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str, str]:
    """(last start time as naive UTC, last trace id, last id) or a 400 ``Invalid cursor format``."""
    try:
        data = json.loads(base64.b64decode(cursor.strip(), validate=False).decode("utf-8"))
        last = datetime.fromisoformat(data["lastStartTimeTo"].replace("Z", "+00:00"))
        trace_id, obs_id = data["lastTraceId"], data["lastId"]
        if not isinstance(trace_id, str) or not isinstance(obs_id, str):
            raise TypeError("ids must be strings")
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, UnicodeDecodeError):
        raise invalid_request("Invalid cursor format. Use the cursor returned in meta.cursor "
                              "of the previous response.") from None
    if last.tzinfo is not None:
        last = last.astimezone(UTC).replace(tzinfo=None)
    return last, trace_id, obs_id


def _issue(path: str, code: str, message: str, **extra: Any) -> dict:
    return {"code": code, **extra, "path": [path], "message": message}


def _parse_params(req: ApiRequest) -> tuple[dict, list[dict]]:
    """Query parameters → options, or zod-style issues."""
    issues: list[dict] = []
    opts: dict[str, Any] = {}
    raw_limit = req.get("limit")
    if raw_limit is None:
        opts["limit"] = DEFAULT_LIMIT
    else:
        try:
            # z.coerce.number(): Number("") is 0, Number("abc") is NaN
            limit = float(raw_limit) if raw_limit.strip() else 0.0
        except ValueError:
            limit = math.nan
        if math.isnan(limit):
            issues.append(_issue("limit", "invalid_type", "Invalid input: expected number, received NaN",
                                 expected="number"))
        elif limit < 0:
            issues.append(_issue("limit", "too_small", "Too small: expected number to be >=0",
                                 origin="number", minimum=0, inclusive=True))
        elif limit > MAX_LIMIT:
            issues.append(_issue("limit", "too_big", "Too big: expected number to be <=1000",
                                 origin="number", maximum=MAX_LIMIT, inclusive=True))
        else:
            opts["limit"] = int(limit)
    for name, choices in (("type", OBSERVATION_TYPES), ("level", LEVELS)):
        value = req.get(name)
        if value is not None and value not in choices:
            issues.append(_issue(name, "invalid_value", "Invalid option: expected one of "
                                 + "|".join(f'"{c}"' for c in choices), values=list(choices)))
    for name in ("parseIoAsJson", "isRootObservation"):
        value = req.get(name)
        if value is not None and value not in ("true", "false"):
            issues.append(_issue(name, "invalid_value", 'Invalid option: expected one of "true"|"false"',
                                 values=["true", "false"]))
    if req.get("parseIoAsJson") == "true":
        issues.append(_issue("parseIoAsJson", "custom", PARSE_IO_MESSAGE))
    for name in ("fromStartTime", "toStartTime"):
        value = req.get(name)
        if value is None:
            continue
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                raise ValueError("no offset")
            opts[name] = parsed.astimezone(UTC).replace(tzinfo=None)
        except ValueError:
            issues.append(_issue(name, "invalid_format", "Invalid ISO datetime", format="datetime"))
    return opts, issues


def _row_json(groups: tuple[str, ...], expand: bool) -> str:
    """SQL for one row's JSON object over ``observations o`` (prices from the ``mp`` join)."""
    fields = [kv for g in groups for kv in FIELD_GROUPS[g]]
    if expand:
        fields = [(k, "o.metadata" if k == "metadata" else e) for k, e in fields]
    ttft = _TTFT if ("time" in groups or "metrics" in groups) else "NULL"
    fields += _ALWAYS + (("timeToFirstToken", ttft),) + (_PRICES if "model" in groups else _PRICES_NULL)
    return "json_object(" + ", ".join(f"'{k}', {e}" for k, e in fields) + ")"


def _price_str(value: float | None) -> str | None:
    if value is None:
        return None
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def get_observations_v2(store: Any, req: ApiRequest) -> Reply:
    """Handle ``GET /api/public/v2/observations`` (see the module docstring)."""
    opts, issues = _parse_params(req)
    if issues:
        raise zod_error(issues)
    require_v4(req, "observations_v2")     # after zod, as Langfuse's handler does
    advanced = parse_filter_param(req.get("filter"), "observations_v2")
    groups = parse_fields(req.get("fields"))
    expand = bool((req.get("expandMetadata") or "").strip())
    limit = opts["limit"]
    cursor = req.get("cursor")
    last = decode_cursor(cursor) if cursor else None
    if limit == 0:
        return Reply(200, None, raw_json=b'{"data":[],"meta":{}}')
    cur = store.thread_cursor()
    body = cached_page(store, cur, req, groups, expand, opts, last, limit,
                       lambda: _row_json(groups, expand), encode_cursor)
    if body is not None:
        return Reply(200, None, raw_json=body)

    where, params = where_sql(advanced, "observations_v2")
    clauses, cparams = [where], list(params)
    overridden = {column_expr("observations_v2", c["column"]) for c in advanced}
    for name, expr in _SIMPLE_EQ.items():
        value = req.get(name)
        if value is not None and expr not in overridden:
            if name == "parentObservationId" and value == "":
                # Langfuse keeps "" (z.string().nullish()) and matches parent_span_id = '': the roots
                clauses.append(f"{expr} IS NULL")
                continue
            clauses.append(f"{expr} = ?")
            cparams.append(value)
    root = req.get("isRootObservation")
    if root is not None:
        clauses.append("o.parent_observation_id IS " + ("NULL" if root == "true" else "NOT NULL"))
    envs = scalar_list(req, "environment")
    if envs and "o.environment" not in overridden:
        clauses.append("list_contains(?::VARCHAR[], o.environment)")
        cparams.append(envs)
    if "o.start_time" not in overridden:
        if "fromStartTime" in opts:
            clauses.append("o.start_time >= ?::TIMESTAMP")
            cparams.append(opts["fromStartTime"])
        if "toStartTime" in opts:
            clauses.append("o.start_time < ?::TIMESTAMP")
            cparams.append(opts["toStartTime"])
    upper = opts.get("toStartTime") if "o.start_time" not in overridden else None
    # The floor search may use any subset of the remaining rows (see _page_floor): rows
    # strictly before the cursor's millisecond are one, and need no tuple comparison.
    floor_clauses, floor_params = list(clauses), list(cparams)
    if last is not None:
        last_time, last_trace, last_id = last
        last_hash = xxhash.xxh32_intdigest(last_trace.encode(), seed=0)
        floor_clauses.append("o.start_time < ?::TIMESTAMP")
        floor_params.append(last_time)
        # the plain bound lets DuckDB prune the scan; the tuple comparison is the cursor rule
        clauses.append("o.start_time < ?::TIMESTAMP")
        cparams.append(last_time + _MS)
        clauses.append(f"({_SORT_TIME} < ?::TIMESTAMP OR ({_SORT_TIME} = ?::TIMESTAMP AND "
                       "(o.trace_id_hash < ? OR (o.trace_id_hash = ? AND o.id < ?))))")
        cparams.extend([last_time, last_time, last_hash, last_hash, last_id])
        upper = last_time if upper is None else min(upper, last_time)

    row_json = _row_json(groups, expand)
    join, jparams = _price_join(store) if "model" in groups else ("", [])

    floor = None
    window = _window_start(store, cur, limit, upper)
    if window is not None:
        floor = _page_floor(cur, floor_clauses + ["o.start_time >= ?::TIMESTAMP"], floor_params + [window], limit)
    if floor is None:
        floor = _page_floor(cur, floor_clauses, floor_params, limit)
    if floor is not None:
        clauses = clauses + ["o.start_time >= ?::TIMESTAMP"]
        cparams = cparams + [floor]
    rows = _page(cur, row_json, join, clauses, cparams, jparams, limit)
    meta = b"{}"
    if len(rows) > limit:
        rows = rows[:limit]
        _, st, trace_id, obs_id = rows[-1]
        meta = b'{"cursor":' + json.dumps(encode_cursor(st, trace_id, obs_id)).encode() + b"}"
    body = b'{"data":[' + ",".join(r[0] for r in rows).encode() + b'],"meta":' + meta + b"}"
    return Reply(200, None, raw_json=body)


_STATS: weakref.WeakKeyDictionary[Any, tuple[int, tuple]] = weakref.WeakKeyDictionary()


def _table_stats(store: Any, cur: Any) -> tuple:
    """(rows, first and last start time in epoch ms) of observations, computed once per store version.

    ``Store.version`` moves after every committed write, so the figures are recomputed
    only when the table may have changed; a page does no whole-table work otherwise.
    """
    version = store.version  # read first: the figures are never tagged newer than they are
    cached = _STATS.get(store)
    if cached is None or cached[0] != version:
        stats = cur.execute("SELECT count(*), epoch_ms(min(start_time)), epoch_ms(max(start_time)) "
                            "FROM observations").fetchall()[0]
        cached = _STATS[store] = (version, stats)
    return cached[1]


def _window_start(store: Any, cur: Any, limit: int, upper: datetime | None) -> datetime | None:
    """A millisecond-aligned start time below which the page's rows probably do not reach.

    Ranking every row of the table costs most of a page's time; ranking only a recent
    window is exact whenever the window yields ``limit + 1`` rows (all rows outside it
    sort after all rows inside). The window is sized from the table's average density
    with a generous margin; None when the whole table is small anyway.
    """
    n, lo, hi = _table_stats(store, cur)
    if n < _WINDOW_MIN_ROWS or hi is None or hi <= lo:
        return None
    top = hi + 1 if upper is None else min(hi + 1, math.ceil(upper.replace(tzinfo=UTC).timestamp() * 1000))
    span = math.ceil((limit + 1) * _WINDOW_MARGIN * (hi - lo + 1) / n)
    start = top - span
    if start <= lo:
        return None
    return datetime.fromtimestamp(start / 1000, tz=UTC).replace(tzinfo=None)


def _page_floor(cur: Any, clauses: list[str], params: list[Any], limit: int) -> datetime | None:
    """A start time with at least ``limit + 1`` matching rows at or after it; None when fewer match.

    Only a lower bound is needed: any ``limit + 1`` rows of the page's candidates prove
    that the page lies at or after the earliest of them, so the search may run over a
    subset of the candidates (``clauses`` may be stricter than the page's) and ranks bare
    start times, which is cheap. With ``start_time >= floor`` added, the page query
    builds JSON for about ``limit + 1`` rows instead of every match. The bound is cut to
    the millisecond so that every row sharing the page's last sort time stays in.
    """
    rows = cur.execute(
        f"SELECT o.start_time FROM observations o WHERE {' AND '.join(clauses)} "
        f"ORDER BY o.start_time DESC LIMIT 1 OFFSET {limit}", params).fetchall()
    if not rows:
        return None
    row = rows[0]
    return row[0].replace(microsecond=row[0].microsecond // 1000 * 1000)


def _page(cur: Any, row_json: str, join: str, clauses: list[str], params: list[Any],
          jparams: list[Any], limit: int) -> list[tuple]:
    """Up to ``limit + 1`` rows: (row JSON, cursor start time, trace id, id), in page order."""
    sql = (
        f"SELECT {row_json}, strftime({_SORT_TIME}, '%Y-%m-%dT%H:%M:%S.%gZ'), o.trace_id, o.id "
        f"FROM observations o {join} WHERE {' AND '.join(clauses)} "
        f"ORDER BY {_SORT_TIME} DESC, o.trace_id_hash DESC, o.id DESC LIMIT {limit + 1}"
    )
    return cur.execute(sql, jparams + params).fetchall()  # the JOIN's markers come first


def _price_join(store: Any) -> tuple[str, list[Any]]:
    """A LEFT JOIN of the model prices as decimal strings (a handful of rows, bound as lists)."""
    models = store.fetch("SELECT id, input_price, output_price, total_price FROM models")
    cols = [[m["id"] for m in models]] + [[_price_str(m[k]) for m in models]
                                          for k in ("input_price", "output_price", "total_price")]
    join = ("LEFT JOIN (SELECT unnest(?::VARCHAR[]) AS id, unnest(?::VARCHAR[]) AS input_price, "
            "unnest(?::VARCHAR[]) AS output_price, unnest(?::VARCHAR[]) AS total_price) mp "
            "ON mp.id = o.internal_model_id")
    return join, cols
