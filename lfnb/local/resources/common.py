"""Shared pieces of the lfnb.local resource handlers: query-param parsing, paging, JSON rendering.

Every list endpoint of Langfuse's v1 family pages with ``page``/``limit`` (facts sheet §5):
``page`` is an integer > 0 (default 1), ``limit`` an integer > 0 and <= 100 (default 50) and an
empty string counts as absent. A violation is a zod failure (400 ``Invalid request data``
with a list of issues); the issue dicts below mimic zod v4's shape (``code``, ``path``,
``message`` plus the bound that was broken).

Pages are computed in DuckDB (``LIMIT ? OFFSET ?`` plus ``count(*)``) with bound
parameters only; :class:`Where` collects clause texts and their parameters side by side
so no value is ever formatted into SQL.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from lfnb.local.handlers import ApiProblem, ApiRequest, invalid_request, not_found, zod_error

__all__ = [
    "Where", "page_params", "page_meta", "paged", "paged_json", "iso", "parse_json", "parse_datetime",
    "datetime_param", "enum_param", "int_param", "number_param", "csv_param", "fields_param", "project",
    "issue", "ApiProblem", "invalid_request", "not_found", "zod_error", "DEFAULT_LIMIT",
    "MAX_LIMIT", "require_body", "check_fields", "body_issue",
]

DEFAULT_LIMIT = 50
MAX_LIMIT = 100

# zod's iso.datetime({offset: true}): a date, a time with optional seconds and fraction, and
# a mandatory ``Z`` or ``±hh:mm`` offset. Date-only and offset-less strings are rejected.
_ISO_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$"
)


def issue(code: str, path: Sequence[Any], message: str, **extra: Any) -> dict:
    """One zod-like issue dict."""
    out = {"code": code, "path": list(path), "message": message}
    out.update(extra)
    return out


def iso(value: datetime | None) -> str | None:
    """A naive UTC (or aware) datetime as Langfuse's JSON timestamp: ms precision and ``Z``."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_json(text: Any) -> Any:
    """A JSON column's text as a Python value (``None`` stays ``None``; bad JSON stays text)."""
    if text is None or not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_datetime(text: str) -> datetime | None:
    """An ISO-8601 string with offset → naive UTC datetime, or ``None`` when malformed."""
    m = _ISO_RE.match(text.strip())
    if not m:
        return None
    date, hm, sec, frac, off = m.groups()
    seconds = (sec or ":00")[:3]
    micros = ((frac or ".0")[1:] + "000000")[:6]
    off = "+00:00" if off == "Z" else (off if ":" in off else off[:3] + ":" + off[3:])
    try:
        value = datetime.fromisoformat(f"{date}T{hm}{seconds}.{micros}{off}")
    except ValueError:
        return None
    return value.astimezone(UTC).replace(tzinfo=None)


def _absent(value: str | None) -> bool:
    return value is None or value == ""


def datetime_param(req: ApiRequest, name: str, issues: list[dict]) -> datetime | None:
    """An optional ISO datetime query parameter; a malformed one adds a zod issue."""
    raw = req.get(name)
    if _absent(raw):
        return None
    value = parse_datetime(raw)
    if value is None:
        issues.append(issue("invalid_format", [name], "Invalid ISO datetime", format="datetime",
                            origin="string"))
    return value


_MAX_SAFE_INTEGER = 2**53 - 1


def int_param(req: ApiRequest, name: str, issues: list[dict], *, default: int | None,
              minimum: int | None = None, maximum: int | None = None,
              positive: bool = False) -> int | None:
    """An optional integer query parameter coerced like ``z.coerce.number().int()``;
    ``positive`` is zod's ``.gt(0)`` (its message says ``>0``, not ``>=1``)."""
    raw = req.get(name)
    if _absent(raw):
        return default
    try:
        number = float(raw)
    except ValueError:
        number = math.nan
    if math.isnan(number):
        issues.append(issue("invalid_type", [name], "Invalid input: expected number, received NaN",
                            expected="number", received="NaN"))
        return default
    # zod 4's int() is a safe integer: |n| <= 2**53 - 1 (a page of 1e20 would overflow DuckDB's OFFSET)
    if not number.is_integer() or math.isinf(number) or abs(number) > _MAX_SAFE_INTEGER:
        issues.append(issue("invalid_type", [name], "Invalid input: expected int, received number",
                            expected="int", format="safeint"))
        return default
    value = int(number)
    if positive and value <= 0:
        issues.append(issue("too_small", [name], "Too small: expected number to be >0",
                            origin="number", minimum=0, inclusive=False))
        return default
    if minimum is not None and value < minimum:
        issues.append(issue("too_small", [name], f"Too small: expected number to be >={minimum}",
                            origin="number", minimum=minimum, inclusive=True))
        return default
    if maximum is not None and value > maximum:
        issues.append(issue("too_big", [name], f"Too big: expected number to be <={maximum}",
                            origin="number", maximum=maximum, inclusive=True))
        return default
    return value


def number_param(req: ApiRequest, name: str, issues: list[dict]) -> float | None:
    """An optional finite number query parameter."""
    raw = req.get(name)
    if _absent(raw):
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        issues.append(issue("invalid_type", [name], "Invalid input: expected number, received NaN",
                            expected="number", received="NaN"))
        return None
    return value


def enum_param(req: ApiRequest, name: str, options: Sequence[str], issues: list[dict]) -> str | None:
    """An optional query parameter that must be one of ``options``."""
    raw = req.get(name)
    if _absent(raw):
        return None
    if raw not in options:
        quoted = "|".join(f'"{o}"' for o in options)
        issues.append(issue("invalid_value", [name], f"Invalid option: expected one of {quoted}",
                            values=list(options)))
        return None
    return raw


def fields_param(req: ApiRequest, options: Sequence[str], default: list[str], issues: list[dict]) -> list[str]:
    """The ``fields`` groups (comma-separated), each one of ``options`` (zod's enum issue otherwise), or ``default``."""
    groups = csv_param(req, "fields")
    quoted = "|".join(f'"{g}"' for g in options)
    for i, g in enumerate(groups):
        if g not in options:
            issues.append(issue("invalid_value", ["fields", i], f"Invalid option: expected one of {quoted}",
                                values=list(options)))
    return groups or default


def csv_param(req: ApiRequest, name: str) -> list[str]:
    """A comma-separated query parameter as a list of non-empty, stripped values."""
    raw = req.get(name)
    if _absent(raw):
        return []
    return [part.strip() for part in raw.split(",") if part.strip()]


def page_params(req: ApiRequest, issues: list[dict]) -> tuple[int, int]:
    """``(page, limit)`` per ``publicApiPaginationZod``; violations are appended to ``issues``."""
    page = int_param(req, "page", issues, default=1, positive=True)
    limit = int_param(req, "limit", issues, default=DEFAULT_LIMIT, positive=True, maximum=MAX_LIMIT)
    return page, limit


def one_row(store: Any, sql: str, params: list, not_found_message: str) -> dict:
    """The first row ``sql`` finds, or Langfuse's 404 with ``not_found_message``."""
    rows = store.fetch(sql, params)
    if not rows:
        raise not_found(not_found_message)
    return rows[0]


def page_meta(page: int, limit: int, total: int) -> dict:
    return {"page": page, "limit": limit, "totalItems": total,
            "totalPages": math.ceil(total / limit) if limit else 0}


class Where:
    """SQL ``WHERE`` clauses with their bound parameters, kept in step."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: list[Any] = []

    def add(self, clause: str, *params: Any) -> Where:
        self.clauses.append(clause)
        self.params.extend(params)
        return self

    def eq(self, column: str, value: Any) -> Where:
        if value is not None and value != "":
            self.add(f"{column} = ?", value)
        return self

    def any_of(self, column: str, values: Iterable[Any]) -> Where:
        values = [v for v in values if v is not None and v != ""]
        if values:
            self.add(f"{column} IN (SELECT unnest(?))", values)
        return self

    def sql(self) -> str:
        return ("WHERE " + " AND ".join(f"({c})" for c in self.clauses)) if self.clauses else ""


def paged(store: Any, select: str, from_sql: str, where: Where, order_by: str,
          page: int, limit: int, *, key: str | None = None) -> tuple[list[dict], int]:
    """One page of rows and the total row count, both computed in DuckDB.

    ``select``, ``from_sql``, ``order_by`` and ``key`` are fixed SQL texts chosen by the
    handler (never user input); every value lives in ``where.params``.

    With ``key`` (the unique id column, e.g. ``o.id``) the page is found on the sort
    columns and the key alone, and only its rows are read in full: sorting wide rows
    (input/output texts) for a deep OFFSET is what makes late pages slow otherwise.
    """
    base = f"FROM {from_sql} {where.sql()}"
    total = store.fetch(f"SELECT count(*) AS n {base}", where.params)[0]["n"]
    if key is None:
        sql = f"SELECT {select} {base} ORDER BY {order_by} LIMIT ? OFFSET ?"
    else:
        sql = (f"SELECT {select} FROM {from_sql} JOIN (SELECT {key} AS _page_key {base} "
               f"ORDER BY {order_by} LIMIT ? OFFSET ?) _page ON {key} = _page._page_key "
               f"ORDER BY {order_by}")
    rows = store.fetch(sql, [*where.params, limit, (page - 1) * limit])
    return rows, total


def paged_json(render: Callable[[dict], dict], store: Any, select: str, from_sql: str, where: Where,
               order_by: str, page: int, limit: int, *, key: str | None = None) -> dict:
    """A v1 list's answer: ``{"data": [render(row), ...], "meta": page_meta(...)}`` for one :func:`paged` page."""
    rows, total = paged(store, select, from_sql, where, order_by, page, limit, key=key)
    return {"data": [render(r) for r in rows], "meta": page_meta(page, limit, total)}


def project(store: Any) -> dict:
    """The store's one project row (``id``, ``name``, ``organization_id``, ...)."""
    rows = store.fetch("SELECT * FROM projects ORDER BY created_at NULLS LAST, id LIMIT 1")
    if not rows:
        return {"id": "lfnb-local", "name": "lfnb.local", "organization_id": "lfnb",
                "metadata": None, "created_at": None}
    return rows[0]


def require_body(req: ApiRequest) -> dict:
    """The JSON object body of a write, or a 400 naming what was sent instead."""
    if not isinstance(req.body, dict):
        kind = "nothing" if req.body is None else type(req.body).__name__
        raise zod_error([issue("invalid_type", [], f"Invalid input: expected object, received {kind}",
                               expected="object")])
    return req.body


def body_issue(path: str, message: str, code: str = "custom") -> dict:
    return issue(code, [path], message)


def check_fields(body: dict, spec: dict[str, tuple[str, bool]], issues: list[dict]) -> None:
    """Type-check body fields: ``spec[name] = (kind, required)`` with kind in
    ``string``, ``number``, ``integer``, ``boolean``, ``object``, ``array``, ``any``.
    ``None`` is accepted for optional fields (the OpenAPI marks them nullable)."""
    for name, (kind, required) in spec.items():
        value = body.get(name)
        if value is None:
            if required:
                issues.append(issue("invalid_type", [name],
                                    f"Invalid input: expected {kind}, received undefined",
                                    expected=kind))
            continue
        ok = {
            "string": isinstance(value, str),
            "number": isinstance(value, (int, float)) and not isinstance(value, bool),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
            "object": isinstance(value, dict),
            "array": isinstance(value, list),
            "any": True,
        }[kind]
        if not ok:
            issues.append(issue("invalid_type", [name],
                                f"Invalid input: expected {kind}, received {js_type(value)}",
                                expected=kind))


def js_type(value: Any) -> str:
    """The JavaScript type name zod reports as ``received`` (``null`` for None)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    return "object"


def decode_v1_cursor(text: str) -> dict:
    """The JSON object of a Langfuse ``{"v": 1, …}`` cursor (v3 scores, experiments): base64 or base64url.

    Text that is not base64 JSON is the 400 ``Invalid cursor format`` (thrown inside the zod
    transform, so not an issue list); another ``v`` is zod's discriminated-union issue.
    """
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4))
        data = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid_request("Invalid cursor format") from None
    if not isinstance(data, dict) or data.get("v") != 1:
        raise zod_error([issue("invalid_union", ["cursor", "v"], "Invalid input", errors=[],
                               note="No matching discriminator", discriminator="v")])
    return data
