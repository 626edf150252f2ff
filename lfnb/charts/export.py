"""The ``lfnb`` Altair theme and offline export (PNG, SVG, standalone HTML) through vl-convert.

The theme is registered with ``alt.theme.register`` when this module is
imported, but not enabled: enabling is global state that belongs to the user
(:func:`use_theme`). Exports always render *with* the theme, so a PNG looks the
same whatever theme the notebook has enabled.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import altair as alt

__all__ = ["THEME", "PALETTE", "OTHER_COLOUR", "NOTEBOOK_RENDERER", "theme_config", "use_theme", "use_notebook",
           "save_png", "save_svg", "to_html"]

THEME = "lfnb"
# Colour-blind-safe categorical palette (Okabe–Ito order, grey last for "other").
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#332288", "#882255", "#44AA99", "#999999"]
OTHER_COLOUR = "#b0b0b0"
_FONT = "Helvetica, Arial, sans-serif"


def theme_config() -> alt.theme.ThemeConfig:
    """The spec defaults of the ``lfnb`` theme (sizes, fonts, palette, grid)."""
    return {
        "width": 560,
        "height": 280,
        "config": {
            "background": "white",
            "font": _FONT,
            "view": {"stroke": None},
            "title": {"fontSize": 15, "anchor": "start", "subtitleColor": "#666", "subtitleFontSize": 11},
            "axis": {"labelFontSize": 11, "titleFontSize": 12, "gridColor": "#e6e6e6", "domainColor": "#888",
                     "tickColor": "#888", "labelLimit": 220},
            "legend": {"labelFontSize": 11, "titleFontSize": 12, "labelLimit": 220, "symbolType": "circle"},
            # sequential colours (heatmaps) run from near-white to the first palette colour
            "range": {"category": PALETTE, "heatmap": ["#e3eef6", PALETTE[0]], "ramp": ["#e3eef6", PALETTE[0]]},
            "mark": {"color": PALETTE[0]},
            "line": {"strokeWidth": 2, "color": PALETTE[0]},
            "point": {"size": 30, "filled": True},
            "bar": {"color": PALETTE[0]},
            "rect": {"stroke": "white", "strokeWidth": 0.5},
            "axisBand": {"grid": False},
        },
    }


alt.theme.register(THEME, enable=False)(theme_config)


def use_theme() -> None:
    """Enable the ``lfnb`` theme for every chart this notebook displays."""
    alt.theme.enable(THEME)


def _render(chart: alt.TopLevelMixin, fmt: str, **kwargs: Any) -> bytes | str:
    buf: io.BytesIO | io.StringIO = io.BytesIO() if fmt == "png" else io.StringIO()
    with alt.theme.enable(THEME):
        chart.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _write(path: str | os.PathLike[str], data: bytes | str) -> Path:
    path = Path(path)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def save_png(chart: alt.TopLevelMixin, path: str | os.PathLike[str] | None = None, *,
             scale: float = 1.0) -> bytes:
    """Render a chart to PNG offline (vl-convert), optionally writing it to ``path``.

    Parameters
    ----------
    chart : altair chart
    path : path-like, optional
        File to write; the bytes are returned either way.
    scale : float
        Pixel scale factor (2 for high-DPI images).

    Returns
    -------
    bytes
        The PNG file.
    """
    data = _render(chart, "png", scale_factor=scale)
    if path is not None:
        _write(path, data)
    return data


def save_svg(chart: alt.TopLevelMixin, path: str | os.PathLike[str] | None = None) -> str:
    """Render a chart to SVG text offline (vl-convert), optionally writing it to ``path``."""
    data = _render(chart, "svg")
    if path is not None:
        _write(path, data)
    return str(data)


def to_html(chart: alt.TopLevelMixin, path: str | os.PathLike[str] | None = None) -> str:
    """A standalone HTML page with the chart and the Vega libraries inlined (no CDN; ~1 MB).

    Opens offline in any browser, so it can be mailed or attached to a ticket.
    """
    with alt.theme.enable(THEME):
        html = chart.to_html(inline=True)
    if path is not None:
        _write(path, html)
    return html


# --- notebook display ------------------------------------------------------------------------
#
# Altair 6's "mimetype" renderer emits its spec under ``application/vnd.vegalite.v6.json`` (not
# even a valid notebook output key, nbformat rejects it), which JupyterLab 4.6's built-in Vega
# extension (v3–v5 only) would not render anyway; its default HTML renderer loads Vega from a
# CDN. Neither shows anything offline or on a code host. The ``lfnb`` renderer puts a PNG
# (rendered offline by vl-convert) next to the spec: every front end shows the PNG, nbconvert
# embeds it in HTML reports, and nbval compares the spec (PNGs are not compared).
NOTEBOOK_RENDERER = "lfnb"
_SPEC_MIMETYPE = "application/vnd.vegalite.v6+json"


def _notebook_bundle(spec: dict[str, Any], **metadata: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    from altair.utils.mimebundle import spec_to_mimebundle
    from altair.vegalite.v6 import display

    scale = metadata.pop("scale_factor", 1)
    png = spec_to_mimebundle(spec, format="png", mode="vega-lite", vega_version=display.VEGA_VERSION,
                             vegaembed_version=display.VEGAEMBED_VERSION,
                             vegalite_version=display.VEGALITE_VERSION, scale_factor=scale)
    bundle, meta = png if isinstance(png, tuple) else (png, {})
    title = spec.get("title")
    if isinstance(title, dict):
        title = title.get("text")
    if isinstance(title, list):
        title = " ".join(map(str, title))
    bundle[_SPEC_MIMETYPE] = spec
    bundle["text/plain"] = f"<chart: {title}>" if title else "<chart>"
    return bundle, meta


alt.renderers.register(NOTEBOOK_RENDERER, _notebook_bundle)


def use_notebook(*, scale: float = 1.0) -> None:
    """Theme and display for notebooks: the ``lfnb`` theme, and charts shown as offline PNGs.

    The PNG shows in JupyterLab without network, in HTML exports and on code hosts; the
    Vega-Lite spec travels in the same output, so ``alt.renderers.enable("default")`` or
    :func:`to_html` still give the interactive chart (tooltips, legend selection).
    """
    use_theme()
    alt.renderers.enable(NOTEBOOK_RENDERER, scale_factor=scale)
