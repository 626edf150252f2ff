"""``make demo`` (``lfnb demo``): copies of the notebooks, the notebooks' anchor, a server that answers.

JupyterLab itself is replaced by a recording stand-in here (the browser tests in tests/e2e run
the real one); everything else — the copies, the server, the environment — is real.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import requests

from lfnb.cli import main
from lfnb.local import demo

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_demo_notebooks_are_copies_and_user_edits_are_kept(tmp_path):
    target = tmp_path / "demo"
    copied = demo.demo_notebooks(ROOT / "notebooks", target)
    assert [p.name for p in copied] == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert (target / "01-quickstart.ipynb").read_bytes() == (ROOT / "notebooks" / "01-quickstart.ipynb").read_bytes()
    (target / "01-quickstart.ipynb").write_text("{} edited by the user")
    assert demo.demo_notebooks(ROOT / "notebooks", target) == []          # nothing overwritten
    assert (target / "01-quickstart.ipynb").read_text() == "{} edited by the user"


def test_demo_runs_jupyterlab_on_the_copies_with_the_notebooks_anchor(tmp_path, monkeypatch, capsys):
    seen: dict = {}

    class FakeLab:
        def __init__(self, cmd):
            seen["cmd"] = cmd
            seen["env"] = {k: os.environ.get(k) for k in ("LANGFUSE_BASE_URL", "LFNB_ANCHOR", "LFNB_PROGRESS")}
            seen["health"] = requests.get(os.environ["LANGFUSE_BASE_URL"] + "/api/public/health", timeout=10).json()

        def wait(self, timeout=None):
            return 0

    monkeypatch.setattr(subprocess, "Popen", FakeLab)
    for name in ("LFNB_PROGRESS", "LFNB_ANCHOR"):    # (nbval's demo server sets them for the whole session)
        monkeypatch.delenv(name, raising=False)
    target = tmp_path / "copies"
    assert main(["demo", "--port", "0", "--notebooks", str(ROOT / "notebooks"), "--dir", str(target),
                 "--", "--no-browser"]) == 0
    cmd = seen["cmd"]
    assert f"--notebook-dir={target}" in cmd and "--no-browser" in cmd
    assert not any(a.startswith("--notebook-dir=") and a.endswith("notebooks") for a in cmd)
    assert "--LabApp.news_url=None" in cmd                   # no "get notified about news?" toast
    # the data end where the prose's numbers were computed, and progress bars are on
    assert seen["env"]["LFNB_ANCHOR"] == "2026-11-01T00:00:00Z" and seen["env"]["LFNB_PROGRESS"] is None
    assert seen["health"]["status"] == "OK"
    out = capsys.readouterr().out.splitlines()
    # whole lines, in order, nothing to export by hand
    assert out[0].startswith("lfnb.local serves the demo data at http://127.0.0.1:")
    assert out[0].endswith("5,000 traces over the 30 days up to 2026-11-01, the data the notebooks' prose describes.")
    copied = len(list((ROOT / "notebooks").glob("*.ipynb")))
    assert out[1].startswith(f"JupyterLab opens the notebooks in {target}/ ({copied} copied now)")
    assert not any("export " in line for line in out)
    assert "LFNB_ANCHOR" not in os.environ                     # the environment is restored


def test_makefile_demo_uses_the_copies():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ndemo: venv\n", 1)[1].split("\n\n", 1)[0]
    assert recipe.strip() == "$(PY) -m lfnb.cli demo --port $(PORT) --lab-port $(LAB_PORT) -- $(LAB_ARGS)"
    assert "demo/" in (ROOT / ".gitignore").read_text().splitlines()
