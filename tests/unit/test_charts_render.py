"""Every chart kind renders offline through vl-convert, and the image is checked, not just produced.

PNGs are decoded here with zlib + numpy (pillow is not a dependency): size
from IHDR, then the pixels, to check the image is not blank and that the
data marks were drawn in the theme's colours.
"""

from __future__ import annotations

import struct
import zlib
from datetime import UTC

import numpy as np
import pandas as pd
import pytest

import lfnb.charts as lc
from lfnb.charts.export import PALETTE

rng = np.random.default_rng(7)
DAYS = pd.date_range("2026-10-25", periods=7, freq="D", tz="UTC")
N = 400


def decode_png(data: bytes) -> tuple[int, int, np.ndarray]:
    """(width, height, pixels[h, w, channels]) of an 8-bit non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and interlace == 0
    bpp = {6: 4, 2: 3, 4: 2, 0: 1}[ctype]
    stride = width * bpp
    rows = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int64)
    for y in range(height):
        kind, line = int(rows[y, 0]), rows[y, 1:].astype(np.int64)
        if kind == 0:
            cur = line
        elif kind == 1:  # Sub: running sum per channel
            cur = np.cumsum(line.reshape(width, bpp), axis=0).reshape(stride) % 256
        elif kind == 2:  # Up
            cur = (line + prev) % 256
        else:  # Average / Paeth depend on the byte to the left: byte by byte
            cur = line.copy()
            for i in range(stride):
                a = int(cur[i - bpp]) if i >= bpp else 0
                b = int(prev[i])
                if kind == 3:
                    pred = (a + b) // 2
                else:
                    c = int(prev[i - bpp]) if i >= bpp else 0
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[i] = (cur[i] + pred) % 256
        out[y] = cur
        prev = cur
    return width, height, out.reshape(height, width, bpp)


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def pixels_near(px: np.ndarray, colour: str, tol: int = 12) -> int:
    target = np.array(hex_rgb(colour))
    return int((np.abs(px[:, :, :3].astype(int) - target).max(axis=2) <= tol).sum())


def observations() -> pd.DataFrame:
    return pd.DataFrame({
        "startTime": pd.Timestamp("2026-10-25", tz="UTC") + pd.to_timedelta(rng.integers(0, 7 * 86400, N), unit="s"),
        "model": pd.Series(rng.choice(["gpt-4o", "claude-3", "llama-3"], N), dtype="str"),
        "totalCost": pd.array(rng.random(N) / 100, dtype="Float64"),
        "latency": pd.array(rng.exponential(2.0, N), dtype="Float64"),
        "usageDetails.input": pd.array(rng.integers(10, 1000, N), dtype="Int64"),
        "usageDetails.output": pd.array(rng.integers(10, 500, N), dtype="Int64"),
        "level": rng.choice(["DEFAULT", "ERROR", "WARNING"], N, p=[0.85, 0.1, 0.05]),
        "userId": rng.choice([f"user-{i}" for i in range(30)], N),
    })


def scores() -> pd.DataFrame:
    return pd.DataFrame({
        "name": ["quality"] * 60 + ["verdict"] * 40,
        "value": list(rng.random(60)) + [np.nan] * 40,
        "stringValue": [None] * 60 + list(rng.choice(["good", "bad", "ugly"], 40)),
        "dataType": ["NUMERIC"] * 60 + ["CATEGORICAL"] * 40,
    })


def metrics_series() -> pd.DataFrame:
    rows = [(d, f"model-{i}", float((i + 1) * (j + 2))) for j, d in enumerate(DAYS) for i in range(10)]
    df = pd.DataFrame(rows, columns=["time_dimension", "providedModelName", "sum_totalCost"])
    df.attrs = {"units": {"sum_totalCost": "USD"}}
    return df


CHARTS = {
    "time_series": lambda: lc.chart(metrics_series(), top=4),
    "bars": lambda: lc.chart(pd.DataFrame({"name": list("abcde"), "count_count": [3, 9, 4, 1, 7]})),
    "heatmap": lambda: lc.chart(pd.DataFrame({"env": ["prod", "prod", "dev", "dev"], "type": ["SPAN", "GEN"] * 2,
                                              "sum_totalCost": [1.0, 4.0, 2.0, 3.0]})),
    "histogram": lambda: lc.chart(pd.DataFrame({"histogram_latency": [[[0, 200, 4], [200, 900, 10], [900, 3000, 2]]]})),
    "big_number": lambda: lc.chart(pd.DataFrame({"sum_totalCost": [42.5]})),
    "cost_over_time": lambda: lc.cost_over_time(observations(), by="model"),
    "latency_percentiles": lambda: lc.latency_percentiles(observations()),
    "tokens_by_model": lambda: lc.tokens_by_model(observations()),
    "error_rate_over_time": lambda: lc.error_rate_over_time(observations()),
    "score_distribution": lambda: lc.score_distribution(scores()),
    "top_by_cost": lambda: lc.top_by_cost(observations(), by="userId", n=10),
}


@pytest.mark.parametrize("kind", sorted(CHARTS))
def test_every_chart_kind_renders_to_a_non_blank_png(kind, tmp_path):
    path = tmp_path / f"{kind}.png"
    data = lc.save_png(CHARTS[kind](), path)
    assert path.read_bytes() == data
    width, height, px = decode_png(data)
    assert 200 <= width <= 2000 and 100 <= height <= 2000
    assert px.shape == (height, width, 4)
    background = px[0, 0]
    assert tuple(background[:3]) == (255, 255, 255)  # the theme's white background
    not_background = (px != background).any(axis=2).mean()
    assert not_background > 0.02, f"{kind}: only {not_background:.1%} of pixels drawn"
    assert px[:, :, :3].reshape(-1, 3).std(axis=0).max() > 10
    if kind != "big_number":
        # the data marks use the theme palette (first colour), not Vega's default blue
        assert pixels_near(px, PALETTE[0]) > 100, f"{kind}: no marks in the theme colour"
        assert pixels_near(px, "#4c78a8", tol=3) == 0


def test_scale_doubles_the_pixels():
    chart = CHARTS["bars"]()
    w1, h1, _ = decode_png(lc.save_png(chart))
    w2, h2, _ = decode_png(lc.save_png(chart, scale=2))
    assert (w2, h2) == (2 * w1, 2 * h1)


def test_empty_chart_draws_no_data_marks():
    _, _, px = decode_png(lc.save_png(lc.chart(metrics_series().iloc[:0])))
    assert pixels_near(px, PALETTE[0]) == 0
    assert (px[:, :, :3] < 200).any()  # the "No data" text


def test_svg_and_standalone_html(tmp_path):
    svg = lc.save_svg(CHARTS["bars"](), tmp_path / "bars.svg")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert (tmp_path / "bars.svg").read_text() == svg
    assert svg.count("<path") >= 5 and PALETTE[0].lower() in svg.lower()
    html = lc.to_html(CHARTS["bars"](), tmp_path / "bars.html")
    # inline: the Vega libraries are in the page, nothing is fetched from a CDN
    assert "cdn.jsdelivr.net" not in html and "<script src=" not in html
    assert len(html) > 300_000
    assert '"category"' in html and '"count (count)"' in html and html.lstrip().lower().startswith("<!doctype html>")


def test_exports_do_not_change_the_enabled_theme():
    import altair as alt

    before = alt.theme.active
    lc.save_png(CHARTS["bars"]())
    assert alt.theme.active == before


# ------------------------------------------------------------------ real metrics results (lfnb.local engine)

ENGINE_QUERIES = {
    # name: (query builder steps, expected Vega-Lite mark or composition)
    "cost_by_model_per_day": (lambda q: q.measure("totalCost", "sum").by("providedModelName").every("day"), "line"),
    "latency_percentiles": (lambda q: q.measure("latency", "p50").measure("latency", "p99").every("day"), "line"),
    "count_by_name": (lambda q: q.measure("count", "count").by("name"), "bar"),
    "cost_model_x_env": (lambda q: q.measure("totalCost", "sum").by("providedModelName", "environment"), "rect"),
    "latency_histogram": (lambda q: q.measure("latency", "histogram"), "bar"),
    "totals": (lambda q: q.measure("totalCost", "sum"), "layer"),
}


@pytest.mark.parametrize("name", sorted(ENGINE_QUERIES))
def test_charts_of_real_metrics_results(store_small, name):
    from datetime import datetime

    from lfnb.local import engine as metrics_engine
    from lfnb.metrics import MetricsQuery, metrics_frame

    steps, kind = ENGINE_QUERIES[name]
    query = steps(MetricsQuery("observations")).between(
        datetime(2026, 10, 25, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)).limit(1000).to_dict()
    df = metrics_frame(metrics_engine.query(store_small, query, "v2"), query)
    assert len(df) >= 1
    chart = lc.chart(df)
    spec = chart.to_dict()
    assert (spec["mark"]["type"] if "mark" in spec else "layer") == kind
    width, height, px = decode_png(lc.save_png(chart))
    assert width >= 200 and height >= 100
    assert (px != px[0, 0]).any(axis=2).mean() > 0.02
    if name == "latency_percentiles":
        # the engine reports milliseconds; the synthetic p99 is seconds long, so the axis is in s
        assert spec["encoding"]["y"]["title"] == "latency (s)"
        assert spec["encoding"]["color"]["sort"][:2] == ["p50 latency", "p99 latency"]
    if name == "cost_by_model_per_day":
        assert spec["encoding"]["y"]["title"] == "Sum of total cost (USD)"
        assert spec["title"]["subtitle"] == "per day"


@pytest.fixture
def notebook_display():
    import altair as alt

    renderer, theme = alt.renderers.active, alt.theme.active
    lc.use_notebook()
    yield
    alt.renderers.enable(renderer)
    alt.theme.enable(theme)


def test_notebook_display_is_a_valid_output_with_vega_png_and_title(notebook_display):
    import base64
    import json

    import nbformat

    chart = lc.cost_over_time(observations(), by="model")
    bundle, metadata = chart._repr_mimebundle_()
    # JupyterLab 4 draws Vega 5 (not Vega-Lite 6) offline: the spec is compiled to Vega (#13)
    assert set(bundle) == {"application/vnd.vega.v5+json", "image/png", "text/plain"}
    assert isinstance(bundle["image/png"], str)          # base64 text: valid JSON, also inside an Output widget
    width, height, px = decode_png(base64.b64decode(bundle["image/png"]))
    assert width >= 500 and height >= 250
    assert pixels_near(px, PALETTE[0]) > 100, "the PNG shows no marks in the theme colour"
    vega = bundle["application/vnd.vega.v5+json"]
    assert vega["$schema"] == "https://vega.github.io/schema/vega/v5.json"
    assert vega["config"]["range"]["category"] == PALETTE    # the lfnb theme is applied
    assert any(s.get("name", "").endswith("_store") for s in vega["data"]), "legend selection compiled in"
    assert metadata == {"application/vnd.vega.v5+json": {"embed_options": {"renderer": "svg", "actions": False}}}
    assert bundle["text/plain"] == "<chart: Cost over time>"
    json.dumps(bundle)
    nbformat.v4.new_output("display_data", data=bundle)   # validates against the nbformat 4 schema
    with pytest.raises(nbformat.ValidationError):
        nbformat.v4.new_output("display_data", data={"application/vnd.vegalite.v6.json": {}})
