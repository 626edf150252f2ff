"""What every read stands on: the transport, the server generation and catalogue requests.

:class:`Session` sits *under* the read methods (:class:`lfnb.reads.lists.ListReads`,
:class:`lfnb.reads.generations.GenerationReads`), so they call only what their base
defines; :class:`lfnb.client.Client` adds construction and the metrics/write entry points.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from lfnb.errors import NotFoundError
from lfnb.http.transport import Transport
from lfnb.langfuse.operations import Operation, build_request

__all__ = ["Session"]


class Session:
    """One transport to one Langfuse project, plus the generation it speaks."""

    def __init__(self, transport: Transport):
        self._transport = transport
        self._generation: str | None = None
        self._generation_lock = threading.Lock()

    @property
    def generation(self) -> str:
        """``"v4"`` or ``"v3"``: probed once with ``GET /api/public/v2/observations?limit=1`` (404 → v3)."""
        if self._generation is None:
            with self._generation_lock:
                if self._generation is None:
                    try:
                        self._transport.request("GET", "/api/public/v2/observations",
                                                params={"limit": 1, "fields": "core"})
                        self._generation = "v4"
                    except NotFoundError:
                        self._generation = "v3"
        return self._generation

    def call(self, name: str, **params: Any) -> Any:
        """Call any catalogue operation by name and return the parsed JSON.

        Path and query parameters are keyword arguments named as in the API
        (``traceId``, ``page``); a JSON request body goes in ``body=``. List
        values become repeated query parameters.

        Raises
        ------
        ConfigError
            Unknown operation, unknown parameter (the message lists the valid
            ones) or a missing required parameter — before any request.
        """
        op, path, query, body = build_request(name, params)
        return self._transport.request(op.method, path, params=query or None, json_body=body)

    def _operation(self, name: str, params: dict | None = None
                   ) -> tuple[Operation, Callable[[dict], Any], dict[str, Any]]:
        """``(operation, fetch(query), query)`` for a catalogue read; ``params`` checked before any request.

        ``None`` values are dropped; ``fetch`` sends one request with the query it is given.
        """
        op, path, query, _ = build_request(name, {k: v for k, v in (params or {}).items() if v is not None})
        transport = self._transport

        def fetch(q: dict) -> Any:
            return transport.request(op.method, path, params=q)

        return op, fetch, query
