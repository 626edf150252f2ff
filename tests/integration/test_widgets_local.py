"""The widgets driven against lfnb.local over real HTTP: controls → query → Run → frame, chart, PNG."""

from __future__ import annotations

import struct
import warnings
from datetime import UTC, datetime

import altair as alt
import pandas as pd
import pytest

import lfnb
import lfnb.charts as lc
from lfnb.charts.shaping import labels
from lfnb.errors import LfnbTruncationWarning
from lfnb.widgets import MetricsExplorer, ObservationsBrowser

pytestmark = pytest.mark.integration

ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)  # the local_server fixture's anchor


@pytest.fixture()
def lf(local_server, tmp_path, monkeypatch):
    monkeypatch.setenv("LFNB_CACHE_DIR", str(tmp_path))  # the metrics cache must not leak between tests
    return lfnb.connect(local_server.base_url, local_server.public_key, local_server.secret_key)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_metrics_explorer_against_lfnb_local(lf):
    me = MetricsExplorer(lf, now=lambda: ANCHOR)
    me.measures_w.value = ("totalCost",)
    me.aggregations_w.value = ("sum",)
    me.dimensions_w.value = ("providedModelName",)
    me.granularity_w.value = "day"
    me.filters_w.add_button.click()
    me.filters_w.row_views()[0].column.value = "environment"
    suggestions = me.filters_w.row_views()[0].value.options
    assert "production" in suggestions  # fetched from the data, once
    me.filters_w.row_views()[0].value.value = "production"
    me.run_w.click()
    assert me.error is None, me.error
    df = me.result
    assert list(df.columns) == ["time_dimension", "providedModelName", "sum_totalCost"]
    assert str(df["time_dimension"].dtype) == "datetime64[us, UTC]" and str(df["sum_totalCost"].dtype) == "Float64"
    assert df["time_dimension"].dt.strftime("%Y-%m-%d").min() == "2026-10-25"
    assert df.attrs["units"] == {"sum_totalCost": "USD"}
    # the same query sent directly gives the same frame
    direct = lf.read_metrics(me.query, version="v2", cache=False)
    pd.testing.assert_frame_equal(df.reset_index(drop=True), direct.reset_index(drop=True), check_like=True)
    # the code preview reproduces that query
    ns: dict = {"lf": lf}
    exec(me.code, ns)
    assert ns["query"].to_dict() == me.query
    pd.testing.assert_frame_equal(ns["df"], direct, check_like=True)
    # and the chart renders
    assert isinstance(me.chart, alt.Chart) and len(me.chart_w.outputs) == 1
    width, height = png_size(lc.save_png(me.chart))
    assert width > 300 and height > 200
    models = {r["series"] for r in next(iter(me.chart.to_dict()["datasets"].values()))}
    # every model is drawn; the rows without a model (spans: no cost) are not a flat "(none)" line
    assert models == set(labels(df["providedModelName"])) - {"(none)"}
    assert df.loc[df["providedModelName"].isna(), "sum_totalCost"].fillna(0).eq(0).all()


def test_metrics_explorer_shows_a_server_error(lf):
    me = MetricsExplorer(lf, now=lambda: ANCHOR, version="v1")
    me.view_w.value = "traces"
    me.time_w.choice.value = "custom"
    me.time_w.start.value = "2026-10-25T00:00:00Z"
    me.time_w.end.value = "2026-11-01T00:00:00Z"
    me.granularity_w.value = ""
    me.run_w.click()  # lfnb.local in v4 mode answers v1 metrics with 404 (events_only deployment)
    assert me.result is None and me.error.startswith("NotFoundError: ")
    assert "events_only" in me.error and "NotFoundError" in me.status_w.value


def test_observations_browser_against_lfnb_local(lf):
    ob = ObservationsBrowser(lf, now=lambda: ANCHOR, page_size=10)
    ob.time_w.choice.value = "7d"
    ob.max_rows_w.value = 60
    ob.filters_w.add("type")
    ob.filters_w.row_views()[0].value.value = "GENERATION"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LfnbTruncationWarning)
        ob.run_w.click()
    assert ob.error is None, ob.error
    assert len(ob.result) == 60 and set(ob.result["type"]) == {"GENERATION"}
    assert "page 1 of 6" in ob.page_w.value
    ob.next_w.click()
    assert ob.page["id"].tolist() == ob.result["id"].iloc[10:20].tolist()
    ob.select_w.value = ob.page["id"].iloc[3]
    assert ob.selected["id"] == ob.page["id"].iloc[3]
    assert "<summary>input</summary>" in ob.detail_w.value and "<summary>metadata</summary>" in ob.detail_w.value


def test_wrong_key_error_is_shown_without_the_secret(local_server, tmp_path, monkeypatch):
    monkeypatch.setenv("LFNB_CACHE_DIR", str(tmp_path))
    secret = "sk-lf-not-the-right-one-123456"
    bad = lfnb.connect(local_server.base_url, local_server.public_key, secret)
    me = MetricsExplorer(bad, now=lambda: ANCHOR)
    me.granularity_w.value = ""
    me.run_w.click()
    assert me.error.startswith("AuthError: ") and "401" in me.error
    everything = me.error + me.status_w.value + me.json_w.value + me.code_w.value + repr(me)
    assert secret not in everything and "Authorization" not in everything


def test_a_read_started_by_a_button_shows_its_progress_inside_the_widget(lf, monkeypatch):
    import re

    from lfnb.reads import progress

    monkeypatch.setattr(progress, "DELAY", 0.0)     # show from the first page (reads here take < 1 s)
    monkeypatch.setattr(progress, "REFRESH", 0.0)
    ob = ObservationsBrowser(lf, now=lambda: ANCHOR, page_size=10)
    ob.time_w.choice.value = "7d"
    ob.max_rows_w.value = 100_000
    seen = []
    ob.progress_w.observe(lambda ch: seen.append(ch["new"]), names="value")
    ob.run_w.click()
    assert ob.error is None, ob.error
    percents = [int(m) for v in seen for m in re.findall(r"<b>(\d+)%</b>", v)]
    # the v2 cursor carries the last start time read: the bar moves through the 7 days
    assert len(percents) >= 3 and percents == sorted(percents) and 0 < percents[0] < 50 and percents[-1] == 100
    assert any(f"{len(ob.result):,} rows" in v for v in seen)
    assert ob.progress_w.value == ""                # no bar left behind once the table is there
