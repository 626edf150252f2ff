"""Transport: one ``requests.Session`` to a Langfuse server; knows no resource.

Basic auth (public key / secret key), a connection pool sized for the worker
threads, connect/read timeouts, retries with capped exponential backoff and
jitter on 429, 5xx, 524 and connection errors (honouring ``Retry-After``
seconds; ``X-RateLimit-Reset`` is a date string and is ignored), and errors
mapped to :mod:`lfnb.errors`. No ``requests`` exception escapes (not even as
``__context__``), and the secret key is never part of a repr, a log record or
an exception (quoted bodies are redacted).

Which failures are retried
--------------------------
================================ ===================== ===============================
failure                          idempotent request    write without an upsert id
================================ ===================== ===============================
429 (nothing was applied)        retried               retried
connection never made (refused,  retried               retried
DNS, connect timeout)
5xx / 524, connection lost after retried               not retried: ``ServerError`` /
the request was sent, timeout                          ``UnconfirmedWriteError`` saying
                                                       the write *may* have been applied
TLS handshake failed             not retried           not retried
================================ ===================== ===============================

GET, HEAD, OPTIONS, PUT and DELETE are idempotent; POST and PATCH only when the
caller says so (``idempotent=True``: the body carries an id the server upserts on).

Waits for a rate limit (a ``Retry-After``, the client-side limiter) longer than
``max_retry_after`` seconds are not slept: :class:`~lfnb.errors.RateLimitError`
is raised at once, naming the limit, when it resets and what to do. Shorter waits
are announced to the wait listeners (progress bars) before sleeping.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from lfnb.errors import (
    ApiError,
    AuthError,
    ConfigError,
    LfnbError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
    UnconfirmedWriteError,
    redact,
)
from lfnb.http.body import Body, Call
from lfnb.http.ratelimit import RateLimiter
from lfnb.langfuse.ratelimits import resource_of

__all__ = ["Transport", "Body", "RETRY_STATUSES", "IDEMPOTENT_METHODS", "json_problem"]

log = logging.getLogger("lfnb.http.transport")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 524})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_USER_AGENT = "lfnb/0.1"
_WRITE_HINT = ("It was not retried, because a retry could apply it twice; check whether it exists "
               "before sending it again")


class _BasicAuth(requests.auth.AuthBase):
    """Basic auth whose repr and str never show the credentials."""

    def __init__(self, public_key: str, secret_key: str):
        token = base64.b64encode(f"{public_key}:{secret_key}".encode()).decode("ascii")
        self._header = f"Basic {token}"
        self._hidden = (secret_key, token)

    def __call__(self, request):
        request.headers["Authorization"] = self._header
        return request

    def redact(self, text: str) -> str:
        """``text`` without the secret key or the encoded credentials."""
        return redact(text, *self._hidden)

    def __repr__(self) -> str:
        return "_BasicAuth(***)"

    __str__ = __repr__


class Transport:
    """Sends requests to one Langfuse server and returns parsed JSON.

    Parameters
    ----------
    base_url : str
        The server's root, e.g. ``https://cloud.langfuse.com`` or ``http://127.0.0.1:3000``
        (not ``…/api/public``: paths are appended to it).
    public_key, secret_key : str
    timeout : float
        Read timeout in seconds, > 0 (the connect timeout is ``min(timeout, 10)``).
    max_retries : int
        Retries after the first attempt on 429/5xx/524/connection errors (see the
        module docstring for what is retried for writes).
    backoff, max_backoff : float
        Exponential backoff ``backoff * 2**attempt`` capped at ``max_backoff``,
        with full jitter in its upper half. ``Retry-After`` wins when larger.
    max_retry_after : float
        Longest wait for a rate limit, seconds (default 60). A ``Retry-After`` or a
        client-side limiter wait above it raises :class:`~lfnb.errors.RateLimitError`
        at once instead of sleeping.
    pool_size : int
        Connections kept per host (at least the number of worker threads).
    rate_limiter : RateLimiter or None
        Shared by every thread using this transport.
    """

    def __init__(self, base_url: str, public_key: str, secret_key: str, *, timeout: float = 60.0,
                 max_retries: int = 5, backoff: float = 0.25, max_backoff: float = 8.0,
                 max_retry_after: float = 60.0, pool_size: int = 16,
                 rate_limiter: RateLimiter | None = None):
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base_url must start with http:// or https://, got {base_url!r}")
        if not public_key or not secret_key:
            raise ConfigError("public_key and secret_key are required "
                              "(or set LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY)")
        if not isinstance(public_key, str) or not isinstance(secret_key, str):
            raise ConfigError("public_key and secret_key must be strings")
        self.base_url = _check_base_url(base_url)
        self.public_key = public_key
        self.timeout = _positive("timeout", timeout)
        self.max_retries = _count("max_retries", max_retries)
        self.backoff = _positive("backoff", backoff, zero=True)
        self.max_backoff = _positive("max_backoff", max_backoff, zero=True)
        self.max_retry_after = _positive("max_retry_after", max_retry_after, zero=True, infinite=True)
        self.rate_limiter = rate_limiter
        self._session = requests.Session()
        self._session.auth = _BasicAuth(public_key, secret_key)
        self._session.headers.update({"User-Agent": _USER_AGENT, "Accept": "application/json"})
        # parallel reads use at most this many connections
        self.pool_size = max(_count("pool_size", pool_size), 4)
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=self.pool_size, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._lock = threading.Lock()
        self.retries = 0
        self.requests = 0
        # Called as on_retry(reason) on every retry (progress bars count them).
        self.on_retry: Callable[[str], None] | None = None
        self._wait_listeners: list[Callable[[float, str], None]] = []

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, public_key={self.public_key!r})"

    def close(self) -> None:
        self._session.close()

    # ------------------------------------------------------------------ waits
    def add_wait_listener(self, fn: Callable[[float, str], None]) -> None:
        """Call ``fn(seconds, reason)`` before every sleep for a rate limit.

        ``reason`` reads after "waiting N s for", e.g. ``"the rate limit (public-api)"``.
        """
        with self._lock:
            self._wait_listeners.append(fn)

    def remove_wait_listener(self, fn: Callable[[float, str], None]) -> None:
        """Stop calling ``fn`` (no error when it was not registered)."""
        with self._lock:
            if fn in self._wait_listeners:
                self._wait_listeners.remove(fn)

    def _wait(self, seconds: float, reason: str) -> None:
        with self._lock:
            listeners = list(self._wait_listeners)
        log.info("waiting %.1fs for %s", seconds, reason)
        for fn in listeners:
            fn(seconds, reason)
        time.sleep(seconds)

    # ------------------------------------------------------------------ requests
    def request(self, method: str, path: str, *, params: dict | list | None = None, json_body: Any = None,
                timeout: float | None = None, max_retries: int | None = None,
                idempotent: bool | None = None) -> Any:
        """Send ``method path`` and return the parsed JSON body (None when empty).

        ``params`` may be a dict (lists become repeated parameters) or a list of
        pairs. ``timeout``/``max_retries`` override the transport's for one call.
        ``idempotent`` (default: by method) says whether the request may be sent
        again after it may have reached the server; pass True for a write whose
        body carries an id the server upserts on.

        Raises
        ------
        ConfigError
            ``json_body`` is not JSON (NaN/infinity, a set, an object): nothing is sent.
        AuthError, NotFoundError, RateLimitError, ServerError, ApiError, TransportError, UnconfirmedWriteError
        """
        return self.send(method, path, params=params, json_body=json_body, timeout=timeout,
                         max_retries=max_retries, idempotent=idempotent).json()

    def send(self, method: str, path: str, *, params: dict | list | None = None, json_body: Any = None,
             timeout: float | None = None, max_retries: int | None = None,
             idempotent: bool | None = None) -> Body:
        """Like :meth:`request`, but the JSON is parsed later, by :meth:`Body.json`, in the caller's thread.

        Parallel reads fetch bytes in I/O threads (``requests`` releases the GIL while
        it waits) and parse every page in one thread. Every error of :meth:`request`
        is raised here, except a body that is not JSON: :meth:`Body.json` fetches it
        again with the retries this call has left, or raises what :meth:`request` raises.
        """
        method = method.upper()
        shown = _display_url(path, params)
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        data = None if json_body is None else _encode_body(json_body, method, shown)
        call = Call(method=method, url=self.base_url + path, shown=shown, full=self.base_url + shown,
                     resource=resource_of(method, path), params=params, data=data,
                     retries=self.max_retries if max_retries is None else max_retries,
                     read_timeout=self.timeout if timeout is None else timeout, idempotent=idempotent)
        return self._exchange(call, attempt=0, reached=False)

    def _exchange(self, call: Call, *, attempt: int, reached: bool) -> Body:
        """Send ``call`` until an answer below 400 (a :class:`Body`), retrying as the module docstring says.

        ``reached``: an earlier attempt may have been applied by the server.
        """
        method, shown = call.method, call.shown
        headers = {"Content-Type": "application/json"} if call.data is not None else None
        while True:
            if self.rate_limiter is not None:
                self._limit(call.resource, method, call.full)
            failure: LfnbError | None = None
            try:
                with self._lock:
                    self.requests += 1
                resp = self._session.request(method, call.url, params=call.params, data=call.data, headers=headers,
                                             timeout=(min(call.read_timeout, 10.0), call.read_timeout))
                content = resp.content  # reads the whole body: a dropped connection fails here
            except requests.RequestException as exc:
                # Only the exception's class name: its text can echo request details.
                reason = type(exc).__name__
                sent = not _never_sent(exc)
                reached = reached or sent
                if isinstance(exc, requests.exceptions.SSLError):
                    failure = TransportError(
                        f"{method} {shown}: the TLS handshake with {self.base_url} failed ({reason}). "
                        f"Does the server speak https? For a plain-http server the base_url starts with http://")
                elif attempt < call.retries and (call.idempotent or not sent):
                    attempt = self._retry(attempt, None, f"{method} {shown}: {reason}")
                    continue
                elif sent and not call.idempotent:
                    failure = UnconfirmedWriteError(
                        f"{method} {shown} was sent to {self.base_url}, but no answer came back ({reason}): "
                        f"the write MAY have been applied. {_WRITE_HINT}.")
                else:
                    failure = TransportError(
                        f"{method} {shown} got no answer from {self.base_url} after {attempt + 1} "
                        f"attempt{'s' if attempt else ''} ({reason}). Is the server running and the base_url right?")
            if failure is not None:
                # Raised here, outside the except block, so that no requests exception (whose
                # request still holds the Authorization header) stays reachable as __context__.
                failure.may_have_applied = reached and method not in ("GET", "HEAD", "OPTIONS")
                raise failure
            status = resp.status_code
            if status < 400:
                return Body(self, call, content, status, attempt, reached)
            reached = reached or status >= 500   # a 4xx refused this attempt; an earlier one may have landed
            retry_after = _retry_after(resp.headers.get("Retry-After"))
            too_long = retry_after is not None and retry_after > self.max_retry_after
            if (status in RETRY_STATUSES and attempt < call.retries and not too_long
                    and (call.idempotent or status == 429)):
                attempt = self._retry(attempt, retry_after, f"{method} {shown}: HTTP {status}",
                                      wait_reason=_wait_reason(status, call.resource))
                continue
            error = self._api_error(resp, status, method, call.full, content, retry_after, call.resource,
                                    call.idempotent, too_long)
            error.may_have_applied = reached and method not in ("GET", "HEAD", "OPTIONS")
            raise error

    def resend_not_json(self, body: Body) -> Body:
        """For :meth:`Body.json`: a 2xx/3xx body that is not JSON (cut short by a dropped connection):
        the answer of a retry while the request's budget lasts, else the error :meth:`request` raises."""
        call = body.call
        if body.attempt < call.retries and call.idempotent:
            attempt = self._retry(body.attempt, None, f"{call.method} {call.shown}: truncated JSON body")
            return self._exchange(call, attempt=attempt, reached=body.reached)
        cls = TransportError if call.idempotent else UnconfirmedWriteError
        failure = cls(f"{call.method} {call.shown}: the server sent a body that is not JSON "
                      f"(HTTP {body.status}, {len(body.content)} bytes)"
                      + ("" if call.idempotent else f": the write was probably applied. {_WRITE_HINT}."))
        failure.may_have_applied = call.method not in ("GET", "HEAD", "OPTIONS")
        raise failure

    def _limit(self, resource: str, method: str, full: str) -> None:
        """Wait for the client-side limiter (announced), or raise when the wait is too long."""
        taken, wait = self.rate_limiter.try_reserve(resource, self.max_retry_after)
        if not taken:
            reset = _when(wait)
            raise RateLimitError(
                429, method, full, "", retry_after=wait, resource=resource, client_side=True,
                message=(f"the client-side rate limit ({self.rate_limiter.describe(resource)} for "
                         f"{resource}) has its next free slot in {_duration(wait)} (at {reset})"),
                note=(f"lfnb waits at most max_retry_after={self.max_retry_after:g} s rather than block silently. "
                      f"{_what_to_do(resource)}"))
        if wait > 0:
            self._wait(wait, f"the rate limit ({resource})")

    def _retry(self, attempt: int, retry_after: float | None, reason: str, wait_reason: str | None = None) -> int:
        delay = min(self.max_backoff, self.backoff * (2 ** attempt))
        delay = delay * (0.5 + random.random() / 2)
        with self._lock:
            self.retries += 1
        log.info("retrying %s in %.2fs (attempt %d)", reason, max(delay, retry_after or 0.0), attempt + 1)
        if self.on_retry is not None:
            self.on_retry(reason)
        if retry_after is not None and retry_after >= delay:
            self._wait(retry_after, wait_reason or "the server's Retry-After")
        else:
            time.sleep(delay)
        return attempt + 1

    def _api_error(self, resp: requests.Response, status: int, method: str, url: str, content: bytes,
                   retry_after: float | None, resource: str, idempotent: bool, too_long: bool) -> ApiError:
        body = self._session.auth.redact(content.decode("utf-8", "replace"))
        if status in (401, 403):
            return AuthError(status, method, url, body)
        if status == 404:
            return NotFoundError(status, method, url, body)
        if status == 429:
            limit = resp.headers.get("X-RateLimit-Limit")
            which = f"{resource} (limit {limit})" if limit else resource
            if retry_after is None:
                when = "The server did not say when it resets"
            else:
                when = f"It resets in {_duration(retry_after)} (at {_when(retry_after)})"
            stop = (f"; lfnb waits at most max_retry_after={self.max_retry_after:g} s, so it stops now "
                    f"instead of hanging" if too_long else "")
            return RateLimitError(status, method, url, body, retry_after=retry_after, resource=resource,
                                  note=f"Rate limit: {which}. {when}{stop}. {_what_to_do(resource)}")
        note = "" if idempotent or status < 500 else f"The write MAY have been applied. {_WRITE_HINT}"
        if too_long and status in RETRY_STATUSES:
            note = (f"{note + '. ' if note else ''}Retry-After was {_duration(retry_after)}, more than "
                    f"max_retry_after={self.max_retry_after:g} s")
        if status >= 500:
            return ServerError(status, method, url, body, note=note)
        return ApiError(status, method, url, body, note=note)


def _check_base_url(base_url: str) -> str:
    """The base URL without a trailing slash; a ConfigError when it names an API path."""
    url = base_url.rstrip("/")
    parts = urlsplit(url)
    if not parts.netloc:
        raise ConfigError(f"base_url has no host: {base_url!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"base_url must not have a query or fragment: {base_url!r}")
    cut = parts.path.find("/api/public")
    if cut < 0 and parts.path.endswith("/api"):
        cut = len(parts.path) - len("/api")
    if cut >= 0:
        root = f"{parts.scheme}://{parts.netloc}{parts.path[:cut]}"
        raise ConfigError(f"base_url must be the server's root: lfnb adds /api/public/… itself. "
                          f"Got {base_url!r}; use {root!r}")
    return url


def _positive(name: str, value: Any, *, zero: bool = False, infinite: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)
    if ok and (value > 0 or (zero and value == 0)) and (infinite or math.isfinite(value)):
        return float(value)
    valid = "a number >= 0" if zero else "a number > 0"
    raise ConfigError(f"{name} must be {valid} (seconds){'' if not infinite else ' or math.inf'}, got {value!r}")


def _count(name: str, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ConfigError(f"{name} must be an integer >= 0, got {value!r}")


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request provably never reached the server (no connection was made)."""
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError)):
        return True
    seen = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, NewConnectionError):  # refused, DNS failure, unreachable network
            return True
        nested = getattr(cause, "reason", None)
        if isinstance(nested, BaseException):
            cause = nested
            continue
        args = getattr(cause, "args", ())
        cause = args[0] if args and isinstance(args[0], BaseException) else cause.__cause__
    return False


def _encode_body(body: Any, method: str, shown: str) -> bytes:
    """JSON bytes of a request body; a ConfigError naming the first bad value (nothing is sent)."""
    problem = json_problem(body, "$")
    if problem:
        raise ConfigError(f"{method} {shown}: the request body is not JSON: {problem}. Nothing was sent")
    return json.dumps(body, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_problem(value: Any, path: str = "$") -> str | None:
    """The first value in ``value`` that JSON cannot carry (``"$.a[1] is nan (…)"``), or None."""
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path} is {value!r} (JSON has no NaN or infinity)"
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                return f"{path} has a key {k!r} that is not a string"
            found = json_problem(v, f"{path}.{k}")
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found = json_problem(v, f"{path}[{i}]")
            if found:
                return found
        return None
    kind = type(value).__name__
    hint = " (use a list)" if isinstance(value, (set, frozenset)) else (
        " (use str() or float())" if isinstance(value, (datetime, Decimal)) else "")
    return f"{path} is of type {kind}{hint}; valid: str, int, float, bool, None, list, dict"


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # HTTP-date form: not sent by Langfuse; fall back to backoff
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _wait_reason(status: int, resource: str) -> str:
    return f"the rate limit ({resource})" if status == 429 else f"the server's Retry-After (HTTP {status})"


def _duration(seconds: float) -> str:
    """``"45 s"``, ``"14 min 24 s"``, ``"23 h 59 min"``."""
    s = int(math.ceil(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60} min" if s % 3600 // 60 else f"{s // 3600} h"


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(time.time() + seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _what_to_do(resource: str) -> str:
    if "metrics" in resource:
        first = "reuse earlier results (read_metrics(cache=True) keeps them on disk), run the query after the reset"
    else:
        first = "try again after the reset, read a shorter time range"
    return (f"What to do: {first}, or use a plan with a higher limit "
            f"(lfnb.connect(max_retry_after=…) makes lfnb wait longer instead)")


def _display_url(path: str, params: dict | list | None) -> str:
    """Path and query for messages (credentials are never part of either)."""
    if not params:
        return path
    query = urlencode(params, doseq=True)
    if len(query) > 300:
        query = query[:300] + "…"
    return f"{path}?{query}"
