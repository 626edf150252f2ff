"""lf.sync and open_lake on fsspec URLs (``memory://``, ``file://``) against lfnb.local, and the sync lock.

A lake synced into fsspec's in-memory filesystem or through a ``file://`` URL holds the same
frames as the lake at a local path; SQL, metrics and Dask (default scheduler: a LocalCluster's
worker processes cannot see this process's memory filesystem) read it too.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import UTC, datetime

import fsspec
import pandas.testing as pdt
import pytest
from fsspec.implementations.memory import MemoryFileSystem

import lfnb
from lfnb.lake import LakeError
from lfnb.lake.lock import LOCK_FILE
from lfnb.local import serve

ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
TINY = dict(seed=4, traces=120, days=3, anchor=ANCHOR)
SINCE, UNTIL = "2026-10-28T00:00:00Z", "2026-11-01T00:00:00Z"
RESOURCES = ("observations", "scores", "traces")


def connect(server):
    return lfnb.connect(server.base_url, server.env["LANGFUSE_PUBLIC_KEY"], server.env["LANGFUSE_SECRET_KEY"],
                        max_retries=8)


def memory_files(url: str) -> list[str]:
    """Every file of the lake (hidden ones included), relative to its root."""
    root = url.replace("memory://", "/")
    return sorted(p[len(root) + 1:] for p in fsspec.filesystem("memory").find(root))


def local_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("generation", ["v3", "v4"])
def test_a_sync_into_memory_and_file_urls_equals_the_local_lake(tmp_path, memory_url, generation):
    with serve(port=0, generation=generation, **TINY) as server:
        lf = connect(server)
        local = lf.sync(tmp_path / "local", since=SINCE, until=UNTIL)
        in_memory = lf.sync(memory_url, since=SINCE, until=UNTIL)
        via_url = lf.sync(f"file://{tmp_path}/viaurl", since=SINCE, until=UNTIL)
        for result in (in_memory, via_url):
            pdt.assert_frame_equal(result.drop(columns="seconds"), local.drop(columns="seconds"))
        reference = lfnb.open_lake(tmp_path / "local")
        for lake in (lfnb.open_lake(memory_url), lfnb.open_lake(f"file://{tmp_path}/viaurl")):
            for resource in RESOURCES:
                assert lake.read(resource).equals(reference.read(resource)), resource
        assert local_files(tmp_path / "viaurl") == local_files(tmp_path / "local")
        assert memory_files(memory_url) == local_files(tmp_path / "local")     # no lock, no temp file left
        assert LOCK_FILE not in memory_files(memory_url)

        lake = lfnb.open_lake(memory_url)
        query = {"view": "observations", "dimensions": [{"field": "type"}],
                 "metrics": [{"measure": "count", "aggregation": "count"},
                             {"measure": "totalCost", "aggregation": "sum"}],
                 "fromTimestamp": "2026-10-29T00:00:00Z", "toTimestamp": "2026-10-31T00:00:00Z"}
        pdt.assert_frame_equal(lake.metrics(query), lf.read_metrics(query, cache=False))
        pdt.assert_frame_equal(lake.metrics(query), reference.metrics(query))
        sql = 'SELECT day, type, count(*) AS n, sum("totalCost") AS cost FROM observations GROUP BY ALL ORDER BY ALL'
        pdt.assert_frame_equal(lake.sql(sql), reference.sql(sql))
        assert lake.sql("SELECT count(*) AS n FROM observations")["n"][0] == server.store.count("observations")

        idle = lf.sync(memory_url, until=UNTIL)
        assert idle["partitions"].sum() == 0


def test_dask_and_incremental_sync_on_memory(tmp_path, memory_url):
    with serve(port=0, generation="v4", **TINY) as server:
        lf = connect(server)
        lf.sync(memory_url, since=SINCE, until=UNTIL, resources=["observations"])
        lf.sync(tmp_path, since=SINCE, until=UNTIL, resources=["observations"])
    lake = lfnb.open_lake(memory_url)
    frame = lfnb.open_lake(tmp_path).read("observations")
    ddf = lake.dask("observations")
    assert ddf.npartitions == 3 and dict(ddf.dtypes) == dict(frame.dtypes)
    everything = ddf.compute(scheduler="threads")
    order = ["startTime", "id"]
    pdt.assert_frame_equal(everything.sort_values(order).reset_index(drop=True),
                           frame.sort_values(order).reset_index(drop=True))
    by_type = ddf.groupby("type")["totalCost"].sum().compute(scheduler="threads").sort_index()
    pdt.assert_series_equal(by_type, frame.groupby("type")["totalCost"].sum().sort_index(), check_dtype=False,
                            rtol=1e-12)


def test_an_interrupted_sync_into_memory_leaves_complete_files_and_resumes(tmp_path, memory_url, monkeypatch):
    with serve(port=0, generation="v4", **TINY) as server:
        lf = connect(server)
        lf.sync(tmp_path, since=SINCE, until=UNTIL, resources=["observations"])
        real_mv = MemoryFileSystem.mv
        calls = {"n": 0}

        def mv_then_die(self, *args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 3:        # state file, first partition, then a Ctrl-C before the second's move
                raise KeyboardInterrupt
            return real_mv(self, *args, **kwargs)

        monkeypatch.setattr(MemoryFileSystem, "mv", mv_then_die)
        with pytest.raises(KeyboardInterrupt):
            lf.sync(memory_url, since=SINCE, until=UNTIL, resources=["observations"])
        monkeypatch.undo()
        stored = memory_files(memory_url)
        assert [f for f in stored if not f.startswith(".lfnb-tmp/")] == [
            "_lfnb_lake.json", "observations/day=2026-10-29/part-0.parquet"]  # no lock: released on Ctrl-C
        assert [f for f in stored if f.startswith(".lfnb-tmp/")]               # the orphan, hidden
        assert len(lfnb.open_lake(memory_url).read("observations")) > 0
        lf.sync(memory_url, since=SINCE, until=UNTIL, resources=["observations"])
    assert memory_files(memory_url) == local_files(tmp_path)
    assert lfnb.open_lake(memory_url).read("observations").equals(lfnb.open_lake(tmp_path).read("observations"))


def test_a_second_sync_is_refused_while_the_first_runs_and_a_dead_ones_lock_is_taken_over(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        with serve(port=0, generation="v4", **TINY) as server:
            lf = connect(server)
            lake = tmp_path / "lake"
            lf.sync(lake, since=SINCE, until=UNTIL, resources=["scores"])
            assert not (lake / LOCK_FILE).exists()                          # released on success
            state = (lake / "_lfnb_lake.json").read_text()
            running = {"host": socket.gethostname(), "pid": holder.pid, "started": "2026-11-01T09:00:00+00:00",
                       "token": "theirs"}
            (lake / LOCK_FILE).write_text(json.dumps(running))
            (lake / ".lfnb-tmp" / "theirs.tmp").write_text("a running sync's temp file")
            with pytest.raises(LakeError) as caught:
                lf.sync(lake, resources=["scores"])
            assert str(caught.value) == (
                f"{lake} is being synced by another process (host {socket.gethostname()!r}, pid {holder.pid}, "
                "started 2026-11-01T09:00:00+00:00); the lake is unchanged. Wait for that sync to end. If it is "
                "no longer running (a killed sync on another machine), the lock is stale: delete "
                f"{lake}/.lfnb-lock and sync again")
            assert (lake / ".lfnb-tmp" / "theirs.tmp").exists()            # the running sync's files untouched
            assert json.loads((lake / LOCK_FILE).read_text()) == running
            assert (lake / "_lfnb_lake.json").read_text() == state
            assert lfnb.open_lake(lake).read("scores").shape[0] > 0         # readers need no lock

            holder.kill()
            holder.wait()                                                   # now a dead pid: a stale lock
            result = lf.sync(lake, until=UNTIL, resources=["scores"])
            assert result["partitions"][0] == 0
            assert not (lake / LOCK_FILE).exists()
            assert list((lake / ".lfnb-tmp").iterdir()) == []
    finally:
        holder.kill()
        holder.wait()
