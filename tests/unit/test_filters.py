"""lfnb.filters: the Filter builder, per-target column rules and validate_filters."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest

from lfnb.errors import QueryValidationError
from lfnb.filters import (
    COMPATIBLE_FILTER_TYPES,
    FILTER_TYPES,
    IO_OPERATOR_MESSAGE,
    MATCHES_TARGET_MESSAGE,
    MATCHES_TOKEN_MESSAGE,
    TYPE_OPERATORS,
    Filter,
    check_filters,
    column_choices,
    filters_to_json,
    operators_for,
    search_tokens,
    to_iso,
    validate_filters,
)
from lfnb.langfuse.filter_columns import COLUMNS, find_column

# --- builder -------------------------------------------------------------------------------

def test_builders_produce_langfuse_condition_dicts():
    ts = datetime(2026, 10, 1, 12, 30, 5, 123456)
    assert [f.to_dict() for f in (
        Filter.string("name", "=", "x"),
        Filter.options("environment", ["production"], operator="any of"),
        Filter.number("totalCost", ">", 0.01),
        Filter.datetime("startTime", ">=", ts),
        Filter.array("tags", "any of", ["a", "b"]),
        Filter.metadata("key", "=", "v"),
        Filter.boolean("isRootObservation", True),
        Filter.is_null("endTime"),
        Filter.not_null("endTime"),
        Filter.category("score_categories", "quality", ["good"]),
        Filter.number_object("scores_avg", "accuracy", ">=", 0.5),
        Filter.boolean_object("score_booleans", "correct", False, operator="<>"),
    )] == [
        {"type": "string", "column": "name", "operator": "=", "value": "x"},
        {"type": "stringOptions", "column": "environment", "operator": "any of", "value": ["production"]},
        {"type": "number", "column": "totalCost", "operator": ">", "value": 0.01},
        {"type": "datetime", "column": "startTime", "operator": ">=", "value": "2026-10-01T12:30:05.123Z"},
        {"type": "arrayOptions", "column": "tags", "operator": "any of", "value": ["a", "b"]},
        {"type": "stringObject", "column": "metadata", "operator": "=", "value": "v", "key": "key"},
        {"type": "boolean", "column": "isRootObservation", "operator": "=", "value": True},
        {"type": "null", "column": "endTime", "operator": "is null", "value": ""},
        {"type": "null", "column": "endTime", "operator": "is not null", "value": ""},
        {"type": "categoryOptions", "column": "score_categories", "operator": "any of", "value": ["good"],
         "key": "quality"},
        {"type": "numberObject", "column": "scores_avg", "operator": ">=", "value": 0.5, "key": "accuracy"},
        {"type": "booleanObject", "column": "score_booleans", "operator": "<>", "value": False, "key": "correct"},
    ]


def test_datetimes_become_utc_iso_with_z():
    cet = timezone(timedelta(hours=2))
    assert to_iso(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000Z"          # naive = UTC
    assert to_iso(datetime(2026, 1, 2, 3, 4, 5, tzinfo=cet)) == "2026-01-02T01:04:05.000Z"
    assert to_iso(date(2026, 1, 2)) == "2026-01-02T00:00:00.000Z"
    assert to_iso("2026-01-02T03:04:05+01:00") == "2026-01-02T02:04:05.000Z"


def test_filters_are_immutable_and_serialise_to_json():
    f = Filter.options("environment", ("a", "b"))
    with pytest.raises(AttributeError):
        f.column = "name"  # type: ignore[misc]
    text = filters_to_json([f, {"type": "null", "column": "endTime", "operator": "is null", "value": ""}])
    assert json.loads(text) == [
        {"type": "stringOptions", "column": "environment", "operator": "any of", "value": ["a", "b"]},
        {"type": "null", "column": "endTime", "operator": "is null", "value": ""},
    ]


@pytest.mark.parametrize("build, path, message", [
    (lambda: Filter.string("name", "any of", "x"), "$.operator",
     "Invalid operator 'any of' for filter type 'string'; expected one of '=', 'contains', "
     "'does not contain', 'starts with', 'ends with', 'matches'"),
    (lambda: Filter.number("latency", ">", "2"), "$.value", "value must be a number"),
    (lambda: Filter.options("name", []), "$.value", "value must contain at least one option"),
    (lambda: Filter.array("tags", "any of", []), "$.value", "value must contain at least one option for 'any of'"),
    (lambda: Filter("null", "endTime", "is null", None), "$.value", 'value must be the empty string ""'),
])
def test_builder_rejects_invalid_conditions(build, path, message):
    with pytest.raises(QueryValidationError) as info:
        build()
    assert info.value.issues[0]["path"] == path
    assert info.value.issues[0]["message"] == message


def test_a_lone_string_is_one_option():
    assert Filter.options("environment", "production").to_dict()["value"] == ["production"]
    assert Filter.array("tags", "all of", "rag").to_dict()["value"] == ["rag"]


def test_empty_array_allowed_for_all_of_and_none_of_and_category():
    assert Filter.array("tags", "all of", []).value == ()
    assert Filter.array("tags", "none of", []).value == ()
    assert Filter.category("score_categories", "q", []).to_dict()["value"] == []


# --- rules as data -------------------------------------------------------------------------

def test_operator_table():
    assert TYPE_OPERATORS["arrayOptions"] == ("any of", "none of", "all of")
    assert TYPE_OPERATORS["null"] == ("is null", "is not null")
    assert operators_for("string") == ("=", "contains", "does not contain", "starts with", "ends with")
    assert operators_for("string", target="observations_v2")[-1] == "matches"
    assert operators_for("stringObject", target="traces")[-1] == "ends with"
    assert operators_for("number", target="observations_v2") == ("=", ">", "<", ">=", "<=")
    assert len(FILTER_TYPES) == 12
    assert COMPATIBLE_FILTER_TYPES["arrayOptions"] == ("arrayOptions", "stringOptions")


def test_columns_match_by_id_display_name_and_alias():
    assert find_column("observations_v2", "Latency (s)").id == "latency"
    assert find_column("observations_v2", "Trace ID").id == "traceId"
    assert find_column("observations_v2", "tags").alias_of == "traceTags"
    assert find_column("traces", "traceName").alias_of == "name"
    assert find_column("scores", "Trace Tags").id == "trace_tags"
    assert find_column("observations_v1", "providedModelName") is None
    assert find_column("observations_v2", "scores_avg") is None


def test_column_choices_for_widgets():
    v2 = {c["id"]: c for c in column_choices("observations_v2")}
    assert v2["input"]["filterTypes"] == ["string", "null"]
    assert v2["metadata"]["filterTypes"] == ["stringObject", "null"]
    assert v2["tags"]["aliasOf"] == "traceTags"
    assert v2["latency"] == {"id": "latency", "name": "Latency (s)", "type": "number",
                             "filterTypes": ["number", "null"], "aliasOf": None}
    v1 = {c["id"]: c for c in column_choices("observations_v1")}
    assert v1["traceTags"]["type"] is None and v1["traceTags"]["filterTypes"] == [
        "datetime", "string", "number", "stringOptions", "categoryOptions", "arrayOptions", "stringObject",
        "numberObject", "booleanObject", "boolean", "null"]
    assert len(column_choices("scores")) == len(COLUMNS["scores"])


# --- validate_filters ----------------------------------------------------------------------

def test_validate_normalises():
    out = validate_filters([
        {"type": "string", "column": "name", "operator": "=", "value": "x", "key": "stray"},
        {"type": "datetime", "column": "startTime", "operator": "<", "value": "2026-10-01T02:00:00+02:00"},
        {"type": "datetime", "column": "Start Time", "operator": ">", "value": 1767225600000},
    ], "observations_v2")
    assert out == [
        {"type": "string", "column": "name", "operator": "=", "value": "x"},
        {"type": "datetime", "column": "startTime", "operator": "<", "value": "2026-10-01T00:00:00.000Z"},
        {"type": "datetime", "column": "Start Time", "operator": ">", "value": "2026-01-01T00:00:00.000Z"},
    ]
    assert validate_filters(json.dumps([{"type": "null", "column": "endTime", "operator": "is null",
                                         "value": ""}]), "observations_v2") == [
        {"type": "null", "column": "endTime", "operator": "is null", "value": ""}]


def test_validate_collects_every_schema_problem_with_paths():
    with pytest.raises(QueryValidationError) as info:
        validate_filters([
            {"type": "strin", "column": "name", "operator": "=", "value": "x"},
            {"type": "number", "column": "latency", "operator": "~", "value": "a"},
            {"type": "stringObject", "column": "metadata", "operator": "=", "value": "v"},
            {"type": "null", "column": "endTime", "operator": "is null", "value": "x"},
        ], "observations_v2")
    issues = info.value.issues
    assert [i["path"] for i in issues] == ["$[0].type", "$[1].operator", "$[1].value", "$[2].key", "$[3].value"]
    assert issues[1]["valid"] == ["=", ">", "<", ">=", "<="]
    assert issues[2]["message"] == "value must be a number"
    assert issues[3]["message"] == "filter type 'stringObject' requires a string key"
    text = str(info.value)
    assert text.startswith("Invalid filter for observations_v2: 5 problems\n- $[0].type: Invalid filter type 'strin'")
    assert text.endswith("and 2 more")


@pytest.mark.parametrize("target, cond, message", [
    ("observations_v2", {"type": "string", "column": "doesNotExist", "operator": "=", "value": "x"},
     "Column doesNotExist does not match a UI / CH table mapping."),
    ("observations_v2", {"type": "string", "column": "metadata", "operator": "=", "value": "x"},
     "Invalid filter type 'string' for column 'metadata'. Expected filter type 'stringObject'."),
    ("observations_v2", {"type": "number", "column": "Name", "operator": "=", "value": 1},
     "Invalid filter type 'number' for column 'Name'. Expected filter type 'stringOptions'."),
    # events.ts validateInputOutputFilterTypes runs first and alone (buildObservationsQueryComponents)
    ("observations_v2", {"type": "stringOptions", "column": "Input", "operator": "any of", "value": ["x"]},
     "Input/output filters only support filter type `string`."),
    ("observations_v2", {"type": "string", "column": "output", "operator": "contains", "value": "x"},
     IO_OPERATOR_MESSAGE),
    ("observations_v2", {"type": "string", "column": "name", "operator": "matches", "value": "hello"},
     MATCHES_TARGET_MESSAGE),
    ("observations_v2", {"type": "string", "column": "input", "operator": "matches", "value": "!!!"},
     MATCHES_TOKEN_MESSAGE),
    ("observations_v1", {"type": "numberObject", "column": "metadata", "operator": ">", "value": 1, "key": "k"},
     "Invalid filter type 'numberObject' for column 'metadata'. Expected filter type 'stringObject'."),
    ("observations_v1", {"type": "number", "column": "scores_avg", "operator": ">=", "value": 1},
     "Column scores_avg does not match a UI / CH table mapping."),
    ("traces", {"type": "string", "column": "tags", "operator": "=", "value": "a"},
     "Invalid filter type 'string' for column 'tags'. Expected filter type 'arrayOptions'."),
    ("scores", {"type": "datetime", "column": "value", "operator": ">", "value": "2026-01-01T00:00:00Z"},
     "Invalid filter type 'datetime' for column 'value'. Expected filter type 'number'."),
])
def test_column_layer_messages_are_the_servers(target, cond, message):
    normalised, issues = check_filters([cond], target)
    assert [i["message"] for i in issues] == (message if isinstance(message, list) else [message])
    assert issues[0]["kind"] == "column"
    with pytest.raises(QueryValidationError):
        validate_filters([cond], target)


def test_matches_is_a_schema_error_outside_v2():
    _, issues = check_filters([{"type": "string", "column": "name", "operator": "matches", "value": "a"}], "traces")
    assert issues[0]["kind"] == "schema" and issues[0]["path"] == "$[0].operator"


def test_accepted_combinations():
    ok = [
        {"type": "string", "column": "input", "operator": "contains", "value": "x"},
        {"type": "string", "column": "input", "operator": "matches", "value": "hello world"},
        {"type": "stringObject", "column": "metadata", "operator": "matches", "value": "eu", "key": "region"},
        {"type": "stringOptions", "column": "tags", "operator": "any of", "value": ["a"]},
        {"type": "null", "column": "metadata", "operator": "is null", "value": ""},
        {"type": "boolean", "column": "isRootObservation", "operator": "<>", "value": False},
        {"type": "positionInTrace", "column": "name", "operator": "=", "key": "root"},
    ]
    assert len(validate_filters(ok, "observations_v2")) == 7
    # v1's trace columns have no column definition: any filter type passes
    assert validate_filters([{"type": "number", "column": "traceTags", "operator": ">", "value": 1}],
                            "observations_v1")[0]["type"] == "number"
    assert validate_filters([Filter.number_object("Scores (numeric)", "acc", ">", 0.5)], "traces")[0]["key"] == "acc"


def test_search_tokens():
    assert search_tokens("Hello, hello-World_42 %x") == ["Hello", "hello", "World", "42", "x"]
    assert search_tokens("!!! ...") == []
    assert search_tokens("naïve café") == ["naïve", "café"]


def test_unknown_target_is_an_error():
    with pytest.raises(QueryValidationError, match="unknown filter target 'sessions'"):
        validate_filters([], "sessions")
