"""Metrics over real HTTP: lf.read_metrics, the official SDK and the engine agree; and match pandas
aggregations of read_observations / read_scores of the same window."""

from __future__ import annotations

import json
import time
import warnings

import numpy as np
import pandas as pd
import pytest

import lfnb
from lfnb.local.engine import query as engine_query
from lfnb.metrics import metrics_frame, prepare_query

pytestmark = pytest.mark.integration

W = {"fromTimestamp": "2026-10-25T00:00:00Z", "toTimestamp": "2026-11-01T00:00:00Z"}
QUERIES = [
    {"view": "observations", "metrics": [{"measure": "count", "aggregation": "count"}],
     "dimensions": [{"field": "type"}], **W},
    {"view": "observations", "metrics": [{"measure": "totalCost", "aggregation": "sum"},
                                         {"measure": "latency", "aggregation": "p95"}],
     "dimensions": [{"field": "providedModelName"}], "timeDimension": {"granularity": "day"}, **W},
    {"view": "observations", "metrics": [{"measure": "totalCost", "aggregation": "sum"}],
     "dimensions": [{"field": "traceId"}], "orderBy": [{"field": "sum_totalCost", "direction": "desc"}],
     "config": {"row_limit": 10}, **W},
    {"view": "observations", "metrics": [{"measure": "latency", "aggregation": "histogram"}], "config": {"bins": 12},
     "filters": [{"column": "type", "type": "stringOptions", "operator": "any of", "value": ["GENERATION"]}], **W},
    {"view": "observations", "metrics": [{"measure": "costByType", "aggregation": "sum"}],
     "dimensions": [{"field": "tags"}], **W},
    {"view": "scores-numeric", "metrics": [{"measure": "value", "aggregation": "avg"}],
     "dimensions": [{"field": "name"}, {"field": "traceName"}], **W},
    {"view": "scores-boolean", "metrics": [{"measure": "value", "aggregation": "avg"}],
     "timeDimension": {"granularity": "auto"}, **W},
    {"view": "scores-categorical", "metrics": [], "dimensions": [{"field": "stringValue"}], **W},
]


@pytest.fixture(scope="module")
def lf(local_server):
    client = lfnb.connect(local_server.base_url, local_server.public_key, local_server.secret_key)
    yield client
    client.close()


@pytest.fixture(scope="module")
def sdk(local_server):
    from langfuse import Langfuse

    return Langfuse(public_key=local_server.public_key, secret_key=local_server.secret_key,
                    base_url=local_server.base_url, tracing_enabled=False)


@pytest.mark.parametrize("i", range(len(QUERIES)))
def test_read_metrics_sdk_and_engine_agree(i, lf, sdk, local_server):
    query = QUERIES[i]
    sent = prepare_query(query, "v2")  # what read_metrics sends (explicit row_limit)
    expected_rows = engine_query(local_server.store, sent, "v2")
    sdk_rows = sdk.api.metrics.metrics(query=json.dumps(sent)).data
    assert sdk_rows == json.loads(json.dumps(expected_rows))
    truncated = len(sdk_rows) == sent["config"]["row_limit"]  # the top-N query: exactly row_limit rows
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = lf.read_metrics(query, cache=False)
        expected = metrics_frame(sdk_rows, sent, version="v2", warn=False)
    # the truncation warning points at the user's line, here
    assert [(w.category, w.filename) for w in caught] == ([(lfnb.LfnbTruncationWarning, __file__)] if truncated else [])
    pd.testing.assert_frame_equal(df, expected)
    assert df.attrs["units"] == expected.attrs["units"]
    assert truncated == (i == 2)


def test_sdk_sees_the_servers_400(sdk):
    from langfuse.api.core.api_error import ApiError

    with pytest.raises(ApiError) as info:
        sdk.api.metrics.metrics(query=json.dumps({"view": "observations", "metrics": [], **W,
                                                  "dimensions": [{"field": "userId"}],
                                                  "timeDimension": {"granularity": "day"}}))
    assert info.value.status_code == 400
    assert info.value.body["message"].startswith("High cardinality dimension(s) 'userId' cannot be used")


def test_read_metrics_validates_before_sending(lf):
    sent = lf.transport.requests if hasattr(lf.transport, "requests") else None
    with pytest.raises(lfnb.QueryValidationError, match=r"\$\.view"):
        lf.read_metrics({"view": "traces", "metrics": [], **W}, version="v2", cache=False)
    if sent is not None:
        assert lf.transport.requests == sent


def test_v3_server_gets_v1_with_the_traces_view(local_server_v3):
    with lfnb.connect(local_server_v3.base_url, local_server_v3.public_key, local_server_v3.secret_key) as v3:
        df = v3.read_metrics({"view": "traces", "metrics": [{"measure": "count", "aggregation": "count"}], **W},
                             cache=False)  # version from the server's generation: v1
    assert df["count_count"].tolist() == [local_server_v3.store.count("traces")]
    assert str(df["count_count"].dtype) == "Int64"


@pytest.fixture(scope="module")
def observations(lf):
    return lf.read_observations("2026-10-25T00:00:00Z", "2026-11-01T00:00:00Z",
                                fields=("core", "basic", "usage", "model", "metrics"))


def test_counts_and_costs_equal_pandas_over_read_observations(lf, observations):
    got = lf.read_metrics(QUERIES[0], cache=False).set_index("type")["count_count"].sort_index()
    want = observations.groupby("type").size().sort_index()
    assert got.to_dict() == want.to_dict()
    model_col = "model" if "model" in observations else "providedModelName"
    q = {"view": "observations", "metrics": [{"measure": "totalCost", "aggregation": "sum"},
                                             {"measure": "latency", "aggregation": "max"}],
         "dimensions": [{"field": "providedModelName"}],
         "filters": [{"column": "type", "type": "string", "operator": "=", "value": "GENERATION"}], **W}
    df = lf.read_metrics(q, cache=False).set_index("providedModelName").sort_index()
    gen = observations[observations["type"] == "GENERATION"]
    want_cost = gen.groupby(model_col)["totalCost"].sum().sort_index()
    np.testing.assert_allclose(df["sum_totalCost"].astype(float), want_cost.astype(float), rtol=1e-9)
    # latency: the REST endpoint reports seconds, the Metrics API milliseconds
    want_ms = (gen.groupby(model_col)["latency"].max() * 1000).sort_index()
    np.testing.assert_allclose(df["max_latency"].astype(float), want_ms.astype(float), atol=1.0)
    assert df.attrs["units"]["max_latency"] == "millisecond"


def test_score_averages_equal_pandas_over_read_scores(lf):
    scores = lf.read_scores("2026-10-25T00:00:00Z", "2026-11-01T00:00:00Z")
    numeric = scores[scores["dataType"].isin(["NUMERIC", "BOOLEAN"])]
    df = lf.read_metrics({"view": "scores-numeric", "metrics": [{"measure": "value", "aggregation": "avg"},
                                                                {"measure": "count", "aggregation": "count"}],
                          "dimensions": [{"field": "name"}], **W}, cache=False).set_index("name").sort_index()
    want = numeric.groupby("name")["value"].agg(["mean", "size"]).sort_index()
    np.testing.assert_allclose(df["avg_value"].astype(float), want["mean"].astype(float), rtol=1e-9)
    assert df["count_count"].tolist() == want["size"].tolist()


def test_cache_spares_the_second_request(lf, tmp_path):
    from lfnb.metrics import MetricsCache

    cache = MetricsCache(tmp_path, ttl=600)
    t0 = time.perf_counter()
    first = lf.read_metrics(QUERIES[1], cache=cache)
    t1 = time.perf_counter()
    second = lf.read_metrics(QUERIES[1], cache=cache)
    t2 = time.perf_counter()
    pd.testing.assert_frame_equal(first, second)
    assert len(list(tmp_path.glob("*.json"))) == 1
    assert t2 - t1 < t1 - t0 + 0.5
