"""Request-body size limits of Langfuse's public API routes (facts sheet §5b), as data.

Langfuse's public API routes are Next.js pages-router API routes. Next reads and parses the
body *before* the route's handler runs — so before Langfuse's 405 check, authentication and
rate limiting — and refuses a body larger than the route's
``config.api.bodyParser.sizeLimit`` with status 413 and a plain-text body (no JSON, no
``Content-Type``): ``Body exceeded <limit> limit``, ``<limit>`` being the configured text
(``next/dist/server/api-utils/node/parse-body.js`` and ``api-utils/index.js`` ``sendError``,
Next 16.3.0, the version Langfuse pins). The limit is parsed by the ``bytes`` package
(``1kb`` = 1024 bytes, fractions floored) and a body of exactly that size passes
(``raw-body`` refuses ``received > limit``).

Routes with their own ``sizeLimit`` in Langfuse's ``web/src/pages/api/public/``:
``ingestion.ts`` and ``dataset-items/index.ts`` (``"4.5mb"`` = 4,718,592 bytes; Langfuse's
API docs say 3.5 MB for ingestion batches). Every other pages route keeps Next's default
``"1mb"``; lfnb.local does not emulate that default (no test or notebook sends such bodies).
"""

from __future__ import annotations

import math

__all__ = ["BODY_LIMITS", "body_limit", "limit_bytes", "too_large_text"]

#: (method, route template) -> Next's ``sizeLimit`` text
BODY_LIMITS = {
    ("POST", "/api/public/ingestion"): "4.5mb",
    ("POST", "/api/public/dataset-items"): "4.5mb",
}

_UNITS = {"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40, "pb": 1 << 50}


def limit_bytes(text: str) -> int:
    """A ``bytes``-package size (``"4.5mb"``) in bytes: 1024-based, floored."""
    number = text.strip().lower()
    unit = next((u for u in sorted(_UNITS, key=len, reverse=True) if number.endswith(u)), "b")
    return math.floor(float(number[: len(number) - len(unit)] if number.endswith(unit) else number) * _UNITS[unit])


def body_limit(method: str, template: str) -> tuple[str, int] | None:
    """``(limit text, bytes)`` of a route with its own limit, else None."""
    text = BODY_LIMITS.get((method.upper(), template))
    return None if text is None else (text, limit_bytes(text))


def too_large_text(limit: str) -> str:
    """Next's 413 body (and status message) for a route's ``limit`` text."""
    return f"Body exceeded {limit} limit"
