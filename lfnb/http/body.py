"""An answer of the transport that is not parsed yet: parsed by :meth:`Body.json` in the thread that calls it.

Parallel reads fetch bodies in I/O threads (``requests`` releases the GIL while it
waits) and parse every page in one thread (see :mod:`lfnb.reads.windows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orjson import loads as _loads  # a dependency: 2-3x faster than json.loads on large pages

__all__ = ["Body", "Call"]


@dataclass(frozen=True)
class Call:
    """One request as :meth:`Transport.send <lfnb.http.transport.Transport.send>` was asked for it
    (what a retry sends again)."""

    method: str
    url: str
    shown: str      # path and query for messages
    full: str       # base URL + shown
    resource: str   # rate-limit resource
    params: Any
    data: bytes | None
    retries: int
    read_timeout: float
    idempotent: bool


class Body:
    """An answer below HTTP 400, not parsed yet: :meth:`json` parses it in the calling thread.

    Its repr shows the size only (never the content or the request's credentials).
    """

    # ``transport``: the lfnb.http.transport.Transport that sent it (not imported: it imports this module)
    __slots__ = ("_transport", "call", "content", "status", "attempt", "reached")

    def __init__(self, transport: Any, call: Call, content: bytes, status: int, attempt: int, reached: bool):
        self._transport, self.call = transport, call
        self.content, self.status = content, status
        self.attempt, self.reached = attempt, reached  # attempts before this answer; an earlier one may have landed

    def json(self) -> Any:
        """The parsed JSON (None when the body is empty).

        A body that is not JSON (cut short) is fetched again while the request's retry
        budget lasts, as :meth:`Transport.request` does; then ``TransportError`` (or
        ``UnconfirmedWriteError`` for a write).
        """
        body = self
        while True:
            if not body.content:
                return None
            try:
                return _loads(body.content)
            except ValueError:
                pass
            body = self._transport.resend_not_json(body)

    def __repr__(self) -> str:
        return f"Body(HTTP {self.status}, {len(self.content)} bytes)"
