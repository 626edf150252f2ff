"""lfnb.local resource endpoints over real HTTP on 127.0.0.1, including the official SDK's
v3 scores page loop. Reads use the shared servers of conftest; writes get a private
server so the shared stores stay as generated."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

requests = pytest.importorskip("requests")
pytest.importorskip("lfnb.local.server", reason="lfnb.local.serve is not available yet")

pytestmark = pytest.mark.integration


def get(server, path, params=None):
    return requests.get(server.base_url + path, params=params, auth=(server.public_key, server.secret_key),
                        timeout=30)


def sdk(server):
    from langfuse import Langfuse

    return Langfuse(public_key=server.public_key, secret_key=server.secret_key, base_url=server.base_url,
                    tracing_enabled=False)


def test_sdk_v3_scores_page_loop(local_server):
    api = sdk(local_server).api
    ids, cursor, pages = [], None, 0
    while True:
        # no field groups: the SDK's pydantic parsing, not the server, dominates this loop
        page = api.scores.get_many(limit=100, cursor=cursor)
        pages += 1
        ids += [s.id for s in page.data]
        cursor = page.meta.cursor
        if not cursor:
            break
    expected = [r["id"] for r in local_server.store.fetch("SELECT id FROM scores ORDER BY timestamp DESC, id DESC")]
    assert ids == expected
    assert pages == -(-len(expected) // 100)


def test_sdk_v3_scores_filters(local_server):
    api = sdk(local_server).api
    store = local_server.store
    # the numeric score name with the most rows
    name = store.fetch("SELECT name FROM scores WHERE data_type = 'NUMERIC' GROUP BY name "
                       "ORDER BY count(*) DESC, name LIMIT 1")[0]["name"]
    got = api.scores.get_many(limit=100, name=name, data_type="NUMERIC", value_min=0.5,
                              from_timestamp=datetime(2026, 10, 28, tzinfo=UTC))
    expected = [r["id"] for r in store.fetch(
        "SELECT id FROM scores WHERE name = ? AND data_type = 'NUMERIC' AND value >= 0.5 "
        "AND timestamp >= '2026-10-28' ORDER BY timestamp DESC, id DESC LIMIT 100", [name])]
    assert [s.id for s in got.data] == expected and expected
    assert all(isinstance(s.value, float) for s in got.data)


def test_v3_scores_400_over_http(local_server):
    r = get(local_server, "/api/public/v3/scores", {"limit": "101", "page": "2"})
    assert r.status_code == 400
    body = r.json()
    assert body["message"] == "Invalid request data"
    # zod 4 strict objects report property issues first, then unrecognized_keys (handleCatchall)
    assert [i["path"] for i in body["error"]] == [["limit"], []]


def test_trace_pages_over_http(local_server_v3):
    server = local_server_v3
    ids, page = [], 1
    while True:
        r = get(server, "/api/public/traces", {"page": page, "limit": 100, "fields": "core,metrics"})
        assert r.status_code == 200
        body = r.json()
        ids += [t["id"] for t in body["data"]]
        if page >= body["meta"]["totalPages"]:
            break
        page += 1
    assert ids == [r["id"] for r in server.store.fetch("SELECT id FROM traces ORDER BY timestamp DESC, id DESC")]
    missing = get(server, "/api/public/traces/not-a-trace")
    assert (missing.status_code, missing.json()) == (404, {"message": "Trace not found within authorized project",
                                                           "error": "LangfuseNotFoundError"})


def test_catalog_reads_over_http(local_server):
    store = local_server.store
    assert get(local_server, "/api/public/health").json()["status"] == "OK"
    assert get(local_server, "/api/public/projects").json()["data"][0]["id"] == store.fetch(
        "SELECT id FROM projects")[0]["id"]
    datasets = get(local_server, "/api/public/v2/datasets", {"limit": 2}).json()
    assert datasets["meta"]["totalItems"] == store.count("datasets")
    name = store.fetch("SELECT name FROM prompts WHERE list_contains(labels, 'production') ORDER BY name LIMIT 1")[0]["name"]
    prompt = get(local_server, f"/api/public/v2/prompts/{name}").json()
    assert prompt["name"] == name and "production" in prompt["labels"]
    assert get(local_server, "/api/public/models").json()["meta"]["totalItems"] == store.count("models")


def test_writes_over_http():
    from lfnb.local import serve

    # own keys: the SDK keeps one client per public key, so sharing the key of the
    # session servers would send the SDK's requests to them
    with serve(port=0, generation="both", seed=3, traces=20, days=2, public_key="pk-lf-writes",
               secret_key="sk-lf-writes", anchor=datetime(2026, 11, 1, tzinfo=UTC)) as server:
        auth = (server.public_key, server.secret_key)
        trace = server.store.fetch("SELECT id FROM traces ORDER BY id LIMIT 1")[0]["id"]
        r = requests.post(server.base_url + "/api/public/scores", json={"name": "http-check", "value": 0.25,
                                                                         "traceId": trace}, auth=auth, timeout=30)
        assert r.status_code == 200
        score_id = r.json()["id"]
        v3 = sdk(server).api.scores.get_many(name="http-check")
        assert [s.id for s in v3.data] == [score_id] and v3.data[0].value == 0.25
        bad = requests.post(server.base_url + "/api/public/scores", json={"name": "x", "value": "a", "traceId": trace,
                                                                          "dataType": "NUMERIC"}, auth=auth, timeout=30)
        assert bad.status_code == 400
        assert bad.json()["error"] == [{"code": "custom", "path": ["value"],
                                        "message": "NUMERIC scores need a numeric value"}]
        gone = requests.delete(f"{server.base_url}/api/public/scores/{score_id}", auth=auth, timeout=30)
        assert gone.status_code == 204
        assert requests.get(f"{server.base_url}/api/public/v2/scores/{score_id}", auth=auth,
                            timeout=30).status_code == 404
        # the SDK 5 batch create
        from langfuse.api.scores.types import CreateScoreRequest

        sdk(server).api.scores.create(request=[CreateScoreRequest(name="batch", value=1.0, trace_id=trace)])
        assert [r["name"] for r in server.store.fetch("SELECT name FROM scores WHERE name = 'batch'")] == ["batch"]


def test_concurrent_writes_and_reads():
    """8 threads each post 15 scores while others page through v3: every write lands once."""
    from concurrent.futures import ThreadPoolExecutor

    from lfnb.local import serve

    with serve(port=0, generation="both", seed=4, traces=10, days=1, public_key="pk-lf-conc",
               secret_key="sk-lf-conc", anchor=datetime(2026, 11, 1, tzinfo=UTC)) as server:
        auth = (server.public_key, server.secret_key)
        trace = server.store.fetch("SELECT id FROM traces ORDER BY id LIMIT 1")[0]["id"]
        before = server.store.count("scores")

        def writer(n: int) -> list[str]:
            with requests.Session() as session:
                out = []
                for i in range(15):
                    r = session.post(server.base_url + "/api/public/scores", auth=auth, timeout=30,
                                     json={"name": f"conc-{n}", "value": i, "traceId": trace})
                    assert r.status_code == 200, r.text
                    out.append(r.json()["id"])
                return out

        def reader(_: int) -> int:
            r = requests.get(server.base_url + "/api/public/v3/scores", params={"limit": 100}, auth=auth, timeout=30)
            assert r.status_code == 200
            return len(r.json()["data"])

        with ThreadPoolExecutor(max_workers=8) as pool:
            writes = [pool.submit(writer, n) for n in range(8)]
            reads = [pool.submit(reader, n) for n in range(8)]
            created = [sid for f in writes for sid in f.result()]
            assert all(f.result() > 0 for f in reads)
        assert len(set(created)) == 120
        assert server.store.count("scores") == before + 120
        got = requests.get(server.base_url + "/api/public/v2/scores", params={"name": "conc-3", "limit": 100},
                           auth=auth, timeout=30).json()
        assert sorted(d["value"] for d in got["data"]) == list(range(15))
