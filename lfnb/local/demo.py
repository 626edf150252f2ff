"""The demo data set and the environment the example notebooks run in.

One definition shared by ``make demo``, the nbval run of ``notebooks/`` and ``lfnb notebooks`` /
``lfnb report``, so that stored notebook outputs, tests and what a new user sees agree.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime

from lfnb.local.server import LocalServer, serve

__all__ = ["DEMO", "NOTEBOOK_ANCHOR", "demo_environment"]

DEMO = {"seed": 0, "traces": 5000, "days": 30}
# Stored notebook outputs are reproducible because the data end at a fixed time.
NOTEBOOK_ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)


@contextlib.contextmanager
def demo_environment(*, anchor: datetime = NOTEBOOK_ANCHOR, cache_dir: str | None = None,
                     generation: str = "v4") -> Iterator[LocalServer]:
    """Serve the demo data on a free port and point the ``LANGFUSE_*`` variables at it.

    Also sets ``LFNB_ANCHOR`` (the end of the data, which the notebooks use as "now"),
    ``LFNB_PROGRESS=0`` (no progress bars in stored outputs) and, when given,
    ``LFNB_CACHE_DIR`` — emptied first, so that every run starts with cache misses
    (notebook 06 shows a miss, then a hit). The previous environment is restored on exit.
    """
    with serve(port=0, anchor=anchor, generation=generation, **DEMO) as server:
        values = dict(server.env, LFNB_ANCHOR=anchor.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                      LFNB_PROGRESS="0")
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
