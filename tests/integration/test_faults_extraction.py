"""With lfnb.local's fault injection on, read_observations returns exactly the fault-free id set."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("lfnb.local.server")
pytest.importorskip("lfnb.local.generator")

import lfnb  # noqa: E402
from lfnb.local import serve  # noqa: E402

pytestmark = pytest.mark.integration

SMALL = dict(seed=0, traces=300, days=7, anchor=pd.Timestamp("2026-11-01", tz="UTC").to_pydatetime())
FAULTS = "429=0.06,500=0.04,502=0.02,503=0.02,524=0.04,drop=0.04,empty=0.08,short=0.08,retry_after=0.2,seed={seed}"


@pytest.fixture(scope="module", params=[3, 11])
def faulty(request):
    with serve(port=0, generation="v4", faults=FAULTS.format(seed=request.param), **SMALL) as server:
        yield server


def client(server):
    lf = lfnb.connect(server.base_url, server.public_key, server.secret_key, max_retries=10)
    lf.transport.backoff = 0.01  # keep the test fast; the schedule itself is tested in unit tests
    lf.transport.max_backoff = 0.05
    return lf


@pytest.mark.parametrize("workers", [1, 8])
def test_faults_lose_and_duplicate_nothing(faulty, local_server, workers):
    clean = lfnb.connect(local_server.base_url, local_server.public_key, local_server.secret_key)
    reference = clean.read_observations("2026-10-01", "2026-11-02", limit=100, progress=False)
    lf = client(faulty)
    df = lf.read_observations("2026-10-01", "2026-11-02", limit=100, workers=workers, progress=False)
    assert lf.transport.retries > 0, "the fault plan should have forced retries"
    assert len(df) == len(reference) == faulty.store.count("observations")
    assert df["id"].is_unique
    assert set(df["id"]) == set(reference["id"])
    assert df["id"].tolist() == reference["id"].tolist()  # the server's order, across window edges too


def test_faults_on_page_based_reads(faulty):
    lf = client(faulty)
    df = lf.read_dataset_items(workers=4, progress=False)
    assert sorted(df["id"]) == sorted(r["id"] for r in faulty.store.fetch("SELECT id FROM dataset_items"))
    scores = lf.read_scores(progress=False)
    assert sorted(scores["id"]) == sorted(r["id"] for r in faulty.store.fetch("SELECT id FROM scores"))


def test_window_failing_with_524_is_split(local_server, monkeypatch):
    """A window whose requests keep failing with 524 is read again as two halves."""
    from lfnb.errors import ServerError

    lf = lfnb.connect(local_server.base_url, local_server.public_key, local_server.secret_key, max_retries=0)
    real = lf.transport.send
    failed = []

    def flaky(method, path, *, params=None, **kw):
        lo, hi = params.get("fromStartTime"), params.get("toStartTime")
        if lo and hi and pd.Timestamp(hi) - pd.Timestamp(lo) > pd.Timedelta(hours=12):
            failed.append((lo, hi))
            raise ServerError(524, method, path, '{"message": "A timeout occurred"}')
        return real(method, path, params=params, **kw)

    reference = lf.read_observations("2026-10-24", "2026-11-01", limit=200, progress=False)
    monkeypatch.setattr(lf.transport, "send", flaky)
    df = lf.read_observations("2026-10-24", "2026-11-01", workers=2, limit=200, progress=False)
    assert failed, "some windows should have been longer than 12 h"
    assert len(reference) == local_server.store.count("observations")
    assert df["id"].tolist() == reference["id"].tolist()


@pytest.mark.parametrize("workers", [1, 8])
def test_faults_on_a_v3_server(local_server_v3, workers):
    """v1 page-based reads (pages 2..N concurrently with workers) under the same faults."""
    with serve(port=0, generation="v3", faults=FAULTS.format(seed=5), **SMALL) as server:
        lf = client(server)
        df = lf.read_observations(workers=workers, progress=False)
        clean = lfnb.connect(local_server_v3.base_url, local_server_v3.public_key, local_server_v3.secret_key)
        reference = clean.read_observations(progress=False)
        assert lf.transport.retries > 0
        assert df["id"].is_unique and len(df) == server.store.count("observations")
        assert df["id"].tolist() == reference["id"].tolist()
