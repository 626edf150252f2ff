"""The example notebooks also run against a self-hosted v3 server (v1 endpoints only).

nbval checks them against the v4 demo server with their outputs compared; here every
notebook is executed top to bottom against the same data served as a v3 deployment
(a self-hosted v3 from v3.180.0: no v2 observations, no v2 metrics, no experiments), outputs not compared.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lfnb.local.demo import demo_environment
from lfnb.report import _execute, _paths

NOTEBOOKS = _paths([Path(__file__).resolve().parents[2] / "notebooks"])


@pytest.fixture(scope="module")
def v3_demo(tmp_path_factory):
    with demo_environment(generation="v3", cache_dir=tmp_path_factory.mktemp("cache")) as server:
        yield server


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_against_a_v3_server(v3_demo, path):
    nb = _execute(path)            # raises CellExecutionError naming the failing cell
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no chart was drawn"
