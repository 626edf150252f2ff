"""The bundled JSON Schemas (``lfnb.schemas``) and the view facts they carry.

The files under ``schemas/`` ship inside the wheel as the package
``lfnb.schemas`` and are read with :mod:`importlib.resources`, so an editable
install and an installed wheel find the same data.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SCHEMA_VERSION = 1
VERSIONS = ("v1", "v2")
FILES = ("filter-conditions.schema.json", "metrics-query-v1.schema.json", "metrics-query-v2.schema.json")
NUMERIC_MEASURE_TYPES = ("integer", "decimal", "number")


@cache
def load_schema(name: str) -> dict:
    """One bundled schema document by file name (cached; treat as read-only)."""
    if name not in FILES:
        raise ValueError(f"unknown schema {name!r}; bundled: {', '.join(FILES)}")
    text = resources.files("lfnb.schemas").joinpath(name).read_text(encoding="utf-8")
    doc = json.loads(text)
    if doc.get("x-lfnb-schema-version") != SCHEMA_VERSION:
        raise RuntimeError(f"{name} has schema version {doc.get('x-lfnb-schema-version')}, expected {SCHEMA_VERSION}")
    return doc


def query_schema(version: str) -> dict:
    return load_schema(f"metrics-query-{_check_version(version)}.schema.json")


@cache
def _registry() -> Registry:
    resources_ = [(load_schema(n)["$id"], Resource.from_contents(load_schema(n))) for n in FILES]
    return Registry().with_resources(resources_)


@cache
def validator(version: str, *, zod_only: bool = False) -> Draft202012Validator:
    """A validator for a query of ``version``.

    ``zod_only=True`` drops the per-view rules (top-level ``allOf``): what is
    left is exactly what the server's zod schema checks before its query
    builder runs; lfnb.local uses it to answer with the same kind of 400.
    """
    schema = query_schema(version)
    if zod_only:
        schema = {k: v for k, v in schema.items() if k != "allOf"}
    return Draft202012Validator(schema, registry=_registry())


def views(version: str) -> dict[str, dict]:
    """View name -> {timeColumn, segments, dimensions, measures} for ``version``."""
    return query_schema(version)["x-lfnb-views"]


def view(version: str, name: str) -> dict:
    return views(version)[name]


def aggregations() -> list[str]:
    return list(query_schema("v2")["x-lfnb-aggregations"])


def granularities() -> list[str]:
    return list(query_schema("v2")["x-lfnb-granularities"])


def valid_aggregations(measure_type: str) -> list[str]:
    """Aggregations the server accepts for a measure type (numeric: all; else count, uniq)."""
    if measure_type in NUMERIC_MEASURE_TYPES:
        return aggregations()
    return ["count", "uniq"]


def measure_unit(version: str, view_name: str, measure: str, aggregation: str | None = None) -> Any:
    """Unit of ``aggregation(measure)``: count/uniq are plain counts, else the measure's unit."""
    if aggregation in ("count", "uniq"):
        return "integer"
    facts = views(version).get(view_name, {}).get("measures", {}).get(measure)
    return facts.get("unit") if facts else None


def _check_version(version: str) -> str:
    if version not in VERSIONS:
        raise ValueError(f"version must be one of {', '.join(VERSIONS)}; got {version!r}")
    return version
