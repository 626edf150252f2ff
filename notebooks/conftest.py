"""nbval runs the notebooks against an lfnb.local started here, with the demo data.

The server runs for the whole pytest session and its address is put into the
environment before nbval starts any kernel, so the notebooks connect exactly as
they would to a real Langfuse project (``lfnb.connect()`` reads LANGFUSE_*).
The anchor is fixed so that the stored outputs are reproducible.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

DEMO = dict(seed=0, traces=5000, days=30, anchor=datetime(2026, 11, 1, tzinfo=timezone.utc))

_server = None


def pytest_configure(config):
    global _server
    if not config.getoption("--nbval", default=False) and not config.getoption("--nbval-lax", default=False):
        return
    from lfnb.local import serve

    _server = serve(port=0, **DEMO)
    handle = _server.__enter__()
    os.environ.update(
        LANGFUSE_BASE_URL=handle.base_url,
        LANGFUSE_PUBLIC_KEY=handle.public_key,
        LANGFUSE_SECRET_KEY=handle.secret_key,
        LFNB_ANCHOR=DEMO["anchor"].isoformat().replace("+00:00", "Z"),
        LFNB_PROGRESS="0",
        LFNB_CACHE_DIR=os.path.join(config.rootpath, "build", "nbval-cache"),
    )


def pytest_unconfigure(config):
    if _server is not None:
        _server.__exit__(None, None, None)
