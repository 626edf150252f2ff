"""What a person sees in JupyterLab: notebooks run clean, widgets work by clicks, charts are interactive.

Everything runs in one JupyterLab and one headless Chromium (see conftest.py); requests leaving
127.0.0.1 are blocked and listed, so "offline" is part of every check.
"""

from __future__ import annotations

import time

import pytest
from conftest import CHECKS, FB_CELL, KINDS_CELL, ME_CELL, REAL, TIMINGS, run_notebook, shot

pytestmark = pytest.mark.e2e

SVG_MARKS = ".vega-embed svg .mark-line path, .vega-embed svg .mark-symbol path, .vega-embed svg .mark-rect path, " \
            ".vega-embed svg .mark-text text, .vega-embed svg .mark-area path"


def assert_clean(nb, facts: dict) -> None:
    assert facts["unexecuted_cells"] == 0, "run-all stopped early"
    assert facts["error_outputs"] == 0 and facts["stderr_outputs"] == 0, nb.page.locator(
        ".jp-OutputArea-output[data-mime-type*='error'], .jp-OutputArea-output[data-mime-type*='stderr']").all_inner_texts()
    assert not facts["broken_imgs"], f"images that did not decode: {facts['broken_imgs']}"
    assert facts["console_errors"] == [], facts["console_errors"]
    assert facts["blocked_urls"] == [], f"requests to the network: {facts['blocked_urls']}"
    assert facts["widget_model_not_found"] == 0 and facts["loading_widget"] == 0


@pytest.mark.parametrize("name", REAL)
def test_notebook_runs_clean_in_jupyterlab(notebooks, name):
    nb = run_notebook(notebooks, name)
    facts = nb.facts()
    assert_clean(nb, facts)
    if name != "06-metrics-api.ipynb":
        # every chart is drawn by JupyterLab's bundled Vega (interactive), none falls back to text
        assert facts["vega5_outputs"] >= 2 and facts["vega_embeds"] >= facts["vega5_outputs"]
        assert "text/plain" not in [m for m in facts["mime_types"] if m.startswith("<chart")]
    for img in facts["imgs"]:
        assert img["naturalWidth"] > 0


def test_widget_notebook_shows_every_control(notebooks):
    nb = run_notebook(notebooks, "07-widgets.ipynb")
    page = nb.page
    # FilterBuilder (2), MetricsExplorer, ObservationsBrowser: each drawn as controls, not as a repr
    assert page.locator(".widget-button:has-text('+ filter')").count() == 3   # fb, and inside me and ob
    assert page.locator("button.jupyter-button:has-text('Run')").count() == 2
    assert page.locator(".widget-select-multiple").count() >= 3
    assert page.locator(".widget-toggle-buttons").count() >= 2
    assert page.locator(".widget-tab").count() >= 1
    text = page.locator(".jp-Notebook").inner_text()
    assert "MetricsExplorer(children=" not in text and "ObservationsBrowser(children=" not in text
    # the charts inside the widgets are drawn (they were broken images, #13)
    charts = page.locator(".widget-output .vega-embed svg.marks")
    assert charts.count() == 2
    shot(nb.page.locator(".jp-Cell-outputArea:has(.widget-tab)").first, "07-metrics-explorer")
    assert_clean(nb, nb.facts())


def _widget(nb, cell: int):
    return nb.cell_output(cell)


def _select_multi(box, label: str, values: list[str]) -> None:
    box.locator(".widget-select-multiple", has_text=label).locator("select").select_option(values)


def _dropdown(box, label: str):
    return box.locator(".widget-dropdown", has=box.page.locator("label", has_text=label)).locator("select")


def test_metrics_explorer_run_by_clicks_gives_table_and_chart(notebooks):
    nb = run_notebook(notebooks, CHECKS)
    me = _widget(nb, ME_CELL)
    # a None value ("(default)", "none") is shown as its label, not as an empty select
    assert _dropdown(me, "order by").evaluate("s => s.options[s.selectedIndex] && s.options[s.selectedIndex].text") \
        == "(default)"
    _dropdown(me, "time series").select_option(label="none")
    nb.page.wait_for_timeout(700)   # the kernel's answer comes back and is drawn
    assert nb.execute("print(repr(me.state.granularity))")["stdout"].strip() == "None"
    assert _dropdown(me, "time series").evaluate("s => s.options[s.selectedIndex] && s.options[s.selectedIndex].text") \
        == "none"
    # no label is cut off
    cut = me.evaluate("""el => [...el.querySelectorAll('.widget-label, .widget-toggle-button')]
        .filter(e => e.offsetParent && e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)""")
    assert cut == [], f"labels cut off: {cut}"
    _select_multi(me, "measures", ["totalCost"])
    _select_multi(me, "aggregations", ["sum"])
    _select_multi(me, "dimensions", ["providedModelName"])
    _dropdown(me, "time series").select_option(label="day")
    me.locator("button.jupyter-button:has-text('Run')").click()
    nb.page.wait_for_function("el => /\\d+ rows/.test(el.innerText) && el.querySelector('table')",
                              arg=me.element_handle(), timeout=30000)
    assert me.locator("table tbody tr").count() >= 10
    chart = me.locator(".widget-output .vega-embed svg.marks")
    chart.wait_for(timeout=15000)
    assert me.locator(".widget-output").locator(SVG_MARKS).count() > 10
    assert not me.locator(".widget-output img").evaluate_all("imgs => imgs.filter(i => !i.naturalWidth).length")
    shot(me, "metrics-explorer-run")
    shape = nb.execute("print(me.result.shape, me.query['timeDimension'])")["stdout"].strip()
    assert shape.startswith("(") and "'granularity': 'day'" in shape
    assert nb.console_errors == []

    # an invalid query: the error replaces the old result (no stale table or chart under it)
    _select_multi(me, "dimensions", ["userId"])
    me.locator("button.jupyter-button:has-text('Run')").click()
    nb.page.wait_for_function("el => el.innerText.includes('The query is not valid')", arg=me.element_handle(),
                              timeout=15000)
    assert me.locator("table").count() == 0
    assert me.locator(".widget-output .vega-embed").count() == 0
    shot(me, "metrics-explorer-invalid")

    # switching to a scores view while measures far down the list are selected (options shrink from
    # 20 to 2) logged "Cannot set properties of undefined (setting 'selected')"; now nothing
    _select_multi(me, "measures", ["latency", "streamingLatency"])
    nb.page.wait_for_timeout(500)
    _dropdown(me, "view").select_option("scores-numeric")
    nb.page.wait_for_timeout(500)
    _select_multi(me, "measures", ["value"])
    nb.page.wait_for_timeout(500)
    assert nb.execute("print(me.state.view, me.state.metrics)")["stdout"].strip().startswith("scores-numeric")
    assert nb.console_errors == []


def test_filter_builder_row_added_by_click_reaches_the_kernel(notebooks):
    nb = run_notebook(notebooks, CHECKS)
    fb = _widget(nb, FB_CELL)
    assert nb.execute("print(len(fb.state.rows))")["stdout"].strip() == "0"
    fb.locator("button:has-text('+ filter')").click()
    fb.locator(".widget-hbox select").first.wait_for(timeout=10000)
    fb.locator(".widget-hbox select").first.select_option(label="environment — Environment")
    fb.locator("input[type=text]:visible").first.fill("production")
    fb.locator("input[type=text]:visible").first.press("Enter")
    deadline = time.monotonic() + 10
    while True:
        out = nb.execute("print(fb.filters)")["stdout"].strip()
        if "production" in out or time.monotonic() > deadline:
            break
        nb.page.wait_for_timeout(200)
    assert out == "[{'type': 'stringOptions', 'column': 'environment', 'operator': 'any of', 'value': ['production']}]"
    shot(fb, "filter-builder-row")
    assert nb.console_errors == []


def test_interactive_chart_shows_a_tooltip_on_hover(notebooks):
    t0 = time.monotonic()
    nb = run_notebook(notebooks, "01-quickstart.ipynb")
    out = nb.page.locator(".jp-Cell-outputArea:has(.vega-embed)").first
    out.locator(".vega-embed svg.marks").wait_for(timeout=15000)
    tip = nb.hover_tooltip(out)
    TIMINGS.setdefault("01: open + run all + first tooltip", round(time.monotonic() - t0, 1))
    assert tip is not None, "no tooltip appeared over the chart"
    shot(nb.page, "tooltip")
    assert "model" in tip and "cost" in tip.lower(), tip


def test_every_chart_kind_draws_in_jupyterlab(notebooks):
    nb = run_notebook(notebooks, CHECKS)
    kinds = nb.execute("print(*KINDS)")["stdout"].split()
    embeds = nb.cell_output(KINDS_CELL).locator(".vega-embed")
    assert embeds.count() == len(kinds)
    for i, kind in enumerate(kinds):
        marks = embeds.nth(i).locator("svg .mark-line path, svg .mark-symbol path, svg .mark-rect path, "
                                      "svg .mark-text text, svg .mark-area path, svg .mark-rule line")
        assert marks.count() > 0, f"{kind}: nothing drawn"
    assert_clean(nb, nb.facts())
