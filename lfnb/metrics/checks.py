"""Semantic checks a JSON Schema cannot express, with the server's own wording.

The functions mirror, in order, what Langfuse runs after its zod parse
(facts sheet §2.4-2.7, §3.3): the v2 high-cardinality rule (``validateQuery``),
then the query builder's dimension, metric/aggregation, filter, pairExpand and
orderBy checks. Each problem is an issue dict ``{"path", "message"}`` whose
message is the text the server puts in its 400 body, so lfnb.local can answer
with the first one and the client can show all of them.

Every function expects a query that already passed the zod-level schema.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from lfnb.langfuse.timestamps import is_timestamp_text, parse_timestamp
from lfnb.metrics import schemas

METRIC_FIELD = re.compile(r"^(sum|avg|count|max|min|p50|p75|p90|p95|p99|uniq)_(.+)$")

_EXPECTED = {
    "string": "Expected 'string' or 'stringOptions'.",
    "string[]": "Expected 'arrayOptions'.",
    "arrayString": "Expected 'arrayOptions'.",
    "boolean": "Expected 'boolean'.",
    "number": "Expected 'number'.",
}
_ALLOWED = {
    "string": ("string", "stringOptions"),
    "string[]": ("arrayOptions",),
    "arrayString": ("arrayOptions",),
    "boolean": ("boolean",),
    "number": ("number",),
}
_METADATA_EXAMPLE = ('Example: {"column": "metadata", "type": "stringObject", "key": "environment", '
                     '"operator": "=", "value": "production"}')


def timestamp_issues(query: dict) -> list[dict]:
    """Timestamps that match the ISO pattern but name no real instant (2026-02-30, offset +25:00)."""
    issues = []
    for key in ("fromTimestamp", "toTimestamp"):
        value = query.get(key)
        if is_timestamp_text(value):
            try:
                parse_timestamp(value)
            except ValueError:
                issues.append({"path": f"$.{key}", "message": f"is not a valid date and time; got {value!r}"})
    return issues


def time_order_issue(query: dict) -> dict | None:
    """zod's refine: fromTimestamp strictly before toTimestamp (compared in milliseconds, like JS Dates)."""
    try:
        start, end = parse_timestamp(query["fromTimestamp"]), parse_timestamp(query["toTimestamp"])
    except (KeyError, TypeError, ValueError):
        return None
    if start.timestamp() * 1000 // 1 < end.timestamp() * 1000 // 1:
        return None
    return {"path": "$.fromTimestamp", "message": "fromTimestamp must be before toTimestamp"}


def parse_filter_datetime(value) -> datetime:
    """A datetime filter value (ISO text or epoch milliseconds) as a naive UTC datetime.

    Raises ``ValueError`` for text that is not a date, like zod's ``z.coerce.date()``.
    """

    if isinstance(value, bool):
        raise ValueError(f"not a date: {value!r}")
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000, tz=UTC).replace(tzinfo=None)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def datetime_filter_issues(query: dict) -> list[dict]:
    """Datetime filter values that are not dates (zod coerces them and fails)."""
    issues = []
    filters = query.get("filters")
    for i, f in enumerate(filters if isinstance(filters, list) else []):
        if isinstance(f, dict) and f.get("type") == "datetime" and "value" in f:
            try:
                parse_filter_datetime(f["value"])
            except (ValueError, TypeError, OverflowError):
                issues.append({"path": f"$.filters[{i}].value",
                               "message": f"must be a date, e.g. 2026-11-01T00:00:00Z; got {f['value']!r}"})
    return issues


def high_cardinality_issues(query: dict, version: str) -> list[dict]:
    """v2's rule: high-cardinality dimensions only as a top-N (never in a time series)."""
    if version != "v2":
        return []
    facts = schemas.views(version).get(query["view"])
    if facts is None:
        return []
    hc = [d["field"] for d in query.get("dimensions") or []
          if facts["dimensions"].get(d["field"], {}).get("highCardinality")]
    if not hc:
        return []
    names = ", ".join(hc)
    if query.get("timeDimension"):
        return [{"path": "$.timeDimension", "message": (
            f"High cardinality dimension(s) '{names}' cannot be used with timeDimension. "
            "Time series queries with high cardinality dimensions produce unbounded result sets.")}]
    desc = [o["field"] for o in query.get("orderBy") or [] if o.get("direction") == "desc"]
    row_limit = (query.get("config") or {}).get("row_limit")
    if not row_limit or not desc:
        return [{"path": "$.orderBy" if row_limit else "$.config.row_limit", "message": (
            f"High cardinality dimension(s) '{names}' require both 'config.row_limit' and 'orderBy' "
            "with direction 'desc' on a measure field.")}]
    measures = [m["measure"] for m in query.get("metrics") or []]
    bad = [f for f in desc if not any(f == m or f.endswith("_" + m) for m in measures)]
    if bad:
        quoted = ", ".join(f"'{f}'" for f in bad)
        verb = "is" if len(bad) == 1 else "are"
        return [{"path": "$.orderBy", "message": (
            f"High cardinality dimension(s) '{names}' require 'orderBy' with direction 'desc' on a measure "
            f"field. {quoted} {verb} not a measure in this query.")}]
    return []


def builder_issues(query: dict, version: str) -> list[dict]:
    """The query builder's checks, in its order: dimensions, metrics, filters, pairExpand, orderBy."""
    facts = schemas.views(version).get(query["view"])
    if facts is None:
        return []
    dims, measures = facts["dimensions"], facts["measures"]
    issues: list[dict] = []
    dim_list = ",".join(dims)  # the server interpolates a JS array: comma, no space
    for i, d in enumerate(query.get("dimensions") or []):
        if d["field"] not in dims:
            issues.append({"path": f"$.dimensions[{i}].field",
                           "message": f"Invalid dimension {d['field']}. Must be one of {dim_list}"})
    for i, m in enumerate(query.get("metrics") or []):
        measure = measures.get(m["measure"])
        if measure is None:
            issues.append({"path": f"$.metrics[{i}].measure",
                           "message": f"Invalid metric {m['measure']}. Must be one of {','.join(measures)}"})
            continue
        valid = schemas.valid_aggregations(measure["type"])
        if m["aggregation"] not in valid:
            issues.append({"path": f"$.metrics[{i}].aggregation", "message": (
                f'Aggregation "{m["aggregation"]}" is not valid for measure "{m["measure"]}" '
                f"(type: {measure['type']}). Valid aggregations: {', '.join(valid)}")})
    for i, f in enumerate(query.get("filters") or []):
        issue = filter_issue(f, facts)
        if issue:
            issues.append({"path": f"$.filters[{i}]", "message": issue})
    pair_dims = effective_dimensions(query, facts)
    pairs = [d for d in pair_dims if dims.get(d, {}).get("pairExpand")]
    if len(pairs) > 1:
        issues.append({"path": "$.metrics", "message": (
            f"Only one pairExpand dimension is supported per query. Found: {', '.join(pairs)}")})
    issues += order_by_issues(query, pair_dims)
    return issues


def effective_dimensions(query: dict, facts: dict) -> list[str]:
    """Requested dimensions plus those auto-added by ``requiresDimension`` measures."""
    out = [d["field"] for d in query.get("dimensions") or []]
    for m in query.get("metrics") or []:
        req = facts["measures"].get(m["measure"], {}).get("requiresDimension")
        if req and req not in out:
            out.append(req)
    return out


def filter_issue(f: dict, facts: dict) -> str | None:
    """§3.3: the column decides which filter types are allowed."""
    column, ftype = f["column"], f["type"]
    dims = facts["dimensions"]
    dim = dims.get(column)
    if dim is None and column.endswith("Name") and "name" in dims:
        dim = dims["name"]  # LFE-4838 fallback: e.g. scoreName -> name
    if dim is not None:
        if ftype == "null" or ftype in _ALLOWED[dim["type"]]:
            return None
        return (f"Invalid filter for field '{column}': Filter type '{ftype}' is not supported for "
                f"dimension type '{dim['type']}'. {_EXPECTED[dim['type']]}")
    if column == facts["timeColumn"]:
        # queryBuilder.ts validateFilters: null filters pass, else only datetime
        if ftype in ("datetime", "null"):
            return None
        return (f"Invalid filter for field '{column}': Filter type '{ftype}' is not supported for "
                f"time dimension '{facts['timeColumn']}'. Expected 'datetime'.")
    if column == "metadata":
        if ftype != "stringObject":
            return ("Invalid filter for field 'metadata': Metadata filters require type 'stringObject' with a "
                    f"'key' property, not '{ftype}'. {_METADATA_EXAMPLE}")
        return None
    return f"Invalid filter column {column}. Must be one of {','.join(dims)} or {facts['timeColumn']}"


def order_by_issues(query: dict, dimensions: list[str] | None = None) -> list[dict]:
    """§2.6: orderBy names time_dimension, a requested dimension or a requested ``<agg>_<measure>``.

    ``dimensions`` are the effective ones (auto-added pairExpand dimensions count).
    """
    issues = []
    dims = set(dimensions if dimensions is not None else [d["field"] for d in query.get("dimensions") or []])
    pairs = {(m["aggregation"], m["measure"]) for m in query.get("metrics") or []}
    for i, item in enumerate(query.get("orderBy") or []):
        field = item["field"]
        if field == "time_dimension" and query.get("timeDimension"):
            continue
        if field in dims:
            continue
        match = METRIC_FIELD.match(field)
        if match and (match.group(1), match.group(2)) in pairs:
            continue
        issues.append({"path": f"$.orderBy[{i}].field", "message": (
            f"Invalid orderBy field: {field}. Must be one of the dimension or metric fields.")})
    return issues


def semantic_issues(query: dict, version: str) -> list[dict]:
    """Every post-zod problem, in the order the server would report them."""
    return high_cardinality_issues(query, version) + builder_issues(query, version)
