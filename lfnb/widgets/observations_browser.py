"""``ObservationsBrowser``: time range + filters + field groups → Run → paged table + one observation's detail.

Thin view over :mod:`lfnb.widgets.browser_state`; the request goes through an
injected ``run(**read_kwargs) -> DataFrame`` (default ``lf.read_observations``).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import ipywidgets as w
import pandas as pd

from lfnb import charts
from lfnb.widgets import browser_state as bs
from lfnb.widgets.choices import ChoiceCache, metrics_fetcher
from lfnb.widgets.common import StaticView, TimeRange, chart_img_html, error_html, ok_html, show_chart, table_html
from lfnb.widgets.filter_builder import FilterBuilder
from lfnb.widgets.metrics_state import utc_now

__all__ = ["ObservationsBrowser"]


class ObservationsBrowser(StaticView, w.VBox):
    """Browse observations page by page and open one to read its input, output and metadata.

    Parameters
    ----------
    lf : lfnb.Client, optional
        Used when Run is pressed (``lf.read_observations``) and for value
        suggestions (``lf.read_metrics``); not touched by the constructor.
    run : callable, optional
        ``run(**kwargs) -> DataFrame`` with the keyword arguments of
        ``read_observations`` (``from_time``, ``to_time``, ``fields``, ``filter``, ``max_rows``).
    choices : ChoiceCache, optional
        Filter value suggestions.
    target : str
        Filter rules: ``observations_v2`` (v4 servers) or ``observations_v1``.
    page_size : int
        Rows per page.
    now : callable, optional
        Clock for the relative time ranges.

    Attributes
    ----------
    state : BrowserState
    result : DataFrame or None
        Every row read; ``page`` the rows on screen; ``selected`` the row in the detail view;
        ``chart`` the observations read per time bucket and type.
    """

    def __init__(self, lf: Any = None, *, run: Callable[..., pd.DataFrame] | None = None,
                 choices: ChoiceCache | None = None, target: str = "observations_v2", page_size: int = 20,
                 now: Callable[[], datetime] | None = None):
        # a read started by a button has no cell output to draw a progress bar in: it goes here
        self.progress_w = w.HTML()
        self._run = run or (self._client_runner(lf) if lf is not None else None)
        self._now = now or utc_now
        if choices is None:
            read_metrics = getattr(lf, "read_metrics", None) if lf is not None else None
            choices = ChoiceCache(metrics_fetcher(read_metrics, now=self._now) if read_metrics else None)
        self._state = bs.BrowserState(page_size=page_size, target=target)
        self.result: pd.DataFrame | None = None
        self.chart: Any = None
        self.error: str | None = None
        self.selected: pd.Series | None = None

        self.time_w = TimeRange(value=self._state.time_range, on_change=self._changed)
        self.filters_w = FilterBuilder(target, choices=choices, on_change=lambda _: self._changed())
        self.fields_w = w.SelectMultiple(description="fields", options=bs.FIELD_GROUPS,
                                         value=self._state.fields, rows=5)
        self.max_rows_w = w.BoundedIntText(description="max rows", min=1, max=100_000, value=self._state.max_rows)
        self.code_w = w.Textarea(layout=w.Layout(width="100%", height="150px"), disabled=True)
        self.run_w = w.Button(description="Run", button_style="primary", icon="play")
        self.status_w = w.HTML()
        self.prev_w = w.Button(description="◀", layout=w.Layout(width="40px"))
        self.next_w = w.Button(description="▶", layout=w.Layout(width="40px"))
        self.page_w = w.HTML()
        self.table_w = w.HTML()
        self.chart_w = w.Output()
        self.select_w = w.Dropdown(description="open", options=[])
        self.detail_w = w.HTML()
        self.run_w.on_click(lambda _: self.run())
        self.prev_w.on_click(lambda _: self.go(self._state.page - 1))
        self.next_w.on_click(lambda _: self.go(self._state.page + 1))
        self.select_w.observe(lambda ch: self.show_observation(ch["new"]), names="value")
        for ctl in (self.fields_w, self.max_rows_w):
            ctl.observe(lambda _: self._changed(), names="value")
        super().__init__([
            self.time_w, w.HTML("<b>filters</b>"), self.filters_w, w.HBox([self.fields_w, self.max_rows_w]),
            self.code_w, w.HBox([self.run_w, self.status_w]), self.progress_w,
            self.chart_w, w.HBox([self.prev_w, self.page_w, self.next_w]), self.table_w, self.select_w,
            self.detail_w,
        ])
        self._changed()

    def _client_runner(self, lf: Any) -> Callable[..., pd.DataFrame]:
        def run(**kwargs: Any) -> pd.DataFrame:
            return lf.read_observations(**kwargs, progress=self.progress_w)
        return run

    # -- state -----------------------------------------------------------------------------
    @property
    def state(self) -> bs.BrowserState:
        return self._state

    @property
    def read_kwargs(self) -> dict:
        """What Run passes to ``read_observations``."""
        return bs.read_kwargs(self._state, self._now())

    @property
    def code(self) -> str:
        return bs.browser_code(self._state, self._now())

    @property
    def page(self) -> pd.DataFrame | None:
        if self.result is None:
            return None
        return bs.page_slice(self.result, self._state.page, self._state.page_size)

    def _changed(self) -> None:
        try:
            time_range, start, end = self.time_w.get()
            self._state = replace(self._state, time_range=time_range, from_time=start, to_time=end,
                                  filters=tuple(self.filters_w.filters), fields=tuple(self.fields_w.value),
                                  max_rows=self.max_rows_w.value)
            self.code_w.value = self.code
        except Exception as exc:  # noqa: BLE001 - widget callback: show, never lose
            self.status_w.value = error_html(f"{type(exc).__name__}: {exc}")

    # -- static view (reports, code hosts) -------------------------------------------------
    def summary(self) -> str:
        done = (f"error: {self.error}" if self.error else
                f"{len(self.result):,} observations" if self.result is not None else "not run")
        return f"<ObservationsBrowser: {done}>"

    def static_html(self) -> str:
        parts = ["<div style='color:#666;font-size:12px'>ObservationsBrowser: a static view of its state; run the "
                 "notebook to use the controls.</div>",
                 f"<pre style='font-size:11px;max-height:200px;overflow:auto'>{html.escape(self.code)}</pre>"]
        if self.error:
            parts.append(error_html(self.error))
        elif self.result is not None:
            pages = bs.page_count(len(self.result), self._state.page_size)
            parts += [ok_html(f"{len(self.result):,} observations"), chart_img_html(self.chart),
                      f"<div>page {self._state.page + 1} of {pages}</div>",
                      table_html(self.page, max_rows=self._state.page_size)]
        return "".join(parts)

    # -- actions ---------------------------------------------------------------------------
    def run(self) -> pd.DataFrame | None:
        """Read the observations and show the first page."""
        self.error = None
        if not self.filters_w.is_valid:
            return self._fail("Fix the flagged filters first.")
        if self._run is None:
            return self._fail("No client: create the browser with ObservationsBrowser(lf) or run=...")
        self.status_w.value = ok_html("reading…")
        try:
            df = self._run(**self.read_kwargs)
        except Exception as exc:  # noqa: BLE001 - widget callback: the error is shown in the widget
            return self._fail(f"{type(exc).__name__}: {exc}")
        self.result = df
        self.status_w.value = ok_html(f"{len(df):,} observations")
        self.go(0)
        try:  # activity over time of what was read: observations per bucket and type
            self.chart = charts.chart(bs.activity_frame(df), title="Observations read")
            show_chart(self.chart_w, self.chart)
        except Exception as exc:  # noqa: BLE001 - a chart failure must not hide the table
            self.chart = None
            self.error = f"chart: {type(exc).__name__}: {exc}"
            self.status_w.value = error_html(self.error)
        return df

    def go(self, page: int) -> None:
        """Show page ``page`` (clamped to the available pages)."""
        if self.result is None:
            return
        last = bs.page_count(len(self.result), self._state.page_size) - 1
        self._state = replace(self._state, page=min(max(page, 0), last))
        rows = self.page
        self.page_w.value = f"&nbsp;page {self._state.page + 1} of {last + 1}&nbsp;"
        self.prev_w.disabled = self._state.page == 0
        self.next_w.disabled = self._state.page >= last
        self.table_w.value = table_html(rows, max_rows=self._state.page_size)
        ids = rows["id"].tolist() if "id" in rows.columns else list(range(len(rows)))
        labels = [(f"{r.get('name', '')} · {i}" if "name" in rows.columns else str(i), i)
                  for i, (_, r) in zip(ids, rows.iterrows())]
        self.select_w.options = labels
        self.select_w.value = ids[0] if ids else None
        if ids:
            self.show_observation(ids[0])

    def show_observation(self, observation_id: Any) -> None:
        """Show one observation's input, output and metadata."""
        if self.result is None or observation_id is None:
            self.detail_w.value = ""
            return
        if "id" in self.result.columns:
            match = self.result[self.result["id"] == observation_id]
        else:
            match = self.result.iloc[[int(observation_id)]]
        if match.empty:
            self.detail_w.value = error_html(f"observation {observation_id} is not in the result")
            return
        self.selected = match.iloc[0]
        self.detail_w.value = bs.detail_html(self.selected)

    def _fail(self, message: str) -> None:
        self.error = message
        self.status_w.value = error_html(message)
        return None
