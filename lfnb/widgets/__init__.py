"""Notebook widgets: a frozen state class + pure functions + a thin ipywidgets view each.

* :class:`FilterBuilder` — filter rows checked with the same rules as validation
  (:mod:`lfnb.widgets.filter_state`);
* :class:`MetricsExplorer` — a Metrics API query built with controls, previewed
  as JSON and Python, run, tabled and charted (:mod:`lfnb.widgets.metrics_state`);
* :class:`ObservationsBrowser` — observations read page by page with a detail
  view (:mod:`lfnb.widgets.browser_state`);
* :class:`ChoiceCache` — dropdown values fetched once (:mod:`lfnb.widgets.choices`).

No widget sends a request when it is created or displayed: requests happen on
Run, or when a filter column is picked (its value suggestions, once per column).
"""

from lfnb.widgets.choices import ChoiceCache, metrics_fetcher
from lfnb.widgets.filter_builder import FilterBuilder
from lfnb.widgets.metrics_explorer import MetricsExplorer
from lfnb.widgets.observations_browser import ObservationsBrowser

__all__ = ["FilterBuilder", "MetricsExplorer", "ObservationsBrowser", "ChoiceCache", "metrics_fetcher"]
