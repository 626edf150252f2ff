"""Browser tests: lfnb.local + JupyterLab + headless Chromium (Debian's binary) through Playwright.

One demo server, one JupyterLab and one browser for the whole session; every request that does
not go to 127.0.0.1 is blocked, so a pass also proves the notebooks work offline. Without
Chromium or Playwright the tests are skipped, and the run says so at the end (how to enable them).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import lab_harness as harness
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
#: the real notebooks opened in the browser (the ones with charts and widgets a person clicks)
REAL = ["01-quickstart.ipynb", "06-metrics-api.ipynb", "07-widgets.ipynb"]
TIMINGS: dict[str, float] = {}
SKIP_REASON = harness.missing()

SETUP = """\
import os
import pandas as pd
import lfnb
import lfnb.charts as lc
from lfnb.widgets import FilterBuilder, MetricsExplorer, ObservationsBrowser
lc.use_notebook()
lf = lfnb.connect()
END = pd.Timestamp(os.environ["LFNB_ANCHOR"])
clock = lambda: END.to_pydatetime()"""

#: notebooks written for the tests: widgets to click, and every chart kind lfnb draws
GENERATED = {
    "e2e-widgets.ipynb": [SETUP,
                          "me = MetricsExplorer(lf, now=clock)\nme",
                          "fb = FilterBuilder('observations_v2')\nfb",
                          "ob = ObservationsBrowser(lf, now=clock, page_size=10)\nob"],
    "e2e-chart-kinds.ipynb": [SETUP + "\nfrom test_charts_render import CHARTS\nKINDS = sorted(CHARTS)\nKINDS",
                              "from IPython.display import display\n"
                              "for kind in KINDS:\n    display(CHARTS[kind]())"],
}


def pytest_collection_modifyitems(config, items):
    if SKIP_REASON is None:
        return
    mark = pytest.mark.skip(reason=f"browser tests skipped: {SKIP_REASON}")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(mark)


def pytest_terminal_summary(terminalreporter):
    if SKIP_REASON is not None and terminalreporter.stats.get("skipped"):
        terminalreporter.write_sep("=", "BROWSER TESTS SKIPPED", yellow=True, bold=True)
        terminalreporter.write_line(f"tests/e2e did not run: {SKIP_REASON}.")
        terminalreporter.write_line("Enable them: apt-get install -y chromium (as root; .ci/run does this), "
                                    "then make test.")
    if TIMINGS:
        terminalreporter.write_sep("-", "browser test timings (s)")
        terminalreporter.write_line(json.dumps(TIMINGS))


def _write_generated(directory: Path) -> list[Path]:
    paths = []
    for name, cells in GENERATED.items():
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        path = directory / name
        nbformat.write(nb, path)
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    from lfnb.local.demo import demo_environment

    t0 = time.monotonic()
    work = tmp_path_factory.mktemp("e2e")
    generated = _write_generated(work)
    with demo_environment(cache_dir=str(work / "metrics-cache")):
        with harness.JupyterLab([NOTEBOOKS / n for n in REAL] + generated,
                                extra_files=[ROOT / "tests" / "unit" / "test_charts_render.py"]) as lab:
            TIMINGS["lab_ready"] = round(lab.ready_seconds, 1)
            with harness.LabBrowser(lab) as br:
                yield br
    TIMINGS["session_total"] = round(time.monotonic() - t0, 1)


_opened: dict[str, harness.NotebookPage] = {}


def run_notebook(browser, name: str) -> harness.NotebookPage:
    """Open a notebook and run all its cells, once per session."""
    if name not in _opened:
        nb = browser.open_notebook(name)
        t0 = time.monotonic()
        nb.run_all()
        TIMINGS[f"{name}: open"] = round(nb.open_seconds, 1)
        TIMINGS[f"{name}: run all"] = round(time.monotonic() - t0, 1)
        _opened[name] = nb
    return _opened[name]
