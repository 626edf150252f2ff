"""The route table of lfnb.local: every operation it knows, how a path matches, who handles it.

Every operation of the catalogue the client uses (:data:`lfnb.langfuse.operations.OPERATIONS`:
the 86 seed operations plus ``GET /api/public/v3/scores``, ``/experiments`` and
``/experiment-items``) is routed. Reads that only a v4 write mode serves refuse on a v3
server *inside* their handlers, after parameter validation, as Langfuse does
(:func:`lfnb.local.handlers.require_v4`). Handlers come from the
other modules of ``lfnb.local`` (resources, observations v2, metrics engine), imported directly;
an operation lfnb.local does not emulate (SCIM, media, organisations, …) stays routed and
answers 501, so a client learns *which* operation is missing instead of getting a bare 404.

Paths are matched segment by segment on the *raw* (still percent-encoded) path, and each
segment is decoded only after splitting, so a prompt or dataset name holding an encoded
``/`` (``a%2Fb``) stays one path parameter, as it does in Next.js.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from lfnb.langfuse.operations import OPERATIONS
from lfnb.local import engine, observations_v2
from lfnb.local.resources import ROUTES, experiments

HEALTH_PATH = "/api/public/health"

# Routes a Langfuse v4 deployment in events_only mode refuses with 404 before auth and
# parameter validation: every route built with ``rejectInEventsOnlyMode: true``
# (``web/src/features/public-api/server/createAuthedProjectAPIRoute.ts``; ``git grep
# rejectInEventsOnlyMode web/src/pages``) that lfnb.local routes. The facts sheet's list
# (§2.9) misses the dataset-run routes and ``/metrics/daily``.
EVENTS_ONLY_REJECTED = frozenset({
    ("GET", "/api/public/traces"), ("GET", "/api/public/traces/{}"),
    ("GET", "/api/public/observations"), ("GET", "/api/public/observations/{}"),
    ("GET", "/api/public/sessions"), ("GET", "/api/public/sessions/{}"),
    ("GET", "/api/public/v2/scores"), ("GET", "/api/public/v2/scores/{}"),
    ("GET", "/api/public/metrics"), ("GET", "/api/public/metrics/daily"),
    ("GET", "/api/public/dataset-run-items"), ("GET", "/api/public/datasets/{}/runs"),
    ("GET", "/api/public/datasets/{}/runs/{}"), ("DELETE", "/api/public/datasets/{}/runs/{}"),
})

# Cursor-paginated reads: the only ones the ``empty``/``short`` faults apply to.
CURSOR_READS = frozenset({("GET", "/api/public/v2/observations"), ("GET", "/api/public/v3/scores")})

_PARAM = re.compile(r"^\{([^{}/]+)\}$")


def shape(template: str) -> str:
    """A template with every ``{param}`` replaced by ``{}`` (the key two spellings share)."""
    return "/".join("{}" if _PARAM.match(seg) else seg for seg in template.split("/"))


@dataclass
class Operation:
    """One routed operation: where it lives and who answers it (``handler`` None → 501)."""

    method: str
    template: str
    name: str
    handler: Callable[[Any, Any], Any] | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, shape(self.template))


class RouteTable:
    """Operations indexed by path shape; ``match`` resolves a raw request path."""

    def __init__(self) -> None:
        self._ops: dict[tuple[str, str], Operation] = {}
        self._shapes: dict[int, list[tuple[list[str | None], str]]] = {}

    def add(self, op: Operation) -> None:
        """Add or replace (a later registration with a handler wins over a bare entry)."""
        key = op.key
        old = self._ops.get(key)
        if old is not None and op.handler is None:
            return
        if old is not None:
            op.name = old.name  # the seed catalogue names operations
        self._ops[key] = op
        segs = key[1].split("/")
        pattern = [None if s == "{}" else s for s in segs]
        bucket = self._shapes.setdefault(len(segs), [])
        if (pattern, key[1]) not in bucket:
            bucket.append((pattern, key[1]))

    def operations(self) -> list[Operation]:
        return list(self._ops.values())

    def get(self, method: str, template: str) -> Operation | None:
        return self._ops.get((method, shape(template)))

    def match(self, method: str, raw_path: str) -> tuple[Operation | None, dict[str, str], list[str]]:
        """``(operation, path params, allowed methods)`` for a raw path.

        The operation is None when the path is unknown (allowed is empty) or when the
        path exists under other methods only (allowed lists them, for a 405).
        """
        path = raw_path.rstrip("/") or "/"
        segs = path.split("/")
        candidates = []
        for pattern, shp in self._shapes.get(len(segs), []):
            if all(p is None or p == s for p, s in zip(pattern, segs)):
                # literal segments beat parameters (``/organizations/apiKeys`` before ``/{id}``)
                literal = sum(p is not None for p in pattern)
                candidates.append((literal, shp))
        candidates.sort(key=lambda c: -c[0])
        allowed: list[str] = []
        for _, shp in candidates:
            op = self._ops.get((method, shp))
            if op is None:
                allowed.extend(m for (m, s) in self._ops if s == shp and m not in allowed)
                continue
            names = [_PARAM.match(s).group(1) for s in op.template.split("/") if _PARAM.match(s)]
            values = [unquote(s) for s, p in zip(segs, shp.split("/")) if p == "{}"]
            return op, dict(zip(names, values)), []
        return None, {}, allowed


def build_table() -> RouteTable:
    """Every catalogue operation, with the handler of each one lfnb.local emulates."""
    table = RouteTable()
    for op in OPERATIONS.values():
        table.add(Operation(op.method, op.path, op.name, None))
    handled = list(ROUTES) + [
        ("GET", "/api/public/v2/observations", "observations_v2_get_many", observations_v2.get_observations_v2),
        ("GET", "/api/public/metrics", "metrics_metrics", engine.handle_metrics_v1),
        ("GET", "/api/public/v2/metrics", "metrics_v2_metrics", engine.handle_metrics_v2),
        ("GET", "/api/public/experiments", "experiments_list", experiments.experiments_list),
        ("GET", "/api/public/experiment-items", "experiments_list_items", experiments.experiments_list_items),
    ]
    for method, template, name, handler in handled:
        table.add(Operation(method.upper(), template, name, handler))
    return table
