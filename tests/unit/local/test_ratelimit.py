"""Rate-limit emulation (lfnb.local.ratelimit): plans, resources, windows, the 429 it sends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lfnb.langfuse.ratelimits import PLANS, resource_of
from lfnb.local.ratelimit import RateLimiter, iso_ms, js_date_string

T0 = datetime(2026, 8, 22, 8, 21, 47, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("method,shape,resource", [
    ("GET", "/api/public/traces", "public-api-legacy"),
    ("GET", "/api/public/traces/{}", "public-api-legacy"),
    ("GET", "/api/public/observations", "public-api-legacy"),
    ("GET", "/api/public/observations/{}", "public-api-legacy"),
    ("GET", "/api/public/sessions", "public-api-legacy"),
    ("GET", "/api/public/sessions/{}", "public-api-legacy"),
    ("DELETE", "/api/public/traces/{}", "public-api"),
    ("GET", "/api/public/metrics", "public-api-metrics"),
    ("GET", "/api/public/v2/metrics", "public-api-v2-metrics"),
    ("GET", "/api/public/metrics/daily", "public-api-daily-metrics-legacy"),
    ("GET", "/api/public/v2/observations", "public-api"),
    ("GET", "/api/public/v2/scores", "public-api"),
    ("GET", "/api/public/v3/scores", "public-api"),
    ("GET", "/api/public/v2/datasets", "datasets"),
    ("GET", "/api/public/datasets/{}/runs", "datasets"),
    ("POST", "/api/public/dataset-items", "datasets"),
    ("GET", "/api/public/dataset-run-items", "datasets"),
    ("GET", "/api/public/annotation-queues/{}/items", "annotation-queues"),
    ("POST", "/api/public/ingestion", "ingestion"),
    ("POST", "/api/public/otel/v1/traces", "ingestion"),
    ("GET", "/api/public/models", "public-api"),
])
def test_resource_per_endpoint(method, shape, resource):
    assert resource_of(method, shape) == resource


def test_plan_table_matches_the_facts_sheet():
    assert PLANS["hobby"]["public-api"] == (30, 60)
    assert PLANS["core"]["public-api-legacy"] == (30, 60)
    assert PLANS["pro"]["public-api-v2-metrics"] == (500, 3600)
    assert PLANS["core"]["public-api-v2-metrics"] == (100, 3600)
    assert PLANS["hobby"]["public-api-metrics"] == (100, 86400)
    assert PLANS["hobby"]["public-api-daily-metrics-legacy"] == (10, 86400)
    assert PLANS["pro"]["ingestion"] == (20000, 60)
    assert set(PLANS) == {"hobby", "core", "pro"}
    for plan in PLANS.values():
        assert len(plan) == 8


def test_js_date_string_and_iso():
    assert js_date_string(T0) == "Sat Aug 22 2026 08:21:47 GMT+0000 (Coordinated Universal Time)"
    assert iso_ms(T0 + 0.25) == "2026-08-22T08:21:47.250Z"


def test_hobby_fixed_window_refuses_the_31st_request():
    clock = Clock(T0)
    limiter = RateLimiter("hobby", clock=clock)
    for i in range(30):
        clock.now = T0 + i          # one request a second, all inside the first minute
        assert limiter.consume("GET", "/api/public/v2/observations", "/api/public/v2/observations") is None
    clock.now = T0 + 59.5
    refusal = limiter.consume("GET", "/api/public/v2/observations", "/api/public/v2/observations")
    assert refusal is not None
    assert refusal.status == 429
    assert refusal.headers == {
        "Retry-After": "1",
        "X-RateLimit-Limit": "30",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "Sat Aug 22 2026 08:22:47 GMT+0000 (Coordinated Universal Time)",
    }
    assert refusal.body == {
        "message": "Rate limit exceeded",
        "code": "rate_limited",
        "details": {"retryAfterSeconds": 1, "limit": 30, "remaining": 0,
                    "resetAt": "2026-08-22T08:22:47.000Z"},
    }
    # another resource has its own counter
    assert limiter.consume("GET", "/api/public/v2/datasets", "/api/public/v2/datasets") is None
    # the window ends 60 s after its first request
    clock.now = T0 + 60
    assert limiter.consume("GET", "/api/public/v2/observations", "/api/public/v2/observations") is None


def test_retry_after_rounds_up():
    clock = Clock(T0)
    limiter = RateLimiter("hobby", clock=clock)
    for _ in range(30):
        limiter.consume("GET", "/api/public/models", "/api/public/models")
    clock.now = T0 + 0.4
    refusal = limiter.consume("GET", "/api/public/models", "/api/public/models")
    assert refusal.headers["Retry-After"] == "60"       # ceil(59.6)
    assert refusal.body["details"]["retryAfterSeconds"] == 60


def test_legacy_message_names_the_request_and_the_replacement():
    clock = Clock(T0)
    limiter = RateLimiter("hobby", clock=clock)
    for _ in range(15):
        assert limiter.consume("GET", "/api/public/traces", "/api/public/traces") is None
    refusal = limiter.consume("GET", "/api/public/traces", "/api/public/traces")
    assert refusal.body["message"] == (
        "Rate limit exceeded for GET /api/public/traces. Use GET /api/public/v2/observations"
        "?fromStartTime=<from>&toStartTime=<to> for high-volume reads.")
    assert refusal.headers["X-RateLimit-Limit"] == "15"


def test_sliding_window_frees_slots_one_by_one():
    clock = Clock(T0)
    limiter = RateLimiter("hobby", window="sliding", clock=clock)
    for i in range(30):
        clock.now = T0 + i
        assert limiter.consume("GET", "/api/public/models", "/api/public/models") is None
    clock.now = T0 + 59
    refusal = limiter.consume("GET", "/api/public/models", "/api/public/models")
    assert refusal.headers["Retry-After"] == "1"          # the first hit leaves the window at T0+60
    clock.now = T0 + 60
    assert limiter.consume("GET", "/api/public/models", "/api/public/models") is None
    assert limiter.consume("GET", "/api/public/models", "/api/public/models") is not None
    clock.now = T0 + 61
    assert limiter.consume("GET", "/api/public/models", "/api/public/models") is None


def test_v2_metrics_core_is_per_hour():
    clock = Clock(T0)
    limiter = RateLimiter("core", clock=clock)
    for _ in range(100):
        assert limiter.consume("GET", "/api/public/v2/metrics", "/api/public/v2/metrics") is None
    clock.now = T0 + 1800
    refusal = limiter.consume("GET", "/api/public/v2/metrics", "/api/public/v2/metrics")
    assert refusal.headers["Retry-After"] == "1800"
    assert refusal.headers["X-RateLimit-Limit"] == "100"


def test_bad_plan_and_window_say_what_is_valid():
    with pytest.raises(ValueError, match=r"unknown rate-limit plan 'free'; valid plans: hobby, core, pro"):
        RateLimiter("free")
    with pytest.raises(ValueError, match=r"unknown rate-limit window 'leaky'; valid windows: fixed, sliding"):
        RateLimiter("pro", window="leaky")
    assert repr(RateLimiter("pro")) == "RateLimiter(plan='pro', window='fixed')"


def test_from_spec():
    limiter = RateLimiter.from_spec("core:sliding")
    assert (limiter.plan, limiter.window) == ("core", "sliding")
    assert RateLimiter.from_spec("pro").window == "fixed"
    with pytest.raises(ValueError, match="valid plans: hobby, core, pro"):
        RateLimiter.from_spec("enterprise")
