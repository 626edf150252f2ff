"""nbval runs the notebooks against an lfnb.local started here, with the demo data.

The server runs for the whole pytest session and its address is put into the
environment before nbval starts any kernel, so the notebooks connect exactly as
they would to a real Langfuse project (``lfnb.connect()`` reads LANGFUSE_*).
The anchor is fixed (lfnb.local.demo) so that the stored outputs are reproducible.
"""

from __future__ import annotations

import contextlib
import os

_stack = contextlib.ExitStack()


def pytest_configure(config):
    if not config.getoption("--nbval", default=False) and not config.getoption("--nbval-lax", default=False):
        return
    from lfnb.local.demo import demo_environment

    _stack.enter_context(demo_environment(cache_dir=os.path.join(config.rootpath, "build", "nbval-cache")))


def pytest_unconfigure(config):
    _stack.close()
