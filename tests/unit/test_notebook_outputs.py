"""The stored notebooks: all there, executed, no errors, no secrets, no machine paths, not bloated.

Outputs are stored so that charts show on a code host; nbval compares them in ``make test``.
This test guards what nbval does not: that what is stored is safe and complete to share.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
EXPECTED = ["01-quickstart", "02-cost-and-usage", "03-latency-and-errors", "04-quality-scores",
            "05-datasets-and-experiments", "06-metrics-api", "07-widgets", "08-bulk-extraction", "09-local-lake"]
SECRET = re.compile(r"Authorization|Basic [A-Za-z0-9+/=]{16,}|sk-lf-[A-Za-z0-9-]+")
MACHINE_PATH = re.compile(r"(?<![\w.:])/(root|work|tmp|home|Users|private|var/folders)/")
MAX_BYTES = 2_500_000


def _notebook(name: str) -> dict:
    path = NOTEBOOKS / f"{name}.ipynb"
    assert path.exists(), f"{path.name} is missing"
    return json.loads(path.read_text(encoding="utf-8"))


def _output_texts(output: dict):
    if "text" in output:
        yield "".join(output["text"]) if isinstance(output["text"], list) else output["text"]
    for mime, value in output.get("data", {}).items():
        if mime.startswith("image/"):
            continue
        yield value if isinstance(value, str) else json.dumps(value) if not isinstance(value, list) else "".join(value)
    if "traceback" in output:
        yield "\n".join(output["traceback"])


def test_exactly_the_expected_notebooks():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_stored_outputs_are_complete_and_safe_to_share(name):
    nb = _notebook(name)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "no code cells"
    counts = [c["execution_count"] for c in code]
    assert None not in counts, "not every code cell was executed: run `lfnb notebooks` on it"
    assert counts == sorted(counts), "cells were executed out of order"
    outputs = [o for c in code for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"], "a stored output is an error"
    for o in outputs:
        for text in _output_texts(o):
            assert not SECRET.search(text), f"secret-looking output: {SECRET.search(text).group(0)!r}"
            assert not MACHINE_PATH.search(text), f"machine path in output: {text[:200]!r}"
    markdown = [c for c in nb["cells"] if c["cell_type"] == "markdown"]
    assert len(markdown) >= 3, "a notebook tells what it shows, in prose"
    assert (NOTEBOOKS / f"{name}.ipynb").stat().st_size < MAX_BYTES


def test_notebooks_show_charts_as_pngs_for_code_hosts():
    with_png = [n for n in EXPECTED if any("image/png" in o.get("data", {})
                                           for c in _notebook(n)["cells"] if c["cell_type"] == "code"
                                           for o in c["outputs"])]
    assert len(with_png) >= 6, f"only {with_png} store a chart image"


def test_the_scan_catches_what_it_is_for():
    assert SECRET.search("secret_key='sk-lf-local'") and SECRET.search("Authorization: Basic cGstbGYtbG9jYWw6c2stbGYtbG9jYWw=")
    assert MACHINE_PATH.search("saved to /work/main/build/x.parquet")
    assert MACHINE_PATH.search('"/tmp/abc"')
    assert not MACHINE_PATH.search("http://127.0.0.1:3000/api/public/health")
    assert not MACHINE_PATH.search("build/observations.parquet")
