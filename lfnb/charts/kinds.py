"""The chart kinds of :mod:`lfnb.charts`, each built from an already aggregated long frame.

Every builder takes plain column names and labels, so :func:`lfnb.charts.chart`
and the named helpers share one look: tooltips on every mark, legends that
select (click a legend entry to highlight its series, shift-click for more),
value formats per unit. Colours, fonts and sizes come from the ``lfnb`` theme
(:mod:`lfnb.charts.export`), not from the charts, so users can still layer and
concatenate them (a chart carrying its own ``config`` cannot be layered).
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from lfnb.charts.export import OTHER_COLOUR, PALETTE
from lfnb.charts.shaping import MAX_ROWS, time_axis

__all__ = ["line_chart", "bar_chart", "histogram_chart", "heatmap_chart", "number_chart", "empty_chart"]

_FADED = 0.15


def _check_size(data: pd.DataFrame) -> None:
    # The callers aggregate before they get here; this guard turns a bug in
    # that aggregation into a clear error instead of Altair's MaxRowsError.
    if len(data) > MAX_ROWS:
        raise ValueError(
            f"chart data has {len(data):,} rows after aggregation (limit {MAX_ROWS:,}); "
            "use a coarser granularity or fewer dimension values"
        )


def _title(title: str | None, subtitle: str | None = None) -> alt.Title | str:
    if subtitle:
        return alt.Title(title or "", subtitle=subtitle)
    return title or ""


def line_chart(data: pd.DataFrame, *, x: str, y: str, color: str | None = None,
               title: str | None = None, subtitle: str | None = None,
               y_title: str = "", y_format: str = ",.4~g", color_title: str | None = None,
               x_title: str = "time", points: bool | None = None,
               order: list[str] | None = None) -> alt.Chart:
    """Time series: one line per value of ``color``, legend selects series.

    The legend lists series by decreasing total unless ``order`` is given.

    Points are drawn when there are few buckets per line, so a single bucket
    is still visible (a line through one point draws nothing).
    """
    _check_size(data)
    n_series = data[color].nunique() if color else 1
    if points is None:
        points = len(data) <= 60 * max(1, n_series) and data[x].nunique() <= 60
    tooltip = [alt.Tooltip(f"{x}:T", title=x_title, format="%Y-%m-%d %H:%M")]
    if color:
        tooltip.append(alt.Tooltip(f"{color}:N", title=color_title or color))
    tooltip.append(alt.Tooltip(f"{y}:Q", title=y_title or y, format=y_format))
    base = alt.Chart(data, title=_title(title, subtitle))
    encode = dict(
        x=alt.X(f"{x}:T", title=x_title, axis=alt.Axis(**time_axis(data[x]))),
        y=alt.Y(f"{y}:Q", title=y_title, axis=alt.Axis(format=y_format)),
        tooltip=tooltip,
    )
    if not color:
        return base.mark_line(point=bool(points)).encode(**encode)
    sel = alt.selection_point(fields=[color], bind="legend")
    if order:
        order = list(order) + [k for k in _order_by_total(data, color, y) if k not in order]
    else:
        order = _order_by_total(data, color, y)
    return (
        base.mark_line(point=bool(points))
        .encode(
            color=alt.Color(f"{color}:N", title=color_title or color, sort=order, scale=_category_scale(order)),
            opacity=alt.when(sel).then(alt.value(1.0)).otherwise(alt.value(_FADED)),
            **encode,
        )
        .add_params(sel)
    )


def _category_scale(order: list[str]) -> alt.Scale | alt.UndefinedType:
    """Palette colours in legend order, with the folded ``other (k)`` series in grey."""
    if not order or not order[-1].startswith("other ("):
        return alt.Undefined
    named = order[:-1]
    colours = [PALETTE[i % (len(PALETTE) - 1)] for i in range(len(named))]
    return alt.Scale(domain=order, range=colours + [OTHER_COLOUR])


def _order_by_total(data: pd.DataFrame, key: str, value: str) -> list[str]:
    totals = data.groupby(key, sort=False)[value].sum(min_count=1).astype("Float64").fillna(0)
    order = [str(k) for k in totals.sort_values(ascending=False, kind="stable").index]
    # "other (k)" is a remainder, not a contender: always last in the legend
    return [k for k in order if not k.startswith("other (")] + [k for k in order if k.startswith("other (")]


def bar_chart(data: pd.DataFrame, *, category: str, value: str, title: str | None = None,
              subtitle: str | None = None, value_title: str = "", value_format: str = ",.4~g",
              category_title: str | None = None, stack: str | None = None,
              stack_title: str | None = None, extra_tooltip: Sequence[alt.Tooltip] = ()) -> alt.Chart:
    """Horizontal bars sorted by value (largest on top); optional stacked ``stack`` colour."""
    _check_size(data)
    tooltip = [alt.Tooltip(f"{category}:N", title=category_title or category)]
    if stack:
        tooltip.append(alt.Tooltip(f"{stack}:N", title=stack_title or stack))
    tooltip += [alt.Tooltip(f"{value}:Q", title=value_title or value, format=value_format), *extra_tooltip]
    order = _order_by_total(data, category, value)
    chart = alt.Chart(data, title=_title(title, subtitle)).mark_bar().encode(
        y=alt.Y(f"{category}:N", sort=order, title=category_title or category),
        x=alt.X(f"{value}:Q", title=value_title, axis=alt.Axis(format=value_format)),
        tooltip=tooltip,
    )
    if not stack:
        return chart
    sel = alt.selection_point(fields=[stack], bind="legend")
    return chart.encode(
        color=alt.Color(f"{stack}:N", title=stack_title or stack),
        opacity=alt.when(sel).then(alt.value(1.0)).otherwise(alt.value(_FADED)),
    ).add_params(sel)


def histogram_chart(data: pd.DataFrame, *, title: str | None = None, subtitle: str | None = None,
                    x_title: str = "", x_format: str = ",.4~g", y_title: str = "count",
                    series: str | None = "series", series_title: str | None = None) -> alt.Chart:
    """Bins drawn from ``lower``/``upper``/``height`` columns; one colour per ``series``."""
    _check_size(data)
    multi = bool(series) and data[series].nunique() > 1
    tooltip = [
        alt.Tooltip("lower:Q", title="from", format=x_format),
        alt.Tooltip("upper:Q", title="to", format=x_format),
        alt.Tooltip("height:Q", title=y_title, format=",.4~g"),
    ]
    if multi:
        tooltip.insert(0, alt.Tooltip(f"{series}:N", title=series_title or series))
    chart = alt.Chart(data, title=_title(title, subtitle)).mark_bar(binSpacing=1).encode(
        x=alt.X("lower:Q", title=x_title, axis=alt.Axis(format=x_format)),
        x2="upper:Q",
        y=alt.Y("height:Q", title=y_title, stack=None),
        # without a baseline a ranged-x bar is drawn as a thin band at its height
        y2=alt.datum(0),
        tooltip=tooltip,
    )
    if not multi:
        return chart
    sel = alt.selection_point(fields=[series], bind="legend")
    return chart.encode(
        color=alt.Color(f"{series}:N", title=series_title or series),
        opacity=alt.when(sel).then(alt.value(0.7)).otherwise(alt.value(0.05)),
    ).add_params(sel)


def heatmap_chart(data: pd.DataFrame, *, x: str, y: str, value: str, title: str | None = None,
                  subtitle: str | None = None, value_title: str = "",
                  value_format: str = ",.4~g") -> alt.Chart:
    """Two categories × one value as coloured cells, both axes sorted by row/column totals."""
    _check_size(data)
    return alt.Chart(data, title=_title(title, subtitle)).mark_rect().encode(
        x=alt.X(f"{x}:N", sort=_order_by_total(data, x, value), title=x),
        y=alt.Y(f"{y}:N", sort=_order_by_total(data, y, value), title=y),
        color=alt.Color(f"{value}:Q", title=value_title, legend=alt.Legend(format=value_format)),
        tooltip=[
            alt.Tooltip(f"{x}:N"),
            alt.Tooltip(f"{y}:N"),
            alt.Tooltip(f"{value}:Q", title=value_title or value, format=value_format),
        ],
    )


def number_chart(items: Sequence[tuple[str, float | None, str]], *, title: str | None = None,
                 subtitle: str | None = None) -> alt.Chart | alt.HConcatChart:
    """Big numbers: one ``(label, value, d3 format)`` per tile."""
    tiles = []
    for label, value, fmt in items:
        frame = pd.DataFrame({"label": [label], "value": [None if value is None or pd.isna(value) else float(value)]})
        base = alt.Chart(frame)
        number = base.mark_text(fontSize=44, fontWeight="bold", baseline="middle").encode(
            text=alt.Text("value:Q", format=fmt), tooltip=[alt.Tooltip("label:N"), alt.Tooltip("value:Q", format=fmt)],
        )
        caption = base.mark_text(fontSize=14, dy=40, color="#555").encode(text="label:N")
        tiles.append(alt.layer(number, caption).properties(width=220, height=120))
    if len(tiles) == 1:
        return tiles[0].properties(title=_title(title, subtitle))
    return alt.hconcat(*tiles, title=_title(title, subtitle))


def empty_chart(title: str | None = None, message: str = "No data") -> alt.Chart:
    """A chart that says there is nothing to show (renders, unlike an empty line chart)."""
    frame = pd.DataFrame({"message": [message]})
    return alt.Chart(frame, title=_title(title)).mark_text(fontSize=18, color="#777").encode(
        text="message:N"
    ).properties(width=300, height=80)
