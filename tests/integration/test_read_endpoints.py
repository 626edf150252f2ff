"""Every read_* against lfnb.local over HTTP, in both generations: exactly the store's ids and counts."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

pytest.importorskip("lfnb.local.server")
pytest.importorskip("lfnb.local.generator")

import lfnb  # noqa: E402
from lfnb.errors import LfnbTruncationWarning  # noqa: E402
from lfnb.frames.builder import DTYPES  # noqa: E402
from lfnb.frames.columns import SPECS, observation_columns  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["v4", "v3"])
def server(request):
    return request.getfixturevalue("local_server" if request.param == "v4" else "local_server_v3")


@pytest.fixture(scope="module")
def lf(server):
    client = lfnb.connect(server.base_url, server.public_key, server.secret_key)
    yield client
    client.close()


def ids(store, sql):
    return sorted(r["id"] for r in store.fetch(sql))


def assert_same_ids(df, expected):
    got = df["id"].tolist()
    assert len(got) == len(set(got)), "duplicate ids"
    assert sorted(got) == expected


def assert_spec(df, cols):
    assert list(df.columns)[: len(cols)] == [c for c, _ in cols]
    for col, code in cols:
        assert df[col].dtype == pd.Series(dtype=DTYPES[code]).dtype, col


def test_generation_detected(lf, server):
    assert lf.generation == server.generation
    assert f"generation={server.generation}" in repr(lf)


def test_read_observations_all_rows_in_server_order(lf, server):
    df = lf.read_observations(progress=False)
    assert_same_ids(df, ids(server.store, "SELECT id FROM observations"))
    assert_spec(df, observation_columns(("core", "basic", "usage")))
    assert df["startTime"].is_monotonic_decreasing
    assert df["usageDetails.input"].notna().any() and df["costDetails.total"].notna().any()


def test_read_observations_parallel_equals_sequential(lf, server):
    bounds = server.store.fetch("SELECT min(start_time) AS lo, max(start_time) AS hi FROM observations")[0]
    lo = pd.Timestamp(bounds["lo"], tz="UTC").floor("s")
    hi = pd.Timestamp(bounds["hi"], tz="UTC").ceil("s") + pd.Timedelta(seconds=1)
    seq = lf.read_observations(lo, hi, progress=False)
    par = lf.read_observations(lo, hi, workers=4, progress=False)
    assert par["id"].tolist() == seq["id"].tolist()
    assert_same_ids(par, ids(server.store, "SELECT id FROM observations"))
    pd.testing.assert_frame_equal(par, seq)


def test_read_observations_time_window_and_filters(lf, server):
    lo, hi = pd.Timestamp("2026-10-29", tz="UTC"), pd.Timestamp("2026-10-30", tz="UTC")
    df = lf.read_observations(lo, hi, type="GENERATION", progress=False)
    expected = ids(server.store, "SELECT id FROM observations WHERE type = 'GENERATION' AND start_time >= "
                                 "TIMESTAMP '2026-10-29' AND start_time < TIMESTAMP '2026-10-30'")
    assert expected and sorted(df["id"]) == expected


def test_read_observations_filter_objects(lf, server):
    df = lf.read_observations(filter=[{"type": "stringOptions", "column": "type", "operator": "any of",
                                       "value": ["SPAN"]}], progress=False)
    assert sorted(df["id"]) == ids(server.store, "SELECT id FROM observations WHERE type = 'SPAN'")


def test_read_observations_max_rows_warns(lf):
    with pytest.warns(LfnbTruncationWarning, match="max_rows=150 reached"):
        df = lf.read_observations(max_rows=150, limit=100, progress=False)
    assert len(df) == 150


def test_same_columns_in_both_generations(lf):
    fields = ("core", "basic", "time", "io", "metadata", "model", "usage", "prompt", "metrics", "trace_context")
    with pytest.warns(LfnbTruncationWarning) as record:
        df = lf.read_observations(fields=fields, max_rows=5, progress=False)
    assert record[0].filename == __file__
    assert_spec(df, observation_columns(fields))


def test_read_traces(lf, server):
    df = lf.read_traces(progress=False)
    assert_same_ids(df, ids(server.store, "SELECT DISTINCT trace_id AS id FROM observations"))
    assert_spec(df, SPECS["traces"])


def test_read_sessions(lf, server):
    df = lf.read_sessions(progress=False)
    assert_same_ids(df, ids(server.store, "SELECT DISTINCT session_id AS id FROM observations "
                                          "WHERE session_id IS NOT NULL"))
    assert_spec(df, SPECS["sessions"])


def test_read_scores(lf, server):
    df = lf.read_scores(progress=False)
    assert_same_ids(df, ids(server.store, "SELECT id FROM scores"))
    assert_spec(df, SPECS["scores"])
    numeric = df[df["dataType"] == "NUMERIC"]
    assert numeric["value"].notna().all()


@pytest.mark.parametrize("method, resource, table", [
    ("read_datasets", "datasets", "datasets"),
    ("read_dataset_items", "dataset_items", "dataset_items"),
    ("read_models", "models", "models"),
    ("read_comments", "comments", "comments"),
    ("read_annotation_queues", "annotation_queues", "annotation_queues"),
    ("read_score_configs", "score_configs", "score_configs"),
])
def test_simple_lists(lf, server, method, resource, table):
    df = getattr(lf, method)(progress=False)
    assert_same_ids(df, ids(server.store, f"SELECT id FROM {table}"))
    assert_spec(df, SPECS[resource])


def test_read_prompts(lf, server):
    df = lf.read_prompts(progress=False)
    assert sorted(df["name"]) == sorted(r["name"] for r in server.store.fetch("SELECT DISTINCT name FROM prompts"))


def test_dataset_runs_and_run_items(lf, server):
    datasets = server.store.fetch("SELECT id, name FROM datasets ORDER BY name")
    for ds in datasets:
        runs = lf.read_dataset_runs(ds["name"], progress=False)
        assert_same_ids(runs, ids(server.store, f"SELECT id FROM dataset_runs WHERE dataset_id = '{ds['id']}'"))
        for run_name in runs["name"][:2]:
            items = lf.read_dataset_run_items(ds["id"], run_name=run_name, progress=False)
            expected = ids(server.store, "SELECT i.id FROM dataset_run_items i JOIN dataset_runs r "
                                         f"ON i.dataset_run_id = r.id WHERE r.dataset_id = '{ds['id']}' "
                                         f"AND r.name = '{run_name}'")
            assert_same_ids(items, expected)
    assert_spec(lf.read_dataset_runs(datasets[0]["name"], progress=False), SPECS["dataset_runs"])


def test_annotation_queue_items(lf, server):
    for q in server.store.fetch("SELECT id FROM annotation_queues"):
        df = lf.read_annotation_queue_items(q["id"], progress=False)
        assert_same_ids(df, ids(server.store, f"SELECT id FROM annotation_queue_items WHERE queue_id = '{q['id']}'"))


def test_call_by_name(lf, server):
    page = lf.call("datasets_list", page=1, limit=2)
    assert page["meta"]["totalItems"] == server.store.count("datasets")
    one = lf.call("datasets_get", datasetName=page["data"][0]["name"])
    assert one["id"] == page["data"][0]["id"]
    with pytest.raises(lfnb.ConfigError, match="unknown parameter pag"):
        lf.call("trace_list", pag=2)


def test_empty_result_keeps_columns(lf):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = lf.read_observations("2000-01-01", "2000-01-02", progress=False)
    assert len(df) == 0
    assert_spec(df, observation_columns(("core", "basic", "usage")))
