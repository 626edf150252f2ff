"""MetricsQuery builder, typed result frames, histogram_frame, the result cache and run_query."""

from __future__ import annotations

import json
import warnings
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest

from lfnb.errors import LfnbTruncationWarning, QueryValidationError
from lfnb.metrics import MetricsCache, MetricsQuery, histogram_frame, metrics_frame, run_query, to_timestamp

START, END = datetime(2026, 10, 25), datetime(2026, 11, 1)


def builder() -> MetricsQuery:
    return (MetricsQuery("observations").measure("totalCost", "sum").by("providedModelName").every("day")
            .between(START, END).order("sum_totalCost", "desc").limit(50).bins(20))


# -- builder -------------------------------------------------------------------------------------

def test_builder_to_dict_and_back():
    q = builder()
    d = q.to_dict()
    assert d == {"view": "observations", "dimensions": [{"field": "providedModelName"}],
                 "metrics": [{"measure": "totalCost", "aggregation": "sum"}], "filters": [],
                 "timeDimension": {"granularity": "day"}, "fromTimestamp": "2026-10-25T00:00:00Z",
                 "toTimestamp": "2026-11-01T00:00:00Z", "orderBy": [{"field": "sum_totalCost", "direction": "desc"}],
                 "config": {"row_limit": 50, "bins": 20}}
    assert MetricsQuery.from_dict(d) == q
    assert MetricsQuery.from_json(q.to_json()) == q
    assert q.validate("v2")["config"] == {"bins": 20, "row_limit": 50}


def test_builder_is_immutable():
    base = MetricsQuery("observations")
    grown = base.measure("count")
    assert base.to_dict()["metrics"] == [] and grown.to_dict()["metrics"] == [{"measure": "count", "aggregation": "count"}]
    with pytest.raises(AttributeError, match="immutable"):
        base.view_name = "x"


def test_repr_is_the_fluent_code():
    assert repr(builder()) == (
        "MetricsQuery('observations').measure('totalCost', 'sum').by('providedModelName').every('day')"
        ".between('2026-10-25T00:00:00Z', '2026-11-01T00:00:00Z').order('sum_totalCost', 'desc')"
        ".limit(50).bins(20)")


def test_repr_html_shows_json_and_problems():
    ok = builder()._repr_html_()
    assert "&quot;sum_totalCost&quot;" in ok and "valid for the v2 Metrics API" in ok
    bad = MetricsQuery("traces").measure("count")._repr_html_()
    assert "<code>$.view</code>" in bad and "<code>$.fromTimestamp</code>: is required" in bad


def test_filters_accept_filter_objects_and_dicts():
    from lfnb.filters import Filter

    q = MetricsQuery("observations").measure("count").between(START, END).where(
        Filter.options("name", ["a", "b"]), {"column": "level", "type": "string", "operator": "=", "value": "ERROR"})
    assert q.to_dict()["filters"][0] == {"column": "name", "type": "stringOptions", "operator": "any of",
                                         "value": ["a", "b"]}
    assert q.is_valid()
    with pytest.raises(TypeError, match="lfnb.Filter or a dict"):
        q.where(42)


def test_timestamps_naive_is_utc():
    assert to_timestamp(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"
    assert to_timestamp(datetime(2026, 1, 2, 4, 4, 5, 120000, tzinfo=timezone(timedelta(hours=1)))) == \
        "2026-01-02T03:04:05.120Z"
    assert to_timestamp(date(2026, 1, 2)) == "2026-01-02T00:00:00Z"
    assert to_timestamp("2026-01-02") == "2026-01-02T00:00:00Z"
    assert to_timestamp("2026-01-02T00:00:00+05:30") == "2026-01-02T00:00:00+05:30"
    assert to_timestamp(pd.Timestamp("2026-01-02 10:00", tz="UTC")) == "2026-01-02T10:00:00Z"


def test_builder_validate_raises_with_paths():
    with pytest.raises(QueryValidationError) as info:
        MetricsQuery("observations").measure("latency", "median").between(END, START).validate()
    assert [i["path"] for i in info.value.issues] == ["$.metrics[0].aggregation", "$.fromTimestamp"]


# -- frames --------------------------------------------------------------------------------------

QUERY = {"view": "observations", "dimensions": [{"field": "providedModelName"}, {"field": "isRootObservation"},
                                                  {"field": "tags"}],
         "metrics": [{"measure": "count", "aggregation": "count"}, {"measure": "latency", "aggregation": "p95"},
                     {"measure": "totalCost", "aggregation": "sum"}, {"measure": "totalTokens", "aggregation": "max"},
                     {"measure": "latency", "aggregation": "histogram"}],
         "filters": [], "timeDimension": {"granularity": "day"}, "fromTimestamp": "2026-10-25T00:00:00Z",
         "toTimestamp": "2026-11-01T00:00:00Z", "orderBy": None, "config": {"row_limit": 500}}

DTYPES = {"time_dimension": "datetime64[us, UTC]", "providedModelName": "str", "isRootObservation": "boolean",
          "tags": "object", "count_count": "Int64", "p95_latency": "Float64", "sum_totalCost": "Float64",
          "max_totalTokens": "Int64", "histogram_latency": "object"}


def test_metrics_frame_types_order_and_units():
    data = [{"providedModelName": "gpt-4o", "isRootObservation": False, "tags": ["a"], "time_dimension": "2026-10-25",
             "count_count": "5", "p95_latency": 12.5, "sum_totalCost": "0.25", "max_totalTokens": 99,
             "histogram_latency": [[1, 2, 3.5]]},
            {"providedModelName": None, "isRootObservation": True, "tags": [], "time_dimension": "2026-10-26",
             "count_count": 2, "p95_latency": None, "sum_totalCost": None, "max_totalTokens": None,
             "histogram_latency": []}]
    df = metrics_frame(data, QUERY)
    assert {c: str(t) for c, t in df.dtypes.items()} == DTYPES
    assert list(df.columns) == list(DTYPES)
    assert df["count_count"].tolist() == [5, 2]
    assert df["time_dimension"].iloc[1] == pd.Timestamp("2026-10-26", tz="UTC")
    assert pd.isna(df["providedModelName"].iloc[1])
    assert df["histogram_latency"].iloc[0] == [[1.0, 2.0, 3.5]]
    assert df.attrs["units"] == {"count_count": "integer", "p95_latency": "millisecond", "sum_totalCost": "USD",
                                 "max_totalTokens": "tokens", "histogram_latency": "millisecond"}


def test_empty_result_has_every_column_with_its_dtype():
    df = metrics_frame([], QUERY)
    assert len(df) == 0
    assert {c: str(t) for c, t in df.dtypes.items()} == DTYPES


def test_count_column_without_metrics_and_hour_strings():
    q = {"view": "scores-numeric", "dimensions": [{"field": "value"}], "metrics": [],
         "timeDimension": {"granularity": "hour"}}
    df = metrics_frame([{"value": 0.5, "time_dimension": "2026-10-25T10:00:00.000Z", "count": "3"}], q)
    assert list(df.columns) == ["time_dimension", "value", "count"]
    assert str(df["value"].dtype) == "Float64" and df["count"].tolist() == [3]
    assert df["time_dimension"].iloc[0] == pd.Timestamp("2026-10-25T10:00", tz="UTC")


def test_integer_dimensions_become_strings_without_float_noise():
    q = {"view": "observations", "dimensions": [{"field": "promptVersion"}], "metrics": []}
    df = metrics_frame([{"promptVersion": 1, "count": 3}, {"promptVersion": None, "count": 2},
                        {"promptVersion": 12, "count": "1", "extra": "kept"}], q)
    assert df["promptVersion"].tolist()[::2] == ["1", "12"] and pd.isna(df["promptVersion"].iloc[1])
    assert str(df["promptVersion"].dtype) == "str" and df["count"].tolist() == [3, 2, 1]
    assert list(df.columns) == ["promptVersion", "count", "extra"]


def test_truncation_warning():
    q = {"view": "observations", "metrics": [{"measure": "count", "aggregation": "count"}],
         "dimensions": [{"field": "name"}]}
    rows = [{"name": str(i), "count_count": 1} for i in range(100)]
    with pytest.warns(LfnbTruncationWarning, match="exactly 100 rows") as record:
        metrics_frame(rows, q, version="v2")
    assert record[0].filename == __file__  # points at the caller, not inside lfnb
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics_frame(rows, q, version="v1")
        metrics_frame(rows[:99], q, version="v2")
    with pytest.warns(LfnbTruncationWarning):
        metrics_frame(rows[:3], {**q, "config": {"row_limit": 3}})


def test_histogram_frame_is_tidy():
    df = metrics_frame([{"time_dimension": "2026-10-25", "providedModelName": "m", "isRootObservation": True,
                         "tags": [], "count_count": 1, "p95_latency": 1, "sum_totalCost": 1, "max_totalTokens": 1,
                         "histogram_latency": [[0, 10, 2], [10, 20, 1.5]]}], QUERY)
    tidy = histogram_frame(df, "histogram_latency")
    assert list(tidy.columns) == ["time_dimension", "providedModelName", "isRootObservation", "tags",
                                  "lower", "upper", "height"]
    assert tidy[["lower", "upper", "height"]].to_dict("list") == {"lower": [0.0, 10.0], "upper": [10.0, 20.0],
                                                                  "height": [2.0, 1.5]}
    assert str(tidy["lower"].dtype) == "Float64" and str(tidy["providedModelName"].dtype) == "str"
    with pytest.raises(KeyError):
        histogram_frame(df, "histogram_nope")
    one = metrics_frame([{"histogram_latency": [[1, 2, 3]]}],
                        {"view": "observations", "metrics": [{"measure": "latency", "aggregation": "histogram"}]})
    assert histogram_frame(one).to_dict("list") == {"lower": [1.0], "upper": [2.0], "height": [3.0]}


# -- cache and run_query ----------------------------------------------------------------------------

def test_cache_roundtrip_ttl_and_clear(tmp_path):
    cache = MetricsCache(tmp_path, ttl=60)
    q = {"view": "observations"}
    assert cache.get("http://x", "p", q, "v2") is None
    cache.put("http://x/", "p", q, "v2", [{"a": 1}])
    assert cache.get("http://x", "p", q, "v2") == [{"a": 1}]
    assert cache.get("http://x", "p", q, "v1") is None
    assert cache.get("http://y", "p", q, "v2") is None
    assert MetricsCache(tmp_path, ttl=0).get("http://x", "p", q, "v2") is None
    assert cache.clear() == 1 and cache.get("http://x", "p", q, "v2") is None


def test_run_query_validates_sends_explicit_row_limit_and_caches(tmp_path):
    calls = []

    def transport_get(path, params):
        calls.append((path, json.loads(params["query"])))
        return {"data": [{"providedModelName": "gpt-4o", "time_dimension": "2026-10-25", "sum_totalCost": 1.5}]}

    q = MetricsQuery("observations").measure("totalCost", "sum").by("providedModelName").every("day").between(START, END)
    cache = MetricsCache(tmp_path)
    df1 = run_query(transport_get, q, "v2", cache=cache, cache_key_parts=("http://h", "proj"))
    df2 = run_query(transport_get, q, "v2", cache=cache, cache_key_parts=("http://h", "proj"))
    assert len(calls) == 1
    assert calls[0][0] == "/api/public/v2/metrics" and calls[0][1]["config"] == {"row_limit": 1000}
    pd.testing.assert_frame_equal(df1, df2)
    assert df1["sum_totalCost"].tolist() == [1.5]
    run_query(transport_get, q, "v1")
    assert calls[-1][0] == "/api/public/metrics" and "config" not in calls[-1][1]
    with pytest.raises(QueryValidationError):
        run_query(transport_get, q.view("traces"), "v2")
    assert len(calls) == 2
