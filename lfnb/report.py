"""Execute the example notebooks against the demo data: in place (``lfnb notebooks``) or into
standalone HTML files for sharing (``lfnb report``, ``make report``).

Both start lfnb.local with the demo data set of :mod:`lfnb.local.demo` — the same server, seed
and anchor as the nbval run in ``make test`` — so what is stored, tested and shared agrees.

The HTML files travel: charts are PNGs embedded in the page (see :func:`lfnb.charts.use_notebook`),
widgets appear as a static rendering of their last state (:class:`lfnb.widgets.common.StaticView`),
and the page loads nothing from a third party (nbconvert's template would fetch require.js, MathJax
and Mermaid from a CDN; the notebooks use none of them). Notebooks run in a scratch directory, so files
they write (08 writes ``build/observations.parquet``) never land in ``notebooks/``; kernels talk
over IPC, not TCP (no "running over TCP without encryption" warning per notebook).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

__all__ = ["execute_notebooks", "write_report", "add_arguments", "run_notebooks", "run_report"]

TIMEOUT = 600  # seconds per cell


def _paths(items: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            out.extend(sorted(q for q in p.glob("*.ipynb") if not q.name.startswith(".")))
        elif p.suffix == ".ipynb" and p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(f"{item}: not a notebook (.ipynb) or a directory of notebooks")
    return out


#: nbconvert's "lab" template without its CDN scripts (require.js and the widget manager for
#: widget state, MathJax, Mermaid)
REPORT_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def _execute(path: Path):
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)
    # widget state is not stored: it would double the file (charts inside Output widgets) and no
    # front end draws it without a kernel anyway (widgets carry a static HTML view instead)
    with tempfile.TemporaryDirectory(prefix="lfnb-run-") as workdir:
        # IPC sockets are files: an absolute path, so kernel (cwd: workdir) and client find the same ones
        km = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(workdir) / "kernel"))
        try:
            NotebookClient(nb, km=km, timeout=TIMEOUT, kernel_name="python3", store_widget_state=False,
                           record_timing=False, resources={"metadata": {"path": workdir}}).execute(cwd=workdir)
        finally:   # a client given a kernel manager leaves the kernel running: stop it (no orphan warning)
            if km.has_kernel:
                km.shutdown_kernel()
    return nb


def _run_all(paths: list[Path], cache_dir: str | Path):
    """Execute each notebook against one demo server; yields (path, executed notebook, seconds)."""
    from lfnb.local.demo import demo_environment

    with demo_environment(cache_dir=str(Path(cache_dir).resolve())):
        for path in paths:
            t0 = time.perf_counter()
            nb = _execute(path)
            yield path, nb, time.perf_counter() - t0


def execute_notebooks(paths: Iterable[str | Path], *, cache_dir: str | Path = "build/notebook-cache") -> list[Path]:
    """Run notebooks top to bottom against the demo data and store their outputs in place."""
    import nbformat

    notebooks = _paths(paths)
    for path, nb, seconds in _run_all(notebooks, cache_dir):
        nbformat.write(nb, path)
        print(f"{path}: executed in {seconds:.1f} s", file=sys.stderr)
    return notebooks


def write_report(notebooks: str | Path = "notebooks", out: str | Path = "build",
                 *, cache_dir: str | Path = "build/report-cache") -> list[Path]:
    """Execute every notebook and write ``<out>/<name>.html`` (standalone, images embedded)."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab", embed_images=True,
                            extra_loaders=[DictLoader({"lfnb-report.html.j2": REPORT_TEMPLATE})],
                            template_file="lfnb-report.html.j2")
    written: list[Path] = []
    for path, nb, seconds in _run_all(_paths([notebooks]), cache_dir):
        html, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
        target = out / f"{path.stem}.html"
        target.write_text(html, encoding="utf-8")
        written.append(target)
        print(f"{target}: {len(html) / 1e6:.1f} MB in {seconds:.1f} s", file=sys.stderr)
    return written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", default=["notebooks"], help="notebooks or directories (default notebooks/)")
    parser.add_argument("--out", default="build", help="report directory (lfnb report; default build/)")


def run_notebooks(args: argparse.Namespace) -> int:
    execute_notebooks(args.paths)
    return 0


def run_report(args: argparse.Namespace) -> int:
    for item in args.paths:
        write_report(item, args.out)
    return 0
