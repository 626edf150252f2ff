"""``validate_query``: a metrics query checked before it is sent.

Two layers, both collected in full (every problem is reported, not the first):

1. the bundled JSON Schema of the API generation (structure, enums, ranges,
   timestamps, filter combinations, the per-view choices);
2. the semantic checks of :mod:`lfnb.metrics.checks`, worded like the server.

Errors are reduced the way Altair's schemapi does it: each jsonschema error is
taken at its most specific path, duplicates are dropped, and an enum failure
lists the valid choices. :class:`lfnb.errors.QueryValidationError` shows the
first three and says how many more there are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

from lfnb.errors import QueryValidationError
from lfnb.metrics import checks, schemas

TOP_LEVEL = ("view", "dimensions", "metrics", "filters", "timeDimension",
             "fromTimestamp", "toTimestamp", "orderBy", "config")
KEYED_FILTER_TYPES = ("categoryOptions", "stringObject", "numberObject", "booleanObject", "positionInTrace")
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
               float: "number", type(None): "null"}


def load_query(query: Any) -> Any:
    """A query given as a :class:`~lfnb.MetricsQuery`, a dict or JSON text, as a Python object."""
    to_dict = getattr(query, "to_dict", None)
    if callable(to_dict) and not isinstance(query, dict):   # a MetricsQuery (imported lazily: it imports us)
        return to_dict()
    if isinstance(query, (bytes, str)):
        try:
            return json.loads(query)
        except ValueError as exc:
            raise QueryValidationError([{"path": "$", "message": f"Invalid JSON in query: {exc}"}],
                                       title="Invalid metrics query") from None
    return query


def validate_query(query: Any, version: str = "v2") -> dict:
    """Check a Metrics API query and return it normalised.

    Parameters
    ----------
    query : MetricsQuery, dict or str
        The builder, the query object, or its JSON text.
    version : {"v2", "v1"}
        The API generation: ``v2`` = ``/api/public/v2/metrics`` (Langfuse v4),
        ``v1`` = ``/api/public/metrics``.

    Returns
    -------
    dict
        The query as the server sees it after parsing: defaults filled
        (``dimensions=[]``, ``filters=[]``, ``timeDimension=None``,
        ``orderBy=None``), unknown keys dropped.

    Raises
    ------
    lfnb.errors.QueryValidationError
        Listing every problem with its JSON path (``$.metrics[0].aggregation``)
        and, where they are a closed set, the valid choices.

    Examples
    --------
    >>> q = validate_query({"view": "observations", "metrics": [{"measure": "count", "aggregation": "count"}],
    ...                     "fromTimestamp": "2026-10-25T00:00:00Z", "toTimestamp": "2026-11-01T00:00:00Z"})
    >>> q["dimensions"], q["orderBy"]
    ([], None)
    """
    data = load_query(query)
    issues = query_issues(data, version)
    if issues:
        raise QueryValidationError(issues, title=f"Invalid metrics query ({version})")
    return normalize(data)


def query_issues(data: Any, version: str = "v2") -> list[dict]:
    """Every problem of a query as ``{"path", "message"[, "valid"]}`` dicts (empty when valid)."""
    schemas.query_schema(version)  # rejects an unknown version early
    if not isinstance(data, dict):
        return [{"path": "$", "message": f"must be a JSON object; got {_json_type(data)}"}]
    issues = schema_issues(data, version)
    zod_ok = not any(True for _ in schemas.validator(version, zod_only=True).iter_errors(data))
    extra: list[dict] = []
    order = checks.time_order_issue(data)
    if order:
        extra.append(order)
    extra += checks.datetime_filter_issues(data) + checks.timestamp_issues(data)
    if zod_ok:
        extra += checks.semantic_issues(normalize(data), version)
    for issue in extra:
        if not _covered(issue["path"], issues):
            issues.append(issue)
    return _dedupe(sorted(issues, key=_sort_key))


def schema_issues(data: dict, version: str) -> list[dict]:
    """The JSON Schema errors of ``data``, one issue per leaf error."""
    out: list[dict] = []
    for error in _leaves(schemas.validator(version).iter_errors(data)):
        out += _issues_of(error, data, version)
    return out


def normalize(data: dict) -> dict:
    """The zod-parsed shape: defaults filled, unknown keys dropped (expects a schema-valid query)."""
    out: dict = {
        "view": data["view"],
        "dimensions": [{"field": d["field"]} for d in data.get("dimensions") or []],
        "metrics": [{"measure": m["measure"], "aggregation": m["aggregation"]} for m in data["metrics"]],
        "filters": [_normalize_filter(f) for f in data.get("filters") or []],
        "timeDimension": ({"granularity": data["timeDimension"]["granularity"]}
                          if data.get("timeDimension") else None),
        "fromTimestamp": data["fromTimestamp"],
        "toTimestamp": data["toTimestamp"],
        "orderBy": ([{"field": o["field"], "direction": o["direction"]} for o in data["orderBy"]]
                    if data.get("orderBy") is not None else None),
    }
    if isinstance(data.get("config"), dict):
        out["config"] = {k: data["config"][k] for k in ("bins", "row_limit") if k in data["config"]}
    return out


def _normalize_filter(f: dict) -> dict:
    out = {k: f[k] for k in ("column", "type", "operator", "value") if k in f}
    if f.get("type") in KEYED_FILTER_TYPES and "key" in f:
        out["key"] = f["key"]
    return out


# -- jsonschema errors -> issues -------------------------------------------------------------

def _leaves(errors: Iterable[ValidationError]) -> Iterable[ValidationError]:
    """The most specific error of each combinator failure (anyOf/oneOf keep their best branch)."""
    for error in errors:
        if error.context:
            yield from _leaves([best_match(error.context)])
        else:
            yield error


def json_path(parts: Iterable[Any]) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _issues_of(error: ValidationError, data: dict, version: str) -> list[dict]:
    path = list(error.absolute_path)
    kind, value, instance = error.validator, error.validator_value, error.instance
    if kind == "required":
        missing = [p for p in value if isinstance(instance, dict) and p not in instance]
        return [{"path": json_path(path + [p]), "message": "is required"} for p in missing]
    if kind == "enum":
        choices = list(value)
        message = f"must be one of {', '.join(map(str, choices))}; got {instance!r}"
        hint = _hint(path, instance, data, version)
        return [{"path": json_path(path), "message": message + hint, "valid": choices}]
    if kind == "const":
        return [{"path": json_path(path), "message": f"must be {json.dumps(value)}; got {instance!r}",
                 "valid": [value]}]
    if kind == "type":
        wanted = " or ".join(value) if isinstance(value, list) else value
        return [{"path": json_path(path), "message": f"must be of type {wanted}; got {_json_type(instance)}"}]
    if kind == "pattern" and path and path[-1] in ("fromTimestamp", "toTimestamp"):
        return [{"path": json_path(path), "message": (
            "must be an ISO 8601 datetime with seconds and a UTC offset "
            f"(e.g. 2026-11-01T00:00:00Z or 2026-11-01T01:00:00+01:00); got {instance!r}")}]
    if kind == "minimum":
        return [{"path": json_path(path), "message": f"must be >= {value}; got {instance!r}"}]
    if kind == "maximum":
        return [{"path": json_path(path), "message": f"must be <= {value}; got {instance!r}"}]
    if kind == "minItems":
        return [{"path": json_path(path), "message": f"must have at least {value} item(s)"}]
    return [{"path": json_path(path), "message": error.message}]


def _hint(path: list, instance: Any, data: dict, version: str) -> str:
    """Explain choices that exist in the other API generation (translation rules)."""
    other = "v1" if version == "v2" else "v2"
    if path == ["view"] and instance == "traces" and version == "v2":
        return (". The traces view exists only in the v1 API (/api/public/metrics); on v2 use the "
                "observations view, e.g. measure 'traceId' with aggregation 'uniq' counts traces")
    view = data.get("view")
    other_view = schemas.views(other).get(view) if isinstance(view, str) else None
    if other_view is None or len(path) < 2 or not isinstance(instance, str):
        return ""
    if path[0] == "dimensions" and instance in other_view["dimensions"]:
        return f". '{instance}' is a dimension of the {view} view only in the {other} API"
    if path[0] == "metrics" and path[-1] == "measure" and instance in other_view["measures"]:
        return f". '{instance}' is a measure of the {view} view only in the {other} API"
    if path[0] == "filters" and path[-1] == "column" and instance in other_view["dimensions"]:
        return f". '{instance}' is a filter column of the {view} view only in the {other} API"
    return ""


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _covered(path: str, issues: list[dict]) -> bool:
    """A semantic issue about an element a schema issue already reports on."""
    if "[" not in path:
        return any(i["path"] == path for i in issues)
    return any(i["path"] == path or i["path"].startswith(path + ".") or i["path"].startswith(path + "[")
               for i in issues)


def _sort_key(issue: dict) -> tuple:
    path = issue["path"]
    top = path[2:].split(".")[0].split("[")[0]
    rank = TOP_LEVEL.index(top) if top in TOP_LEVEL else len(TOP_LEVEL)
    return (rank, _index_key(path))


def _index_key(path: str) -> tuple:
    # numeric array indices sort numerically ($.metrics[10] after $.metrics[2])
    parts: list = []
    for chunk in path.replace("]", "").split("["):
        for sub in chunk.split("."):
            parts.append((0, int(sub), "") if sub.isdigit() else (1, 0, sub))
    return tuple(parts)


def _dedupe(issues: list[dict]) -> list[dict]:
    seen, out = set(), []
    for issue in issues:
        key = (issue["path"], issue["message"])
        if key not in seen:
            seen.add(key)
            out.append(issue)
    return out
