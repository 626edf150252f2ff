"""lfnb.charts: column roles, units, top N, bucketing, and the spec each chart kind produces."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import pytest

import lfnb.charts as lc
from lfnb.charts import shaping as cf

DAYS = pd.date_range("2026-10-25", periods=7, freq="D", tz="UTC")
QUERY = {"view": "observations", "fromTimestamp": "2026-10-25T00:00:00Z", "toTimestamp": "2026-11-01T00:00:00Z",
         "timeDimension": {"granularity": "day"}, "metrics": [{"measure": "totalCost", "aggregation": "sum"}]}


def cost_series(models: int = 12) -> pd.DataFrame:
    rows = [(d, f"m{i:02d}", float(i + 1) * (j + 1)) for j, d in enumerate(DAYS) for i in range(models)]
    df = pd.DataFrame(rows, columns=["time_dimension", "providedModelName", "sum_totalCost"])
    df["sum_totalCost"] = df["sum_totalCost"].astype("Float64")
    return df


def data_of(chart: alt.TopLevelMixin) -> list[dict]:
    spec = chart.to_dict()
    (values,) = spec["datasets"].values()
    return values


# ---------------------------------------------------------------- pure helpers


def test_roles_split_time_dimensions_and_metrics():
    df = pd.DataFrame({"time_dimension": DAYS[:2], "name": ["a", "b"], "isRootObservation": [True, False],
                       "sum_totalCost": [1.0, 2.0], "histogram_latency": [[[0, 1, 2]], [[0, 1, 3]]]})
    r = cf.roles(df)
    assert r.time == "time_dimension"
    assert r.dimensions == ("name", "isRootObservation")
    assert [m.column for m in r.metrics] == ["sum_totalCost", "histogram_latency"]
    assert [m.column for m in r.scalars] == ["sum_totalCost"]
    assert r.histograms[0].measure == "latency"


def test_a_string_column_named_like_a_metric_is_a_dimension():
    df = pd.DataFrame({"count_region": ["eu", "us"], "count": [3, 4]})
    r = cf.roles(df)
    assert r.dimensions == ("count_region",)
    assert [(m.aggregation, m.measure) for m in r.metrics] == [("count", "count")]


@pytest.mark.parametrize("column, unit", [
    ("sum_totalCost", "USD"), ("avg_inputCost", "USD"), ("p95_latency", "millisecond"),
    ("max_timeToFirstToken", "millisecond"), ("sum_inputTokens", "tokens"), ("sum_usageByType", "tokens"),
    ("avg_tokensPerSecond", "tokens/s"), ("count_count", "count"), ("uniq_traceId", "distinct"),
    ("avg_value", ""), ("totalCost", "USD"), ("latency", "second"), ("usageDetails.input", "tokens"),
    ("costDetails.total", "USD"), ("userId", ""),
])
def test_unit_inferred_from_names(column, unit):
    assert cf.unit_for(column) == unit


def test_unit_from_attrs_wins_and_count_unit_follows_the_view():
    attrs = {"units": {"avg_value": "points"}, "query": {"view": "scores-numeric"}}
    assert cf.unit_for("avg_value", attrs) == "points"
    assert cf.unit_for("count_count", attrs) == "scores"
    assert cf.unit_for("count_count", {"query": {"view": "observations"}}) == "observations"


@pytest.mark.parametrize("values, unit, expected", [
    ([120.0, 800.0], "millisecond", (1.0, "ms")),
    ([120.0, 2500.0], "millisecond", (0.001, "s")),
    ([0.2, 0.4], "second", (1000.0, "ms")),
    ([0.2, 3.0], "second", (1.0, "s")),
    ([1.0, 2.0], "USD", (1.0, "USD")),
])
def test_display_scale_switches_ms_and_s(values, unit, expected):
    factor, shown = cf.display_scale(pd.Series(values), unit)
    assert (pytest.approx(factor), shown) == expected


def test_metric_labels_and_humanize():
    assert cf.metric_label("sum_totalCost") == "Sum of total cost"
    assert cf.metric_label("p95_latency") == "p95 latency"
    assert cf.metric_label("count_count") == "count"
    assert cf.metric_label("count") == "count"
    assert cf.humanize("timeToFirstToken") == "time to first token"
    assert cf.humanize("usageDetails.input") == "input tokens"


def test_series_labels_make_missing_and_empty_visible():
    df = pd.DataFrame({"env": pd.Series(["prod", None, ""], dtype="str"),
                       "root": pd.array([True, False, None], dtype="boolean")})
    assert cf.series_labels(df, ["env"]).tolist() == ["prod", "(none)", "(empty)"]
    assert cf.series_labels(df, ["env", "root"]).tolist() == ["prod · true", "(none) · false", "(empty) · (none)"]
    assert cf.series_labels(df, []).tolist() == ["all", "all", "all"]


def test_top_n_other_folds_the_smallest_series_per_bucket():
    long = pd.DataFrame({"time": np.repeat([1, 2], 5), "series": list("abcde") * 2,
                         "value": [5.0, 4.0, 3.0, 2.0, 1.0, 50.0, 40.0, 30.0, 20.0, 10.0]})
    out = cf.top_n_other(long, "series", "value", n=2, combine="sum", by=["time"])
    got = {(r.time, r.series): r.value for r in out.itertuples()}
    assert got == {(1, "a"): 5.0, (1, "b"): 4.0, (2, "a"): 50.0, (2, "b"): 40.0,
                   (1, "other (3)"): 6.0, (2, "other (3)"): 60.0}
    # averages fold with the mean, not the sum
    out = cf.top_n_other(long, "series", "value", n=2, combine="mean", by=["time"])
    assert out[out.series == "other (3)"].value.tolist() == [2.0, 20.0]
    # n + 1 keys: folding a single key would only hide it
    assert len(cf.top_n_other(long, "series", "value", n=4, by=["time"])) == 10


@pytest.mark.parametrize("hours, granularity", [(1, "minute"), (48, "hour"), (24 * 30, "day"),
                                                (24 * 100, "week"), (24 * 400, "month")])
def test_auto_granularity_thresholds(hours, granularity):
    start = pd.Timestamp("2026-01-01", tz="UTC")
    assert cf.auto_granularity(start, start + pd.Timedelta(hours=hours)) == granularity


def test_bucket_times_weeks_start_monday_and_months_on_the_first():
    t = pd.Series(pd.to_datetime(["2026-10-29T13:45:10Z", "2026-11-01T00:00:00Z"], utc=True))
    assert cf.bucket_times(t, "hour").tolist() == list(pd.to_datetime(["2026-10-29T13:00Z", "2026-11-01T00:00Z"]))
    assert cf.bucket_times(t, "week").dt.strftime("%Y-%m-%d %a").tolist() == ["2026-10-26 Mon", "2026-10-26 Mon"]
    assert cf.bucket_times(t, "month").dt.strftime("%Y-%m-%d").tolist() == ["2026-10-01", "2026-11-01"]
    with pytest.raises(ValueError, match="granularity must be one of minute, hour, day, week, month; got 'year'"):
        cf.bucket_times(t, "year")


def test_coarsen_time_rebuckets_a_long_minute_series():
    times = pd.date_range("2026-10-01", periods=6000, freq="min", tz="UTC")
    df = pd.DataFrame({"time": times, "series": "all", "value": 1.0})
    out, gran = cf.coarsen_time(df, "time", ["series"], {"value": "sum"})
    assert gran == "hour"
    assert len(out) == 100 and out["value"].sum() == 6000.0
    same, none = cf.coarsen_time(df.iloc[:10], "time", ["series"], {"value": "sum"})
    assert none is None and len(same) == 10


def test_histogram_long_expands_triples():
    df = pd.DataFrame({"name": ["a", "b"], "histogram_latency": [[[0, 10, 2], [10, 20, 1.5]], [[5, 6, 7]]]})
    out = cf.histogram_long(df, "histogram_latency", ("name",))
    assert out.to_dict("list") == {"series": ["a", "a", "b"], "lower": [0.0, 10.0, 5.0],
                                   "upper": [10.0, 20.0, 6.0], "height": [2.0, 1.5, 7.0]}
    assert str(out["height"].dtype) == "Float64"


# ---------------------------------------------------------------- chart(): which kind


def test_time_series_keeps_top_n_and_folds_other():
    df = cost_series(models=12)
    df.attrs = {"query": QUERY, "units": {"sum_totalCost": "USD"}}
    c = lc.chart(df, top=5)
    spec = c.to_dict()
    assert spec["mark"]["type"] == "line"
    assert spec["title"] == {"text": "Sum of total cost by providedModelName",
                             "subtitle": "observations · 2026-10-25 → 2026-11-01 · per day"}
    assert spec["encoding"]["y"]["title"] == "Sum of total cost (USD)"
    assert spec["encoding"]["y"]["axis"]["format"] == "$,.4~g"
    series = {row["series"] for row in data_of(c)}
    assert series == {"m11", "m10", "m09", "m08", "m07", "other (7)"}
    # legend order: biggest first, the remainder last and grey
    assert spec["encoding"]["color"]["sort"][:2] == ["m11", "m10"]
    assert spec["encoding"]["color"]["scale"]["range"][-1] == "#b0b0b0"
    other = [row["value"] for row in data_of(c) if row["series"] == "other (7)"]
    assert other[0] == pytest.approx(sum(range(1, 8)))  # day 1: models m00..m06 = 1+…+7
    # legend selection wired to opacity
    (param,) = spec["params"]
    assert param["bind"] == "legend" and param["select"]["fields"] == ["series"]
    assert "condition" in spec["encoding"]["opacity"]
    assert [t["field"] for t in spec["encoding"]["tooltip"]] == ["time", "series", "value"]


def test_time_series_latency_in_seconds_when_large_without_attrs():
    df = pd.DataFrame({"time_dimension": DAYS, "p50_latency": [800.0, 900, 1000, 1200, 1500, 2000, 2500],
                       "p99_latency": [3000.0, 3100, 3200, 3300, 3400, 3500, 9000]})
    c = lc.chart(df)
    spec = c.to_dict()
    assert spec["encoding"]["y"]["title"] == "latency (s)"
    values = {(r["series"], r["time"][:10]): r["value"] for r in data_of(c)}
    assert values[("p99 latency", "2026-10-31")] == pytest.approx(9.0)
    assert values[("p50 latency", "2026-10-25")] == pytest.approx(0.8)


def test_metrics_with_different_units_get_one_panel_each():
    df = pd.DataFrame({"time_dimension": DAYS, "p50_latency": range(7), "sum_totalCost": np.arange(7.0)})
    spec = lc.chart(df).to_dict()
    assert len(spec["vconcat"]) == 2
    assert [p["encoding"]["y"]["title"] for p in spec["vconcat"]] == ["p50 latency (ms)", "Sum of total cost (USD)"]


def test_one_dimension_gives_sorted_bars():
    df = pd.DataFrame({"name": ["a", "b", "c"], "count_count": pd.array([5, 50, 20], dtype="Int64")})
    c = lc.chart(df)
    spec = c.to_dict()
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["y"]["sort"] == ["b", "c", "a"]
    assert spec["encoding"]["x"]["title"] == "count (count)"


def test_two_dimensions_give_a_heatmap():
    df = pd.DataFrame({"environment": ["prod", "prod", "dev"], "type": ["SPAN", "GENERATION", "SPAN"],
                       "sum_totalCost": [1.0, 2.0, 3.0]})
    spec = lc.chart(df).to_dict()
    assert spec["mark"]["type"] == "rect"
    assert spec["encoding"]["x"]["field"] == "type" and spec["encoding"]["y"]["field"] == "environment"
    assert spec["encoding"]["color"]["title"] == "Sum of total cost (USD)"


def test_histogram_triples_give_a_histogram():
    df = pd.DataFrame({"histogram_latency": [[[0.0, 100.0, 5.0], [100.0, 2500.0, 12.0]]]})
    c = lc.chart(df)
    spec = c.to_dict()
    assert spec["mark"]["type"] == "bar" and spec["encoding"]["x2"]["field"] == "upper"
    assert spec["encoding"]["x"]["title"] == "latency (s)"
    assert [(r["lower"], r["upper"], r["height"]) for r in data_of(c)] == [(0.0, 0.1, 5.0), (0.1, 2.5, 12.0)]


def test_single_value_gives_a_big_number():
    spec = lc.chart(pd.DataFrame({"sum_totalCost": [12.3456]})).to_dict()
    number, caption = spec["layer"]
    assert number["mark"]["type"] == "text" and number["encoding"]["text"]["format"] == "$,.4~g"
    (rows,) = spec["datasets"].values()
    assert rows == [{"label": "Sum of total cost (USD)", "value": 12.3456}]


def test_empty_result_and_bad_input():
    spec = lc.chart(cost_series().iloc[:0]).to_dict()
    assert spec["mark"]["type"] == "text"
    (rows,) = spec["datasets"].values()
    assert rows == [{"message": "No data"}]
    with pytest.raises(ValueError, match=r"needs a metrics result .* got columns \['name'\]"):
        lc.chart(pd.DataFrame({"name": ["a"]}))
    with pytest.raises(ValueError, match="metric must be one of sum_totalCost; got 'avg_x'"):
        lc.chart(cost_series(), metric="avg_x")


def test_long_minute_series_is_rebucketed_not_a_max_rows_error():
    times = pd.date_range("2026-10-01", periods=43_200, freq="min", tz="UTC")  # 30 days of minutes (v1: no limit)
    df = pd.DataFrame({"time_dimension": times, "count_count": np.ones(len(times))})
    c = lc.chart(df)
    rows = data_of(c)
    assert len(rows) == 720  # hourly
    assert sum(r["value"] for r in rows) == 43_200
    assert "re-bucketed per hour" in c.to_dict()["title"]["subtitle"]


def test_many_dimension_values_stay_under_max_rows():
    n = 20_000
    df = pd.DataFrame({"traceId": [f"t{i}" for i in range(n)], "sum_totalCost": np.arange(n, dtype=float)})
    rows = data_of(lc.chart(df))
    assert len(rows) == 21
    assert rows[-1]["category"] == "other (19980)"


# ---------------------------------------------------------------- named helpers: exact numbers


def raw_observations() -> pd.DataFrame:
    return pd.DataFrame({
        "startTime": pd.to_datetime(["2026-10-30T10:00Z", "2026-10-30T11:00Z", "2026-10-31T09:00Z",
                                     "2026-10-31T10:00Z", "2026-11-01T08:00Z"], utc=True),
        "model": pd.Series(["gpt-4o", "claude", "gpt-4o", None, "claude"], dtype="str"),
        "totalCost": pd.array([0.5, 0.25, 1.0, 0.0, 2.0], dtype="Float64"),
        "latency": pd.array([1.0, 2.0, 3.0, 4.0, 5.0], dtype="Float64"),
        "usageDetails.input": pd.array([100, 10, 200, None, 1000], dtype="Int64"),
        "usageDetails.output": pd.array([50, 5, 20, None, 1], dtype="Int64"),
        "level": ["DEFAULT", "ERROR", "DEFAULT", "DEFAULT", "ERROR"],
        "userId": ["u1", "u2", "u1", "u3", "u2"],
    })


def test_cost_over_time_from_raw_observations_buckets_per_day():
    c = lc.cost_over_time(raw_observations(), by="model", granularity="day")
    rows = {(r["time"][:10], r["series"]): r["value"] for r in data_of(c)}
    # the span without a model cost nothing: no flat "(none)" line (#13)
    assert rows == {("2026-10-30", "claude"): 0.25, ("2026-10-30", "gpt-4o"): 0.5, ("2026-10-31", "gpt-4o"): 1.0,
                    ("2026-11-01", "claude"): 2.0}
    spec = c.to_dict()
    assert spec["title"] == {"text": "Cost over time", "subtitle": "5 observations · per day"}
    # v1 frames call the model column providedModelName: same chart
    v1 = raw_observations().rename(columns={"model": "providedModelName"})
    assert data_of(lc.cost_over_time(v1, by="model", granularity="day")) == data_of(c)
    with pytest.raises(ValueError, match="by='region' is not a column"):
        lc.cost_over_time(raw_observations(), by="region")


def test_cost_over_time_accepts_a_metrics_result():
    df = cost_series(models=3)
    spec = lc.cost_over_time(df).to_dict()
    assert spec["title"]["text"] == "Cost over time" and spec["mark"]["type"] == "line"


def test_latency_percentiles_from_raw_seconds():
    c = lc.latency_percentiles(raw_observations(), granularity="day")
    rows = {(r["time"][:10], r["series"]): r["value"] for r in data_of(c)}
    assert rows[("2026-10-30", "p50 latency")] == pytest.approx(1.5)
    assert rows[("2026-10-31", "p99 latency")] == pytest.approx(3.99)
    assert rows[("2026-11-01", "p90 latency")] == pytest.approx(5.0)
    assert c.to_dict()["encoding"]["y"]["title"] == "latency (s)"


def test_tokens_by_model_stacks_input_and_output():
    c = lc.tokens_by_model(raw_observations())
    rows = {(r["model"], r["type"]): r["tokens"] for r in data_of(c)}
    assert rows == {("gpt-4o", "input"): 300, ("gpt-4o", "output"): 70, ("claude", "input"): 1010,
                    ("claude", "output"): 6, ("(none)", "input"): None, ("(none)", "output"): None}
    spec = c.to_dict()
    assert spec["encoding"]["y"]["sort"][:2] == ["claude", "gpt-4o"]
    assert spec["params"][0]["bind"] == "legend"
    metrics = pd.DataFrame({"providedModelName": ["a", "b"], "sum_inputTokens": [5, 7], "sum_outputTokens": [1, 2]})
    rows = {(r["model"], r["type"]): r["tokens"] for r in data_of(lc.tokens_by_model(metrics))}
    assert rows == {("a", "input"): 5, ("b", "input"): 7, ("a", "output"): 1, ("b", "output"): 2}


def test_error_rate_over_time_raw_and_metrics():
    c = lc.error_rate_over_time(raw_observations(), granularity="day")
    rows = {r["time"][:10]: (r["rate"], r["errors"], r["observations"]) for r in data_of(c)}
    assert rows == {"2026-10-30": (0.5, 1.0, 2.0), "2026-10-31": (0.0, 0.0, 2.0), "2026-11-01": (1.0, 1.0, 1.0)}
    assert c.to_dict()["title"]["subtitle"] == "ERROR · per day · overall 40.0% of 5 observations"
    metrics = pd.DataFrame({"time_dimension": pd.to_datetime(["2026-10-30", "2026-10-30", "2026-10-31"], utc=True),
                            "level": ["ERROR", "DEFAULT", "DEFAULT"], "count_count": [1, 3, 4]})
    rows = {r["time"][:10]: r["rate"] for r in data_of(lc.error_rate_over_time(metrics))}
    assert rows == {"2026-10-30": 0.25, "2026-10-31": 0.0}


def test_top_by_cost_sums_per_user():
    c = lc.top_by_cost(raw_observations(), by="userId", n=2)
    assert [(r["userId"], r["cost"]) for r in data_of(c)] == [("u2", 2.25), ("u1", 1.5)]
    assert c.to_dict()["title"]["subtitle"] == "top 2 of 3 · 100% of $3.75"


def test_score_distribution_numeric_and_categorical():
    scores = pd.DataFrame({"name": ["q"] * 4 + ["verdict"] * 3, "value": [0.0, 0.5, 1.0, 1.0, None, None, None],
                           "stringValue": [None] * 4 + ["good", "bad", "good"],
                           "dataType": ["NUMERIC"] * 4 + ["CATEGORICAL"] * 3})
    numeric = lc.score_distribution(scores, "q", bins=2)
    assert [(r["lower"], r["upper"], r["height"]) for r in data_of(numeric)] == [(0.0, 0.5, 2.0), (0.5, 1.0, 2.0)]
    cats = lc.score_distribution(scores, "verdict")
    assert [(r["category"], r["scores"]) for r in data_of(cats)] == [("good", 2), ("bad", 1)]
    both = lc.score_distribution(scores).to_dict()
    assert len(both["vconcat"]) == 2
    with pytest.raises(ValueError, match="no scores named 'nope'; names are q, verdict"):
        lc.score_distribution(scores, "nope")


def test_many_histograms_keep_the_largest():
    df = pd.DataFrame({"name": [f"n{i}" for i in range(12)],
                       "histogram_latency": [[[0, 10, float(i)], [10, 20, 1.0]] for i in range(12)]})
    c = lc.chart(df, top=3)
    assert {r["series"] for r in data_of(c)} == {"n11", "n10", "n9"}
    assert c.to_dict()["title"]["subtitle"] == "3 largest of 12 histograms"


@pytest.mark.parametrize("helper", ["cost_over_time", "latency_percentiles", "tokens_by_model",
                                    "error_rate_over_time", "top_by_cost"])
def test_named_charts_of_an_empty_frame_say_no_data(helper):
    spec = getattr(lc, helper)(raw_observations().iloc[:0]).to_dict()
    assert spec["mark"]["type"] == "text"
    (rows,) = spec["datasets"].values()
    assert rows == [{"message": "No data"}]


def test_time_axis_uses_one_label_format_per_axis():
    from lfnb.charts.shaping import time_axis

    days = pd.Series(pd.date_range("2026-10-02", periods=30, freq="D", tz="UTC"))
    assert time_axis(days) == {"format": "%b %d", "tickCount": {"interval": "day", "step": 4}}
    week = pd.Series(pd.date_range("2026-10-25", periods=7, freq="D", tz="UTC"))
    assert time_axis(week) == {"format": "%b %d", "tickCount": {"interval": "day", "step": 1}}
    months = pd.Series(pd.date_range("2026-01-01", periods=11, freq="MS", tz="UTC"))
    assert time_axis(months) == {"format": "%b %Y", "tickCount": {"interval": "month", "step": 2}}
    hours = pd.Series(pd.date_range("2026-10-31", periods=24, freq="h", tz="UTC"))
    assert time_axis(hours) == {"format": "%b %d %H:%M"}
    # the chart carries it: no more "Tue 24 … Sat 28, Nov 29" (Vega's mixed default)
    frame = pd.DataFrame({"time_dimension": days, "sum_totalCost": range(30)})
    axis = lc.chart(frame).to_dict()["encoding"]["x"]["axis"]
    assert axis["format"] == "%b %d" and axis["tickCount"] == {"interval": "day", "step": 4}


def test_a_none_series_of_zeros_is_not_drawn_but_one_with_values_is():
    days = pd.date_range("2026-10-25", periods=3, freq="D", tz="UTC")
    rows = [(d, m, c) for d in days for m, c in (("gpt-4o", 1.5), (None, 0.0))]
    cost = pd.DataFrame(rows, columns=["time_dimension", "providedModelName", "sum_totalCost"])
    series = {r["series"] for r in lc.chart(cost).to_dict()["datasets"].popitem()[1]}
    assert series == {"gpt-4o"}
    count = cost.rename(columns={"sum_totalCost": "count_count"}).assign(count_count=[4, 7] * 3)
    series = {r["series"] for r in lc.chart(count).to_dict()["datasets"].popitem()[1]}
    assert series == {"gpt-4o", "(none)"}
    bars = pd.DataFrame({"providedModelName": ["gpt-4o", None], "sum_totalCost": [2.0, 0.0]})
    cats = {r["category"] for r in lc.chart(bars).to_dict()["datasets"].popitem()[1]}
    assert cats == {"gpt-4o"}
