"""The catalogue: all 86 seed operations + v3 scores + experiments, checked against the TSV and the OpenAPI."""

from __future__ import annotations

import csv

import pytest

from lfnb.errors import ConfigError
from lfnb.langfuse.operations import OPERATIONS, build_request, get_operation, operations_frame
from lfnb.langfuse.ratelimits import resource_of

EXTRA = {"scores_v3_get_many", "experiments_list", "experiments_list_items"}


def test_catalogue_size_and_beyond_the_seed():
    assert len(OPERATIONS) == 89
    op = OPERATIONS["scores_v3_get_many"]
    # served by v4 and by self-hosted v3 from v3.180.0 (d32b8521a3 "release v3 scores API")
    assert (op.method, op.path, op.paging, op.generation) == ("GET", "/api/public/v3/scores", "cursor", "both")
    # the v4 replacements of dataset runs (web/src/pages/api/public/experiments/, experiment-items/)
    assert [(o.path, o.required_query, o.paging, o.generation) for o in
            (OPERATIONS["experiments_list"], OPERATIONS["experiments_list_items"])] == [
        ("/api/public/experiments", ("fromStartTime",), "cursor", "v4"),
        ("/api/public/experiment-items", ("fromStartTime",), "cursor", "v4")]
    # routes built with rejectInEventsOnlyMode: a v4 server refuses them
    assert {n for n in ("dataset_run_items_list", "datasets_get_runs", "datasets_get_run", "datasets_delete_run")
            if OPERATIONS[n].generation == "v3"} == {"dataset_run_items_list", "datasets_get_runs",
                                                     "datasets_get_run", "datasets_delete_run"}


def test_catalogue_equals_seed_tsv(shared):
    rows = list(csv.DictReader(open(shared / "reference" / "seed-operations.tsv"), delimiter="\t"))
    assert len(rows) == 86
    expected = {(r["operation"], r["method"], r["path"]) for r in rows}
    ours = {(o.name, o.method, o.path) for o in OPERATIONS.values() if o.name not in EXTRA}
    assert ours == expected


def test_query_params_equal_openapi(shared):
    yaml = pytest.importorskip("yaml")
    spec = yaml.safe_load(open(shared / "reference" / "langfuse-openapi.yml"))
    for op in OPERATIONS.values():
        declared = spec["paths"][op.path][op.method.lower()].get("parameters", [])
        query = tuple(p["name"] for p in declared if p["in"] == "query")
        required = tuple(p["name"] for p in declared if p["in"] == "query" and p.get("required"))
        path = tuple(p["name"] for p in declared if p["in"] == "path")
        assert op.query_params == query, op.name
        assert op.required_query == required, op.name
        assert set(op.path_params) == set(path), op.name


def test_paging_kinds():
    cursor = sorted(o.name for o in OPERATIONS.values() if o.paging == "cursor")
    assert cursor == ["experiments_list", "experiments_list_items", "observations_v2_get_many", "scores_v3_get_many"]
    assert OPERATIONS["trace_list"].paging == "page"
    assert OPERATIONS["health_health"].paging == "none"


def test_build_request_substitutes_and_quotes_path_params():
    op, path, query, body = build_request("annotation_queues_get_queue_item", {"queueId": "q 1", "itemId": "a/b"})
    assert path == "/api/public/annotation-queues/q%201/items/a%2Fb"
    assert query == {} and body is None


def test_unknown_parameter_lists_valid_ones():
    with pytest.raises(ConfigError) as info:
        build_request("sessions_list", {"pag": 2})
    assert str(info.value) == ("sessions_list: unknown parameter pag; valid parameters: page, limit, "
                               "fromTimestamp, toTimestamp, environment")


def test_missing_path_param_and_required_query():
    expected = r"trace_get: missing required parameter traceId \(GET /api/public/traces/\{traceId\}\)"
    with pytest.raises(ConfigError, match=expected):
        build_request("trace_get", {})
    with pytest.raises(ConfigError, match="missing required parameters datasetId, runName"):
        build_request("dataset_run_items_list", {})


def test_body_only_where_declared():
    _, _, _, body = build_request("score_create", {"body": {"name": "x"}})
    assert body == {"name": "x"}
    with pytest.raises(ConfigError, match="unknown parameter body"):
        build_request("trace_list", {"body": {}})


def test_unknown_operation_suggests():
    with pytest.raises(ConfigError, match="Unknown operation 'trace_lst'. Did you mean: trace_list"):
        get_operation("trace_lst")


def test_rate_limit_resources():
    assert resource_of("GET", "/api/public/traces") == "public-api-legacy"
    assert resource_of("GET", "/api/public/observations/x") == "public-api-legacy"
    assert resource_of("GET", "/api/public/v2/observations") == "public-api"
    assert resource_of("GET", "/api/public/metrics") == "public-api-metrics"
    assert resource_of("GET", "/api/public/v2/metrics") == "public-api-v2-metrics"
    assert resource_of("GET", "/api/public/v3/scores") == "public-api"
    assert resource_of("GET", "/api/public/v2/datasets") == "datasets"
    assert resource_of("POST", "/api/public/ingestion") == "ingestion"


def test_operations_frame():
    df = operations_frame()
    assert list(df.columns) == ["operation", "method", "path", "path_params", "query_params", "paging",
                                "generation", "resource"]
    assert len(df) == 89
    assert set(df["generation"]) == {"v3", "v4", "both"}


def test_every_paginated_operation_has_a_read():
    import lfnb
    from lfnb.reads.lists import LIST_READS

    paged = {o.name for o in OPERATIONS.values() if o.paging != "none" and o.method == "GET"}
    assert paged == set(LIST_READS)
    for method in LIST_READS.values():
        assert callable(getattr(lfnb.Client, method)), method
        assert "Returns" in getattr(lfnb.Client, method).__doc__, method
