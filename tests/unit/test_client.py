"""Transport: retries, Retry-After, error mapping, against a tiny stub server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import lfnb.http.transport as client_mod
from lfnb.errors import ApiError, AuthError, ConfigError, NotFoundError, RateLimitError, ServerError, TransportError
from lfnb.http.ratelimit import RateLimiter, TokenBucket, make_rate_limiter
from lfnb.http.transport import Transport
from lfnb.langfuse.ratelimits import PLANS


class Script:
    """Responses to serve in order: (status, body, headers)."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.seen = []


@pytest.fixture(scope="module")
def stub():
    state = {"script": Script([])}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            script = state["script"]
            script.seen.append((self.path, self.headers.get("Authorization")))
            status, body, headers = script.replies.pop(0) if script.replies else (200, {"ok": True}, {})
            if status == "drop":
                self.wfile.flush()
                self.connection.close()
                return
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_POST = do_GET

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def run(replies):
        state["script"] = Script(replies)
        return state["script"]

    run.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield run
    server.shutdown()
    server.server_close()


@pytest.fixture
def no_sleep(monkeypatch):
    slept = []
    monkeypatch.setattr(client_mod.time, "sleep", slept.append)
    return slept


def make(stub, **kw):
    return Transport(stub.url, "pk-test", "sk-test-secret", **kw)


def test_retries_5xx_524_and_drops_then_succeeds(stub, no_sleep):
    script = stub([(500, {"message": "boom"}, {}), (524, {}, {}), ("drop", None, None), (503, {}, {}),
                   (200, {"data": [1]}, {})])
    t = make(stub)
    assert t.request("GET", "/api/public/x") == {"data": [1]}
    assert t.retries == 4 and len(script.seen) == 5
    assert all(d <= 8.0 for d in no_sleep)
    assert script.seen[0][1].startswith("Basic ")


def test_retry_after_seconds_is_honoured_and_reset_date_ignored(stub, no_sleep):
    stub([(429, {"message": "Rate limit exceeded"},
           {"Retry-After": "3", "X-RateLimit-Reset": "Sat Aug 22 2026 08:22:47 GMT+0000 (Coordinated Universal Time)"}),
          (200, {"ok": 1}, {})])
    assert make(stub).request("GET", "/p") == {"ok": 1}
    assert no_sleep == [3.0]


def test_backoff_is_capped_exponential_with_jitter(stub, no_sleep):
    stub([(502, {}, {})] * 6)
    with pytest.raises(ServerError):
        make(stub, max_retries=5, backoff=1.0, max_backoff=4.0).request("GET", "/p")
    assert len(no_sleep) == 5
    caps = [1, 2, 4, 4, 4]
    assert all(cap / 2 <= d <= cap for d, cap in zip(no_sleep, caps))


def test_429_after_retries_is_rate_limit_error_with_message(stub, no_sleep):
    stub([(429, {"message": "Rate limit exceeded"}, {"Retry-After": "2"})] * 3)
    with pytest.raises(RateLimitError) as info:
        make(stub, max_retries=2).request("GET", "/api/public/traces", params={"page": 1})
    err = info.value
    assert err.retry_after == 2.0 and err.status == 429
    assert str(err) == "GET /api/public/traces?page=1 failed with HTTP 429: Rate limit exceeded"


@pytest.mark.parametrize("status, cls", [(401, AuthError), (403, AuthError), (404, NotFoundError), (400, ApiError),
                                         (422, ApiError)])
def test_error_mapping_no_retry_on_4xx(stub, no_sleep, status, cls):
    script = stub([(status, {"message": "nope", "error": "X"}, {})])
    with pytest.raises(cls) as info:
        make(stub).request("GET", "/q")
    assert type(info.value) is cls
    assert info.value.message == "nope" and info.value.status == status
    assert len(script.seen) == 1 and no_sleep == []


def test_connection_refused_is_transport_error(no_sleep):
    t = Transport("http://127.0.0.1:9", "pk", "sk-very-secret", max_retries=2)
    with pytest.raises(TransportError) as info:
        t.request("GET", "/api/public/health")
    assert "got no answer from http://127.0.0.1:9 after 3 attempts (ConnectionError)" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert len(no_sleep) == 2


def test_truncated_json_is_retried(stub, no_sleep):
    stub([(200, b'{"data": [1', {}), (200, {"data": []}, {})])
    assert make(stub).request("GET", "/p") == {"data": []}


def test_config_errors():
    with pytest.raises(ConfigError, match="base_url must start with http"):
        Transport("localhost:3000", "pk", "sk")
    with pytest.raises(ConfigError, match="public_key and secret_key are required"):
        Transport("http://x", "pk", "")


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.slept.append(s)
        self.now += s


def test_token_bucket_keeps_any_window_within_limit():
    clock = FakeClock()
    bucket = TokenBucket(60, 60.0, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(200):
        bucket.acquire()
        stamps.append(clock.now)
    # in every 60-second window at most 60 requests
    for i, t0 in enumerate(stamps):
        assert sum(1 for t in stamps[i:] if t < t0 + 60.0) <= 60
    assert stamps[-1] > 120  # 200 requests need more than two minutes


def test_token_bucket_is_thread_safe():
    clock = FakeClock()
    bucket = TokenBucket(1000, 60.0, clock=clock, sleep=lambda s: None)
    waits = []
    threads = [threading.Thread(target=lambda: waits.extend(bucket.reserve() for _ in range(50))) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    # 400 reservations at one instant: the waits form one queue (no two equal, strictly spaced)
    positive = sorted(w for w in waits if w > 0)
    assert len(waits) == 400 and len(set(positive)) == len(positive)
    assert len([w for w in waits if w == 0]) == bucket.capacity


def test_plans_and_factory():
    assert PLANS["hobby"]["public-api"] == (30, 60.0)
    assert PLANS["pro"]["public-api-legacy"] == (100, 60.0)
    assert PLANS["core"]["public-api-v2-metrics"] == (100, 3600.0)
    assert make_rate_limiter(None) is None
    limiter = make_rate_limiter("core")
    assert isinstance(limiter, RateLimiter) and limiter.buckets["public-api"].limit == 1000
    assert limiter.acquire("unknown-resource") == 0.0
    with pytest.raises(ConfigError, match="rate_limit must be None or one of hobby, core, pro; got 'gold'"):
        make_rate_limiter("gold")


def test_transport_uses_the_rate_limiter(stub, no_sleep):
    stub([])
    calls = []

    class Spy(RateLimiter):
        def acquire(self, resource):
            calls.append(resource)
            return 0.0

    t = make(stub, rate_limiter=Spy({}))
    t.request("GET", "/api/public/traces")
    t.request("GET", "/api/public/v2/observations")
    assert calls == ["public-api-legacy", "public-api"]
