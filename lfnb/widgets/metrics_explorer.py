"""``MetricsExplorer``: build a Metrics API query with controls, see it validated, run it, chart it.

Thin view over :mod:`lfnb.widgets.metrics_state`. Nothing is fetched until
Run is pressed (or a filter column asks for its value suggestions); the
request goes through an injected ``run(query_dict, version) -> DataFrame``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import ipywidgets as w
import pandas as pd

from lfnb import charts
from lfnb.metrics import schemas as metrics_schemas
from lfnb.widgets import metrics_state as ms
from lfnb.widgets.choices import ChoiceCache, metrics_fetcher
from lfnb.widgets.common import StaticView, TimeRange, chart_img_html, error_html, ok_html, show_chart, table_html
from lfnb.widgets.filter_builder import FilterBuilder
from lfnb.widgets.filter_state import metrics_target

__all__ = ["MetricsExplorer", "NONE"]

#: the value of the "none" / "(default)" choices. Not ``None``: ipywidgets shows a Dropdown whose
#: value is ``None`` as an empty box ("nothing selected"), whatever its label.
NONE = ""
_WIDE = {"description_width": "initial"}


def _client_runner(lf: Any) -> Callable[[dict, str], pd.DataFrame]:
    def run(query: dict, version: str) -> pd.DataFrame:
        return lf.read_metrics(query, version=version)
    return run


class MetricsExplorer(StaticView, w.VBox):
    """Explore the Metrics API: view, measures × aggregations, dimensions, time, filters, order → Run.

    Parameters
    ----------
    lf : lfnb.Client, optional
        Used only when Run is pressed (``lf.read_metrics``) and for value
        suggestions; not touched by the constructor.
    run : callable, optional
        ``run(query_dict, version) -> DataFrame``, instead of ``lf``.
    choices : ChoiceCache, optional
        Value suggestions for filter rows (default: from ``lf`` via one small
        metrics query per column, cached).
    query : dict, optional
        A saved query to start from (see :meth:`load`).
    now : callable, optional
        Clock for the relative time ranges (tests pin it).

    Attributes
    ----------
    state : MetricsState
    query : dict
        The query the controls describe (what Run sends).
    code : str
        Python building and running the same query.
    result : DataFrame or None
        The last result; ``chart`` the chart drawn from it; ``error`` the last error text.

    Examples
    --------
    >>> from lfnb.widgets import MetricsExplorer
    >>> me = MetricsExplorer(lf)                       # nothing is sent yet
    >>> me.measures_w.value = ("totalCost",); me.dimensions_w.value = ("providedModelName",)
    >>> me.run()                                       # or press Run
    >>> saved = me.query                               # a plain dict: json.dump it
    >>> MetricsExplorer(lf, query=saved)               # … and reload it later
    """

    def __init__(self, lf: Any = None, *, run: Callable[[dict, str], pd.DataFrame] | None = None,
                 choices: ChoiceCache | None = None, query: dict | None = None, version: str = "v2",
                 now: Callable[[], datetime] | None = None):
        self._run = run or (_client_runner(lf) if lf is not None else None)
        self._now = now or ms.utc_now
        if choices is None:
            choices = ChoiceCache(metrics_fetcher(lambda q: self._run(q, self._state.version), now=self._now)
                                  if self._run else None)
        self.result: pd.DataFrame | None = None
        self.chart: Any = None
        self.error: str | None = None
        self._syncing = False
        self._shown_selection: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
        self._state = ms.MetricsState(version=version)

        self.version_w = w.ToggleButtons(options=[("v2 metrics", "v2"), ("v1 metrics", "v1")], value=version)
        self.view_w = w.Dropdown(description="view", style=_WIDE)
        self.measures_w = w.SelectMultiple(description="measures", rows=6, style=_WIDE)
        self.aggregations_w = w.SelectMultiple(description="aggregations", rows=6, style=_WIDE)
        self.dimensions_w = w.SelectMultiple(description="dimensions", rows=6, style=_WIDE)
        self.granularity_w = w.Dropdown(description="time series", style=_WIDE,
                                        options=[("none", NONE)] + [(g, g) for g in ms.GRANULARITIES])
        self.time_w = TimeRange(on_change=self._changed)
        self.filters_w = FilterBuilder(metrics_target("observations", version), choices=choices,
                                       on_change=lambda _: self._changed())
        self.limit_w = w.BoundedIntText(description="row limit", min=0, max=1000, value=0, style=_WIDE,
                                        tooltip="0 = server default (v2: 100)", layout=w.Layout(width="170px"))
        self.bins_w = w.BoundedIntText(description="bins", min=0, max=100, value=0, style=_WIDE,
                                       tooltip="histogram bins; 0 = server default (10)", layout=w.Layout(width="140px"))
        self.order_w = w.Dropdown(description="order by", style=_WIDE, options=[("(default)", NONE)], value=NONE)
        self.direction_w = w.ToggleButtons(options=["desc", "asc"], value="desc", style={"button_width": "auto"})
        self.json_w = w.HTML()
        self.code_w = w.Textarea(layout=w.Layout(width="100%", height="190px"), disabled=True)
        self.status_w = w.HTML()
        self.run_w = w.Button(description="Run", button_style="primary", icon="play")
        self.run_w.on_click(lambda _: self.run())
        self.table_w = w.HTML()
        self.chart_w = w.Output()
        for ctl in (self.version_w, self.view_w, self.measures_w, self.aggregations_w, self.dimensions_w,
                    self.granularity_w, self.limit_w, self.bins_w, self.order_w, self.direction_w):
            ctl.observe(lambda _: self._changed(), names="value")

        preview = w.Tab(children=[self.json_w, self.code_w])
        preview.set_title(0, "query (JSON)")
        preview.set_title(1, "Python")
        super().__init__([
            w.HBox([self.version_w, self.view_w]),
            w.HBox([self.measures_w, self.aggregations_w, self.dimensions_w]),
            w.HBox([self.granularity_w, self.limit_w, self.bins_w]),
            self.time_w,
            w.HTML("<b>filters</b>"), self.filters_w,
            w.HBox([self.order_w, self.direction_w]),
            preview,
            w.HBox([self.run_w, self.status_w]),
            self.chart_w, self.table_w,
        ])
        if query is not None:
            self.load(query, version=version)
        else:
            self.state = self._state

    # -- state <-> controls ----------------------------------------------------------------
    @property
    def state(self) -> ms.MetricsState:
        return self._state

    @state.setter
    def state(self, state: ms.MetricsState) -> None:
        self._state = state
        self._to_controls()
        self._preview()

    @property
    def query(self) -> dict:
        return ms.to_query(self._state, self._now())

    @property
    def code(self) -> str:
        return ms.query_code(self._state, self._now())

    @property
    def issues(self) -> list[dict]:
        return ms.issues(self._state, self._now())

    def load(self, query: dict, *, version: str = "v2") -> None:
        """Show a saved query (its time range becomes ``custom``)."""
        self.state = ms.from_query(query, version=version)

    def _to_controls(self) -> None:
        s = self._state
        self._syncing = True
        try:
            self.version_w.value = s.version
            _set_choices(self.view_w, list(metrics_schemas.views(s.version)), s.view)
            measures = list(dict.fromkeys(m for m, _ in s.metrics))
            aggs = list(dict.fromkeys(a for _, a in s.metrics))
            measure_options = ms.measure_choices(s.version, s.view)
            _set_choices(self.measures_w, measure_options, tuple(m for m in measures if m in measure_options))
            _set_choices(self.aggregations_w, metrics_schemas.aggregations(), tuple(aggs))
            self._shown_selection = (tuple(self.measures_w.value), tuple(self.aggregations_w.value))
            dimension_options = ms.dimension_choices(s.version, s.view)
            _set_choices(self.dimensions_w, dimension_options, tuple(d for d in s.dimensions if d in dimension_options))
            self.granularity_w.value = s.granularity or NONE
            self.time_w.set(s.time_range, s.from_time, s.to_time)
            target = metrics_target(s.view, s.version)
            if self.filters_w.target != target or self.filters_w.filters != list(s.filters):
                self.filters_w.state = ms.filter_state(s)  # its on_change is ignored while syncing
            self.limit_w.value = s.row_limit or 0
            self.bins_w.value = s.bins or 0
            first = s.order_by[0] if s.order_by else (NONE, "desc")
            _set_choices(self.order_w, [("(default)", NONE)] + [(f, f) for f in ms.order_choices(s)],
                         first[0] if first[0] in ms.order_choices(s) else NONE)
            self.direction_w.value = first[1]
        finally:
            self._syncing = False

    def _from_controls(self) -> ms.MetricsState:
        s = self._state
        version, view = self.version_w.value, self.view_w.value
        if version != s.version and view not in metrics_schemas.views(version):
            view = "observations"
        if (version, view) != (s.version, s.view):
            return ms.with_view(s, view, version)
        measures, aggs = tuple(self.measures_w.value), tuple(self.aggregations_w.value)
        # a loaded query may hold pairs that are not a full cross product (sum of cost, p95 of
        # latency): keep them until the user touches the measure or aggregation selection
        if (measures, aggs) != self._shown_selection:
            s = ms.with_measures(s, measures, aggs)
        time_range, start, end = self.time_w.get()
        order = () if self.order_w.value == NONE else ((self.order_w.value, self.direction_w.value),) \
            + tuple(s.order_by[1:])
        s = replace(s, dimensions=tuple(self.dimensions_w.value), granularity=self.granularity_w.value or None,
                    time_range=time_range, from_time=start, to_time=end,
                    filters=tuple(self.filters_w.filters), row_limit=self.limit_w.value or None,
                    bins=self.bins_w.value or None, order_by=order)
        allowed = set(ms.order_choices(s))
        return replace(s, order_by=tuple(o for o in s.order_by if o[0] in allowed))

    def _changed(self) -> None:
        if self._syncing:
            return
        try:
            self.state = self._from_controls()
        except Exception as exc:  # noqa: BLE001 - widget callback: show, never lose
            self.status_w.value = error_html(f"{type(exc).__name__}: {exc}")

    def _preview(self) -> None:
        try:
            query, problems = self.query, self.issues
        except (ValueError, TypeError) as exc:
            self.json_w.value = error_html(str(exc))
            return
        text = html.escape(json.dumps(query, indent=2))
        if problems:
            items = "".join(f"<li><code>{html.escape(p['path'])}</code>: {html.escape(p['message'])}</li>"
                            for p in problems)
            status = f"<div style='color:#b00020'>{len(problems)} problem(s) for {self._state.version}:<ul>{items}</ul></div>"
        else:
            status = ok_html(f"valid for the {self._state.version} Metrics API")
        self.json_w.value = f"{status}<pre>{text}</pre>"
        self.code_w.value = self.code

    # -- static view (reports, code hosts) -------------------------------------------------
    def summary(self) -> str:
        s = self._state
        done = (f"error: {self.error.splitlines()[0]}" if self.error else
                f"{len(self.result):,} rows" if self.result is not None else "not run")
        return f"<MetricsExplorer {s.version} {s.view}: {done}>"

    def static_html(self) -> str:
        parts = ["<div style='color:#666;font-size:12px'>MetricsExplorer: a static view of its state; run the notebook "
                 "to use the controls.</div>",
                 "<pre style='font-size:11px;max-height:200px;overflow:auto'>"
                 f"{html.escape(json.dumps(self.query, indent=1))}</pre>"]
        if self.error:
            parts.append(error_html(self.error))
        elif self.result is not None:
            parts += [ok_html(f"{len(self.result):,} rows"), chart_img_html(self.chart), table_html(self.result)]
        return "".join(parts)

    # -- run -------------------------------------------------------------------------------
    def run(self) -> pd.DataFrame | None:
        """Validate, send (through ``run``), then show the table and the automatic chart."""
        self.error = None
        problems = self.issues
        if problems:
            return self._fail("The query is not valid:\n" + "\n".join(f"{p['path']}: {p['message']}"
                                                                      for p in problems))
        if self._run is None:
            return self._fail("No client: create the explorer with MetricsExplorer(lf) or run=...")
        query = self.query
        self.status_w.value = ok_html("running…")
        try:
            df = self._run(query, self._state.version)
        except Exception as exc:  # noqa: BLE001 - widget callback: the error is shown in the widget
            return self._fail(f"{type(exc).__name__}: {exc}")
        if "query" not in df.attrs:
            df.attrs["query"] = query
        self.result = df
        self.table_w.value = table_html(df)
        try:
            self.chart = charts.chart(df)
            show_chart(self.chart_w, self.chart)
        except Exception as exc:  # noqa: BLE001 - a chart failure must not hide the table
            self.chart = None
            self.chart_w.outputs = ()
            self.error = f"chart: {type(exc).__name__}: {exc}"
            self.status_w.value = error_html(self.error)
            return df
        self.status_w.value = ok_html(f"{len(df):,} rows")
        return df

    def _fail(self, message: str) -> None:
        # the table and chart of an earlier Run must not stay under an error as if they were its result
        self.error, self.result, self.chart = message, None, None
        self.table_w.value = ""
        self.chart_w.outputs = ()
        self.status_w.value = error_html(message)
        return None


def _set_choices(ctl: w.Dropdown | w.SelectMultiple, options: list, value: Any) -> None:
    """Replace a selection control's options and value without leaving the browser a stale index.

    Changing the options while the old selection is kept makes JupyterLab's view select option
    indexes that no longer exist (``Cannot set properties of undefined (setting 'selected')``
    in the console) when the list shrinks, e.g. 20 observation measures → 2 score measures.
    So the selection is emptied first, and options and value are sent in one message.
    """
    if list(ctl.options) != list(options):
        if isinstance(ctl, w.SelectMultiple):
            ctl.value = ()
        with ctl.hold_sync():
            ctl.options = options
            ctl.value = value
    elif ctl.value != value:
        ctl.value = value
