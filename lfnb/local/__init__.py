"""lfnb.local: an embedded Langfuse-compatible server with deterministic synthetic data.

``serve()`` runs it in a background thread; ``query`` (from the metrics engine, when that
module is installed) answers a metrics query straight from a store without HTTP.
"""

from __future__ import annotations

from typing import Any

from lfnb.local.server import LocalServer, serve

__all__ = ["serve", "LocalServer", "query"]


def __getattr__(name: str) -> Any:
    # The metrics engine is optional at import time: load it only when asked for.
    if name == "query":
        from lfnb.local.engine import query

        return query
    raise AttributeError(f"module 'lfnb.local' has no attribute {name!r}")
