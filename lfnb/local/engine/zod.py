"""The server's zod step for a metrics query, as zod v4 issue objects.

lfnb.local answers a query that fails the request schema exactly like Langfuse:
``400 {"message": "Invalid request data", "error": [issues]}`` with issue paths
starting at ``"query"``. The checks are the bundled schema without its per-view
rules (``schemas.validator(version, zod_only=True)``) plus zod's refine on the
timestamps.
"""

from __future__ import annotations

from typing import Any

from jsonschema.exceptions import ValidationError

from lfnb.metrics import checks, schemas

_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number",
          type(None): "null"}


def _received(value: Any) -> str:
    return _TYPES.get(type(value), "unknown")


def _issue(error: ValidationError) -> list[dict]:
    path = ["query"] + list(error.absolute_path)
    kind, expected, instance = error.validator, error.validator_value, error.instance
    if kind == "required":
        missing = [p for p in expected if isinstance(instance, dict) and p not in instance]
        return [_missing(path + [p], p, error) for p in missing]
    if kind == "enum":
        if path[-1] == "type" and len(path) >= 4 and path[1] == "filters":
            return [{"code": "invalid_union", "errors": [], "note": "No matching discriminator",
                     "discriminator": "type", "path": path, "message": "Invalid input"}]
        values = list(expected)
        return [{"code": "invalid_value", "values": values, "path": path,
                 "message": "Invalid option: expected one of " + "|".join(f'"{v}"' for v in values)}]
    if kind == "const":
        return [{"code": "invalid_value", "values": [expected], "path": path,
                 "message": f'Invalid input: expected "{expected}"'}]
    if kind == "type":
        wanted = expected[0] if isinstance(expected, list) else expected
        if wanted == "integer" and isinstance(instance, float):
            return [{"expected": "int", "format": "safeint", "code": "invalid_type", "path": path,
                     "message": "Invalid input: expected int, received number"}]
        wanted = {"integer": "number"}.get(wanted, wanted)
        return [{"expected": wanted, "code": "invalid_type", "path": path,
                 "message": f"Invalid input: expected {wanted}, received {_received(instance)}"}]
    if kind == "pattern":
        return [{"origin": "string", "code": "invalid_format", "format": "datetime", "path": path,
                 "message": "Invalid ISO datetime"}]
    if kind == "minimum":
        return [{"origin": "number", "code": "too_small", "minimum": expected, "inclusive": True, "path": path,
                 "message": f"Too small: expected number to be >={expected}"}]
    if kind == "maximum":
        return [{"origin": "number", "code": "too_big", "maximum": expected, "inclusive": True, "path": path,
                 "message": f"Too big: expected number to be <={expected}"}]
    if kind == "minItems":
        return [{"origin": "array", "code": "too_small", "minimum": expected, "inclusive": True, "path": path,
                 "message": f"Too small: expected array to have >={expected} items"}]
    return [{"code": "custom", "path": path, "message": error.message}]


_ENUM_FIELDS = {"view", "aggregation", "direction", "granularity"}


def _missing(path: list, name: str, error: ValidationError) -> dict:
    """zod's issue for an absent required key (enums report their options)."""
    if name in _ENUM_FIELDS:
        values = list(error.schema.get("properties", {}).get(name, {}).get("enum", []))
        return {"code": "invalid_value", "values": values, "path": path,
                "message": "Invalid option: expected one of " + "|".join(f'"{v}"' for v in values)}
    if name == "type":
        return {"code": "invalid_union", "errors": [], "note": "No matching discriminator",
                "discriminator": "type", "path": path, "message": "Invalid input"}
    expected = "array" if name == "metrics" else "string"
    return {"expected": expected, "code": "invalid_type", "path": path,
            "message": f"Invalid input: expected {expected}, received undefined"}


def zod_issues(data: Any, version: str) -> list[dict]:
    """zod v4 issues for a parsed ``query`` value (empty when it passes the request schema)."""
    if not isinstance(data, dict):
        return [{"expected": "object", "code": "invalid_type", "path": ["query"],
                 "message": f"Invalid input: expected object, received {_received(data)}"}]
    errors = sorted(schemas.validator(version, zod_only=True).iter_errors(data),
                    key=lambda e: [str(p) for p in e.absolute_path])
    issues = [i for e in errors for i in _issue(e)]
    for bad in checks.datetime_filter_issues(data):
        index = int(bad["path"].split("[")[1].split("]")[0])
        issues.append({"expected": "date", "code": "invalid_type", "received": "Invalid Date",
                       "path": ["query", "filters", index, "value"],
                       "message": "Invalid input: expected date, received Date"})
    for bad in checks.timestamp_issues(data):
        issues.append({"origin": "string", "code": "invalid_format", "format": "datetime",
                       "path": ["query", bad["path"][2:]], "message": "Invalid ISO datetime"})
    if not issues:
        order = checks.time_order_issue(data)
        if order:
            issues.append({"code": "custom", "path": ["query"], "message": order["message"]})
    return issues
