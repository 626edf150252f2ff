"""State and pure functions of :class:`lfnb.widgets.FilterBuilder` (no ipywidgets here).

A *target* says where the filters go and so which columns, types and
operators are offered — the same rules the validation uses:

==============================  ====================================================
target                          rules from
==============================  ====================================================
``observations_v2``             :func:`lfnb.filters.column_choices` (REST ``filter=``)
``observations_v1``, ``traces``, ``scores``   idem
``metrics:<view>``              the v2 Metrics API view's dimensions, time column
                                and ``metadata`` (:mod:`lfnb.metrics.schemas`)
``metrics_v1:<view>``           the same for the v1 Metrics API (``traces`` view too)
==============================  ====================================================

A row holds what the user typed (``value`` is text): lists are comma-separated
(or a JSON array when values contain commas), booleans ``true``/``false``,
datetimes ISO 8601. :func:`row_condition` turns it into the API condition;
:func:`row_issues` checks each row with :mod:`lfnb.filters` (REST) or
:mod:`lfnb.metrics.checks` (metrics), worded like the server.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from lfnb import filters as lf_filters
from lfnb.metrics import checks as metrics_checks
from lfnb.metrics import schemas as metrics_schemas

__all__ = ["FilterRow", "FilterState", "targets", "metrics_target", "parse_target", "columns_for",
           "filter_types_for", "operators_for", "row_condition", "row_from_condition", "conditions",
           "row_issues", "general_issues", "set_row", "add_row", "remove_row", "state_from_filters",
           "filters_code", "condition_code"]

REST_TARGETS = tuple(lf_filters.TARGETS)
LIST_TYPES = frozenset({"stringOptions", "arrayOptions", "categoryOptions"})
# Metrics dimension type -> filter types accepted on it (facts §3.3); null always works.
_METRIC_DIM_TYPES = {"string": ("string", "stringOptions"), "string[]": ("arrayOptions",),
                     "arrayString": ("arrayOptions",), "boolean": ("boolean",), "number": ("number",)}


@dataclass(frozen=True)
class FilterRow:
    """One condition as typed: column, filter type, operator, value text, key (metadata etc.)."""

    column: str = ""
    type: str = ""
    operator: str = ""
    value: str = ""
    key: str = ""


@dataclass(frozen=True)
class FilterState:
    """All rows of one FilterBuilder and where they go."""

    target: str = "observations_v2"
    rows: tuple[FilterRow, ...] = field(default_factory=tuple)


def metrics_target(view: str, version: str = "v2") -> str:
    """The target name of a Metrics API view: ``metrics:observations``, ``metrics_v1:traces``."""
    return f"{'metrics' if version == 'v2' else 'metrics_v1'}:{view}"


def parse_target(target: str) -> tuple[str, str | None]:
    """``("rest", None)`` style split: ``(kind, view)`` with kind ``rest``, ``v2`` or ``v1``."""
    if target in REST_TARGETS:
        return "rest", None
    prefix, _, view = target.partition(":")
    version = {"metrics": "v2", "metrics_v1": "v1"}.get(prefix)
    if version is None or view not in metrics_schemas.views(version):
        raise ValueError(f"unknown filter target {target!r}; must be one of {', '.join(targets())}")
    return version, view


def targets() -> tuple[str, ...]:
    """Every target: the REST filter targets, then one per Metrics API view (v2, then v1)."""
    out = list(REST_TARGETS)
    for version in ("v2", "v1"):
        out += [metrics_target(v, version) for v in metrics_schemas.views(version)]
    return tuple(out)


def columns_for(target: str) -> list[dict]:
    """Columns offered for a target: ``id``, ``label`` and ``filterTypes`` (``null`` last)."""
    kind, view = parse_target(target)
    if kind == "rest":
        return [{"id": c["id"], "label": f"{c['id']} — {c['name']}" if c["name"] != c["id"] else c["id"],
                 "filterTypes": _own_type_first(c["filterTypes"], c["type"])}
                for c in lf_filters.column_choices(target) if c["aliasOf"] is None]
    facts = metrics_schemas.view(kind, view)
    out = [{"id": name, "label": f"{name} ({dim['type']})",
            "filterTypes": list(_METRIC_DIM_TYPES.get(dim["type"], ("string",))) + ["null"]}
           for name, dim in facts["dimensions"].items()]
    out.append({"id": facts["timeColumn"], "label": f"{facts['timeColumn']} (time)", "filterTypes": ["datetime"]})
    out.append({"id": "metadata", "label": "metadata (key/value)", "filterTypes": ["stringObject"]})
    return out


def _own_type_first(types: Sequence[str], own: str | None) -> list[str]:
    # an options column is best filtered with "any of" its options: offer that first
    types = list(types)
    if own in types:
        types.remove(own)
        types.insert(0, own)
    return types


def filter_types_for(target: str, column: str) -> list[str]:
    """Filter types a column accepts on a target (empty for an unknown column; aliases count)."""
    if target in REST_TARGETS:
        for c in lf_filters.column_choices(target):
            if c["id"] == column or c["name"] == column:
                return _own_type_first(c["filterTypes"], c["type"])
        return []
    for c in columns_for(target):
        if c["id"] == column:
            return c["filterTypes"]
    return []


def operators_for(target: str, filter_type: str) -> tuple[str, ...]:
    """Operators of a filter type; ``matches`` only on v2 observations (REST)."""
    if filter_type not in lf_filters.TYPE_OPERATORS:
        return ()
    return lf_filters.operators_for(filter_type, target=target if target in REST_TARGETS else None)


def _parse_list(text: str) -> Any:
    text = text.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except ValueError:
            return text  # left as text: validation says "must be an array of strings"
    return [part.strip() for part in text.split(",") if part.strip()]


def _parse_number(text: str) -> Any:
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def _parse_bool(text: str) -> Any:
    lowered = text.strip().lower()
    return {"true": True, "false": False}.get(lowered, text)


def row_condition(row: FilterRow) -> dict:
    """The API condition of a row (its value parsed from text by filter type)."""
    ftype = row.type
    text = row.value
    if ftype in LIST_TYPES:
        value: Any = _parse_list(text)
    elif ftype in ("number", "numberObject"):
        value = _parse_number(text.strip())
    elif ftype in ("boolean", "booleanObject"):
        value = _parse_bool(text)
    elif ftype == "null":
        value = ""
    elif ftype == "datetime":
        try:  # the server accepts any ISO form; show the one lfnb.Filter.datetime produces
            value = lf_filters.to_iso(text.strip())
        except (TypeError, ValueError):
            value = text.strip()
    else:
        value = text
    cond = {"type": ftype, "column": row.column, "operator": row.operator, "value": value}
    if ftype in lf_filters.KEYED_TYPES:
        cond["key"] = row.key
    return cond


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        if any("," in str(v) for v in value):
            return json.dumps(value)
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def row_from_condition(cond: dict) -> FilterRow:
    """A row showing an API condition (inverse of :func:`row_condition`)."""
    return FilterRow(column=str(cond.get("column", "")), type=str(cond.get("type", "")),
                     operator=str(cond.get("operator", "")), value=_value_text(cond.get("value")),
                     key=str(cond.get("key") or ""))


def state_from_filters(target: str, filters: Sequence[dict]) -> FilterState:
    """A state holding existing conditions (e.g. the filters of a saved query)."""
    parse_target(target)
    return FilterState(target, tuple(row_from_condition(dict(c)) for c in filters))


def conditions(state: FilterState) -> list[dict]:
    """The filter JSON list: one condition per row that names a column (blank rows are skipped)."""
    return [row_condition(r) for r in state.rows if r.column]


def row_issues(state: FilterState) -> list[list[str]]:
    """Problems of each row (same order as ``state.rows``; empty list = valid)."""
    kind, view = parse_target(state.target)
    out: list[list[str]] = []
    for row in state.rows:
        if not row.column:
            out.append([])
            continue
        cond = row_condition(row)
        if kind == "rest":
            _, issues = lf_filters.check_filters([cond], state.target)
            # "$" issues concern the whole list: general_issues() reports them once
            out.append([_issue_text(i) for i in issues if i["path"] != "$"])
            continue
        norm, issues = lf_filters.check_condition(cond, "$")
        messages = [_issue_text(i) for i in issues]
        if norm is not None:
            problem = metrics_checks.filter_issue(norm, metrics_schemas.view(kind, view))
            if problem:
                messages.append(problem)
        out.append(messages)
    return out


def general_issues(state: FilterState) -> list[str]:
    """Problems of the list as a whole (v2 observations: the input/output operator rule)."""
    kind, _ = parse_target(state.target)
    if kind != "rest":
        return []
    # only the rows valid on their own: the server checks list rules after the per-row ones
    valid = [row_condition(r) for r, problems in zip(state.rows, row_issues(state)) if r.column and not problems]
    _, issues = lf_filters.check_filters(valid, state.target)
    return [i["message"] for i in issues if i["path"] == "$"]


def _issue_text(issue: dict) -> str:
    return str(issue["message"])  # the messages already name the part at fault (value, operator, key)


def set_row(state: FilterState, index: int, **changes: str) -> FilterState:
    """Change one row; a new column resets type/operator to its first valid ones (value kept)."""
    row = replace(state.rows[index], **changes)
    if "column" in changes and "type" not in changes:
        types = filter_types_for(state.target, row.column)
        if row.type not in types:
            row = replace(row, type=types[0] if types else "")
    if "operator" not in changes:
        ops = operators_for(state.target, row.type)
        if row.operator not in ops:
            row = replace(row, operator=ops[0] if ops else "")
    rows = list(state.rows)
    rows[index] = row
    return replace(state, rows=tuple(rows))


def add_row(state: FilterState, column: str | None = None) -> FilterState:
    """Append a row, on ``column`` (default: the target's first column no row uses yet).

    Clicking "+ filter" twice thus offers two different columns instead of the same one twice.
    """
    if column is None:
        ids = [c["id"] for c in columns_for(state.target)]
        used = {r.column for r in state.rows}
        column = next((c for c in ids if c not in used), ids[0] if ids else "")
    new = replace(state, rows=state.rows + (FilterRow(),))
    return set_row(new, len(new.rows) - 1, column=column)


def remove_row(state: FilterState, index: int) -> FilterState:
    rows = list(state.rows)
    del rows[index]
    return replace(state, rows=tuple(rows))


# --------------------------------------------------------------------------- Python code

_BUILDERS = {
    "string": lambda c: f"Filter.string({c['column']!r}, {c['operator']!r}, {c['value']!r})",
    "stringOptions": lambda c: f"Filter.options({c['column']!r}, {c['value']!r}, operator={c['operator']!r})",
    "arrayOptions": lambda c: f"Filter.array({c['column']!r}, {c['operator']!r}, {c['value']!r})",
    "number": lambda c: f"Filter.number({c['column']!r}, {c['operator']!r}, {c['value']!r})",
    "datetime": lambda c: f"Filter.datetime({c['column']!r}, {c['operator']!r}, {c['value']!r})",
    "boolean": lambda c: f"Filter.boolean({c['column']!r}, {c['value']!r}, operator={c['operator']!r})",
    "stringObject": lambda c: f"Filter.metadata({c['key']!r}, {c['operator']!r}, {c['value']!r}, column={c['column']!r})",
    "categoryOptions": lambda c: f"Filter.category({c['column']!r}, {c['key']!r}, {c['value']!r}, operator={c['operator']!r})",
    "numberObject": lambda c: f"Filter.number_object({c['column']!r}, {c['key']!r}, {c['operator']!r}, {c['value']!r})",
    "booleanObject": lambda c: (f"Filter.boolean_object({c['column']!r}, {c['key']!r}, {c['value']!r}, "
                                f"operator={c['operator']!r})"),
}


def condition_code(cond: dict) -> str:
    """One condition as an ``lfnb.Filter`` expression (a dict literal when no builder fits)."""
    ftype = cond.get("type")
    if ftype == "null" and cond.get("operator") in ("is null", "is not null"):
        name = "is_null" if cond["operator"] == "is null" else "not_null"
        return f"Filter.{name}({cond['column']!r})"
    builder = _BUILDERS.get(str(ftype))
    if builder is None:
        return repr(cond)
    try:
        return builder(cond)
    except KeyError:
        return repr(cond)


def filters_code(state: FilterState, name: str = "filters") -> str:
    """Python that rebuilds the filter list with ``lfnb.Filter``.

    Rows with problems are written as dict literals (a ``Filter`` constructor
    would raise on them), followed by a comment naming the first problem.
    """
    lines = []
    for row, problems in zip(state.rows, row_issues(state)):
        if not row.column:
            continue
        cond = row_condition(row)
        if problems:
            lines.append(f"    {cond!r},  # invalid: {problems[0]}")
        else:
            lines.append(f"    {condition_code(cond)},")
    if not lines:
        return f"{name} = []"
    return "from lfnb import Filter\n\n" + f"{name} = [\n" + "\n".join(lines) + "\n]"
