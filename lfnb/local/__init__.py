"""lfnb.local: an embedded Langfuse-compatible server with deterministic synthetic data.

``serve()`` runs it in a background thread; ``query`` answers a metrics query straight from a
store without HTTP (the engine the server itself uses).

Needs the ``local`` extra: ``pip install 'lfnb[local]'``.
"""

from __future__ import annotations

try:
    import duckdb  # noqa: F401
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
    import xxhash  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(f"lfnb.local needs the 'local' extra ({exc.name} is missing): "
                      "pip install 'lfnb[local]'") from exc

from lfnb.local.engine import query
from lfnb.local.server import LocalServer, serve

__all__ = ["serve", "LocalServer", "query"]
