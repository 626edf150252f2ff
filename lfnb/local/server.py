"""Run lfnb.local in-process: ``with serve() as server: ...``.

The server generates its synthetic data (or opens an existing DuckDB file), starts uvicorn
on 127.0.0.1 in a background thread, waits until ``/api/public/health`` answers, and stops
cleanly when the ``with`` block ends.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from lfnb.local.app import GENERATIONS, create_app
from lfnb.local.faults import FaultPlan
from lfnb.local.generator import generate
from lfnb.local.ratelimit import RateLimiter
from lfnb.local.store import Store

log = logging.getLogger("lfnb.local")

STARTUP_TIMEOUT = 30.0


@dataclass(repr=False)
class LocalServer:
    """A running lfnb.local.

    Attributes
    ----------
    base_url : str
        ``http://127.0.0.1:<port>``.
    public_key, secret_key : str
        The keys it accepts (the secret key never appears in ``repr``).
    store : lfnb.local.store.Store
        The data it serves, for tests that read it directly.
    env : dict
        ``LANGFUSE_BASE_URL``, ``LANGFUSE_HOST``, ``LANGFUSE_PUBLIC_KEY``, ``LANGFUSE_SECRET_KEY``.
    counts : dict
        Rows per table generated at start (empty when an existing store was served).
    app : starlette.applications.Starlette
        The app being served (``app.state.lfnb`` is its :class:`~lfnb.local.app.LocalApi`).
    """

    base_url: str
    public_key: str
    secret_key: str
    store: Store
    generation: str
    counts: dict = field(default_factory=dict)
    app: Any = None

    @property
    def env(self) -> dict[str, str]:
        return {
            "LANGFUSE_BASE_URL": self.base_url,
            "LANGFUSE_HOST": self.base_url,
            "LANGFUSE_PUBLIC_KEY": self.public_key,
            "LANGFUSE_SECRET_KEY": self.secret_key,
        }

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def __repr__(self) -> str:
        return (f"LocalServer(base_url={self.base_url!r}, public_key={self.public_key!r}, "
                f"secret_key='***', generation={self.generation!r})")


class _TransportH11Protocol(H11Protocol):
    """uvicorn's h11 protocol that also hands the app its connection's transport.

    The ``drop`` fault needs to close a connection before any response byte is written;
    ASGI has no message for that, so the transport travels in
    ``scope["extensions"]["lfnb.transport"]``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        inner = self.app

        async def app(scope, receive, send):
            scope.setdefault("extensions", {})["lfnb.transport"] = self.transport
            await inner(scope, receive, send)

        self.app = app


def prepare_store(*, db: str | None = None, store: Store | None = None, seed: int = 0,
                  traces: int = 5000, days: int = 30, anchor: datetime | None = None) -> tuple[Store, dict]:
    """The store to serve and the generated row counts.

    A given ``store`` is served as is. A ``db`` file that already holds traces is served as is;
    otherwise (new file or in-memory) the generator fills it.
    """
    if store is not None:
        return store, {}
    st = Store(db)
    if db and os.path.exists(db) and st.count("traces") > 0:
        return st, {}
    counts = generate(st, seed=seed, traces=traces, days=days, anchor=anchor)
    return st, dict(counts or {})


@contextmanager
def serve(*, port: int = 0, host: str = "127.0.0.1", seed: int = 0, traces: int = 5000, days: int = 30,
          anchor: datetime | None = None, generation: str = "v4", public_key: str = "pk-lf-local",
          secret_key: str = "sk-lf-local", db: str | None = None, rate_limit: Any = None,
          faults: Any = None, latency_ms: float = 0, store: Store | None = None) -> Iterator[LocalServer]:
    """Run lfnb.local in a background thread for the duration of a ``with`` block.

    Parameters
    ----------
    port : int
        0 picks a free port.
    host : str
        Interface to bind; 127.0.0.1 (loopback only) by default.
    seed, traces, days, anchor
        Passed to ``lfnb.local.generator.generate`` (anchor: tz-aware UTC end of the range).
    generation : {"v4", "v3", "both"}
        Which endpoint families answer (see :func:`lfnb.local.app.create_app`).
    public_key, secret_key : str
        The keys HTTP Basic auth accepts.
    db : str, optional
        A DuckDB file: served as is when it holds data, else generated into.
    rate_limit, faults, latency_ms
        See :func:`lfnb.local.app.create_app`; all off by default.
    store : Store, optional
        Serve this store instead of generating one (it is not closed at the end).

    Yields
    ------
    LocalServer

    Examples
    --------
    >>> from lfnb.local import serve
    >>> with serve(traces=50, days=2) as server:          # doctest: +SKIP
    ...     print(server.base_url)
    http://127.0.0.1:54321
    """
    # Settings are checked before data is generated, so a typo fails in milliseconds.
    if generation not in GENERATIONS:
        raise ValueError(f"unknown generation {generation!r}; valid: {', '.join(GENERATIONS)}")
    if isinstance(faults, str):
        faults = FaultPlan.parse(faults) if faults.strip() else None
    if isinstance(rate_limit, str):
        rate_limit = RateLimiter.from_spec(rate_limit)
    own_store = store is None
    st, counts = prepare_store(db=db, store=store, seed=seed, traces=traces, days=days, anchor=anchor)
    app = create_app(st, public_key=public_key, secret_key=secret_key, generation=generation,
                     rate_limit=rate_limit, faults=faults, latency_ms=latency_ms)
    # proto=IPPROTO_TCP matters: asyncio turns on TCP_NODELAY only for sockets whose proto says
    # TCP, and accepted sockets inherit it; without it Nagle + delayed ACK cost ~40 ms a request.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        if own_store:
            st.close()
        raise
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(app, http=_TransportH11Protocol, lifespan="off", log_level="warning",
                            access_log=False, timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name=f"lfnb.local:{bound_port}", daemon=True)
    thread.start()
    base_url = f"http://{host}:{bound_port}"
    try:
        wait_until_ready(base_url, timeout=STARTUP_TIMEOUT, thread=thread)
        yield LocalServer(base_url, public_key, secret_key, st, generation, counts, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        if own_store:
            st.close()


def wait_until_ready(base_url: str, *, timeout: float = 60.0, thread: threading.Thread | None = None) -> float:
    """Poll ``GET /api/public/health`` until it answers 200; the seconds it took.

    Raises
    ------
    TimeoutError
        When it did not answer within ``timeout`` seconds (or the server thread died).
    """
    start = time.monotonic()
    url = base_url.rstrip("/") + "/api/public/health"
    last = "no answer"
    while time.monotonic() - start < timeout:
        if thread is not None and not thread.is_alive():
            raise TimeoutError(f"lfnb.local at {base_url} stopped before it answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return time.monotonic() - start
                last = f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout:g} s (last: {last})")
