"""The demo data set and the environment the example notebooks run in.

One definition shared by ``make demo`` (``lfnb demo``), the nbval run of ``notebooks/`` and
``lfnb notebooks`` / ``lfnb report``, so that stored notebook outputs, tests and what a new user
sees agree: the same seed, size and **anchor** (the end of the data). The prose of the notebooks
states numbers ("46 failed mistral-large calls"); with one fixed anchor the demo shows exactly
those numbers, every day. (Anchoring the demo at today's midnight would shift the 30-day window
and every number with it.)

``lfnb demo`` opens JupyterLab on *copies* of the notebooks in ``demo/`` (git-ignored): a user
may run, edit and save them — JupyterLab autosaves — while ``notebooks/`` keeps the outputs that
``make test`` compares.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from lfnb.local.server import LocalServer, serve

__all__ = ["DEMO", "NOTEBOOK_ANCHOR", "DEMO_DIR", "LAB_ARGS", "demo_environment", "demo_notebooks", "run_demo"]

DEMO = {"seed": 0, "traces": 5000, "days": 30}
# Stored notebook outputs are reproducible because the data end at a fixed time.
NOTEBOOK_ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)


@contextlib.contextmanager
def demo_environment(*, anchor: datetime = NOTEBOOK_ANCHOR, cache_dir: str | None = None,
                     generation: str = "v4", port: int = 0, progress: bool = False) -> Iterator[LocalServer]:
    """Serve the demo data on a free port and point the ``LANGFUSE_*`` variables at it.

    Also sets ``LFNB_ANCHOR`` (the end of the data, which the notebooks use as "now"),
    ``LFNB_PROGRESS=0`` (no progress bars in stored outputs; ``progress=True`` leaves the default:
    bars in interactive sessions) and, when given,
    ``LFNB_CACHE_DIR`` — emptied first, so that every run starts with cache misses
    (notebook 06 shows a miss, then a hit). The previous environment is restored on exit.
    """
    with serve(port=port, anchor=anchor, generation=generation, **DEMO) as server:
        values = dict(server.env, LFNB_ANCHOR=anchor.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        if not progress:
            values["LFNB_PROGRESS"] = "0"
        if cache_dir is not None:
            shutil.rmtree(cache_dir, ignore_errors=True)
            values["LFNB_CACHE_DIR"] = str(cache_dir)
        saved = {k: os.environ.get(k) for k in values}
        os.environ.update(values)
        try:
            yield server
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


DEMO_DIR = "demo"
#: JupyterLab without its first-start news question and update check (no network in a demo)
LAB_ARGS = ("--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate")


def demo_notebooks(source: str | Path = "notebooks", target: str | Path = DEMO_DIR) -> list[Path]:
    """Copy the example notebooks that ``target`` does not hold yet; returns the copies made.

    Existing copies are kept: they are the user's (delete one to get it back as shipped).
    """
    source, target = Path(source), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for nb in sorted(source.glob("*.ipynb")):
        dest = target / nb.name
        if not dest.exists():
            shutil.copy2(nb, dest)
            copied.append(dest)
    return copied


def run_demo(*, port: int = 3000, lab_port: int = 8888, lab_args: Sequence[str] = (),
             source: str | Path = "notebooks", target: str | Path = DEMO_DIR) -> int:
    """Serve the demo data and run JupyterLab on the copies in ``target`` until Ctrl-C."""
    copied = demo_notebooks(source, target)
    target = Path(target)
    anchor = NOTEBOOK_ANCHOR.strftime("%Y-%m-%d")
    with demo_environment(port=port, cache_dir=str(target / ".metrics-cache"), progress=True) as server:
        print(f"lfnb.local serves the demo data at {server.base_url}: {DEMO['traces']:,} traces over the "
              f"{DEMO['days']} days up to {anchor}, the data the notebooks' prose describes.", flush=True)
        print(f"JupyterLab opens the notebooks in {target}/ ({len(copied)} copied now), already connected. "
              f"They are your copies: run, edit and save them; notebooks/ stays as make test checks it.",
              flush=True)
        root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        cmd = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={target}", f"--port={lab_port}",
               *LAB_ARGS, *root, *lab_args]
        lab = subprocess.Popen(cmd)

        def stop(signum: int, frame: object) -> None:   # `kill` stops JupyterLab and the server too
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, stop)
        try:
            return lab.wait()
        except KeyboardInterrupt:   # Ctrl-C or kill: JupyterLab stops its kernels on SIGTERM, then the server
            lab.terminate()
            try:
                return lab.wait(timeout=30)
            except (subprocess.TimeoutExpired, KeyboardInterrupt):
                lab.kill()
                return lab.wait()
        finally:
            signal.signal(signal.SIGTERM, previous)
