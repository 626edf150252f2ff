"""Filter conditions for Langfuse's ``filter=`` parameter: builder, rules and validation.

No I/O here: the client uses it to fail before sending a request, lfnb.local uses it
to answer with the real server's 400s, and the widgets use it for their choices.

A condition is a dict ``{"type", "column", "operator", "value"[, "key"]}``. The
rules are data:

* :data:`TYPE_OPERATORS` — operators per filter type (facts sheet §3.1);
  ``matches`` is extra on ``string``/``stringObject`` for ``observations_v2`` only.
* :mod:`lfnb.langfuse.filter_columns` — per target, the columns, their display names and types,
  and which filter types each column type accepts (§3.2).

Validation happens in two layers, like on the server: the *schema* layer (shape,
type, operator, value, key; the server's zod parse, answered with
``"Invalid request data"``) and the *column* layer (column exists on the target,
filter type compatible, v2 input/output and ``matches`` rules; answered with the
server's ``InvalidRequestError`` message). :func:`check_filters` returns both;
:func:`validate_filters` raises :class:`~lfnb.errors.QueryValidationError` with all.

Examples
--------
>>> from lfnb.filters import Filter, filters_to_json
>>> Filter.string("name", "=", "chat").to_dict()
{'type': 'string', 'column': 'name', 'operator': '=', 'value': 'chat'}
>>> filters_to_json([Filter.is_null("endTime")])
'[{"type": "null", "column": "endTime", "operator": "is null", "value": ""}]'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from lfnb.errors import QueryValidationError
from lfnb.langfuse.filter_columns import COLUMNS, COMPATIBLE_FILTER_TYPES, TARGETS, find_column
from lfnb.langfuse.timestamps import to_iso

__all__ = [
    "Filter", "filters_to_json", "validate_filters", "check_filters", "check_condition",
    "column_choices", "operators_for", "TYPE_OPERATORS", "FILTER_TYPES", "KEYED_TYPES",
    "TARGETS", "COMPATIBLE_FILTER_TYPES", "IO_TYPE_MESSAGE", "IO_OPERATOR_MESSAGE", "MATCHES_TOKEN_MESSAGE",
    "MATCHES_TARGET_MESSAGE", "search_tokens", "to_iso",
]

_STRING_OPS = ("=", "contains", "does not contain", "starts with", "ends with")
_NUMBER_OPS = ("=", ">", "<", ">=", "<=")

#: filter type → operators (facts sheet §3.1; ``matches`` is handled separately).
TYPE_OPERATORS: dict[str, tuple[str, ...]] = {
    "datetime": (">", "<", ">=", "<="),
    "string": _STRING_OPS,
    "number": _NUMBER_OPS,
    "stringOptions": ("any of", "none of"),
    "categoryOptions": ("any of", "none of"),
    "arrayOptions": ("any of", "none of", "all of"),
    "stringObject": _STRING_OPS,
    "numberObject": _NUMBER_OPS,
    "booleanObject": ("=", "<>"),
    "boolean": ("=", "<>"),
    "null": ("is null", "is not null"),
    "positionInTrace": ("=",),
}
FILTER_TYPES: tuple[str, ...] = tuple(TYPE_OPERATORS)
#: filter types whose ``key`` is required (elsewhere a key is stripped).
KEYED_TYPES = frozenset({"stringObject", "numberObject", "booleanObject", "categoryOptions", "positionInTrace"})
_MATCHES_TYPES = frozenset({"string", "stringObject"})
_POSITION_KEYS = ("root", "first", "last", "nthFromEnd", "nthFromStart")
_IO_COLUMNS = frozenset({"input", "output"})

IO_TYPE_MESSAGE = "Input/output filters only support filter type `string`."
IO_OPERATOR_MESSAGE = "Input/output filters require at least one `matches` or `=` operator."
MATCHES_TOKEN_MESSAGE = "`matches` requires at least one search token."
MATCHES_TARGET_MESSAGE = "`matches` is only supported for input, output, and metadata filters."

# ClickHouse's tokens(): runs of ASCII alphanumerics; non-ASCII characters stay inside tokens.
_TOKEN_RE = re.compile(r"[0-9A-Za-z\u0080-\U0010ffff]+")


def search_tokens(value: str) -> list[str]:
    """The search tokens of a ``matches`` value (distinct, in order, at most 64)."""
    seen: dict[str, None] = {}
    for tok in _TOKEN_RE.findall(value):
        seen.setdefault(tok, None)
    return list(seen)[:64]


def _has_search_token(value: str) -> bool:
    return any(ch.isalnum() for ch in value)


def operators_for(filter_type: str, *, target: str | None = None) -> tuple[str, ...]:
    """Operators of a filter type; ``matches`` is included for string types on ``observations_v2``."""
    if filter_type not in TYPE_OPERATORS:
        raise QueryValidationError(
            [_issue("$.type", f"unknown filter type {filter_type!r}", FILTER_TYPES)], title="Invalid filter")
    ops = TYPE_OPERATORS[filter_type]
    if target == "observations_v2" and filter_type in _MATCHES_TYPES:
        ops = ops + ("matches",)
    return ops


def column_choices(target: str) -> list[dict]:
    """The filterable columns of a target: ``id``, ``name``, ``type``, ``filterTypes``, ``aliasOf``."""
    _check_target(target)
    out = []
    for col in COLUMNS[target]:
        if col.type is None:
            types = tuple(t for t in FILTER_TYPES if t not in ("null", "positionInTrace"))
        else:
            types = COMPATIBLE_FILTER_TYPES.get(col.type, (col.type,))
        if target == "observations_v2" and col.id in _IO_COLUMNS:
            types = ("string",)
        out.append({"id": col.id, "name": col.name, "type": col.type,
                    "filterTypes": list(types) + ["null"], "aliasOf": col.alias_of})
    return out


def _check_target(target: str) -> None:
    if target not in COLUMNS:
        raise QueryValidationError(
            [_issue("target", f"unknown filter target {target!r}; must be one of {', '.join(TARGETS)}", TARGETS)],
            title="Invalid filter")


def _issue(path: str, message: str, valid: Iterable[str] | None = None, kind: str = "schema") -> dict:
    issue = {"path": path, "message": message, "kind": kind}
    if valid is not None:
        issue["valid"] = list(valid)
    return issue


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def check_condition(cond: Any, path: str = "$", *, allow_matches: bool = False) -> tuple[dict | None, list[dict]]:
    """Schema checks of one condition (the server's zod layer).

    Returns the normalised condition (datetimes as ISO ``Z`` strings, stray ``key``
    stripped) or None, and the list of issues (``path``, ``message``, ``valid``, ``kind``).
    The metrics validation reuses this with ``allow_matches=False``.
    """
    if isinstance(cond, Filter):
        cond = cond.to_dict()
    if not isinstance(cond, Mapping):
        return None, [_issue(path, "a filter condition must be an object with type, column, operator, value")]
    issues: list[dict] = []
    ftype = cond.get("type")
    if ftype not in TYPE_OPERATORS:
        return None, [_issue(f"{path}.type", f"Invalid filter type {ftype!r}; expected one of "
                             + ", ".join(FILTER_TYPES), FILTER_TYPES)]
    column = cond.get("column")
    if not isinstance(column, str):
        issues.append(_issue(f"{path}.column", "column must be a string"))
    ops = TYPE_OPERATORS[ftype] + (("matches",) if allow_matches and ftype in _MATCHES_TYPES else ())
    operator = cond.get("operator")
    if operator not in ops:
        issues.append(_issue(f"{path}.operator", f"Invalid operator {operator!r} for filter type '{ftype}'; "
                             "expected one of " + ", ".join(repr(o) for o in ops), ops))
    value, value_problem = _normalise_value(ftype, operator, cond.get("value"), "value" in cond)
    if value_problem:
        issues.append(_issue(f"{path}.value", value_problem))
    out: dict[str, Any] = {"type": ftype, "column": column, "operator": operator}
    if ftype != "positionInTrace" or "value" in cond:
        out["value"] = value
    if ftype in KEYED_TYPES:
        key = cond.get("key")
        if ftype == "positionInTrace":
            if key not in _POSITION_KEYS:
                issues.append(_issue(f"{path}.key", "key must be one of " + ", ".join(_POSITION_KEYS), _POSITION_KEYS))
        elif not isinstance(key, str):
            issues.append(_issue(f"{path}.key", f"filter type '{ftype}' requires a string key"))
        out["key"] = key
    return (None if issues else out), issues


def _normalise_value(ftype: str, operator: Any, value: Any, present: bool) -> tuple[Any, str | None]:
    """(normalised value, problem or None) for a filter type's value rule."""
    if ftype == "datetime":
        if _is_number(value):
            return to_iso(datetime.fromtimestamp(value / 1000, tz=UTC)), None
        try:
            return to_iso(value), None
        except (TypeError, ValueError):
            return value, "Invalid date: expected an ISO 8601 datetime string"
    if ftype in ("string", "stringObject"):
        return value, None if isinstance(value, str) else "value must be a string"
    if ftype in ("number", "numberObject"):
        return value, None if _is_number(value) else "value must be a number"
    if ftype in ("boolean", "booleanObject"):
        return value, None if isinstance(value, bool) else "value must be a boolean"
    if ftype == "null":
        return value, None if value == "" and isinstance(value, str) else 'value must be the empty string ""'
    if ftype == "stringOptions":
        if not _is_str_list(value):
            return value, "value must be an array of strings"
        return value, None if value else "value must contain at least one option"
    if ftype == "categoryOptions":
        return value, None if _is_str_list(value) else "value must be an array of strings"
    if ftype == "arrayOptions":
        if not _is_str_list(value):
            return value, "value must be an array of strings"
        if not value and operator == "any of":
            return value, "value must contain at least one option for 'any of'"
        return value, None
    if ftype == "positionInTrace":
        if present and value is not None and not _is_number(value):
            return value, "value must be a number"
        return value, None
    return value, None  # pragma: no cover - every type is handled above


def check_filters(filters: Any, target: str) -> tuple[list[dict], list[dict]]:
    """Both validation layers for a list of conditions (or its JSON text).

    Returns ``(normalised, issues)``. Issues of kind ``"schema"`` come first; the
    ``"column"`` layer only runs when the schema layer passed (as on the server), and
    its issues carry the server's exact message.
    """
    _check_target(target)
    if isinstance(filters, (str, bytes)):
        try:
            filters = json.loads(filters)
        except ValueError as exc:
            return [], [_issue("$", f"filter is not valid JSON: {exc}")]
    if isinstance(filters, (Filter, Mapping)):
        filters = [filters]
    if not isinstance(filters, Sequence):
        return [], [_issue("$", "filter must be a JSON array of conditions")]
    normalised, issues = [], []
    for i, cond in enumerate(filters):
        norm, problems = check_condition(cond, f"$[{i}]", allow_matches=target == "observations_v2")
        issues.extend(problems)
        if norm is not None:
            normalised.append(norm)
    if issues:
        return [], issues
    return normalised, _column_issues(normalised, target)


def _column_issues(conds: list[dict], target: str) -> list[dict]:
    """Column problems in the order Langfuse finds them (``events.ts``,
    ``buildObservationsQueryComponents``): on v2 observations a non-string input/output
    filter first (``validateInputOutputFilterTypes``, alone), then unknown columns and
    types (``deriveFilters``), then the input/output operator rule
    (``validateIndexedInputOutputFilters``)."""
    issues: list[dict] = []
    if target == "observations_v2":
        for i, c in enumerate(conds):
            col = find_column(target, c["column"])
            if col is not None and col.id in _IO_COLUMNS and c["type"] != "string":
                return [_issue(f"$[{i}].type", IO_TYPE_MESSAGE, ["string"], kind="column")]
    for i, c in enumerate(conds):
        if c["type"] == "positionInTrace":
            continue  # dropped before column mapping by the REST list endpoints
        col = find_column(target, c["column"])
        if col is None:
            issues.append(_issue(f"$[{i}].column", f"Column {c['column']} does not match a UI / CH table mapping.",
                                 [d.id for d in COLUMNS[target] if d.alias_of is None], kind="column"))
            continue
        io_column = target == "observations_v2" and col.id in _IO_COLUMNS
        if not col.accepts(c["type"]):
            expected = col.type
            issues.append(_issue(f"$[{i}].type", f"Invalid filter type '{c['type']}' for column '{c['column']}'. "
                                 f"Expected filter type '{expected}'.",
                                 COMPATIBLE_FILTER_TYPES.get(expected, (expected,)), kind="column"))
            continue
        if c["operator"] == "matches":
            if not _has_search_token(c["value"]):
                issues.append(_issue(f"$[{i}].value", MATCHES_TOKEN_MESSAGE, kind="column"))
            elif not (io_column or col.id == "metadata"):
                issues.append(_issue(f"$[{i}].operator", MATCHES_TARGET_MESSAGE, ["input", "output", "metadata"],
                                     kind="column"))
    if target == "observations_v2":
        io = [c for c in conds if (col := find_column(target, c["column"])) is not None and col.id in _IO_COLUMNS]
        if io and not any(c["operator"] in ("=", "matches") for c in io):
            issues.append(_issue("$", IO_OPERATOR_MESSAGE, kind="column"))
    return issues


def validate_filters(filters: Any, target: str) -> list[dict]:
    """Normalised conditions for ``target``, or :class:`~lfnb.errors.QueryValidationError` with every issue.

    Parameters
    ----------
    filters : list of dict or Filter, or str
        The conditions (a JSON string is parsed).
    target : {"observations_v2", "observations_v1", "traces", "scores"}

    Raises
    ------
    QueryValidationError
        ``issues`` holds dicts with ``path`` (``$[2].operator``), ``message`` and ``valid``.
    """
    normalised, issues = check_filters(filters, target)
    if issues:
        raise QueryValidationError(issues, title=f"Invalid filter for {target}")
    return normalised


def filters_to_json(filters: Iterable[Filter | Mapping]) -> str:
    """The ``filter=`` query parameter value for a list of conditions."""
    return json.dumps([f.to_dict() if isinstance(f, Filter) else dict(f) for f in filters])


def _values(values: Iterable[str] | str) -> tuple:
    """Option values as a tuple; a lone string is one option, not its characters."""
    return (values,) if isinstance(values, str) else tuple(values)


@dataclass(frozen=True)
class Filter:
    """One filter condition, immutable; build it with the class methods.

    Datetimes become ISO strings with ``Z`` (naive datetimes are taken as UTC).
    Every constructor checks the type's operator and value rules and raises
    :class:`~lfnb.errors.QueryValidationError` when they fail.
    """

    type: str
    column: str
    operator: str
    value: Any
    key: str | None = None

    def __post_init__(self) -> None:
        _, issues = check_condition(self.to_dict(), allow_matches=True)
        if issues:
            raise QueryValidationError(issues, title="Invalid filter")

    def to_dict(self) -> dict:
        out = {"type": self.type, "column": self.column, "operator": self.operator,
               "value": list(self.value) if isinstance(self.value, tuple) else self.value}
        if self.key is not None:
            out["key"] = self.key
        return out

    @classmethod
    def string(cls, column: str, operator: str, value: str) -> Filter:
        return cls("string", column, operator, value)

    @classmethod
    def options(cls, column: str, values: Iterable[str], *, operator: str = "any of") -> Filter:
        return cls("stringOptions", column, operator, _values(values))

    @classmethod
    def array(cls, column: str, operator: str, values: Iterable[str]) -> Filter:
        return cls("arrayOptions", column, operator, _values(values))

    @classmethod
    def number(cls, column: str, operator: str, value: float) -> Filter:
        return cls("number", column, operator, value)

    @classmethod
    def datetime(cls, column: str, operator: str, value: datetime | date | str) -> Filter:
        return cls("datetime", column, operator, to_iso(value))

    @classmethod
    def boolean(cls, column: str, value: bool, *, operator: str = "=") -> Filter:
        return cls("boolean", column, operator, value)

    @classmethod
    def is_null(cls, column: str) -> Filter:
        return cls("null", column, "is null", "")

    @classmethod
    def not_null(cls, column: str) -> Filter:
        return cls("null", column, "is not null", "")

    @classmethod
    def metadata(cls, key: str, operator: str, value: str, *, column: str = "metadata") -> Filter:
        return cls("stringObject", column, operator, value, key)

    @classmethod
    def category(cls, column: str, key: str, values: Iterable[str], *, operator: str = "any of") -> Filter:
        return cls("categoryOptions", column, operator, _values(values), key)

    @classmethod
    def number_object(cls, column: str, key: str, operator: str, value: float) -> Filter:
        return cls("numberObject", column, operator, value, key)

    @classmethod
    def boolean_object(cls, column: str, key: str, value: bool, *, operator: str = "=") -> Filter:
        return cls("booleanObject", column, operator, value, key)
