"""Transport: one ``requests.Session`` to a Langfuse server; knows no resource.

Basic auth (public key / secret key), a connection pool sized for the worker
threads, connect/read timeouts, retries with capped exponential backoff and
jitter on 429, 5xx, 524 and connection errors (honouring ``Retry-After``
seconds; ``X-RateLimit-Reset`` is a date string and is ignored), and errors
mapped to :mod:`lfnb.errors`. No ``requests`` exception escapes, and the secret
key is never part of a repr, a log record or an exception.
"""

from __future__ import annotations

import base64
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import requests
from orjson import loads as _loads  # a dependency: 2-3x faster than json.loads on large pages
from requests.adapters import HTTPAdapter

from lfnb.errors import (
    ApiError,
    AuthError,
    ConfigError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
)
from lfnb.http.ratelimit import RateLimiter
from lfnb.langfuse.ratelimits import resource_of

__all__ = ["Transport", "RETRY_STATUSES"]

log = logging.getLogger("lfnb.http.transport")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 524})
_USER_AGENT = "lfnb/0.1"


class _BasicAuth(requests.auth.AuthBase):
    """Basic auth whose repr and str never show the credentials."""

    def __init__(self, public_key: str, secret_key: str):
        token = base64.b64encode(f"{public_key}:{secret_key}".encode()).decode("ascii")
        self._header = f"Basic {token}"

    def __call__(self, request):
        request.headers["Authorization"] = self._header
        return request

    def __repr__(self) -> str:
        return "_BasicAuth(***)"

    __str__ = __repr__


class Transport:
    """Sends requests to one Langfuse server and returns parsed JSON.

    Parameters
    ----------
    base_url : str
        E.g. ``https://cloud.langfuse.com`` or ``http://127.0.0.1:3000``.
    public_key, secret_key : str
    timeout : float
        Read timeout in seconds (the connect timeout is ``min(timeout, 10)``).
    max_retries : int
        Retries after the first attempt on 429/5xx/524/connection errors.
    backoff, max_backoff : float
        Exponential backoff ``backoff * 2**attempt`` capped at ``max_backoff``,
        with full jitter in its upper half. ``Retry-After`` wins when larger
        (itself capped at ``max_retry_after``).
    pool_size : int
        Connections kept per host (at least the number of worker threads).
    rate_limiter : RateLimiter or None
        Shared by every thread using this transport.
    """

    def __init__(self, base_url: str, public_key: str, secret_key: str, *, timeout: float = 60.0,
                 max_retries: int = 5, backoff: float = 0.25, max_backoff: float = 8.0,
                 max_retry_after: float = 60.0, pool_size: int = 16,
                 rate_limiter: RateLimiter | None = None):
        if not base_url or not str(base_url).startswith(("http://", "https://")):
            raise ConfigError(f"base_url must start with http:// or https://, got {base_url!r}")
        if not public_key or not secret_key:
            raise ConfigError("public_key and secret_key are required "
                              "(or set LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY)")
        self.base_url = str(base_url).rstrip("/")
        self.public_key = public_key
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.max_retry_after = float(max_retry_after)
        self.rate_limiter = rate_limiter
        self._session = requests.Session()
        self._session.auth = _BasicAuth(public_key, secret_key)
        self._session.headers.update({"User-Agent": _USER_AGENT, "Accept": "application/json"})
        self.pool_size = max(int(pool_size), 4)  # parallel reads use at most this many connections
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=self.pool_size, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._lock = threading.Lock()
        self.retries = 0
        self.requests = 0
        # Called as on_retry(reason) on every retry (progress bars count them).
        self.on_retry: Callable[[str], None] | None = None

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, public_key={self.public_key!r})"

    def close(self) -> None:
        self._session.close()

    # ------------------------------------------------------------------ requests
    def request(self, method: str, path: str, *, params: dict | list | None = None, json_body: Any = None,
                timeout: float | None = None, max_retries: int | None = None) -> Any:
        """Send ``method path`` and return the parsed JSON body (None when empty).

        ``params`` may be a dict (lists become repeated parameters) or a list of
        pairs. ``timeout``/``max_retries`` override the transport's for one call
        (the parallel extractor uses ``max_retries=0`` on windows it can split).

        Raises
        ------
        AuthError, NotFoundError, RateLimitError, ServerError, ApiError, TransportError
        """
        url = self.base_url + path
        shown = _display_url(path, params)
        resource = resource_of(method, path)
        retries = self.max_retries if max_retries is None else max_retries
        read_timeout = self.timeout if timeout is None else timeout
        attempt = 0
        while True:
            if self.rate_limiter is not None:
                self.rate_limiter.acquire(resource)
            try:
                with self._lock:
                    self.requests += 1
                resp = self._session.request(method, url, params=params, json=json_body,
                                             timeout=(min(read_timeout, 10.0), read_timeout))
                content = resp.content  # reads the whole body: a dropped connection fails here
            except requests.RequestException as exc:
                # Only the exception's class name: its text can echo request details.
                reason = type(exc).__name__
                if attempt < retries:
                    attempt = self._retry(attempt, None, f"{method} {shown}: {reason}")
                    continue
                raise TransportError(
                    f"{method} {shown} got no answer from {self.base_url} after {attempt + 1} "
                    f"attempt{'s' if attempt else ''} ({reason}). Is the server running and the base_url right?"
                ) from None
            status = resp.status_code
            if status < 400:
                if not content:
                    return None
                try:
                    return _loads(content)
                except ValueError:
                    # A body cut short by a dropped connection: retry like a connection error.
                    if attempt < retries:
                        attempt = self._retry(attempt, None, f"{method} {shown}: truncated JSON body")
                        continue
                    raise TransportError(f"{method} {shown}: the server sent a body that is not JSON "
                                         f"(HTTP {status}, {len(content)} bytes)") from None
            retry_after = _retry_after(resp.headers.get("Retry-After"))
            if status in RETRY_STATUSES and attempt < retries:
                attempt = self._retry(attempt, retry_after, f"{method} {shown}: HTTP {status}")
                continue
            raise _api_error(status, method, shown, content, retry_after)

    def _retry(self, attempt: int, retry_after: float | None, reason: str) -> int:
        delay = min(self.max_backoff, self.backoff * (2 ** attempt))
        delay = delay * (0.5 + random.random() / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_retry_after))
        with self._lock:
            self.retries += 1
        log.info("retrying %s in %.2fs (attempt %d)", reason, delay, attempt + 1)
        if self.on_retry is not None:
            self.on_retry(reason)
        time.sleep(delay)
        return attempt + 1


def _display_url(path: str, params: dict | list | None) -> str:
    """Path and query for messages (credentials are never part of either)."""
    if not params:
        return path
    query = urlencode(params, doseq=True)
    if len(query) > 300:
        query = query[:300] + "…"
    return f"{path}?{query}"


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # HTTP-date form: not sent by Langfuse; fall back to backoff
    return max(seconds, 0.0)


def _api_error(status: int, method: str, url: str, content: bytes, retry_after: float | None) -> ApiError:
    body = content.decode("utf-8", "replace")
    if status in (401, 403):
        return AuthError(status, method, url, body)
    if status == 404:
        return NotFoundError(status, method, url, body)
    if status == 429:
        return RateLimitError(status, method, url, body, retry_after=retry_after)
    if status >= 500:
        return ServerError(status, method, url, body)
    return ApiError(status, method, url, body)
