"""Charts: a tidy DataFrame in, an ``alt.Chart`` out. Charts never fetch data.

>>> import lfnb.charts as lc
>>> result = lf.read_metrics(query)          # any metrics result
>>> lc.chart(result)                         # picks line / bars / heatmap / histogram / big number
>>> lc.cost_over_time(observations, by="model")
>>> lc.save_png(lc.chart(result), "cost.png")

Where things live
-----------------
* :mod:`lfnb.charts.auto` — :func:`chart` and its decision table;
* :mod:`lfnb.charts.named` — the named analyses (cost, latency, tokens, errors, scores, top N);
* :mod:`lfnb.charts.kinds` — the chart kinds (lines, bars, histogram, heatmap, numbers);
* :mod:`lfnb.charts.shaping` — pure pandas: column roles, units, buckets, top N
  (its docstring documents the size strategy that keeps every chart under
  Altair's 5,000-row limit);
* :mod:`lfnb.charts.export` — the ``lfnb`` theme and offline PNG / SVG / HTML export.
"""

from __future__ import annotations

from lfnb.charts.auto import chart
from lfnb.charts.export import THEME, save_png, save_svg, to_html, use_notebook, use_theme
from lfnb.charts.named import (
    cost_over_time,
    error_rate_over_time,
    latency_percentiles,
    score_distribution,
    tokens_by_model,
    top_by_cost,
)
from lfnb.charts.shaping import MAX_ROWS

__all__ = [
    "chart",
    "cost_over_time",
    "latency_percentiles",
    "tokens_by_model",
    "error_rate_over_time",
    "score_distribution",
    "top_by_cost",
    "save_png",
    "save_svg",
    "to_html",
    "use_theme",
    "use_notebook",
    "THEME",
    "MAX_ROWS",
]
