"""Browser tests: lfnb.local + JupyterLab + headless Chromium (Debian's binary) through Playwright.

One demo server, one JupyterLab and one browser for the whole session; every request that does
not go to 127.0.0.1 is blocked, so a pass also proves the notebooks work offline. Without
Chromium or Playwright the tests are skipped, and the run says so at the end (how to enable them).
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
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

#: a notebook written for the tests: widgets to click, and every chart kind lfnb draws
#: (one notebook: opening one costs about as much as running it)
CHECKS = "e2e-checks.ipynb"
CHECK_CELLS = [SETUP + "\nfrom test_charts_render import CHARTS\nKINDS = sorted(CHARTS)",
               "me = MetricsExplorer(lf, now=clock)\nme",
               "fb = FilterBuilder('observations_v2')\nfb",
               "ob = ObservationsBrowser(lf, now=clock, page_size=10)\nob",
               "from IPython.display import display\nfor kind in KINDS:\n    display(CHARTS[kind]())"]
ME_CELL, FB_CELL, OB_CELL, KINDS_CELL = 1, 2, 3, 4


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


def _write_checks(directory: Path) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CHECK_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = directory / CHECKS
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from lfnb.local.demo import demo_environment

    t0 = time.monotonic()
    work = tmp_path_factory.mktemp("e2e")
    checks = _write_checks(work)
    with demo_environment(cache_dir=str(work / "metrics-cache")):
        with harness.JupyterLab([*(NOTEBOOKS / n for n in REAL), checks],
                                extra_files=[ROOT / "tests" / "unit" / "test_charts_render.py"]) as lab:
            TIMINGS["lab_ready"] = round(lab.ready_seconds, 1)
            with harness.LabBrowser(lab) as br:
                yield br
    TIMINGS["session_total"] = round(time.monotonic() - t0, 1)


@pytest.fixture(scope="module")
def notebooks(browser) -> dict[str, harness.NotebookPage]:
    """Every notebook opened and run to the end, all at once (kernels start and run in parallel)."""
    t0 = time.monotonic()
    browser.lab.start_kernels([*REAL, CHECKS])   # no kernel starts while a page polls (see start_kernels)
    pages = {name: browser.start_notebook(name) for name in [*REAL, CHECKS]}
    for nb in pages.values():
        nb.wait_open(timeout=240)
    with urllib.request.urlopen(browser.lab.url("api/kernels"), timeout=30) as r:
        kernels = json.load(r)
    assert len(kernels) == len(pages), f"pages started kernels of their own: {len(kernels)} for {len(pages)} pages"
    for nb in pages.values():
        nb.start_run_all()
    for name, nb in pages.items():
        nb.wait_run_all(timeout=240)
        TIMINGS[f"{name}: open"] = round(nb.open_seconds, 1)
        TIMINGS[f"{name}: run all"] = round(nb.run_seconds, 1)
    TIMINGS["all notebooks opened and run"] = round(time.monotonic() - t0, 1)
    return pages


def run_notebook(notebooks, name: str) -> harness.NotebookPage:
    return notebooks[name]


def shot(locator, name: str) -> None:
    """Save a screenshot when $LFNB_E2E_SHOTS names a directory (for reviews; off by default)."""
    directory = os.environ.get("LFNB_E2E_SHOTS")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        if hasattr(locator, "scroll_into_view_if_needed"):   # a locator; a page is shot as it is
            locator.scroll_into_view_if_needed()
        locator.screenshot(path=str(Path(directory) / f"{name}.png"))
