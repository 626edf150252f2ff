"""Drive each widget through its controls, as a user would, and check what it produces.

No kernel and no browser: ipywidgets work headless, and charts are put into
the ``Output`` widget with ``append_display_data`` so their display data can
be inspected here.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import altair as alt
import numpy as np
import pandas as pd
import pytest

from lfnb.metrics import validate_query
from lfnb.widgets import ChoiceCache, FilterBuilder, MetricsExplorer, ObservationsBrowser

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def clock() -> datetime:
    return NOW


class RecordingClient:
    """Records every attribute access: a widget that talks to the client at build/display time is caught."""

    def __init__(self, frames: dict | None = None):
        self.calls: list[tuple] = []
        self.frames = frames or {}

    def read_metrics(self, query, version="v2"):
        self.calls.append(("read_metrics", query, version))
        return self.frames["metrics"](query)

    def read_observations(self, **kwargs):
        self.calls.append(("read_observations", kwargs))
        return self.frames["observations"]


def fake_metrics(query: dict) -> pd.DataFrame:
    """A plausible result for the query's shape (time × dimension × metrics)."""
    days = pd.date_range(query["fromTimestamp"][:10], periods=7, freq="D", tz="UTC")
    dims = [d["field"] for d in query["dimensions"]]
    rows = []
    for i, day in enumerate(days):
        for j, value in enumerate(["gpt-4o", "claude"] if dims else [None]):
            row = {"time_dimension": day} if query.get("timeDimension") else {}
            if dims:
                row[dims[0]] = value
            for m in query["metrics"]:
                row[f"{m['aggregation']}_{m['measure']}"] = float(i + j + 1)
            rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs["units"] = {f"{m['aggregation']}_{m['measure']}": "USD" for m in query["metrics"]}
    return df


def observations(n: int = 45) -> pd.DataFrame:
    return pd.DataFrame({
        "id": [f"obs-{i:02d}" for i in range(n)], "name": "chat", "type": "GENERATION",
        "startTime": pd.date_range("2026-10-31", periods=n, freq="min", tz="UTC"),
        "input": [f'{{"question": "q{i}"}}' for i in range(n)], "output": "answer",
        "metadata": [{"i": i} for i in range(n)],
    })


def test_no_request_on_construction_or_display():
    lf = RecordingClient()
    widgets = [MetricsExplorer(lf, now=clock), ObservationsBrowser(lf, now=clock), FilterBuilder("traces")]
    for widget in widgets:
        bundle = widget._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
    assert lf.calls == []


# ------------------------------------------------------------------ FilterBuilder


def test_filter_builder_controls_produce_filters_and_flags():
    fb = FilterBuilder("observations_v2")
    fb.add_button.click()
    fb.add_button.click()
    first, second = fb.row_views()
    first.column.value = "name"
    first.value.value = "chat, qa"
    second.column.value = "latency"
    second = fb.row_views()[1]  # a new column redraws the row (new type and operator choices)
    second.operator.value = ">"
    second.value.value = "slow"
    assert fb.filters == [
        {"type": "stringOptions", "column": "name", "operator": "any of", "value": ["chat", "qa"]},
        {"type": "number", "column": "latency", "operator": ">", "value": "slow"},
    ]
    assert "value must be a number" in fb.row_views()[1].problem.value
    assert fb.row_views()[0].problem.value == ""
    assert not fb.is_valid
    fb.row_views()[1].value.value = "2"
    assert fb.is_valid and fb.filters[1]["value"] == 2
    assert "Filter.number('latency', '>', 2)" in fb.code
    fb.row_views()[0].remove.click()
    assert [f["column"] for f in fb.filters] == ["latency"]


def test_filter_builder_key_box_and_suggestions_fetched_once():
    calls = []
    cache = ChoiceCache(lambda column: calls.append(column) or ["gpt-4o", "claude"])
    fb = FilterBuilder("observations_v2", choices=cache)
    fb.add("name")
    assert calls == []  # adding programmatically does not fetch
    row = fb.row_views()[0]
    row.column.value = "model"
    assert calls == ["model"]
    assert fb.row_views()[0].value.options == ("gpt-4o", "claude")
    fb.row_views()[0].column.value = "metadata"
    row = fb.row_views()[0]
    assert row.key.layout.display == "" and row.type.value == "stringObject"
    row.key.value = "region"
    row.value.value = "eu"
    fb.row_views()[0].column.value = "model"
    assert calls == ["model", "metadata"]  # one call per column picked; "model" came from the cache
    assert fb.filters == [{"type": "stringOptions", "column": "model", "operator": "any of", "value": ["eu"]}]


def test_filter_builder_for_a_metrics_view_offers_its_dimensions():
    fb = FilterBuilder("metrics:observations")
    fb.add("tags")
    options = [v for _, v in fb.row_views()[0].column.options]
    assert "providedModelName" in options and "start_time" in options and "model" not in options
    assert fb.row_views()[0].type.options == ("arrayOptions", "null")


# ------------------------------------------------------------------ MetricsExplorer


def test_metrics_explorer_controls_to_query_run_table_and_chart():
    lf = RecordingClient({"metrics": fake_metrics})
    me = MetricsExplorer(lf, now=clock)
    me.measures_w.value = ("totalCost",)
    me.aggregations_w.value = ("sum",)
    me.dimensions_w.value = ("providedModelName",)
    me.granularity_w.value = "day"
    me.time_w.choice.value = "7d"
    me.filters_w.add_button.click()
    row = me.filters_w.row_views()[0]
    row.column.value = "environment"
    me.filters_w.row_views()[0].value.value = "production"
    me.limit_w.value = 500
    me.order_w.value = "sum_totalCost"
    me.direction_w.value = "desc"
    expected = {
        "view": "observations",
        "dimensions": [{"field": "providedModelName"}],
        "metrics": [{"measure": "totalCost", "aggregation": "sum"}],
        "filters": [{"type": "string", "column": "environment", "operator": "=", "value": "production"}],
        "timeDimension": {"granularity": "day"},
        "fromTimestamp": "2026-10-25T00:00:00Z", "toTimestamp": "2026-11-01T00:00:00Z",
        "orderBy": [{"field": "sum_totalCost", "direction": "desc"}],
        "config": {"row_limit": 500},
    }
    assert me.query == expected
    assert validate_query(me.query) == expected
    assert "valid for the v2 Metrics API" in me.json_w.value
    assert ".by('providedModelName')" in me.code_w.value and ".limit(500)" in me.code_w.value
    ns: dict = {}
    exec(me.code.replace("df = lf.read_metrics(query)", ""), ns)
    assert ns["query"].to_dict() == expected
    # the only request so far: the value suggestions of the filter column the user picked
    (suggest,) = lf.calls
    assert suggest[1]["dimensions"] == [{"field": "environment"}] and suggest[1]["config"] == {"row_limit": 100}

    me.run_w.click()
    assert lf.calls[1:] == [("read_metrics", expected, "v2")]
    assert isinstance(me.result, pd.DataFrame) and len(me.result) == 14
    assert me.result.attrs["query"] == expected
    assert "gpt-4o" in me.table_w.value and "14 rows × 3 columns" in me.table_w.value
    assert isinstance(me.chart, alt.Chart) and me.chart.to_dict()["mark"]["type"] == "line"
    (shown,) = me.chart_w.outputs
    assert shown["output_type"] == "display_data"
    assert set(shown["data"]) == {"application/vnd.vega.v5+json", "image/png", "text/plain"}
    # what reaches the browser is JSON: the PNG as base64 text (raw bytes drew a broken image, #13)
    assert isinstance(shown["data"]["image/png"], str)
    assert base64.b64decode(shown["data"]["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    json.dumps(shown)
    assert "14 rows" in me.status_w.value and me.error is None


def test_metrics_explorer_round_trips_a_saved_query():
    query = {
        "view": "scores-numeric", "dimensions": [{"field": "name"}], "metrics": [{"measure": "value", "aggregation": "avg"}],
        "filters": [{"type": "stringOptions", "column": "source", "operator": "any of", "value": ["API"]}],
        "timeDimension": None, "fromTimestamp": "2026-10-01T00:00:00Z", "toTimestamp": "2026-10-08T00:00:00Z",
        "orderBy": [{"field": "avg_value", "direction": "asc"}], "config": {"row_limit": 20},
    }
    me = MetricsExplorer(query=query, now=clock)
    assert me.query == query
    assert (me.view_w.value, me.measures_w.value, me.aggregations_w.value) == ("scores-numeric", ("value",), ("avg",))
    assert me.time_w.choice.value == "custom" and me.time_w.start.value == "2026-10-01T00:00:00Z"
    assert [r.column for r in me.filters_w.state.rows] == ["source"]
    assert (me.order_w.value, me.direction_w.value) == ("avg_value", "asc")
    # state → controls → state is stable
    me.limit_w.value = 20
    assert me.query == query


def test_metrics_explorer_shows_errors_inside_the_widget():
    def failing(query, version):
        raise RuntimeError("server said no")

    me = MetricsExplorer(run=failing, now=clock)
    me.dimensions_w.value = ("traceId",)  # high cardinality with a time series: invalid in v2
    assert "problem(s) for v2" in me.json_w.value
    assert me.run() is None
    assert "High cardinality dimension(s) &#x27;traceId&#x27;" in me.status_w.value
    me.granularity_w.value = ""
    me.limit_w.value = 10
    me.order_w.value = "count_count"
    assert me.issues == []
    me.run_w.click()
    assert me.error == "RuntimeError: server said no" and "server said no" in me.status_w.value
    assert me.result is None and me.chart_w.outputs == ()


def test_metrics_explorer_view_and_version_switch():
    me = MetricsExplorer(now=clock)
    me.version_w.value = "v1"
    me.view_w.value = "traces"
    assert me.query["view"] == "traces" and me.state.version == "v1"
    assert "df = lf.read_metrics(query, version='v1')" in me.code
    assert me.filters_w.target == "metrics_v1:traces"
    me.version_w.value = "v2"  # v2 has no traces view: back to observations
    assert me.query["view"] == "observations"


# ------------------------------------------------------------------ ObservationsBrowser


def test_observations_browser_run_pages_and_detail():
    lf = RecordingClient({"observations": observations(45)})
    ob = ObservationsBrowser(lf, now=clock, page_size=20)
    ob.time_w.choice.value = "7d"
    ob.fields_w.value = ("core", "basic", "io", "metadata")
    ob.max_rows_w.value = 100
    ob.filters_w.add("level")
    ob.filters_w.row_views()[0].value.value = "ERROR"
    expected = {"from_time": "2026-10-25T00:00:00Z", "to_time": "2026-11-01T00:00:00Z",
                "fields": ["core", "basic", "io", "metadata"], "max_rows": 100,
                "filter": [{"type": "stringOptions", "column": "level", "operator": "any of", "value": ["ERROR"]}]}
    assert ob.read_kwargs == expected
    assert "filter=[\n        Filter.options('level', ['ERROR'], operator='any of')," in ob.code_w.value
    ob.run_w.click()
    # a button-started read draws its progress bar inside the widget
    assert lf.calls == [("read_observations", {**expected, "progress": ob.progress_w})]
    assert isinstance(ob.result, pd.DataFrame) and len(ob.result) == 45
    assert "page 1 of 3" in ob.page_w.value and ob.prev_w.disabled and not ob.next_w.disabled
    # and a chart of what was read: 45 GENERATIONs over 45 minutes, bucketed per minute
    assert isinstance(ob.chart, alt.Chart) and len(ob.chart_w.outputs) == 1
    rows = next(iter(ob.chart.to_dict()["datasets"].values()))
    assert len(rows) == 45 and {r["series"] for r in rows} == {"GENERATION"}
    assert sum(r["value"] for r in rows) == 45
    assert ob.page["id"].tolist()[0] == "obs-00" and len(ob.page) == 20
    assert "obs-19" in ob.table_w.value and "obs-20" not in ob.table_w.value
    ob.next_w.click()
    ob.next_w.click()
    assert "page 3 of 3" in ob.page_w.value and ob.next_w.disabled and len(ob.page) == 5
    ob.select_w.value = "obs-42"
    assert ob.selected["id"] == "obs-42"
    assert "&quot;question&quot;: &quot;q42&quot;" in ob.detail_w.value and "&quot;i&quot;: 42" in ob.detail_w.value


def test_observations_browser_errors_and_invalid_filters():
    def failing(**kwargs):
        raise ConnectionError("refused")

    ob = ObservationsBrowser(run=failing, now=clock)
    ob.filters_w.add("latency")
    ob.filters_w.row_views()[0].value.value = "abc"
    ob.run_w.click()
    assert ob.error == "Fix the flagged filters first."
    ob.filters_w.row_views()[0].value.value = "3"
    ob.run_w.click()
    assert ob.error == "ConnectionError: refused" and "refused" in ob.status_w.value
    assert ObservationsBrowser(now=clock).run() is None


@pytest.mark.parametrize("rows", [0, 1])
def test_explorer_chart_for_edge_results(rows):
    frame = pd.DataFrame({"sum_totalCost": np.arange(rows, dtype=float)})
    me = MetricsExplorer(run=lambda q, v: frame, now=clock)
    me.granularity_w.value = ""
    me.run()
    assert me.result is frame and me.chart is not None and len(me.chart_w.outputs) == 1


def test_metrics_explorer_histogram_bins_and_filter_json():
    me = MetricsExplorer(now=clock)
    me.measures_w.value = ("latency",)
    me.aggregations_w.value = ("histogram",)
    me.granularity_w.value = ""
    me.bins_w.value = 20
    assert me.query["metrics"] == [{"measure": "latency", "aggregation": "histogram"}]
    assert me.query["config"] == {"bins": 20} and me.issues == []
    assert "histogram_latency" not in [v for _, v in me.order_w.options]  # not orderable
    fb = FilterBuilder("scores")
    fb.add("value")
    fb.set_row(0, operator=">=", value="0.5")
    assert fb.json == '[{"type": "number", "column": "value", "operator": ">=", "value": 0.5}]'


def test_loaded_pairs_survive_unrelated_edits():
    query = {"view": "observations", "dimensions": [], "filters": [], "timeDimension": None,
             "metrics": [{"measure": "totalCost", "aggregation": "sum"}, {"measure": "latency", "aggregation": "p95"}],
             "fromTimestamp": "2026-10-01T00:00:00Z", "toTimestamp": "2026-10-02T00:00:00Z", "orderBy": None}
    me = MetricsExplorer(query=query, now=clock)
    me.limit_w.value = 10
    assert me.query["metrics"] == query["metrics"]
    me.aggregations_w.value = ("sum", "p95", "avg")  # touching the selection: measures × aggregations
    assert len(me.query["metrics"]) == 6


def test_metrics_explorer_none_choices_are_shown_by_their_labels():
    # ipywidgets draws a Dropdown whose value is None as an empty box: "none"/"(default)" vanished (#13)
    me = MetricsExplorer(now=clock)
    me.granularity_w.value = ""
    assert me.granularity_w.index == 0 and me.granularity_w.label == "none"
    assert me.order_w.index == 0 and me.order_w.label == "(default)"
    assert me.query["timeDimension"] is None and me.query.get("orderBy") in (None, [])
    assert MetricsExplorer(now=clock).granularity_w.label == "auto"
    for ctl in (me.view_w, me.measures_w, me.aggregations_w, me.dimensions_w, me.granularity_w, me.order_w,
                me.limit_w, me.bins_w):
        assert ctl.style.description_width == "initial", ctl.description   # labels are never cut off


def test_metrics_explorer_view_change_clears_the_selection_before_shrinking_the_options():
    me = MetricsExplorer(now=clock)
    me.measures_w.value = ("totalCost", "latency")
    seen = []
    me.measures_w.observe(lambda ch: seen.append((len(me.measures_w.options), ch["new"])), names="value")
    me.view_w.value = "scores-numeric"
    assert set(me.measures_w.options) == {"value", "count"}
    # the old selection was emptied while the 20 old options were still there, then the new value set
    assert seen[0][1] == () and seen[0][0] > 2


def test_metrics_explorer_failed_run_removes_the_previous_result():
    me = MetricsExplorer(run=lambda q, v: fake_metrics(q), now=clock)
    me.measures_w.value = ("totalCost",)
    me.dimensions_w.value = ("providedModelName",)
    me.run()
    assert me.result is not None and me.table_w.value and len(me.chart_w.outputs) == 1
    me.dimensions_w.value = ("userId",)   # high cardinality with the daily series: invalid
    assert me.run() is None
    assert me.result is None and me.chart is None
    assert me.table_w.value == "" and me.chart_w.outputs == ()
    assert "not valid" in me.status_w.value


def test_widget_tables_read_well():
    from lfnb.widgets.common import table_html

    df = pd.DataFrame({
        "startTime": pd.to_datetime(["2026-10-31T19:03:09.731Z", None], utc=True),
        "id": ["7f3c2a91e0b84d55a1c3e2f4", "short"],
        "latency": pd.array([1.5, None], dtype="Float64"),
        "totalCost": [np.nan, 0.0123456789],
        "usage": pd.array([1200, None], dtype="Int64"),
        "name": ["x" * 100, "<b>chat</b>"],
    })
    out = table_html(df)
    assert "2 rows × 6 columns" in out
    # a timestamp on one line, to the second, with the full value on hover
    assert "<td title='2026-10-31T19:03:09.731000+00:00'>2026-10-31 19:03:09</td>" in out
    # a long id is cut, the full id on hover; a short one is shown as it is
    assert "<td title='7f3c2a91e0b84d55a1c3e2f4'>7f3c2a91e…</td>" in out and "<td>short</td>" in out
    # one missing marker for <NA>, NaN, NaT and None alike
    assert out.count("<td class='na' title='missing'>–</td>") == 4
    assert "<NA>" not in out and "NaN" not in out and "NaT" not in out
    assert "<td class='n'>1,200</td>" in out and "<td class='n'>0.0123457</td>" in out
    assert "&lt;b&gt;chat&lt;/b&gt;" in out                              # cells are escaped
    assert f"<td title='{'x' * 100}'>{'x' * 59}…</td>" in out
    assert ".lfnb-table {max-height: 360px; overflow: auto;" in out        # a bounded scroll area


def test_widgets_render_a_static_view_where_no_live_widget_can_be_drawn():
    # reports and code hosts have no widget manager: they show text/html instead of "VBox(children=(…"
    me = MetricsExplorer(run=lambda q, v: fake_metrics(q), now=clock)
    me.measures_w.value = ("totalCost",)
    me.aggregations_w.value = ("sum",)
    me.dimensions_w.value = ("providedModelName",)
    assert me._repr_mimebundle_()["text/plain"] == "<MetricsExplorer v2 observations: not run>"
    me.run()
    data = me._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data           # JupyterLab still draws the widget
    assert data["text/plain"] == "<MetricsExplorer v2 observations: 14 rows>"
    page = data["text/html"]
    assert "MetricsExplorer: a static view of its state" in page and "&quot;providedModelName&quot;" in page
    assert "14 rows × 3 columns" in page and "<img alt='&lt;chart: Sum of total cost by providedModelName&gt;'" in page
    assert "src='data:image/png;base64,iVBORw0KGgo" in page
    me.dimensions_w.value = ("userId",)
    me.run()
    assert "not valid" in me._repr_mimebundle_()["text/html"] and "<img" not in me._repr_mimebundle_()["text/html"]

    fb = FilterBuilder("observations_v2")
    fb.add("level")
    fb.add("model")
    fb.set_row(0, value="ERROR")
    data = fb._repr_mimebundle_()
    assert data["text/plain"] == "<FilterBuilder observations_v2: 2 rows, 1 flagged>"
    assert "<td>level</td><td>stringOptions</td><td>any of</td><td></td><td>ERROR</td>" in data["text/html"]
    assert "⚠ value must contain at least one option" in data["text/html"]
