"""The rendered snapshot behind unfiltered v2 page walks answers exactly as the SQL path."""

from __future__ import annotations

import json

import pytest
import xxhash

from lfnb.local import observations_v2_cache as cache
from lfnb.local.handlers import ApiRequest
from lfnb.local.observations_v2 import get_observations_v2
from lfnb.local.store import Store


def pages(store, params, limit):
    """Every raw page body of a walk."""
    out, cursor = [], None
    while True:
        q = [("limit", str(limit)), *params] + ([("cursor", cursor)] if cursor else [])
        raw = get_observations_v2(store, ApiRequest("GET", "/", {}, q)).raw_json
        out.append(raw)
        cursor = json.loads(raw)["meta"].get("cursor")
        if cursor is None:
            return out


@pytest.fixture
def snapshots_on(monkeypatch):
    monkeypatch.setattr(cache, "MIN_ROWS", 0)


@pytest.mark.parametrize("params, limit", [
    ([("fields", "core,basic,usage")], 300),
    ([], 7),
    ([("fields", "core,metadata,trace_context,io,time,prompt,metrics")], 250),
    ([("fields", "metadata"), ("expandMetadata", "x")], 500),
    ([("fromStartTime", "2026-10-29T06:00:00Z"), ("toStartTime", "2026-10-30T18:00:00.000+00:00")], 33),
    ([("toStartTime", "2026-10-28T00:00:00Z")], 120),
])
def test_snapshot_pages_are_byte_identical(store_small, monkeypatch, params, limit):
    monkeypatch.setattr(cache, "MIN_ROWS", 10**9)
    plain = pages(store_small, params, limit)
    monkeypatch.setattr(cache, "MIN_ROWS", 0)
    first = pages(store_small, params, limit)   # builds the snapshot on its second page
    again = pages(store_small, params, limit)   # served from the snapshot from page one
    assert len(plain) > 1
    assert first == plain and again == plain
    assert cache._SNAPSHOTS[store_small]  # the walk was served from a snapshot


def test_requests_the_snapshot_cannot_answer_use_sql(store_small, snapshots_on):
    eligible = ApiRequest("GET", "/", {}, [("fields", "core")])
    assert cache.eligible(eligible, ("core",))
    assert not cache.eligible(eligible, ("core", "model"))
    for name in ("filter", "name", "environment", "isRootObservation", "traceId"):
        assert not cache.eligible(ApiRequest("GET", "/", {}, [(name, "x")]), ("core",)), name
    # a bound below the millisecond is left to SQL: same rows either way
    sub_ms = [("toStartTime", "2026-10-30T18:00:00.000500Z")]
    assert pages(store_small, sub_ms, 400) == pages(store_small, sub_ms, 400)


def test_a_changed_table_is_never_served_from_a_stale_snapshot(snapshots_on):
    store = Store()
    rows = [(f"o{i:03d}", f"t{i % 7}", xxhash.xxh32_intdigest(f"t{i % 7}".encode()), i) for i in range(60)]
    with store.write() as cur:
        for oid, tid, h, i in rows:
            cur.execute("INSERT INTO observations (id, trace_id, trace_id_hash, project_id, type, start_time, "
                        "level, environment) VALUES (?, ?, ?, 'p', 'SPAN', TIMESTAMP '2026-01-01' + "
                        "to_milliseconds(? * 250), 'DEFAULT', 'default')", [oid, tid, h, i // 2])
    before = pages(store, [("fields", "core")], 25)
    assert store in cache._SNAPSHOTS
    with store.write() as cur:
        cur.execute("INSERT INTO observations (id, trace_id, trace_id_hash, project_id, type, start_time, level, "
                    "environment) VALUES ('new', 't1', ?, 'p', 'EVENT', TIMESTAMP '2026-01-02', 'DEFAULT', 'default')",
                    [xxhash.xxh32_intdigest(b"t1")])
    after = pages(store, [("fields", "core")], 25)
    ids = [r["id"] for raw in after for r in json.loads(raw)["data"]]
    assert ids[0] == "new" and len(ids) == 61 and len(set(ids)) == 61
    assert [r["id"] for raw in before for r in json.loads(raw)["data"]] == ids[1:]


def test_a_page_of_an_unchanged_table_runs_no_query(snapshots_on, store_small, monkeypatch):
    """Serving from a fresh snapshot costs O(page): no statement over the table (was a fingerprint scan)."""
    walk = pages(store_small, [("fields", "core,basic,usage")], 200)  # builds the snapshot
    cursor = json.loads(walk[0])["meta"]["cursor"]
    statements: list[str] = []
    real = store_small.thread_cursor

    class Spy:
        def __init__(self, cur):
            self._cur = cur

        def execute(self, sql, *args):
            statements.append(sql)
            return self._cur.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self._cur, name)

    monkeypatch.setattr(store_small, "thread_cursor", lambda: Spy(real()))
    q = [("limit", "200"), ("fields", "core,basic,usage"), ("cursor", cursor)]
    raw = get_observations_v2(store_small, ApiRequest("GET", "/", {}, q)).raw_json
    assert raw == walk[1]
    assert statements == []
