"""GET /api/public/v2/observations over real HTTP, read with the official Langfuse SDK."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
import requests
import xxhash

pytest.importorskip("lfnb.local.server", reason="lfnb.local.serve is not available yet")
langfuse = pytest.importorskip("langfuse")

FROM = datetime(2026, 10, 29, 6, tzinfo=UTC)
TO = datetime(2026, 10, 30, 18, tzinfo=UTC)


@pytest.fixture(scope="module")
def sdk(local_server):
    client = langfuse.Langfuse(public_key=local_server.public_key, secret_key=local_server.secret_key,
                               base_url=local_server.base_url, tracing_enabled=False)
    return client.api


def store_ids(store, where: str = "TRUE", params=()) -> list[str]:
    """The store's ids in the documented order, hashing trace ids here rather than trusting the column."""
    rows = store.fetch(f"SELECT id, trace_id, epoch_us(start_time) // 1000 AS ms FROM observations o WHERE {where}",
                       list(params))
    rows.sort(key=lambda r: (r["ms"], xxhash.xxh32_intdigest(r["trace_id"].encode()), r["id"]), reverse=True)
    return [r["id"] for r in rows]


def sdk_walk(api, **kwargs):
    ids, cursor, pages = [], None, 0
    while True:
        resp = api.observations.get_many(cursor=cursor, **kwargs)
        pages += 1
        ids.extend(o.id for o in resp.data)
        cursor = resp.meta.cursor
        if cursor is None:
            return ids, pages, resp
        assert pages < 1000


def test_sdk_page_loop_returns_exactly_the_stores_ids(sdk, local_server):
    ids, pages, _ = sdk_walk(sdk, limit=40, fields="core,basic,usage", from_start_time=FROM, to_start_time=TO)
    expected = store_ids(local_server.store, "start_time >= ? AND start_time < ?",
                         [FROM.replace(tzinfo=None), TO.replace(tzinfo=None)])
    assert len(expected) > 200
    assert ids == expected
    assert pages == -(-len(expected) // 40)


def test_sdk_reads_model_group_and_filters(sdk, local_server):
    conds = [{"type": "stringOptions", "column": "type", "operator": "any of", "value": ["GENERATION"]},
             {"type": "null", "column": "model", "operator": "is not null", "value": ""}]
    ids, _, last = sdk_walk(sdk, limit=100, fields="core,model", filter=json.dumps(conds),
                            environment=["production", "staging"], from_start_time=FROM, to_start_time=TO)
    expected = store_ids(local_server.store, "type = 'GENERATION' AND model IS NOT NULL AND environment IN "
                         "('production', 'staging') AND start_time >= ? AND start_time < ?",
                         [FROM.replace(tzinfo=None), TO.replace(tzinfo=None)])
    assert ids == expected and expected
    obs = last.data[-1]
    row = local_server.store.fetch("SELECT model, internal_model_id FROM observations WHERE id = ?", [obs.id])[0]
    assert obs.model == row["model"] and obs.model_id == row["internal_model_id"]
    assert isinstance(obs.input_price, str) and float(obs.input_price) > 0


def test_raw_http_shape_and_cursor_needs_url_encoding(local_server):
    auth = (local_server.public_key, local_server.secret_key)
    url = f"{local_server.base_url}/api/public/v2/observations"
    first = requests.get(url, params={"limit": 3}, auth=auth, timeout=10)
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/json")
    body = first.json()
    assert list(body) == ["data", "meta"] and list(body["meta"]) == ["cursor"]
    cursor = body["meta"]["cursor"]
    assert set(json.loads(base64.b64decode(cursor))) == {"lastStartTimeTo", "lastTraceId", "lastId"}
    second = requests.get(url, params={"limit": 3, "cursor": cursor}, auth=auth, timeout=10).json()
    assert [r["id"] for r in body["data"] + second["data"]] == store_ids(local_server.store)[:6]
    bad = requests.get(url, params={"limit": 1001}, auth=auth, timeout=10)
    assert bad.status_code == 400 and bad.json()["message"] == "Invalid request data"


def test_sdk_simple_parameters(sdk, local_server):
    ids, _, _ = sdk_walk(sdk, limit=500, is_root_observation=True, level="DEFAULT", type="SPAN",
                         from_start_time=FROM, to_start_time=TO)
    expected = store_ids(local_server.store, "parent_observation_id IS NULL AND level = 'DEFAULT' AND type = 'SPAN' "
                         "AND start_time >= ? AND start_time < ?", [FROM.replace(tzinfo=None), TO.replace(tzinfo=None)])
    assert ids == expected and expected
