"""Langfuse Cloud's public-API rate limits, emulated (off unless a plan is given).

Langfuse enforces limits only on Cloud, per organization and per *resource* (facts sheet §6).
lfnb.local has one project, so one counter per resource. Limits by plan:

==================================  =========  ==========  ==========
resource                            hobby      core        pro
==================================  =========  ==========  ==========
public-api                          30/min     1000/min    1000/min
public-api-legacy                   15/min     30/min      100/min
public-api-metrics                  100/day    2000/day    2000/day
public-api-v2-metrics               100/day    100/hour    500/hour
public-api-daily-metrics-legacy     10/day     200/day     200/day
datasets                            100/min    1000/min    1000/min
annotation-queues                   100/min    1000/min    1000/min
ingestion                           1000/min   20000/min   20000/min
==================================  =========  ==========  ==========

Windows: ``fixed`` (the default) behaves like rate-limiter-flexible, which Langfuse uses: a
window opens at the first request and lasts the whole duration; ``sliding`` counts the
requests of the last duration. The clock is injectable, so tests never sleep.

A refused request gets Langfuse's 429: ``Retry-After`` (whole seconds, rounded up),
``X-RateLimit-Limit``, ``X-RateLimit-Remaining``, ``X-RateLimit-Reset`` (JavaScript's
``Date.toString()`` text, not a number) and the body
``{"message", "code": "rate_limited", "details": {retryAfterSeconds, limit, remaining, resetAt}}``.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from lfnb.langfuse.ratelimits import PLANS, resource_of

WINDOWS = ("fixed", "sliding")

_LEGACY_MESSAGE = (
    "Rate limit exceeded for {method} {path}. Use GET /api/public/v2/observations"
    "?fromStartTime=<from>&toStartTime=<to> for high-volume reads."
)


def js_date_string(ts: float) -> str:
    """JavaScript's ``Date.prototype.toString()`` for a UTC server, e.g.
    ``Sat Aug 22 2026 08:22:47 GMT+0000 (Coordinated Universal Time)``."""
    dt = datetime.fromtimestamp(ts, tz=UTC)
    return dt.strftime("%a %b %d %Y %H:%M:%S") + " GMT+0000 (Coordinated Universal Time)"


def iso_ms(ts: float) -> str:
    """JavaScript's ``Date.prototype.toISOString()``: milliseconds and ``Z``."""
    dt = datetime.fromtimestamp(ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Refusal:
    """A refused request: the 429 status, headers and body to send."""

    status: int
    headers: dict[str, str]
    body: dict


class RateLimiter:
    """Counts requests per resource and refuses those over the plan's limit.

    Parameters
    ----------
    plan : str
        ``hobby``, ``core`` or ``pro``.
    window : str
        ``fixed`` (rate-limiter-flexible's behaviour, the default) or ``sliding``.
    clock : callable
        Seconds since the epoch; ``time.time`` unless a test injects its own.
    """

    def __init__(self, plan: str, *, window: str = "fixed", clock: Callable[[], float] = time.time):
        if plan not in PLANS:
            raise ValueError(f"unknown rate-limit plan {plan!r}; valid plans: {', '.join(PLANS)}")
        if window not in WINDOWS:
            raise ValueError(f"unknown rate-limit window {window!r}; valid windows: {', '.join(WINDOWS)}")
        self.plan = plan
        self.window = window
        self.clock = clock
        self._lock = threading.Lock()
        self._fixed: dict[str, tuple[float, int]] = {}     # resource -> (window start, used)
        self._sliding: dict[str, deque[float]] = {}

    @classmethod
    def from_spec(cls, spec: str, *, clock: Callable[[], float] = time.time) -> RateLimiter:
        """``"hobby"``, ``"core"``, ``"pro"``, optionally followed by ``":sliding"`` or ``":fixed"``."""
        plan, _, window = spec.strip().partition(":")
        return cls(plan, window=window or "fixed", clock=clock)

    def __repr__(self) -> str:
        return f"RateLimiter(plan={self.plan!r}, window={self.window!r})"

    def limit_of(self, resource: str) -> tuple[int, int]:
        """``(points, duration seconds)`` of a resource under this plan."""
        return PLANS[self.plan][resource]

    def consume(self, method: str, shape: str, path: str) -> Refusal | None:
        """Count one request; a :class:`Refusal` when it is over the limit, else None."""
        resource = resource_of(method, shape)
        points, duration = self.limit_of(resource)
        now = self.clock()
        with self._lock:
            if self.window == "fixed":
                start, used = self._fixed.get(resource, (now, 0))
                if now >= start + duration:
                    start, used = now, 0
                if used < points:
                    self._fixed[resource] = (start, used + 1)
                    return None
                reset_at = start + duration
            else:
                hits = self._sliding.setdefault(resource, deque())
                while hits and hits[0] <= now - duration:
                    hits.popleft()
                if len(hits) < points:
                    hits.append(now)
                    return None
                reset_at = hits[0] + duration
        wait = max(reset_at - now, 0.0)
        retry_after = max(math.ceil(wait), 1)
        message = "Rate limit exceeded"
        if resource == "public-api-legacy":
            message = _LEGACY_MESSAGE.format(method=method, path=path)
        return Refusal(
            429,
            {
                "Retry-After": str(retry_after),
                "X-RateLimit-Limit": str(points),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": js_date_string(reset_at),
            },
            {
                "message": message,
                "code": "rate_limited",
                "details": {
                    "retryAfterSeconds": retry_after,
                    "limit": points,
                    "remaining": 0,
                    "resetAt": iso_ms(reset_at),
                },
            },
        )
