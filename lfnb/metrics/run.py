"""One metrics query end to end: validate, (cache), GET, typed frame.

The client (``lfnb.client``) calls :func:`run_query` with its own transport, so
this module never does HTTP itself and stays testable with a plain function.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pandas as pd

from lfnb.metrics.cache import MetricsCache
from lfnb.metrics.frames import metrics_frame
from lfnb.metrics.query import MetricsQuery, as_query_dict
from lfnb.metrics.validation import validate_query

PATHS = {"v1": "/api/public/metrics", "v2": "/api/public/v2/metrics"}
# v2 silently truncates at 100 rows when config.row_limit is absent; lfnb sends
# the maximum explicitly instead (facts §2.5, §9). Not applied to v1 (no default).
V2_EXPLICIT_ROW_LIMIT = 1000


def prepare_query(query: MetricsQuery | dict | str, version: str = "v2") -> dict:
    """The validated, normalised query that will be sent (v2: explicit row_limit added)."""
    q = validate_query(as_query_dict(query), version)
    if version == "v2" and "row_limit" not in (q.get("config") or {}):
        q["config"] = {**(q.get("config") or {}), "row_limit": V2_EXPLICIT_ROW_LIMIT}
    return q


def run_query(
    transport_get: Callable[[str, dict], Any],
    query: MetricsQuery | dict | str,
    version: str = "v2",
    cache: MetricsCache | None = None,
    cache_key_parts: tuple[str, str | None] = ("", None),
) -> pd.DataFrame:
    """Run a metrics query and return its typed frame.

    Parameters
    ----------
    transport_get : callable
        ``transport_get(path, params) -> parsed JSON body``; called with
        ``"/api/public/v2/metrics"`` (or ``/api/public/metrics`` for v1) and
        ``{"query": <JSON text>}``. It raises lfnb's ApiError family on 4xx/5xx.
    query : MetricsQuery, dict or str
    version : {"v2", "v1"}
    cache : MetricsCache, optional
        When given, a fresh cached result is returned without a request and a
        new result is stored.
    cache_key_parts : (base_url, project_id)
        The server identity the cache key includes (no credentials).

    Raises
    ------
    lfnb.errors.QueryValidationError
        Before any request, when the query is invalid for ``version``.
    """
    q = prepare_query(query, version)
    base_url, project_id = cache_key_parts
    data = cache.get(base_url, project_id, q, version) if cache is not None else None
    if data is None:
        body = transport_get(PATHS[version], {"query": json.dumps(q, separators=(",", ":"))})
        data = body.get("data", []) if isinstance(body, dict) else []
        if cache is not None:
            cache.put(base_url, project_id, q, version, data)
    return metrics_frame(data, q, version=version)
