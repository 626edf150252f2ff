"""lfnb.local's HTTP layer over real HTTP on 127.0.0.1: auth, routing, generation modes,
rate limits, faults, serialisation, serve()."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
import xxhash

from lfnb.langfuse.operations import OPERATIONS
from lfnb.local import serve
from lfnb.local.app import EVENTS_ONLY_MESSAGE, dumps
from lfnb.local.ratelimit import RateLimiter
from lfnb.local.store import Store

# (method, path template, operation name) of every catalogue operation
CATALOGUE = [(op.method, op.path, op.name) for op in OPERATIONS.values()]

pytestmark = pytest.mark.integration

AUTH = ("pk-lf-local", "sk-lf-local")
HOST_HINT = ". Confirm that you've configured the correct host."
# every route Langfuse builds with rejectInEventsOnlyMode that lfnb.local serves (method, path)
V1_READS = [("GET", "/api/public/traces"), ("GET", "/api/public/traces/t-1"), ("GET", "/api/public/observations"),
            ("GET", "/api/public/observations/o-1"), ("GET", "/api/public/sessions"),
            ("GET", "/api/public/sessions/s-1"), ("GET", "/api/public/v2/scores"), ("GET", "/api/public/v2/scores/s-1"),
            ("GET", "/api/public/metrics"), ("GET", "/api/public/metrics/daily"),
            ("GET", "/api/public/dataset-run-items"), ("GET", "/api/public/datasets/d/runs"),
            ("GET", "/api/public/datasets/d/runs/r"), ("DELETE", "/api/public/datasets/d/runs/r")]
_V4 = "is only available in a Langfuse v4 write mode. Learn more at: https://langfuse.com/docs/v4"
_METRICS_Q = json.dumps({"view": "observations", "metrics": [{"measure": "count", "aggregation": "count"}],
                         "fromTimestamp": "2026-10-01T00:00:00Z", "toTimestamp": "2026-11-01T00:00:00Z"})
# v4-only reads: valid parameters (Langfuse refuses them on v3 only after validating), and the message
V4_READS = {
    "/api/public/v2/observations": ({}, f"The observations v2 API {_V4}"),
    "/api/public/v2/metrics": ({"query": _METRICS_Q}, f"The metrics v2 API {_V4}"),
    "/api/public/experiments": ({"fromStartTime": "2026-10-01T00:00:00Z"}, f"The experiments API {_V4}"),
    "/api/public/experiment-items": ({"fromStartTime": "2026-10-01T00:00:00Z"}, f"The experiment items API {_V4}"),
}
T0 = datetime(2026, 10, 31, 12, 0, 0)


def fill_observations(store: Store, n: int) -> list[str]:
    """``n`` observations in 5 traces, one second apart (ids returned newest first)."""
    rows = []
    for i in range(n):
        trace_id = f"trace-{i % 5}"
        rows.append((f"obs-{i:04d}", trace_id, xxhash.xxh32_intdigest(trace_id.encode(), seed=0), "proj",
                     "SPAN", T0 + timedelta(seconds=i), "DEFAULT", "default"))
    with store.write() as cur:
        cur.executemany("INSERT INTO observations (id, trace_id, trace_id_hash, project_id, type, start_time, "
                        "level, environment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return [r[0] for r in reversed(rows)]


@pytest.fixture(scope="module")
def both_server():
    """generation="both" over a small store of its own (writes by the tests stay here)."""
    store = Store()
    try:
        from lfnb.local.generator import generate
    except ImportError:
        fill_observations(store, 20)
    else:
        generate(store, seed=0, traces=40, days=2, anchor=datetime(2026, 11, 1, tzinfo=UTC))
    with serve(generation="both", store=store) as server:
        yield server
    store.close()


@pytest.fixture(scope="module")
def v4_server():
    with serve(generation="v4", store=Store()) as server:
        yield server


@pytest.fixture(scope="module")
def v3_server():
    with serve(generation="v3", store=Store()) as server:
        yield server


def get(server, path, **kwargs):
    kwargs.setdefault("auth", AUTH)
    return requests.get(server.base_url + path, timeout=10, **kwargs)


# --- health, auth, routing -------------------------------------------------------------------

def test_health_needs_no_auth(v4_server):
    r = requests.get(v4_server.base_url + "/api/public/health", timeout=5)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["status"] == "OK" and isinstance(body["version"], str)


@pytest.mark.parametrize("header,message", [
    (None, "No authorization header"),
    ("Basic " + base64.b64encode(b"pk-lf-local:wrong").decode(), "Invalid credentials" + HOST_HINT),
    ("Basic " + base64.b64encode(b"pk-lf-other:sk-lf-local").decode(), "Invalid public key" + HOST_HINT),
    ("Basic " + base64.b64encode(b"pk-lf-local").decode(), "Invalid authorization header" + HOST_HINT),
    ("Basic %%%", "Invalid authorization header" + HOST_HINT),
    ("Token abc", "Invalid authorization header"),
    ("Bearer pk-lf-local", "Access denied - need to use basic auth with secret key"),
])
def test_auth_failures_are_401_json(v4_server, header, message):
    headers = {"Authorization": header} if header else {}
    r = requests.get(v4_server.base_url + "/api/public/v3/scores", headers=headers, timeout=5)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"message": message}


def test_unknown_path_is_json_404(v4_server):
    r = get(v4_server, "/api/public/does-not-exist")
    assert r.status_code == 404
    assert r.json() == {"message": "No API route matches GET /api/public/does-not-exist on lfnb.local",
                        "error": "NotFound"}
    r = requests.get(v4_server.base_url + "/", timeout=5)
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"


def test_wrong_method_is_json_405(v4_server):
    # withMiddlewares.ts: MethodNotAllowedError ("MethodNotAllowedError", 405, "Method not allowed"), no Allow header
    r = requests.post(v4_server.base_url + "/api/public/health", auth=AUTH, timeout=5)
    assert r.status_code == 405
    assert "allow" not in r.headers
    assert r.json() == {"message": "Method not allowed", "error": "MethodNotAllowedError"}


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "FOO"])
def test_any_unknown_http_method_gets_the_same_json_405(v4_server, method):
    # Methods no route serves are answered by lfnb.local itself, not by the framework's text/plain 405.
    r = requests.request(method, v4_server.base_url + "/api/public/traces", auth=AUTH, timeout=5)
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/json"
    assert "allow" not in r.headers
    assert r.json() == {"message": "Method not allowed", "error": "MethodNotAllowedError"}


def test_unimplemented_operation_is_501_naming_it(v4_server):
    op = v4_server.app.state.lfnb.table.get("GET", "/api/public/scim/Users")
    saved, op.handler = op.handler, None
    try:
        r = get(v4_server, "/api/public/scim/Users")
    finally:
        op.handler = saved
    assert r.status_code == 501
    assert r.json() == {
        "message": "scim_list_users (GET /api/public/scim/Users) is not implemented in lfnb.local yet",
        "error": "NotImplemented", "operation": "scim_list_users"}


def test_handler_crash_is_json_500(v4_server, caplog):
    op = v4_server.app.state.lfnb.table.get("GET", "/api/public/models")

    def broken(store, req):
        raise KeyError("boom")

    saved, op.handler = op.handler, broken
    try:
        r = get(v4_server, "/api/public/models")
    finally:
        op.handler = saved
    assert r.status_code == 500
    assert r.json() == {"message": "Internal error in lfnb.local while handling models_list",
                        "error": "InternalServerError"}
    assert any("models_list" in rec.getMessage() for rec in caplog.records)


def test_path_params_are_decoded_after_matching(v4_server):
    seen = {}
    op = v4_server.app.state.lfnb.table.get("GET", "/api/public/v2/prompts/{promptName}")

    def echo(store, req):
        seen.update(req.path_params)
        seen["headers"] = req.headers
        return {"ok": True, "query": req.query}

    saved, op.handler = op.handler, echo
    try:
        r = get(v4_server, "/api/public/v2/prompts/folder%2Fname?label=a&label=b")
    finally:
        op.handler = saved
    assert r.status_code == 200
    assert r.json() == {"ok": True, "query": [["label", "a"], ["label", "b"]]}
    assert seen["promptName"] == "folder/name"
    assert "authorization" not in seen["headers"]


@pytest.mark.parametrize("method,template,name", CATALOGUE,
                         ids=[op[2] for op in CATALOGUE])
def test_every_operation_answers_json(both_server, method, template, name):
    path = "/".join("x-unknown" if seg.startswith("{") else seg for seg in template.split("/"))
    body = None if method in ("GET", "DELETE") else {}
    r = requests.request(method, both_server.base_url + path, auth=AUTH, json=body, timeout=30)
    assert r.headers.get("content-type") == "application/json", r.text[:200]
    payload = r.json()
    assert r.status_code < 500 or r.status_code == 501, (r.status_code, payload)
    if r.status_code == 501:
        assert payload["operation"] == name
    if r.status_code >= 400:
        assert isinstance(payload.get("message"), str)


# --- generation modes --------------------------------------------------------------------------

@pytest.mark.parametrize("method,path", V1_READS)
def test_v1_reads_are_404_on_v4(v4_server, method, path):
    r = requests.request(method, v4_server.base_url + path, timeout=5)   # refused before auth, as Langfuse does
    assert r.status_code == 404
    assert r.json() == {"message": EVENTS_ONLY_MESSAGE}
    assert EVENTS_ONLY_MESSAGE == ("This endpoint is not available on deployments running in Langfuse v4 "
                                   "events_only mode. Learn more about Langfuse v4 at: https://langfuse.com/docs/v4")


@pytest.mark.parametrize("path", sorted(V4_READS))
def test_v4_reads_are_404_on_v3(v3_server, path):
    params, message = V4_READS[path]
    r = get(v3_server, path, params=params)
    assert r.status_code == 404
    assert r.json() == {"message": message, "error": "LangfuseNotFoundError"}


def test_v3_serves_v3_scores(v3_server):
    # self-hosted v3 from v3.180.0: d32b8521a3 "release v3 scores API" removed the flag gate
    r = get(v3_server, "/api/public/v3/scores")
    assert r.status_code == 200 and r.json() == {"data": [], "meta": {"limit": 50}}


def test_v3_needs_auth_before_the_gate(v3_server):
    r = requests.get(v3_server.base_url + "/api/public/v2/observations", timeout=5)
    assert r.status_code == 401


@pytest.mark.parametrize("path", ["/api/public/traces", "/api/public/v3/scores", "/api/public/v2/observations"])
def test_both_serves_every_family(both_server, path):
    r = get(both_server, path)
    assert r.status_code == 200, r.text
    assert isinstance(r.json()["data"], list)


def test_v3_serves_v1_reads(v3_server):
    r = get(v3_server, "/api/public/traces")
    assert r.status_code == 200
    assert r.json()["meta"]["totalItems"] == 0


# --- rate limits -------------------------------------------------------------------------------

def test_hobby_refuses_the_31st_public_api_request_in_a_minute():
    now = [datetime(2026, 8, 22, 8, 21, 47, tzinfo=UTC).timestamp()]
    limiter = RateLimiter("hobby", clock=lambda: now[0])
    with serve(store=Store(), rate_limit=limiter) as server:
        for i in range(30):
            now[0] += 1
            assert get(server, "/api/public/v3/scores").status_code == 200, i
        assert get(server, "/api/public/health").status_code == 200     # health is never limited
        r = get(server, "/api/public/v3/scores")
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "31"      # window opened at the first request, T+1 s
        assert r.headers["X-RateLimit-Limit"] == "30"
        assert r.headers["X-RateLimit-Remaining"] == "0"
        assert r.headers["X-RateLimit-Reset"] == "Sat Aug 22 2026 08:22:48 GMT+0000 (Coordinated Universal Time)"
        assert r.json() == {"message": "Rate limit exceeded", "code": "rate_limited",
                            "details": {"retryAfterSeconds": 31, "limit": 30, "remaining": 0,
                                        "resetAt": "2026-08-22T08:22:48.000Z"}}
        now[0] += 30
        assert get(server, "/api/public/v3/scores").status_code == 429
        now[0] += 1
        assert get(server, "/api/public/v3/scores").status_code == 200


def test_rate_limit_plan_by_name():
    with serve(store=Store(), rate_limit="hobby", generation="both") as server:
        codes = [get(server, "/api/public/traces").status_code for _ in range(16)]
        assert codes == [200] * 15 + [429]
        r = get(server, "/api/public/traces")
        assert r.json()["message"].startswith("Rate limit exceeded for GET /api/public/traces. Use GET")


# --- faults ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,status,error", [
    ("500", 500, "InternalServerError"), ("502", 502, "BadGateway"),
    ("503", 503, "ServiceUnavailable"), ("524", 524, "Timeout"),
])
def test_status_faults(kind, status, error):
    with serve(store=Store(), faults=f"{kind}=1") as server:
        r = get(server, "/api/public/v3/scores")
        assert r.status_code == status
        assert r.headers["X-Lfnb-Fault"] == kind
        assert r.json()["error"] == error
        assert get(server, "/api/public/health").status_code == 200


def test_429_fault_has_retry_after():
    with serve(store=Store(), faults="429=1,retry_after=0") as server:
        r = get(server, "/api/public/v3/scores")
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "0"
        assert r.json()["code"] == "rate_limited"


def test_drop_closes_the_connection_without_a_response():
    with serve(store=Store(), faults="drop=1") as server:
        with pytest.raises(requests.ConnectionError) as info:
            requests.get(server.base_url + "/api/public/v3/scores", auth=AUTH, timeout=5)
        assert "without response" in str(info.value) or "Connection aborted" in str(info.value)
        assert requests.get(server.base_url + "/api/public/health", timeout=5).status_code == 200


def test_slow_fault_delays():
    with serve(store=Store(), faults="slow=1,slow_ms=300") as server:
        start = time.monotonic()
        r = get(server, "/api/public/v3/scores")
        assert r.status_code == 200
        assert r.headers["X-Lfnb-Fault"] == "slow"
        assert time.monotonic() - start >= 0.3


def test_latency_ms_delays_every_request():
    with serve(store=Store(), latency_ms=150) as server:
        start = time.monotonic()
        assert get(server, "/api/public/health").status_code == 200
        assert time.monotonic() - start >= 0.15


def test_faults_are_deterministic_per_seed():
    spec = "500=0.2,503=0.2,429=0.1,seed=11,retry_after=0"
    runs = []
    for _ in range(2):
        with serve(store=Store(), faults=spec) as server:
            runs.append([get(server, "/api/public/v3/scores").status_code for _ in range(40)])
    assert runs[0] == runs[1]
    assert {500, 503, 429, 200} == set(runs[0])


def _read_all_v2(server, limit, path="/api/public/v2/observations"):
    ids, faults, cursor = [], [], None
    for _ in range(400):
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        r = get(server, path, params=params)
        assert r.status_code == 200, r.text
        faults.append(r.headers.get("X-Lfnb-Fault"))
        page = r.json()
        ids.extend(row["id"] for row in page["data"])
        cursor = page["meta"].get("cursor")
        if not cursor:
            return ids, faults
    raise AssertionError("did not finish")


def test_empty_and_short_pages_lose_no_row():
    store = Store()
    expected = fill_observations(store, 60)
    with serve(store=store, faults="empty=0.3,short=0.3,seed=5") as server:
        ids, faults = _read_all_v2(server, limit=10)
    assert ids == expected                      # same order, nothing lost, nothing twice
    assert faults.count("empty") >= 2 and faults.count("short") >= 2
    store.close()


def test_empty_and_short_v3_scores_lose_no_row(both_server):
    if both_server.store.count("scores") < 20:
        pytest.skip("needs the generator's scores")
    with serve(store=both_server.store, generation="both") as plain:
        expected, faults = _read_all_v2(plain, limit=7, path="/api/public/v3/scores")
    assert set(faults) == {None}
    with serve(store=both_server.store, generation="both", faults="empty=0.3,short=0.3,seed=2") as server:
        ids, faults = _read_all_v2(server, limit=7, path="/api/public/v3/scores")
    assert ids == expected
    assert len(ids) == both_server.store.count("scores")
    assert faults.count("empty") >= 2 and faults.count("short") >= 2


def test_exports():
    import lfnb.local
    from lfnb.local.engine import query

    assert lfnb.local.serve is serve
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = lfnb.local.nope
    assert lfnb.local.query is query


def test_empty_page_keeps_the_position():
    store = Store()
    fill_observations(store, 30)
    with serve(store=store) as plain:
        first = get(plain, "/api/public/v2/observations", params={"limit": 10}).json()
        second = get(plain, "/api/public/v2/observations",
                     params={"limit": 10, "cursor": first["meta"]["cursor"]}).json()
    with serve(store=store, faults="empty=1") as server:
        # a first page is never emptied: there is no position to hand back
        assert [row["id"] for row in get(server, "/api/public/v2/observations", params={"limit": 10}).json()["data"]] \
            == [row["id"] for row in first["data"]]
        r = get(server, "/api/public/v2/observations", params={"limit": 10, "cursor": first["meta"]["cursor"]})
        assert r.headers["X-Lfnb-Fault"] == "empty"
        page = r.json()
        assert page["data"] == [] and page["meta"]["cursor"] != first["meta"]["cursor"]
    with serve(store=store) as plain:
        again = get(plain, "/api/public/v2/observations",
                    params={"limit": 10, "cursor": page["meta"]["cursor"]}).json()
    assert again == second
    store.close()


# --- serve() and serialisation ----------------------------------------------------------------

def test_serve_object(v4_server):
    text = repr(v4_server)
    assert "sk-lf-local" not in text and "pk-lf-local" in text
    assert v4_server.base_url.startswith("http://127.0.0.1:")
    assert v4_server.env == {"LANGFUSE_BASE_URL": v4_server.base_url, "LANGFUSE_HOST": v4_server.base_url,
                             "LANGFUSE_PUBLIC_KEY": "pk-lf-local", "LANGFUSE_SECRET_KEY": "sk-lf-local"}
    assert v4_server.store.count("traces") == 0
    assert "sk-lf-local" not in repr(v4_server.app.state.lfnb)


def test_serve_stops_cleanly():
    with serve(store=Store()) as server:
        url = server.base_url
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/api/public/health", timeout=2)


def test_db_file_is_reused(tmp_path):
    db = str(tmp_path / "local.duckdb")
    store = Store(db)
    fill_observations(store, 3)
    with store.write() as cur:
        cur.execute("INSERT INTO traces (id, project_id, timestamp, environment) VALUES ('t', 'p', now(), 'default')")
    store.close()
    with serve(db=db, generation="both") as server:
        assert server.counts == {}
        assert server.store.count("observations") == 3
        assert get(server, "/api/public/traces").json()["meta"]["totalItems"] == 1


def test_dumps_matches_node():
    value = {"t": datetime(2026, 1, 2, 3, 4, 5, 678901), "n": float("nan"), "i": float("inf"), "s": "é"}
    assert dumps(value) == '{"t":"2026-01-02T03:04:05.678Z","n":null,"i":null,"s":"é"}'.encode()
    assert json.loads(dumps([1, 2.5, None])) == [1, 2.5, None]


def test_connections_have_tcp_nodelay(v4_server):
    """Without TCP_NODELAY, Nagle + delayed ACK add ~40 ms to every keep-alive request."""
    import socket

    op = v4_server.app.state.lfnb.table.get("GET", "/api/public/models")
    seen = {}
    saved = op.handler

    async def probe(store, req):
        return {"ok": True}

    original = v4_server.app.state.lfnb.endpoint

    async def endpoint(request):
        sock = request.scope["extensions"]["lfnb.transport"].get_extra_info("socket")
        seen["nodelay"] = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        return await original(request)

    route = v4_server.app.router.routes[0]
    saved_app, op.handler = route.app, probe
    from starlette.routing import request_response

    route.app = request_response(endpoint)
    try:
        assert get(v4_server, "/api/public/models").json() == {"ok": True}
    finally:
        route.app, op.handler = saved_app, saved
    assert seen["nodelay"] == 1


def test_busy_port_raises_oserror():
    with serve(store=Store()) as server:
        with pytest.raises(OSError):
            with serve(store=Store(), port=server.port):
                pass


def test_bad_settings_fail_before_generating():
    with pytest.raises(ValueError, match="unknown generation 'v5'; valid: v4, v3, both"):
        with serve(generation="v5", traces=10**9):
            pass
    with pytest.raises(ValueError, match="valid plans: hobby, core, pro"):
        with serve(rate_limit="gold", traces=10**9):
            pass


def test_request_bodies(v4_server):
    op = v4_server.app.state.lfnb.table.get("POST", "/api/public/otel/v1/traces")
    seen = []

    def echo(store, req):
        seen.append(req.body)
        return {"ok": True}

    saved, op.handler = op.handler, echo
    try:
        url = v4_server.base_url + "/api/public/otel/v1/traces"
        assert requests.post(url, auth=AUTH, json={"a": [1]}, timeout=5).status_code == 200
        assert requests.post(url, auth=AUTH, data=b"\x0a\x01", timeout=5,
                             headers={"Content-Type": "application/x-protobuf"}).status_code == 200
        r = requests.post(url, auth=AUTH, data=b"{not json", timeout=5, headers={"Content-Type": "application/json"})
    finally:
        op.handler = saved
    assert seen == [{"a": [1]}, b"\x0a\x01"]
    assert (r.status_code, r.text) == (400, "Invalid JSON")   # Next's parser: plain text, the handler never runs
    unauthenticated = requests.post(v4_server.base_url + "/api/public/scores", data=b"{not json", timeout=5,
                                    headers={"Content-Type": "application/json"})
    assert (unauthenticated.status_code, unauthenticated.text) == (400, "Invalid JSON")   # before auth, too
    wrong_method = requests.put(v4_server.base_url + "/api/public/health", data=b"{", timeout=5,
                                headers={"Content-Type": "application/json"})
    assert (wrong_method.status_code, wrong_method.text) == (400, "Invalid JSON")         # and before the 405
