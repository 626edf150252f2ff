"""What every read stands on: the transport, the server generation and catalogue requests.

:class:`Session` sits *under* the read methods (:class:`lfnb.reads.lists.ListReads`,
:class:`lfnb.reads.generations.GenerationReads`), so they call only what their base
defines; :class:`lfnb.client.Client` adds construction and the metrics/write entry points.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from lfnb.errors import ApiError, ConfigError, NotFoundError
from lfnb.http.transport import Body, Transport
from lfnb.langfuse.operations import UPSERTS_BY_ID, Operation, build_request

__all__ = ["Session"]


class Session:
    """One transport to one Langfuse project, plus the generation it speaks."""

    def __init__(self, transport: Transport):
        self._transport = transport
        self._generation: str | None = None
        self._generation_lock = threading.Lock()

    @property
    def generation(self) -> str:
        """``"v4"`` or ``"v3"``: probed once with ``GET /api/public/v2/observations?limit=1`` (404 → v3).

        A 404 counts as v3 only when ``GET /api/public/health`` answers like Langfuse;
        otherwise (or when the probe's answer is not a Langfuse page) ``ConfigError``:
        the base URL does not point at a Langfuse server.
        """
        if self._generation is None:
            with self._generation_lock:
                if self._generation is None:
                    self._generation = _detect_generation(self._transport)
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
            ones), a missing required parameter or a body that is not JSON — before any request.
        UnconfirmedWriteError, ServerError
            A write whose answer was lost (or a 5xx): it may have been applied and was not
            retried, unless it upserts on an ``id`` the body carries (``UPSERTS_BY_ID``).
        """
        if not isinstance(name, str):
            raise ConfigError(f"call() needs an operation name such as 'trace_list', got {name!r}; "
                              f"lf.operations() lists them")
        op, path, query, body = build_request(name, params)
        upsert = op.name in UPSERTS_BY_ID and isinstance(body, dict) and bool(body.get("id"))
        return self._transport.request(op.method, path, params=query or None, json_body=body,
                                       idempotent=True if upsert else None)

    def _operation(self, name: str, params: dict | None = None
                   ) -> tuple[Operation, Callable[[dict], Any], dict[str, Any]]:
        """``(operation, fetch(query), query)`` for a catalogue read; ``params`` checked before any request.

        ``None`` values are dropped; ``fetch`` sends one request with the query it is given and
        returns the body unparsed (:class:`lfnb.http.transport.Body`; the read parses it with
        :func:`lfnb.reads.pagination.parsed` in the thread that converts the pages).
        """
        op, path, query, _ = build_request(name, {k: v for k, v in (params or {}).items() if v is not None})
        transport = self._transport

        def fetch(q: dict, max_retries: int | None = None) -> Body:
            return transport.send(op.method, path, params=q, max_retries=max_retries)

        return op, fetch, query


def _detect_generation(transport: Transport) -> str:
    probe = "/api/public/v2/observations"
    try:
        page = transport.request("GET", probe, params={"limit": 1, "fields": "core"})
    except NotFoundError as exc:
        try:
            health = transport.request("GET", "/api/public/health")
        except ApiError as health_exc:
            health, answer = None, f"HTTP {health_exc.status}"
        else:
            answer = "a body that is not Langfuse's health answer"
        if isinstance(health, dict) and "status" in health:
            return "v3"
        raise ConfigError(
            f"{transport.base_url} does not look like a Langfuse server: GET {exc.url} answered HTTP 404 and "
            f"GET {transport.base_url}/api/public/health answered {answer}. base_url must be the root of a "
            f"Langfuse server, e.g. https://cloud.langfuse.com") from None
    if not (isinstance(page, dict) and isinstance(page.get("data"), list)):
        raise ConfigError(
            f"{transport.base_url} does not look like a Langfuse server: GET {transport.base_url}{probe}?limit=1"
            f"&fields=core answered HTTP 200 without a data list. base_url must be the root of a Langfuse "
            f"server, e.g. https://cloud.langfuse.com")
    return "v4"
