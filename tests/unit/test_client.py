"""Transport: retries, Retry-After, error mapping, against a tiny stub server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import lfnb.http.transport as client_mod
from lfnb.errors import (
    ApiError,
    AuthError,
    ConfigError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
    UnconfirmedWriteError,
)
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
            if status == "echo":  # a proxy that quotes the request headers in its error page
                status, body = 400, f"bad request; headers were: {dict(self.headers)}".encode()
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
    assert str(err).startswith(f"GET {stub.url}/api/public/traces?page=1 failed with HTTP 429: Rate limit exceeded. "
                               "Rate limit: public-api-legacy. It resets in 2 s (at 20")
    assert str(err).endswith("UTC). What to do: try again after the reset, read a shorter time range, or use a plan "
                             "with a higher limit (lfnb.connect(max_retry_after=…) makes lfnb wait longer instead)")
    assert err.resource == "public-api-legacy"


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
    # no requests exception is reachable: its request still carries the Authorization header
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert len(no_sleep) == 2


def test_truncated_json_is_retried(stub, no_sleep):
    stub([(200, b'{"data": [1', {}), (200, {"data": []}, {})])
    assert make(stub).request("GET", "/p") == {"data": []}


def test_send_returns_the_body_unparsed_and_json_retries_a_truncated_one(stub, no_sleep):
    """``send`` (parallel reads) leaves parsing to the caller's thread; a truncated body is fetched
    again from there with the request's retries, as ``request`` does."""
    script = stub([(200, b'{"data": [1', {}), (200, {"data": [2]}, {})])
    t = make(stub, max_retries=1)
    body = t.send("GET", "/p", params={"page": 1})
    assert len(script.seen) == 1 and t.retries == 0  # nothing parsed (or retried) yet
    assert repr(body) == "Body(HTTP 200, 11 bytes)"
    assert body.json() == {"data": [2]}
    assert len(script.seen) == 2 and t.retries == 1 and len(no_sleep) == 1


def test_send_truncated_body_without_retries_left_is_the_same_error_as_request(stub, no_sleep):
    messages = []
    for call in ("request", "send"):
        stub([(200, b'{"data": [1', {})])
        t = make(stub, max_retries=0)
        with pytest.raises(TransportError) as info:
            result = getattr(t, call)("GET", "/p", params={"page": 1})
            result.json()
        messages.append(str(info.value))
    assert messages[0] == messages[1] == "GET /p?page=1: the server sent a body that is not JSON (HTTP 200, 11 bytes)"


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
        def try_reserve(self, resource, max_wait):
            calls.append(resource)
            return True, 0.0

    t = make(stub, rate_limiter=Spy({}))
    t.request("GET", "/api/public/traces")
    t.request("GET", "/api/public/v2/observations")
    assert calls == ["public-api-legacy", "public-api"]


# ---------------------------------------------------------------- D2: writes are not retried into duplicates
def test_post_whose_answer_is_lost_is_not_retried_and_says_it_may_have_been_applied(stub, no_sleep):
    script = stub([("drop", None, None), (200, {"id": "c1"}, {})])
    with pytest.raises(UnconfirmedWriteError) as info:
        make(stub).request("POST", "/api/public/comments", json_body={"content": "hi"})
    assert len(script.seen) == 1 and no_sleep == []
    assert str(info.value) == (
        f"POST /api/public/comments was sent to {stub.url}, but no answer came back (ConnectionError): the write "
        "MAY have been applied. It was not retried, because a retry could apply it twice; check whether it exists "
        "before sending it again.")
    assert info.value.may_have_applied and isinstance(info.value, TransportError)


def test_post_5xx_is_not_retried_but_429_is(stub, no_sleep):
    script = stub([(429, {"message": "Rate limit exceeded"}, {"Retry-After": "1"}), (502, {"message": "Bad Gateway"}, {})])
    with pytest.raises(ServerError) as info:
        make(stub).request("POST", "/api/public/comments", json_body={"content": "hi"})
    assert len(script.seen) == 2 and no_sleep == [1.0]
    assert str(info.value) == (
        f"POST {stub.url}/api/public/comments failed with HTTP 502: Bad Gateway. The write MAY have been applied. "
        "It was not retried, because a retry could apply it twice; check whether it exists before sending it again")
    assert info.value.may_have_applied


def test_idempotent_post_is_retried_and_remembers_it_may_have_been_applied(stub, no_sleep):
    script = stub([("drop", None, None), (500, {}, {}), (200, {"id": "s1"}, {})])
    assert make(stub).request("POST", "/api/public/scores", json_body={"id": "s1"}, idempotent=True) == {"id": "s1"}
    assert len(script.seen) == 3
    stub([("drop", None, None)] * 3)
    with pytest.raises(TransportError) as info:
        make(stub, max_retries=2).request("POST", "/api/public/scores", json_body={"id": "s1"}, idempotent=True)
    assert type(info.value) is TransportError and info.value.may_have_applied


def test_post_refused_with_4xx_was_not_applied_unless_an_earlier_attempt_may_have_been(stub, no_sleep):
    stub([(400, {"message": "Invalid request data"}, {})])
    with pytest.raises(ApiError) as info:
        make(stub).request("POST", "/api/public/scores", json_body={"id": "s"}, idempotent=True)
    assert not info.value.may_have_applied
    stub([(500, {}, {}), (409, {"message": "exists"}, {})])
    with pytest.raises(ApiError) as info:
        make(stub).request("POST", "/api/public/scores", json_body={"id": "s"}, idempotent=True)
    assert info.value.may_have_applied


def test_post_that_never_reached_the_server_is_retried(no_sleep):
    t = Transport("http://127.0.0.1:9", "pk", "sk", max_retries=2)
    with pytest.raises(TransportError) as info:
        t.request("POST", "/api/public/comments", json_body={"content": "x"})
    assert type(info.value) is TransportError and not info.value.may_have_applied
    assert len(no_sleep) == 2 and "after 3 attempts (ConnectionError)" in str(info.value)


# ---------------------------------------------------------------- D3: long rate-limit waits fail fast, short ones are announced
def test_retry_after_above_the_threshold_raises_at_once(stub, no_sleep):
    script = stub([(429, {"message": "Rate limit exceeded", "code": "rate_limited"},
                    {"Retry-After": "3600", "X-RateLimit-Limit": "100"})] * 6)
    with pytest.raises(RateLimitError) as info:
        make(stub).request("GET", "/api/public/v2/metrics", params={"query": "{}"})
    assert len(script.seen) == 1 and no_sleep == []
    text = str(info.value)
    assert text.startswith(f"GET {stub.url}/api/public/v2/metrics?query=%7B%7D failed with HTTP 429: Rate limit "
                           "exceeded. Rate limit: public-api-v2-metrics (limit 100). It resets in 1 h (at 20")
    assert text.endswith(" UTC); lfnb waits at most max_retry_after=60 s, so it stops now instead of hanging. "
                         "What to do: reuse earlier results (read_metrics(cache=True) keeps them on disk), run the "
                         "query after the reset, or use a plan with a higher limit (lfnb.connect(max_retry_after=…) "
                         "makes lfnb wait longer instead)")
    assert info.value.retry_after == 3600.0 and info.value.resource == "public-api-v2-metrics"


def test_threshold_is_configurable_and_short_waits_reach_the_listeners(stub, no_sleep):
    stub([(429, {}, {"Retry-After": "90"}), (200, {"ok": 1}, {})])
    t = make(stub, max_retry_after=120)
    heard = []
    t.add_wait_listener(lambda seconds, reason: heard.append((seconds, reason)))
    assert t.request("GET", "/api/public/models") == {"ok": 1}
    assert heard == [(90.0, "the rate limit (public-api)")] and no_sleep == [90.0]
    t.remove_wait_listener(t._wait_listeners[0])
    assert t._wait_listeners == []


def test_client_side_limiter_never_sleeps_minutes(stub, no_sleep):
    stub([])
    t = make(stub, rate_limiter=RateLimiter({"public-api-v2-metrics": (2, 86400.0)}, name="hobby"))
    t.request("GET", "/api/public/v2/metrics")
    t.request("GET", "/api/public/v2/metrics")
    with pytest.raises(RateLimitError) as info:
        t.request("GET", "/api/public/v2/metrics")
    assert no_sleep == [] and t.requests == 2
    assert str(info.value).startswith(
        f"GET {stub.url}/api/public/v2/metrics was not sent: the client-side rate limit (hobby: 2 "
        "requests per day for public-api-v2-metrics) has its next free slot in 12 h (at 20")
    assert "lfnb waits at most max_retry_after=60 s rather than block silently. What to do: reuse" in str(info.value)
    assert info.value.retry_after == pytest.approx(43200, rel=0.01) and info.value.client_side


def test_client_side_limiter_short_wait_is_announced(stub, no_sleep):
    stub([])
    t = make(stub, rate_limiter=RateLimiter({"public-api": (20, 60.0)}))
    heard = []
    t.add_wait_listener(lambda seconds, reason: heard.append(reason))
    for _ in range(3):
        t.request("GET", "/api/public/models")
    assert heard == ["the rate limit (public-api)"] * 2 and len(no_sleep) == 2


# ---------------------------------------------------------------- D4, D5, D7, D8, D9
def test_validation_issues_are_in_the_message(stub, no_sleep):
    issues = [{"code": "invalid_value", "path": ["type"], "message": 'Invalid option: expected one of "GENERATION"|"SPAN"'},
              {"code": "too_small", "path": ["limit"], "message": "Too small: expected number to be >0"},
              {"code": "x", "path": ["a", 0], "message": "third"}, {"code": "x", "path": [], "message": "fourth"}]
    stub([(400, {"message": "Invalid request data", "error": issues}, {})])
    with pytest.raises(ApiError) as info:
        make(stub).request("GET", "/api/public/observations", params={"type": "generation"})
    assert str(info.value) == (
        f"GET {stub.url}/api/public/observations?type=generation failed with HTTP 400: Invalid request data "
        '(type: Invalid option: expected one of "GENERATION"|"SPAN"; limit: Too small: expected number to be >0; '
        "a.0: third; and 1 more)")
    assert info.value.issues[3] == {"path": "", "message": "fourth"}


@pytest.mark.parametrize("body, problem", [
    ({"value": float("inf")}, "$.value is inf (JSON has no NaN or infinity)"),
    ({"metadata": {"x": [1, float("nan")]}}, "$.metadata.x[1] is nan (JSON has no NaN or infinity)"),
    ({"tags": {"a"}}, "$.tags is of type set (use a list); valid: str, int, float, bool, None, list, dict"),
])
def test_body_that_is_not_json_is_a_config_error_before_any_request(stub, no_sleep, body, problem):
    script = stub([])
    with pytest.raises(ConfigError) as info:
        make(stub).request("POST", "/api/public/scores", json_body=body)
    assert str(info.value) == f"POST /api/public/scores: the request body is not JSON: {problem}. Nothing was sent"
    assert script.seen == [] and no_sleep == []


@pytest.mark.parametrize("url, good", [("http://127.0.0.1:3000/api/public", "http://127.0.0.1:3000"),
                                       ("https://lf.example.com/langfuse/api/public/", "https://lf.example.com/langfuse"),
                                       ("http://h/api", "http://h")])
def test_base_url_with_an_api_path_is_refused(url, good):
    with pytest.raises(ConfigError) as info:
        Transport(url, "pk", "sk")
    assert str(info.value) == (f"base_url must be the server's root: lfnb adds /api/public/… itself. "
                               f"Got {url!r}; use {good!r}")


@pytest.mark.parametrize("kw, text", [
    ({"timeout": 0}, "timeout must be a number > 0 (seconds), got 0"),
    ({"timeout": -1}, "timeout must be a number > 0 (seconds), got -1"),
    ({"timeout": "5"}, "timeout must be a number > 0 (seconds), got '5'"),
    ({"max_retries": 1.5}, "max_retries must be an integer >= 0, got 1.5"),
    ({"max_retry_after": -1}, "max_retry_after must be a number >= 0 (seconds) or math.inf, got -1"),
])
def test_bad_transport_settings_are_config_errors(kw, text):
    with pytest.raises(ConfigError) as info:
        Transport("http://127.0.0.1:9", "pk", "sk", **kw)
    assert str(info.value) == text and isinstance(info.value, ValueError)


def test_https_against_http_server_fails_at_once(stub, no_sleep):
    stub([])
    t = Transport(stub.url.replace("http://", "https://"), "pk", "sk")
    with pytest.raises(TransportError) as info:
        t.request("GET", "/api/public/health")
    assert no_sleep == [] and t.requests == 1
    assert str(info.value) == (f"GET /api/public/health: the TLS handshake with {t.base_url} failed (SSLError). "
                               "Does the server speak https? For a plain-http server the base_url starts with http://")


def test_error_bodies_are_redacted(stub, no_sleep):
    stub([("echo", None, {})])
    t = Transport(stub.url, "pk-lf-1", "sk-lf-TOPSECRET")
    with pytest.raises(ApiError) as info:
        t.request("GET", "/api/public/models")
    token = __import__("base64").b64encode(b"pk-lf-1:sk-lf-TOPSECRET").decode()
    for text in (str(info.value), info.value.body, repr(info.value.args)):
        assert "Basic ***" in text and token not in text and "TOPSECRET" not in text
