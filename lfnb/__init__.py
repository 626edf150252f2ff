"""lfnb — Langfuse data into typed pandas DataFrames, in one line.

>>> import lfnb
>>> lf = lfnb.connect()                      # LANGFUSE_* environment variables
>>> obs = lf.read_observations(from_time="2026-11-01", to_time="2026-11-02")

The facade is small on purpose (the list is pinned by a test); everything else
lives in modules whose names say what they hold. Names are resolved on first
use so that ``import lfnb`` stays cheap (no pandas or HTTP stack until needed).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_FACADE = {
    "connect": "lfnb.client",
    "open_lake": "lfnb.lake",
    "Client": "lfnb.client",
    "Filter": "lfnb.filters",
    "MetricsQuery": "lfnb.metrics",
    "validate_query": "lfnb.metrics",
    "histogram_frame": "lfnb.metrics",
    "LfnbError": "lfnb.errors",
    "ConfigError": "lfnb.errors",
    "TransportError": "lfnb.errors",
    "ApiError": "lfnb.errors",
    "AuthError": "lfnb.errors",
    "NotFoundError": "lfnb.errors",
    "RateLimitError": "lfnb.errors",
    "ServerError": "lfnb.errors",
    "PaginationError": "lfnb.errors",
    "QueryValidationError": "lfnb.errors",
    "UnconfirmedWriteError": "lfnb.errors",
    "LakeError": "lfnb.lake",
    "LfnbTruncationWarning": "lfnb.errors",
}

__all__ = sorted(_FACADE) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _FACADE.get(name)
    if module is None:
        raise AttributeError(f"module 'lfnb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
