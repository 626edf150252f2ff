"""lfnb.widgets state classes and pure functions (no widgets, no browser)."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import UTC, datetime

import pandas as pd
import pytest

from lfnb.filters import validate_filters
from lfnb.metrics import MetricsQuery, validate_query
from lfnb.widgets import browser_state as bs
from lfnb.widgets import filter_state as fs
from lfnb.widgets import metrics_state as ms
from lfnb.widgets.choices import ChoiceCache, metrics_fetcher

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def build(target: str, *rows: dict) -> fs.FilterState:
    state = fs.FilterState(target)
    for row in rows:
        state = fs.add_row(state, row["column"])
        rest = {k: v for k, v in row.items() if k != "column"}
        if rest:
            state = fs.set_row(state, len(state.rows) - 1, **rest)
    return state


# ------------------------------------------------------------------ filter state


def test_targets_cover_rest_endpoints_and_every_metrics_view():
    t = fs.targets()
    assert t[:4] == ("observations_v2", "observations_v1", "traces", "scores")
    assert "metrics:observations" in t and "metrics:scores-categorical" in t
    assert "metrics_v1:traces" in t and "metrics:traces" not in t  # v2 has no traces view
    with pytest.raises(ValueError, match="unknown filter target 'metrics:nope'; must be one of observations_v2, "):
        fs.columns_for("metrics:nope")


def test_columns_and_types_come_from_the_validation_rules():
    cols = {c["id"]: c for c in fs.columns_for("observations_v2")}
    assert cols["name"]["filterTypes"] == ["stringOptions", "string", "null"]  # options column: any-of first
    assert cols["input"]["filterTypes"] == ["string", "null"]
    assert cols["startTime"]["filterTypes"] == ["datetime", "null"]
    assert "tags" not in cols  # alias rows are not offered twice
    assert fs.operators_for("observations_v2", "string")[-1] == "matches"
    assert "matches" not in fs.operators_for("traces", "string")
    mcols = {c["id"]: c for c in fs.columns_for("metrics:observations")}
    assert mcols["tags"]["filterTypes"] == ["arrayOptions", "null"]
    assert mcols["isRootObservation"]["filterTypes"] == ["boolean", "null"]
    assert mcols["start_time"]["filterTypes"] == ["datetime"]
    assert mcols["metadata"]["filterTypes"] == ["stringObject"]
    assert "isRootObservation" not in {c["id"] for c in fs.columns_for("metrics_v1:observations")}


def test_new_rows_and_column_changes_pick_valid_type_and_operator():
    s = fs.add_row(fs.FilterState("observations_v2"), "level")
    assert s.rows[0] == fs.FilterRow("level", "stringOptions", "any of", "", "")
    s = fs.set_row(s, 0, value="ERROR, WARNING")
    s = fs.set_row(s, 0, column="latency")  # number column: type and operator follow, value kept
    assert s.rows[0] == fs.FilterRow("latency", "number", "=", "ERROR, WARNING", "")
    s = fs.set_row(s, 0, operator=">=", value="2.5")
    assert fs.conditions(s) == [{"type": "number", "column": "latency", "operator": ">=", "value": 2.5}]
    s = fs.set_row(s, 0, type="null")
    assert s.rows[0].operator == "is null"
    assert fs.conditions(s) == [{"type": "null", "column": "latency", "operator": "is null", "value": ""}]
    assert fs.remove_row(s, 0).rows == ()


def test_a_new_row_without_a_column_takes_the_first_column_not_in_use():
    ids = [c["id"] for c in fs.columns_for("observations_v2")]
    s = fs.add_row(fs.FilterState("observations_v2"))
    s = fs.add_row(s)
    assert [r.column for r in s.rows] == ids[:2]
    s = fs.add_row(fs.add_row(fs.FilterState("observations_v2"), ids[0]))  # the first is taken: the next one
    assert [r.column for r in s.rows] == ids[:2]
    full = fs.FilterState("observations_v2")
    for c in ids:
        full = fs.add_row(full, c)
    assert fs.add_row(full).rows[-1].column == ids[0]  # every column in use: the first again


def test_values_are_parsed_by_filter_type():
    s = build("observations_v2",
              {"column": "name", "value": "chat, qa ,"},
              {"column": "name", "value": '["a,b", "c"]'},
              {"column": "promptVersion", "value": "3"},
              {"column": "isRootObservation", "value": "TRUE"},
              {"column": "startTime", "operator": ">=", "value": "2026-10-01"},
              {"column": "metadata", "key": "region", "value": "eu"})
    assert fs.conditions(s) == [
        {"type": "stringOptions", "column": "name", "operator": "any of", "value": ["chat", "qa"]},
        {"type": "stringOptions", "column": "name", "operator": "any of", "value": ["a,b", "c"]},
        {"type": "number", "column": "promptVersion", "operator": "=", "value": 3},
        {"type": "boolean", "column": "isRootObservation", "operator": "=", "value": True},
        {"type": "datetime", "column": "startTime", "operator": ">=", "value": "2026-10-01T00:00:00.000Z"},
        {"type": "stringObject", "column": "metadata", "operator": "=", "value": "eu", "key": "region"},
    ]
    assert fs.row_issues(s) == [[]] * 6
    assert validate_filters(fs.conditions(s), "observations_v2") == fs.conditions(s)


def test_invalid_rows_are_flagged_with_the_server_wording():
    s = build("observations_v2",
              {"column": "latency", "value": "fast"},
              {"column": "name", "value": ""},
              {"column": "input", "operator": "contains", "value": "hello"},
              {"column": "startTime", "value": "yesterday"})
    issues = fs.row_issues(s)
    assert issues[0] == ["value must be a number"]
    assert issues[1] == ["value must contain at least one option"]
    assert issues[2] == []  # fine alone …
    assert fs.general_issues(s) == ["Input/output filters require at least one `matches` or `=` operator."]
    assert issues[3] == ["Invalid date: expected an ISO 8601 datetime string"]
    # a column that does not exist on the target (e.g. loaded from a saved query)
    bad = fs.state_from_filters("traces", [{"type": "string", "column": "model", "operator": "=", "value": "x"}])
    assert fs.row_issues(bad) == [["Column model does not match a UI / CH table mapping."]]


def test_metrics_filters_use_the_metrics_rules():
    s = build("metrics:observations",
              {"column": "tags", "value": "prod"},
              {"column": "environment", "type": "arrayOptions", "value": "a"},
              {"column": "start_time", "value": "2026-10-01T00:00:00Z"})
    assert fs.row_issues(s) == [
        [],
        ["Invalid filter for field 'environment': Filter type 'arrayOptions' is not supported for dimension "
         "type 'string'. Expected 'string' or 'stringOptions'."],
        [],
    ]
    query = MetricsQuery("observations").measure("count").between(datetime(2026, 10, 1), NOW).where(
        *fs.conditions(fs.remove_row(s, 1)))
    assert validate_query(query.to_dict())["filters"][0]["type"] == "arrayOptions"


def test_filters_code_rebuilds_the_same_list():
    s = build("observations_v2",
              {"column": "name", "value": "chat"}, {"column": "traceId", "type": "string", "value": "t1"},
              {"column": "latency", "operator": ">", "value": "1.5"},
              {"column": "startTime", "operator": "<", "value": "2026-11-01T00:00:00Z"},
              {"column": "isRootObservation", "value": "false"},
              {"column": "endTime", "type": "null", "operator": "is not null"},
              {"column": "metadata", "key": "k", "operator": "contains", "value": "v"},
              {"column": "tags", "value": "x"})
    code = fs.filters_code(s)
    assert code.startswith("from lfnb import Filter\n\nfilters = [\n    Filter.options('name', ['chat']")
    ns: dict = {}
    exec(code, ns)
    assert [f.to_dict() for f in ns["filters"]] == fs.conditions(s)
    invalid = build("observations_v2", {"column": "latency", "value": "x"})
    code = fs.filters_code(invalid)
    assert "# invalid: value must be a number" in code
    exec(code, ns)
    assert ns["filters"] == fs.conditions(invalid)
    assert fs.filters_code(fs.FilterState("traces")) == "filters = []"


def test_state_from_filters_round_trips():
    conds = [{"type": "stringOptions", "column": "name", "operator": "none of", "value": ["a", "b,c"]},
             {"type": "categoryOptions", "column": "score_categories", "operator": "any of", "value": ["x"],
              "key": "quality"},
             {"type": "numberObject", "column": "scores_avg", "operator": ">", "value": 0.5, "key": "q"}]
    s = fs.state_from_filters("traces", conds)
    assert s.rows[0].value == '["a", "b,c"]'
    assert fs.conditions(s) == conds
    assert fs.row_issues(s) == [[], [], []]
    with pytest.raises(FrozenInstanceError):
        s.target = "scores"


# ------------------------------------------------------------------ metrics state


def explorer_state() -> ms.MetricsState:
    return ms.MetricsState(
        metrics=(("totalCost", "sum"), ("latency", "p95")), dimensions=("providedModelName",), granularity="day",
        filters=({"type": "stringOptions", "column": "environment", "operator": "any of", "value": ["prod"]},),
        order_by=(("sum_totalCost", "desc"),), row_limit=200)


def test_to_query_resolves_relative_time_ranges_against_now():
    q = ms.to_query(explorer_state(), NOW)
    assert q == {
        "view": "observations",
        "dimensions": [{"field": "providedModelName"}],
        "metrics": [{"measure": "totalCost", "aggregation": "sum"}, {"measure": "latency", "aggregation": "p95"}],
        "filters": [{"type": "stringOptions", "column": "environment", "operator": "any of", "value": ["prod"]}],
        "timeDimension": {"granularity": "day"},
        "fromTimestamp": "2026-10-25T00:00:00Z",
        "toTimestamp": "2026-11-01T00:00:00Z",
        "orderBy": [{"field": "sum_totalCost", "direction": "desc"}],
        "config": {"row_limit": 200},
    }
    assert ms.issues(explorer_state(), NOW) == []
    day = ms.to_query(ms.MetricsState(time_range="24h", granularity=None), NOW)
    assert (day["fromTimestamp"], day["timeDimension"]) == ("2026-10-31T00:00:00Z", None)
    with pytest.raises(ValueError, match="time_range must be one of 24h, 7d, 30d, custom; got '1y'"):
        ms.to_query(ms.MetricsState(time_range="1y"), NOW)


def test_query_round_trips_through_the_state():
    q = ms.to_query(explorer_state(), NOW)
    s = ms.from_query(q)
    assert (s.time_range, s.from_time, s.to_time) == ("custom", "2026-10-25T00:00:00Z", "2026-11-01T00:00:00Z")
    assert ms.to_query(s) == q
    assert ms.state_from_dict(ms.state_to_dict(explorer_state())) == explorer_state()
    import json
    assert json.loads(json.dumps(ms.state_to_dict(explorer_state())))["time_range"] == "7d"


def test_query_code_builds_the_same_query():
    code = ms.query_code(explorer_state(), NOW)
    assert code.splitlines()[0] == "from lfnb import Filter, MetricsQuery"
    assert code.rstrip().endswith("df = lf.read_metrics(query)")
    ns: dict = {}
    exec(code.replace("df = lf.read_metrics(query)", ""), ns)
    assert ns["query"].to_dict() == ms.to_query(explorer_state(), NOW)
    v1 = ms.query_code(ms.MetricsState(version="v1", view="traces"), NOW)
    assert v1.endswith("df = lf.read_metrics(query, version='v1')")


def test_invalid_state_lists_the_server_problems():
    s = ms.MetricsState(metrics=(("totalCost", "sum"),), dimensions=("traceId",), granularity="day")
    messages = [p["message"] for p in ms.issues(s, NOW)]
    assert any(m.startswith("High cardinality dimension(s) 'traceId' cannot be used with timeDimension") for m in messages)


def test_measure_aggregation_choices_follow_measure_types():
    assert ms.aggregation_choices("v2", "observations", ["traceId"]) == ["count", "uniq"]
    assert "histogram" in ms.aggregation_choices("v2", "observations", ["latency"])
    assert ms.metric_pairs("v2", "observations", ["traceId", "latency"], ["count", "p95"]) == (
        ("traceId", "count"), ("latency", "count"), ("latency", "p95"))
    s = ms.with_measures(explorer_state(), ["totalCost"], ["avg"])
    assert s.metrics == (("totalCost", "avg"),) and s.order_by == ()  # sum_totalCost vanished
    assert ms.order_choices(explorer_state()) == ["time_dimension", "providedModelName", "sum_totalCost",
                                                  "p95_latency"]


def test_switching_view_keeps_what_stays_valid():
    s = ms.with_view(explorer_state(), "scores-numeric")
    assert s.view == "scores-numeric"
    assert s.metrics == (("count", "count"),)  # totalCost/latency do not exist there
    assert s.dimensions == ()  # nor does providedModelName
    assert s.filters == explorer_state().filters  # environment does
    assert s.order_by == ()
    v1 = ms.with_view(explorer_state(), "traces", "v1")
    assert (v1.version, v1.metrics) == ("v1", (("totalCost", "sum"), ("latency", "p95")))


# ------------------------------------------------------------------ browser state


def test_browser_read_kwargs_and_code():
    s = bs.BrowserState(time_range="7d", fields=("core", "io"), max_rows=50,
                        filters=({"type": "stringOptions", "column": "level", "operator": "any of",
                                  "value": ["ERROR"]},))
    kw = bs.read_kwargs(s, NOW)
    assert kw == {"from_time": "2026-10-25T00:00:00Z", "to_time": "2026-11-01T00:00:00Z", "fields": ["core", "io"],
                  "max_rows": 50, "filter": [{"type": "stringOptions", "column": "level", "operator": "any of",
                                              "value": ["ERROR"]}]}
    code = bs.browser_code(s, NOW)
    calls = {}

    class Fake:
        def read_observations(self, **kwargs):
            calls.update(kwargs)

    exec(code, {"lf": Fake()})
    assert {**calls, "filter": [f.to_dict() for f in calls["filter"]]} == kw


def test_paging_and_detail():
    df = pd.DataFrame({"id": [f"o{i}" for i in range(45)], "name": "n", "extra": 1,
                       "input": ['{"question": "<b>hi</b>"}'] * 45, "metadata": [{"k": "v"}] * 45})
    assert bs.page_count(45, 20) == 3 and bs.page_count(0, 20) == 1
    assert bs.page_slice(df, 2, 20)["id"].tolist() == [f"o{i}" for i in range(40, 45)]
    assert bs.page_slice(df, 9, 20)["id"].tolist()[0] == "o40"  # clamped to the last page
    assert list(bs.page_slice(df, 0, 20).columns) == ["name", "id"]
    detail = bs.detail_html(df.iloc[0])
    assert "&quot;question&quot;: &quot;&lt;b&gt;hi&lt;/b&gt;&quot;" in detail  # pretty JSON, escaped
    assert "&quot;k&quot;: &quot;v&quot;" in detail
    assert "(not read: add the io field group)" in detail  # no output column


# ------------------------------------------------------------------ choices


def test_choice_cache_fetches_each_column_once_and_survives_errors():
    calls = []

    def fetch(column):
        calls.append(column)
        if column == "userId":
            raise RuntimeError("boom")
        return ["gpt-4o", None, "", "claude"]

    cache = ChoiceCache(fetch)
    assert cache.cached("model") == ()
    assert cache.get("model") == ("gpt-4o", "claude")
    assert cache.get("model") == ("gpt-4o", "claude")
    assert cache.get("level") == ("DEBUG", "DEFAULT", "WARNING", "ERROR")  # static: no fetch
    assert cache.get("userId") == () and cache.get("userId") == ()
    assert calls == ["model", "userId"]
    assert cache.errors == {"userId": "RuntimeError: boom"}


def test_metrics_fetcher_asks_for_the_top_values_of_the_dimension():
    seen = []

    def read_metrics(query):
        seen.append(query)
        return pd.DataFrame({"providedModelName": ["gpt-4o", None, "claude"], "count_count": [9, 5, 1]})

    fetch = metrics_fetcher(read_metrics, now=lambda: NOW)
    assert fetch("model") == ["gpt-4o", "claude"]
    assert fetch("statusMessage") == []  # no dimension for it: no request
    (q,) = seen
    assert q["dimensions"] == [{"field": "providedModelName"}]
    assert q["orderBy"] == [{"field": "count_count", "direction": "desc"}]
    assert (q["fromTimestamp"], q["config"]) == ("2026-10-02T00:00:00Z", {"row_limit": 100})
    validate_query(q)  # a valid v2 query


def test_activity_frame_counts_per_bucket_and_type():
    df = pd.DataFrame({"startTime": pd.to_datetime(["2026-10-30T10:05Z", "2026-10-30T10:40Z", "2026-10-31T09:00Z"],
                                                   utc=True),
                       "type": ["SPAN", "GENERATION", "SPAN"]})
    out = bs.activity_frame(df, "day")
    assert out.to_dict("list") == {
        "time_dimension": list(pd.to_datetime(["2026-10-30", "2026-10-30", "2026-10-31"], utc=True)),
        "type": ["GENERATION", "SPAN", "SPAN"], "count_count": [1, 1, 1]}
    assert out.attrs["units"] == {"count_count": "observations"}
    assert bs.activity_frame(df.iloc[:0]).columns.tolist() == ["time_dimension", "count_count"]
