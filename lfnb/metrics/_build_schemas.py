"""Generate ``schemas/*.schema.json`` from the Metrics API view declarations.

Run once when the facts change::

    python -m lfnb.metrics._build_schemas ../shared/reference/langfuse-metrics-views.json

The committed JSON files are what the package loads; a test regenerates them
from the same facts and compares, so the files and this script cannot drift.

Layout of a query schema (one per API generation):

* the top-level ``properties`` are exactly what the server's zod object checks
  (types, enums, ranges, timestamps with an offset, filter type/operator/value
  combinations from ``filter-conditions.schema.json``);
* the top-level ``allOf`` holds one ``if view == X then ...`` rule per view
  (dimension, measure and filter-column choices, aggregations valid for the
  measure's type). The server checks these after zod, with its own messages,
  which is why lfnb.local drops ``allOf`` to reproduce the zod step;
* ``x-lfnb-views`` carries the per-view facts the semantic checks, the result
  frames and the local engine need (types, units, high-cardinality flags,
  time column, segments). Validators ignore unknown ``x-`` keywords.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SCHEMA_VERSION = 1
DRAFT = "https://json-schema.org/draft/2020-12/schema"
BASE_ID = "https://lfnb.invalid/schemas/"

# zod's z.iso.datetime({offset: true}): seconds required, any fraction, Z or an offset.
TIMESTAMP_PATTERN = (
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]\d{2}:?\d{2})$"
)

STRING_OPS = ["=", "contains", "does not contain", "starts with", "ends with"]
NUMBER_OPS = ["=", ">", "<", ">=", "<="]

# filter type -> (operators, value schema, key schema or None, value required)
FILTER_TYPES = {
    "datetime": ([">", "<", ">=", "<="], {"type": ["string", "number"]}, None, True),
    "string": (STRING_OPS, {"type": "string"}, None, True),
    "number": (NUMBER_OPS, {"type": "number"}, None, True),
    "stringOptions": (["any of", "none of"], {"type": "array", "items": {"type": "string"}, "minItems": 1}, None, True),
    "categoryOptions": (["any of", "none of"], {"type": "array", "items": {"type": "string"}}, {"type": "string"}, True),
    "arrayOptions": (["any of", "none of", "all of"], {"type": "array", "items": {"type": "string"}}, None, True),
    "stringObject": (STRING_OPS, {"type": "string"}, {"type": "string"}, True),
    "numberObject": (NUMBER_OPS, {"type": "number"}, {"type": "string"}, True),
    "booleanObject": (["=", "<>"], {"type": "boolean"}, {"type": "string"}, True),
    "boolean": (["=", "<>"], {"type": "boolean"}, None, True),
    "null": (["is null", "is not null"], {"const": ""}, None, True),
    "positionInTrace": (["="], {"type": "number"},
                        {"enum": ["root", "first", "last", "nthFromEnd", "nthFromStart"]}, False),
}

# dimension type -> filter types the metrics query builder accepts on it (facts §3.3)
FILTER_TYPES_FOR_DIMENSION = {
    "string": ["string", "stringOptions", "null"],
    "string[]": ["arrayOptions", "null"],
    "arrayString": ["arrayOptions", "null"],
    "boolean": ["boolean", "null"],
    "number": ["number", "null"],
}


def _single_filter(with_matches: bool) -> dict:
    rules = []
    for ftype, (ops, value, key, value_required) in FILTER_TYPES.items():
        if with_matches and ftype in ("string", "stringObject"):
            ops = ops + ["matches"]
        then: dict = {"properties": {"operator": {"enum": ops}, "value": value}}
        required = ["value"] if value_required else []
        if key is not None:
            then["properties"]["key"] = key
            required.append("key")
        if required:
            then["required"] = required
        if ftype == "arrayOptions":
            # an empty list is only meaningful for "all of" / "none of"
            then["if"] = {"properties": {"operator": {"const": "any of"}}, "required": ["operator"]}
            then["then"] = {"properties": {"value": {"minItems": 1}}}
        rules.append({"if": {"properties": {"type": {"const": ftype}}, "required": ["type"]}, "then": then})
    return {
        "type": "object",
        "required": ["column", "type", "operator"],
        "properties": {
            "column": {"type": "string"},
            "type": {"enum": list(FILTER_TYPES)},
            "operator": {"type": "string"},
        },
        "allOf": rules,
    }


def filter_conditions_schema() -> dict:
    return {
        "$schema": DRAFT,
        "$id": BASE_ID + "filter-conditions.schema.json",
        "title": "Langfuse filter conditions (singleFilter[])",
        "x-lfnb-schema-version": SCHEMA_VERSION,
        "type": "array",
        "items": {"$ref": "#/$defs/singleFilter"},
        "$defs": {
            "singleFilter": _single_filter(with_matches=False),
            "eventsTableSingleFilter": _single_filter(with_matches=True),
        },
    }


def _view_facts(view: dict) -> dict:
    dims = {}
    for name, d in view["dimensions"].items():
        dims[name] = {"type": d["type"]}
        for flag_in, flag_out in (("highCardinality", "highCardinality"), ("pairExpand", "pairExpand"),
                                  ("explodeArray", "explodeArray"), ("relationTable", "relationTable")):
            if d.get(flag_in):
                dims[name][flag_out] = d[flag_in]
    measures = {}
    for name, m in view["measures"].items():
        measures[name] = {"type": m["type"]}
        if m.get("unit"):
            measures[name]["unit"] = m["unit"]
        if m.get("requiresDimension"):
            measures[name]["requiresDimension"] = m["requiresDimension"]
    return {
        "timeColumn": view["timeDimensionColumn"],
        "segments": view.get("segments", []),
        "dimensions": dims,
        "measures": measures,
    }


def _view_rule(name: str, facts: dict, numeric_aggs: list[str]) -> dict:
    dims = facts["dimensions"]
    measures = facts["measures"]
    time_col = facts["timeColumn"]
    string_measures = [m for m, f in measures.items() if f["type"] not in ("integer", "decimal", "number")]
    metric_item: dict = {"properties": {"measure": {"enum": list(measures)}}}
    if string_measures:
        metric_item["allOf"] = [{
            "if": {"properties": {"measure": {"enum": string_measures}}, "required": ["measure"]},
            "then": {"properties": {"aggregation": {"enum": ["count", "uniq"]}}},
        }]
    filter_rules: list[dict] = [{
        "properties": {"column": {"if": {"pattern": "Name$"},
                                  "else": {"enum": list(dims) + [time_col, "metadata"]}}},
    }]
    by_type: dict[str, list[str]] = {}
    for d, f in dims.items():
        by_type.setdefault(f["type"], []).append(d)
    for dtype, names in by_type.items():
        filter_rules.append({
            "if": {"properties": {"column": {"enum": names}}, "required": ["column"]},
            "then": {"properties": {"type": {"enum": FILTER_TYPES_FOR_DIMENSION[dtype]}}},
        })
    filter_rules += [
        {"if": {"properties": {"column": {"const": time_col}}, "required": ["column"]},
         "then": {"properties": {"type": {"enum": ["datetime", "null"]}}}},  # queryBuilder.ts: null passes
        {"if": {"properties": {"column": {"const": "metadata"}}, "required": ["column"]},
         "then": {"properties": {"type": {"enum": ["stringObject"]}}}},
        # LFE-4838: an unknown column ending in "Name" is treated as the name dimension
        {"if": {"properties": {"column": {"pattern": "Name$", "not": {"enum": list(dims)}}}, "required": ["column"]},
         "then": {"properties": {"type": {"enum": FILTER_TYPES_FOR_DIMENSION["string"]}}}},
    ]
    return {
        "if": {"properties": {"view": {"const": name}}, "required": ["view"]},
        "then": {"properties": {
            "dimensions": {"items": {"properties": {"field": {"enum": list(dims)}}}},
            "metrics": {"items": metric_item},
            "filters": {"items": {"allOf": filter_rules}},
        }},
    }


def query_schema(version: str, facts: dict) -> dict:
    views = facts["views"][version]
    if version == "v2":
        # the public v2 schema rejects the traces view (internal only)
        views = {k: v for k, v in views.items() if k != "traces"}
    view_facts = {name: _view_facts(v) for name, v in views.items()}
    aggs = facts["aggregations"]
    return {
        "$schema": DRAFT,
        "$id": BASE_ID + f"metrics-query-{version}.schema.json",
        "title": f"Langfuse Metrics API {version} query",
        "x-lfnb-schema-version": SCHEMA_VERSION,
        "x-lfnb-api-version": version,
        "type": "object",
        "required": ["view", "metrics", "fromTimestamp", "toTimestamp"],
        "properties": {
            "view": {"enum": list(view_facts)},
            "dimensions": {"type": "array", "items": {
                "type": "object", "required": ["field"], "properties": {"field": {"type": "string"}}}},
            "metrics": {"type": "array", "items": {
                "type": "object", "required": ["measure", "aggregation"],
                "properties": {"measure": {"type": "string"}, "aggregation": {"enum": aggs}}}},
            "filters": {"type": "array", "items": {"$ref": "filter-conditions.schema.json#/$defs/singleFilter"}},
            "timeDimension": {"type": ["object", "null"], "required": ["granularity"],
                              "properties": {"granularity": {"enum": facts["publicGranularities"]}}},
            "fromTimestamp": {"type": "string", "pattern": TIMESTAMP_PATTERN},
            "toTimestamp": {"type": "string", "pattern": TIMESTAMP_PATTERN},
            "orderBy": {"type": ["array", "null"], "items": {
                "type": "object", "required": ["field", "direction"],
                "properties": {"field": {"type": "string"}, "direction": {"enum": ["asc", "desc"]}}}},
            "config": {"type": "object", "properties": {
                "bins": {"type": "integer", "minimum": 1, "maximum": 100},
                "row_limit": {"type": "integer", "minimum": 1, "maximum": 1000}}},
        },
        "allOf": [_view_rule(name, f, aggs) for name, f in view_facts.items()],
        "x-lfnb-views": view_facts,
        "x-lfnb-aggregations": aggs,
        "x-lfnb-granularities": facts["publicGranularities"],
    }


def build(facts: dict) -> dict[str, dict]:
    """File name -> schema document."""
    return {
        "filter-conditions.schema.json": filter_conditions_schema(),
        "metrics-query-v1.schema.json": query_schema("v1", facts),
        "metrics-query-v2.schema.json": query_schema("v2", facts),
    }


def dumps(doc: dict) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m lfnb.metrics._build_schemas <langfuse-metrics-views.json> [out_dir]")
        return 2
    facts = json.loads(Path(argv[0]).read_text())
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[2] / "schemas"
    for name, doc in build(facts).items():
        (out / name).write_text(dumps(doc))
        print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
