"""``lfnb report``: notebooks executed against the demo data into standalone HTML with embedded charts."""

from __future__ import annotations

import nbformat
import pytest

from lfnb.cli import main
from lfnb.report import execute_notebooks

CELLS = [
    "import os\nimport lfnb, lfnb.charts as lc\nlc.use_notebook()\nlf = lfnb.connect()\nos.environ['LFNB_ANCHOR']",
    "q = lfnb.MetricsQuery('observations').measure('count', 'count').by('type')\n"
    "q = q.between('2026-10-25T00:00:00Z', os.environ['LFNB_ANCHOR'])\ndf = lf.read_metrics(q)\nint(df['count_count'].sum()) > 0",
    "lc.chart(df)",
]


@pytest.fixture
def notebook_dir(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Tiny")] + [nbformat.v4.new_code_cell(c) for c in CELLS]
    (tmp_path / "nb").mkdir()
    nbformat.write(nb, tmp_path / "nb" / "tiny.ipynb")
    return tmp_path


@pytest.mark.integration
def test_report_writes_standalone_html_with_embedded_charts(notebook_dir, monkeypatch):
    monkeypatch.chdir(notebook_dir)
    assert main(["report", "nb", "--out", "out"]) == 0
    html = (notebook_dir / "out" / "tiny.html").read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == 1       # the chart, embedded
    assert "2026-11-01T00:00:00Z" in html                        # ran against the demo anchor
    assert ">True<" in html or "True</pre>" in html
    assert "sk-lf-" not in html and "Authorization" not in html


@pytest.mark.integration
def test_notebooks_executes_in_place_and_rejects_what_is_not_a_notebook(notebook_dir, monkeypatch):
    monkeypatch.chdir(notebook_dir)
    execute_notebooks(["nb/tiny.ipynb"])
    nb = nbformat.read(notebook_dir / "nb" / "tiny.ipynb", as_version=4)
    assert [c.execution_count for c in nb.cells if c.cell_type == "code"] == [1, 2, 3]
    assert "image/png" in nb.cells[3].outputs[0]["data"]
    with pytest.raises(FileNotFoundError, match="not a notebook"):
        execute_notebooks(["nb/missing.ipynb"])


@pytest.mark.integration
def test_demo_environment_points_at_the_server_empties_the_cache_and_restores(tmp_path, monkeypatch):
    import os

    from lfnb.local.demo import demo_environment

    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "stale.json").write_text("{}")
    monkeypatch.setenv("LANGFUSE_BASE_URL", "https://cloud.example.invalid")
    monkeypatch.delenv("LFNB_ANCHOR", raising=False)
    with demo_environment(cache_dir=cache) as server:
        assert os.environ["LANGFUSE_BASE_URL"] == server.base_url
        assert os.environ["LFNB_ANCHOR"] == "2026-11-01T00:00:00Z" and os.environ["LFNB_PROGRESS"] == "0"
        assert not (cache / "stale.json").exists()
        assert server.counts["traces"] == 5000
    assert os.environ["LANGFUSE_BASE_URL"] == "https://cloud.example.invalid"
    assert "LFNB_ANCHOR" not in os.environ


@pytest.mark.integration
def test_report_travels_without_third_parties_and_leaves_the_notebook_dir_alone(tmp_path, monkeypatch, capfd):
    import re

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in (
        CELLS[0],
        "from pathlib import Path\nPath('build').mkdir(exist_ok=True)\nPath('build/x.txt').write_text('x')",
        "from lfnb.widgets import FilterBuilder\nfb = FilterBuilder('observations_v2')\nfb.add('level')\n"
        "fb.set_row(0, value='ERROR')\nfb",
    )]
    (tmp_path / "nb").mkdir()
    nbformat.write(nb, tmp_path / "nb" / "w.ipynb")
    monkeypatch.chdir(tmp_path)
    assert main(["report", "nb", "--out", "out"]) == 0
    html = (tmp_path / "out" / "w.html").read_text(encoding="utf-8")
    # nothing is fetched from elsewhere when the file is opened (no CDN require.js / MathJax)
    remote = re.findall(r"""<(?:script|link|img)[^>]*(?:src|href)=["']?(https?:)?//[^"'>]+""", html)
    assert remote == [] and "cdnjs" not in html and "unpkg" not in html
    # the widget: a static rendering of its state, not "FilterBuilder(children=(…"
    assert "FilterBuilder: a static view of its state" in html and "children=" not in html
    assert "<td>level</td><td>stringOptions</td><td>any of</td><td></td><td>ERROR</td>" in html
    # files the notebook writes do not land beside it
    assert sorted(p.name for p in (tmp_path / "nb").iterdir()) == ["w.ipynb"]
    assert "[IPKernelApp] WARNING" not in capfd.readouterr().err    # neither the TCP nor an orphan warning
