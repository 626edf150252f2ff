"""lfnb.lake on fsspec URLs (memory://, file://) and the sync lock, without a server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import fsspec
import pandas.testing as pdt
import pytest

from lfnb.frames.builder import build_frame
from lfnb.lake import LakeError, files, open_lake
from lfnb.lake.location import Location
from lfnb.lake.lock import LOCK_FILE, sync_lock
from lfnb.lake.state import STATE_FILE, LakeState

RECORDS = [
    {"id": "a", "traceId": "t1", "startTime": "2026-10-30T23:59:59.999Z", "type": "GENERATION",
     "metadata": {"k": [1, 2]}, "tags": ["x"], "usageDetails": {"input": 3}, "costDetails": {"total": 0.5}},
    {"id": "b", "traceId": "t2", "startTime": "2026-10-31T00:00:00.000Z", "type": "SPAN", "metadata": None},
]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def write_lake(root) -> None:
    LakeState(base_url="http://x", project_id="p", generation="v4").save(root)
    original = build_frame("observations", RECORDS, fields=files.ALL_GROUPS)
    for day, part in original.groupby(original["startTime"].dt.date):
        files.write_partition(root, "observations", day, files.encode(part, "observations"))


def test_a_lake_on_memory_and_file_urls_reads_like_the_local_lake(tmp_path, memory_url):
    write_lake(tmp_path / "local")
    write_lake(memory_url)
    write_lake(f"file://{tmp_path}/viaurl")
    local = open_lake(tmp_path / "local")
    for url in (memory_url, f"file://{tmp_path}/viaurl"):
        lake = open_lake(url)
        assert lake.read("observations").equals(local.read("observations"))
        pdt.assert_frame_equal(lake.read("observations", "2026-10-31", columns=["id", "totalCost"]),
                               local.read("observations", "2026-10-31", columns=["id", "totalCost"]))
        pdt.assert_frame_equal(lake.sql("SELECT id, day FROM observations ORDER BY id"),
                               local.sql("SELECT id, day FROM observations ORDER BY id"))
    fs = fsspec.filesystem("memory")
    stored = sorted(p.split("/", 2)[2] for p in fs.find(memory_url.replace("memory://", "/")))
    assert stored == [STATE_FILE, "observations/day=2026-10-30/part-0.parquet",
                      "observations/day=2026-10-31/part-0.parquet"]           # no temp file left behind
    assert str(open_lake(memory_url).root) == memory_url


def test_bad_urls_are_clear_errors():
    with pytest.raises(LakeError, match=r"^Unknown filesystem protocol 'nosuch' in nosuch://bucket/lake: no fsspec "
                                        r"implementation is registered for it\. Valid: a local path, file://, "
                                        r"memory://, s3:// \(pip install s3fs\)"):
        open_lake("nosuch://bucket/lake")
    try:
        import gcsfs  # noqa: F401
        pytest.skip("gcsfs is installed here")
    except ImportError:
        pass
    with pytest.raises(LakeError, match=r"^The filesystem protocol 'gs' of gs://bucket/lake needs gcsfs, which is "
                                        r"not installed: pip install gcsfs; local paths need nothing$"):
        open_lake("gs://bucket/lake")
    with pytest.raises(LakeError, match=r"^storage_options apply to fsspec URLs \(memory://, s3://bucket/…\), "
                                        r"not to the local path lake$"):
        open_lake("lake", storage_options={"anon": True})
    with pytest.raises(LakeError, match=r"^memory://nowhere-at-all does not exist or is not a directory"):
        open_lake("memory://nowhere-at-all")


@pytest.mark.parametrize("where", ["local", "memory"])
def test_a_second_sync_lock_is_refused_naming_the_holder(tmp_path, memory_url, where):
    root = Location.of(tmp_path if where == "local" else memory_url)
    root.makedirs()
    with sync_lock(root) as mine:
        assert json.loads(root.read_bytes(LOCK_FILE)) == mine
        assert mine["pid"] == os.getpid() and mine["host"] == socket.gethostname()
        with pytest.raises(LakeError) as caught:
            with sync_lock(root):
                pass
        assert str(caught.value) == (
            f"{root} is being synced by another process (host {mine['host']!r}, pid {os.getpid()}, started "
            f"{mine['started']}); the lake is unchanged. Wait for that sync to end. If it is no longer running "
            f"(a killed sync on another machine), the lock is stale: delete {root.show(LOCK_FILE)} and sync again")
        assert json.loads(root.read_bytes(LOCK_FILE)) == mine                # the refused one left it alone
    assert not root.exists(LOCK_FILE)


@pytest.mark.parametrize("where", ["local", "memory"])
def test_a_lock_of_a_dead_pid_on_this_host_is_taken_over(tmp_path, memory_url, where):
    root = Location.of(tmp_path if where == "local" else memory_url)
    root.makedirs()
    stale = {"host": socket.gethostname(), "pid": dead_pid(), "started": "2026-11-01T00:00:00+00:00", "token": "old"}
    root.write_atomic(LOCK_FILE, json.dumps(stale).encode())
    with sync_lock(root) as mine:
        assert json.loads(root.read_bytes(LOCK_FILE)) == mine and mine["token"] != "old"
    assert not root.exists(LOCK_FILE)


def test_a_lock_of_another_host_or_unreadable_is_not_taken_over(tmp_path):
    root = Location.of(tmp_path)
    other = {"host": "build-server-7", "pid": dead_pid(), "started": "2026-11-01T00:00:00+00:00", "token": "t"}
    (tmp_path / LOCK_FILE).write_text(json.dumps(other))
    with pytest.raises(LakeError, match=r"being synced by another process \(host 'build-server-7', pid \d+, started "
                                        r"2026-11-01T00:00:00\+00:00\); the lake is unchanged.*delete "
                                        rf"{tmp_path}/\.lfnb-lock and sync again"):
        with sync_lock(root):
            pass
    (tmp_path / LOCK_FILE).write_text("")
    with pytest.raises(LakeError, match=r"being synced by another process \(a holder that left no readable record\)"):
        with sync_lock(root):
            pass
    assert (tmp_path / LOCK_FILE).read_text() == ""


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_the_lock_is_released_on_errors_and_interrupts(tmp_path, exc):
    root = Location.of(tmp_path)
    with pytest.raises(type(exc)):
        with sync_lock(root):
            assert (tmp_path / LOCK_FILE).exists()
            raise exc
    assert not (tmp_path / LOCK_FILE).exists()
