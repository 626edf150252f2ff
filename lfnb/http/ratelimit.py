"""Client-side rate limiting: one token bucket per Langfuse rate-limit resource.

Langfuse Cloud counts requests per organisation and resource (facts sheet §6).
:class:`RateLimiter` holds one bucket per resource and is shared by every worker
thread of a :class:`lfnb.http.transport.Transport`, so ``workers=8`` stays inside the
same requests-per-minute as ``workers=1``.

Plan presets (requests, period in seconds):

================================ ============= ============= =============
resource                         hobby         core          pro
================================ ============= ============= =============
public-api                       30 / 60       1000 / 60     1000 / 60
public-api-legacy                15 / 60       30 / 60       100 / 60
public-api-metrics               100 / 86400   2000 / 86400  2000 / 86400
public-api-v2-metrics            100 / 86400   100 / 3600    500 / 3600
public-api-daily-metrics-legacy  10 / 86400    200 / 86400   200 / 86400
datasets, annotation-queues      100 / 60      1000 / 60     1000 / 60
ingestion                        1000 / 60     20000 / 60    20000 / 60
================================ ============= ============= =============
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping

from lfnb.errors import ConfigError
from lfnb.langfuse.ratelimits import MINUTE, PLANS

__all__ = ["TokenBucket", "RateLimiter", "PLANS", "make_rate_limiter"]

class TokenBucket:
    """A thread-safe token bucket allowing ``limit`` requests per ``period`` seconds.

    For minute windows the burst is kept small (1/20 of the limit) and the refill
    rate lowered by the same amount, so that no window of ``period`` seconds ever
    holds more than ``limit`` requests, whichever way the server aligns its window.
    Hour/day windows get the whole limit as burst: pacing 100 requests a day at
    one per 864 s would make a notebook unusable.
    """

    def __init__(self, limit: int, period: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if limit < 1 or period <= 0:
            raise ConfigError(f"rate limit must be >= 1 request per positive period, got {limit}/{period}s")
        self.limit = int(limit)
        self.period = float(period)
        if period <= MINUTE:
            self.capacity = max(1, self.limit // 20)
            self.rate = max(self.limit - self.capacity, 1) / self.period
        else:
            self.capacity = self.limit
            self.rate = self.limit / self.period
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(self.capacity)
        self._stamp = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token; return how long the caller must wait before sending."""
        return self.try_reserve(math.inf)[1]

    def try_reserve(self, max_wait: float) -> tuple[bool, float]:
        """Take one token unless the wait for it would exceed ``max_wait`` seconds.

        Returns ``(taken, wait)``: when ``taken`` is False nothing was taken and
        ``wait`` is how long the caller would have had to wait.
        """
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            # A negative balance is a queue: each waiter owes its share of refill time.
            wait = 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate
            if wait > max_wait:
                return False, wait
            self._tokens -= 1.0
            return True, wait

    def describe(self) -> str:
        """``"100 requests per day"``."""
        return f"{self.limit} requests per {_period_text(self.period)}"

    def acquire(self) -> float:
        """Block until a request may be sent; return the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait

    def __repr__(self) -> str:
        return f"TokenBucket({self.limit}/{self.period:g}s)"


class RateLimiter:
    """One :class:`TokenBucket` per resource; unknown resources are not limited."""

    def __init__(self, limits: Mapping[str, tuple[int, float]], *, name: str = "custom", **bucket_kwargs):
        self.name = name
        self.buckets = {res: TokenBucket(n, per, **bucket_kwargs) for res, (n, per) in limits.items()}

    def acquire(self, resource: str) -> float:
        bucket = self.buckets.get(resource)
        return bucket.acquire() if bucket is not None else 0.0

    def try_reserve(self, resource: str, max_wait: float) -> tuple[bool, float]:
        """One slot of ``resource`` unless it is more than ``max_wait`` s away (see :meth:`TokenBucket.try_reserve`).

        The caller sleeps the returned wait itself (so it can say that it waits).
        """
        bucket = self.buckets.get(resource)
        return bucket.try_reserve(max_wait) if bucket is not None else (True, 0.0)

    def describe(self, resource: str) -> str:
        """``"hobby: 100 requests per day"`` (empty when ``resource`` is not limited)."""
        bucket = self.buckets.get(resource)
        return f"{self.name}: {bucket.describe()}" if bucket is not None else ""

    def __repr__(self) -> str:
        return f"RateLimiter({self.name!r})"


def _period_text(seconds: float) -> str:
    named = {86400.0: "day", 3600.0: "hour", 60.0: "minute"}
    return named.get(float(seconds), f"{seconds:g} s")


def make_rate_limiter(spec: str | Mapping[str, tuple[int, float]] | RateLimiter | None) -> RateLimiter | None:
    """A limiter from a plan name (``"hobby"``, ``"core"``, ``"pro"``), a dict, an instance or ``None`` (off)."""
    if spec is None or isinstance(spec, RateLimiter):
        return spec
    if isinstance(spec, str):
        if spec not in PLANS:
            raise ConfigError(f"rate_limit must be None or one of {', '.join(PLANS)}; got {spec!r}")
        return RateLimiter(PLANS[spec], name=spec)
    if isinstance(spec, Mapping):
        return RateLimiter(spec)
    raise ConfigError(f"rate_limit must be None, a plan name ({', '.join(PLANS)}), a dict or a RateLimiter")
