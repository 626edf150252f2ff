"""Every read path returns the same frame (``DataFrame.equals``) whatever ``workers``, range or faults.

The reference for observations is built here the slow, obvious way — one sequential
cursor walk with ``requests`` + ``json``, then one pandas conversion per column — so a
change to the extraction engine (windows, prefetch, the frame builder, the JSON parser)
cannot move the reference along with it. The other reads are compared with their own
``workers=1`` read on a fault-free server.
"""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest
import requests

pytest.importorskip("lfnb.local.server")
pytest.importorskip("lfnb.local.generator")

import lfnb  # noqa: E402
from lfnb.frames.columns import DTYPES, DYNAMIC_PREFIXES, observation_columns  # noqa: E402
from lfnb.local import serve  # noqa: E402

pytestmark = pytest.mark.integration

SMALL = dict(seed=0, traces=300, days=7, anchor=pd.Timestamp("2026-11-01", tz="UTC").to_pydatetime())
FAULTS = "429=0.05,500=0.04,502=0.02,503=0.02,524=0.04,drop=0.04,empty=0.08,short=0.08,retry_after=0.2,seed=7"
ALL_GROUPS = ("core", "basic", "time", "io", "metadata", "model", "usage", "prompt", "metrics", "trace_context")
# (from_time, to_time): the data's own days, "all time" as a user writes it, open end
RANGES = [("2026-10-24", "2026-11-01"), ("2000-01-01", "2027-01-01"), ("2026-10-28", None)]


@pytest.fixture(scope="module")
def faulty():
    with serve(port=0, generation="v4", faults=FAULTS, **SMALL) as server:
        yield server


def connect(server, **kw):
    lf = lfnb.connect(server.base_url, server.public_key, server.secret_key, **kw)
    lf.transport.backoff = 0.01  # keep the fault runs fast; the schedule is tested in unit tests
    lf.transport.max_backoff = 0.05
    return lf


def _column(values: list, code: str) -> pd.Series:
    obj = pd.Series(values, dtype=object)
    if code == "str":
        return pd.Series([v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                          for v in values], dtype="str")
    if code == "time":
        return pd.to_datetime(obj, utc=True, format="ISO8601").astype(DTYPES["time"])
    if code in ("int", "float", "price"):
        num = pd.to_numeric(obj)
        return num.round().astype("Int64") if code == "int" else num.astype("Float64")
    if code == "bool":
        return obj.astype("boolean")
    return obj


def reference_observations(server, from_time, to_time, groups, limit) -> pd.DataFrame:
    """One sequential cursor walk with requests + json; one pandas conversion per column."""
    session = requests.Session()
    session.auth = (server.public_key, server.secret_key)
    url = server.base_url + "/api/public/v2/observations"
    # the wire fields the client sends on v4: the groups asked for plus "metrics" (timeToFirstToken is
    # null without it, facts sheet §4 Correction); the columns are those of the groups asked for
    wire = ",".join(dict.fromkeys(("core", *groups, "metrics")))
    params = {"fields": wire, "limit": limit, "fromStartTime": pd.Timestamp(from_time, tz="UTC").isoformat()}
    if to_time is not None:
        params["toStartTime"] = pd.Timestamp(to_time, tz="UTC").isoformat()
    columns = dict(observation_columns(groups))
    records: list[dict] = []
    cursor = None
    while True:
        page = session.get(url, params={**params, **({"cursor": cursor} if cursor else {})}, timeout=60)
        page.raise_for_status()
        body = json.loads(page.content)
        for prefix, code in DYNAMIC_PREFIXES.items():  # new nested keys join per page, sorted
            if any(c.startswith(prefix + ".") for c in columns):
                keys = {k for r in body["data"] for k in (r.get(prefix) or {})}
                for k in sorted(keys):
                    columns.setdefault(f"{prefix}.{k}", code)
        records.extend(body["data"])
        cursor = body["meta"].get("cursor")
        if not cursor:
            break

    def get(r: dict, col: str):
        if "." in col:
            outer, inner = col.split(".", 1)
            obj = r.get(outer)
            return obj.get(inner) if isinstance(obj, dict) else None
        return r.get(col)

    return pd.DataFrame({col: _column([get(r, col) for r in records], code) for col, code in columns.items()})


def assert_same(df: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert list(df.columns) == list(ref.columns)
    assert dict(df.dtypes.astype(str)) == dict(ref.dtypes.astype(str))
    assert len(df) == len(ref)
    assert df["id"].is_unique
    for col in df.columns:  # a named column in the failure instead of a bare False
        assert df[col].equals(ref[col]), col
    assert df.equals(ref)


@pytest.mark.parametrize("workers", [1, 4, 8])
@pytest.mark.parametrize("rng", RANGES, ids=["own-range", "all-time", "open-end"])
def test_observations_identical_to_the_reference(local_server, rng, workers):
    groups = ("core", "basic", "usage")
    ref = reference_observations(local_server, *rng, groups, limit=100)
    assert len(ref) > 200
    df = connect(local_server).read_observations(*rng, fields=groups, limit=100, workers=workers, progress=False)
    assert_same(df, ref)


@pytest.mark.parametrize("workers", [1, 8])
def test_every_field_group_identical(local_server, workers):
    ref = reference_observations(local_server, "2026-10-25", "2026-11-01", ALL_GROUPS, limit=250)
    df = connect(local_server).read_observations("2026-10-25", "2026-11-01", fields=ALL_GROUPS, limit=250,
                                                 workers=workers, progress=False)
    assert_same(df, ref)


@pytest.mark.parametrize("workers", [1, 4, 8])
def test_observations_under_faults_identical(local_server, faulty, workers):
    ref = reference_observations(local_server, "2000-01-01", "2027-01-01", ("core", "basic", "usage"), limit=100)
    lf = connect(faulty, max_retries=10)
    df = lf.read_observations("2000-01-01", "2027-01-01", limit=100, workers=workers, progress=False)
    assert lf.transport.retries > 0, "the fault plan should have forced retries"
    assert_same(df, ref)


@pytest.mark.parametrize("workers", [4, 8])
@pytest.mark.parametrize("read", ["read_traces", "read_sessions", "read_scores"])
def test_other_reads_identical_to_workers_1(local_server, faulty, read, workers):
    ref = getattr(connect(local_server), read)("2026-10-20", "2026-11-01", workers=1, progress=False)
    assert len(ref) > 20
    for server in (local_server, faulty):
        df = getattr(connect(server, max_retries=10), read)("2026-10-20", "2026-11-01", workers=workers,
                                                             progress=False)
        assert_same(df, ref)


@pytest.mark.parametrize("workers", [4, 8])
def test_v3_observations_identical_to_workers_1(local_server_v3, workers):
    ref = connect(local_server_v3).read_observations("2026-10-20", "2026-11-01", progress=False)
    df = connect(local_server_v3).read_observations("2026-10-20", "2026-11-01", workers=workers, progress=False)
    assert_same(df, ref)


def test_read_scores_parallelises_on_v4(local_server):
    """``workers`` is not silently ignored by read_scores on v4 (reliability D11): windows of v3 scores."""
    lf = connect(local_server)
    windows = set()
    real = lf.transport.send

    def spy(method, path, *, params=None, **kw):
        if path.endswith("/v3/scores"):
            windows.add((params or {}).get("toTimestamp"))
        return real(method, path, params=params, **kw)

    lf.transport.send = spy
    df = lf.read_scores("2026-10-20", "2026-11-01", workers=4, progress=False)
    assert len(df) > 200
    assert len(windows) > 1


def count_concurrent_sends(lf, delay: float = 0.0) -> list[int]:
    """Wrap ``lf.transport.send``; the returned list's one item becomes the most requests seen at once."""
    import threading

    lock, now, peak = threading.Lock(), [0], [0]
    real = lf.transport.send

    def spy(*a, **kw):
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        try:
            if delay:
                time.sleep(delay)  # let the requests overlap as they would on a remote server
            return real(*a, **kw)
        finally:
            with lock:
                now[0] -= 1

    lf.transport.send = spy
    return peak


def test_workers_beyond_the_pool_are_capped(local_server):
    """64 workers on a 4-connection pool: never more than 4 requests at once (reliability D11)."""
    lf = connect(local_server, pool_size=4)
    peak = count_concurrent_sends(lf)
    df = lf.read_observations("2000-01-01", "2027-01-01", limit=50, workers=64, progress=False)
    assert len(df) == local_server.store.count("observations")
    assert 1 < peak[0] <= 4
    sequential = -(-len(df) // 50)
    assert lf.transport.requests <= sequential * 1.3


@pytest.fixture(scope="module")
def v3_many_traces():
    with serve(port=0, generation="v3", **{**SMALL, "traces": 1500}) as server:
        yield server


def test_page_number_list_reads_cap_workers_at_the_pool(v3_many_traces):
    """v1 list reads (``_read_list``) with 64 workers on a 4-connection pool: at most 4 requests at once,
    the same rows as ``workers=1`` (issue 14: only the generation reads capped ``workers``)."""
    lf = connect(v3_many_traces, pool_size=4)
    peak = count_concurrent_sends(lf, delay=0.005)
    df = lf.read_traces(workers=64, progress=False)
    assert len(df) == v3_many_traces.store.count("traces") and len(df) > 8 * 100
    assert 1 < peak[0] <= 4
    ref = connect(v3_many_traces).read_traces(progress=False)
    assert_same(df, ref)
