"""Langfuse Cloud's public-API rate limits (facts sheet §6), as data.

Both the client's limiter (:mod:`lfnb.http.ratelimit`) and lfnb.local's emulation
(:mod:`lfnb.local.ratelimit`) read these two facts from here:

* :data:`PLANS` — per plan, per rate-limit resource, ``(requests, window seconds)``;
* :func:`resource_of` — which resource a request counts against.

Media and delete endpoints have resources of their own on Cloud whose limits the facts
sheet does not give; they count as ``public-api`` here.
"""

from __future__ import annotations

__all__ = ["PLANS", "MINUTE", "HOUR", "DAY", "resource_of"]

MINUTE, HOUR, DAY = 60, 3600, 86400

PLANS: dict[str, dict[str, tuple[int, int]]] = {
    "hobby": {
        "public-api": (30, MINUTE), "public-api-legacy": (15, MINUTE),
        "public-api-metrics": (100, DAY), "public-api-v2-metrics": (100, DAY),
        "public-api-daily-metrics-legacy": (10, DAY), "datasets": (100, MINUTE),
        "annotation-queues": (100, MINUTE), "ingestion": (1000, MINUTE),
    },
    "core": {
        "public-api": (1000, MINUTE), "public-api-legacy": (30, MINUTE),
        "public-api-metrics": (2000, DAY), "public-api-v2-metrics": (100, HOUR),
        "public-api-daily-metrics-legacy": (200, DAY), "datasets": (1000, MINUTE),
        "annotation-queues": (1000, MINUTE), "ingestion": (20000, MINUTE),
    },
    "pro": {
        "public-api": (1000, MINUTE), "public-api-legacy": (100, MINUTE),
        "public-api-metrics": (2000, DAY), "public-api-v2-metrics": (500, HOUR),
        "public-api-daily-metrics-legacy": (200, DAY), "datasets": (1000, MINUTE),
        "annotation-queues": (1000, MINUTE), "ingestion": (20000, MINUTE),
    },
}

# GETs of these (and of one item below them) are the deprecated v1 reads.
_LEGACY_READS = ("/api/public/traces", "/api/public/observations", "/api/public/sessions")
_DATASETS = ("/api/public/datasets", "/api/public/v2/datasets", "/api/public/dataset-items",
             "/api/public/dataset-run-items")


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def resource_of(method: str, path: str) -> str:
    """The rate-limit resource of ``method path``.

    ``path`` may be concrete (``/api/public/traces/abc``), a template (``…/{traceId}``)
    or a route shape (``…/{}``): only the literal prefix decides.
    """
    if path == "/api/public/metrics/daily":
        return "public-api-daily-metrics-legacy"
    if path == "/api/public/metrics":
        return "public-api-metrics"
    if path == "/api/public/v2/metrics":
        return "public-api-v2-metrics"
    if method.upper() == "GET" and _under(path, _LEGACY_READS):
        return "public-api-legacy"
    if _under(path, ("/api/public/ingestion", "/api/public/otel")):
        return "ingestion"
    if _under(path, _DATASETS):
        return "datasets"
    if _under(path, ("/api/public/annotation-queues",)):
        return "annotation-queues"
    return "public-api"
