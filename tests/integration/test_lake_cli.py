"""``lfnb sync`` as a subprocess: the result table, a clear error, and ``kill -9`` in the middle of a sync."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime

import pandas.testing as pdt
import pytest

import lfnb
from lfnb.local import serve

pytestmark = pytest.mark.integration

ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
TINY = dict(seed=2, traces=120, days=3, anchor=ANCHOR)
WINDOW = ["--since", "2026-10-28T00:00:00Z", "--until", "2026-11-01T00:00:00Z"]


def cli(server, *args, **popen):
    env = {**os.environ, **server.env, "LANGFUSE_BASE_URL": server.base_url}
    return subprocess.Popen([sys.executable, "-m", "lfnb.cli", "sync", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **popen)


def visible(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet") if ".lfnb-tmp" not in p.parts)


def sync_until_a_partition_shows(server, lake):
    """``lfnb sync`` of the window in a child process, returned once its first partition is visible."""
    proc = cli(server, str(lake), *WINDOW, "--no-progress", "--resources", "observations,scores")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not visible(lake):
        time.sleep(0.02)
    return proc


def test_cli_prints_one_row_per_resource_and_errors_clearly(tmp_path):
    with serve(port=0, generation="v4", **TINY) as server:
        proc = cli(server, str(tmp_path / "lake"), *WINDOW, "--resources", "observations,scores", "--no-progress")
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        lines = out.splitlines()
        assert lines[0].split() == ["resource", "fetched", "new", "updated", "deleted", "partitions", "requests",
                                    "seconds", "note"]
        assert [line.split()[0] for line in lines[1:]] == ["observations", "scores"]
        assert lines[1].split()[1] == str(server.store.count("observations"))
        proc = cli(server, str(tmp_path / "lake"), "--resources", "spans")
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 2
        assert err.strip() == "lfnb sync: unknown resource 'spans'; valid: observations, scores, traces"


def test_kill_9_mid_sync_leaves_a_readable_lake_and_the_next_sync_completes_it(tmp_path):
    with serve(port=0, generation="v4", latency_ms=60, **TINY) as server:
        lake = tmp_path / "lake"
        proc = sync_until_a_partition_shows(server, lake)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        killed = visible(lake)
        assert killed and len(killed) < 6, killed            # killed between its first and last partition
        stale = json.loads((lake / ".lfnb-lock").read_text())  # kill -9 leaves the lock of a dead pid ...
        assert (stale["pid"], stale["host"]) == (proc.pid, socket.gethostname())
        opened = lfnb.open_lake(lake)
        assert len(opened.read("observations")) > 0          # every visible partition is complete
        lf = lfnb.connect(server.base_url, server.env["LANGFUSE_PUBLIC_KEY"], server.env["LANGFUSE_SECRET_KEY"])
        lf.sync(lake, since=WINDOW[1], until=WINDOW[3], resources=["observations", "scores"])
        assert not (lake / ".lfnb-lock").exists()            # ... which the next sync took over and released
        reference = tmp_path / "reference"
        lf.sync(reference, since=WINDOW[1], until=WINDOW[3], resources=["observations", "scores"])
        assert visible(lake) == visible(reference)
        for resource in ("observations", "scores"):
            pdt.assert_frame_equal(lfnb.open_lake(lake).read(resource), lfnb.open_lake(reference).read(resource))


def test_a_second_sync_of_a_lake_being_synced_is_refused_naming_the_first(tmp_path):
    with serve(port=0, generation="v4", latency_ms=300, **TINY) as server:
        lake = tmp_path / "lake"
        first = sync_until_a_partition_shows(server, lake)
        lf = lfnb.connect(server.base_url, server.env["LANGFUSE_PUBLIC_KEY"], server.env["LANGFUSE_SECRET_KEY"])
        with pytest.raises(lfnb.LfnbError) as caught:
            lf.sync(lake, since=WINDOW[1], until=WINDOW[3])
        assert first.poll() is None, "the first sync ended before the second started"
        assert re.fullmatch(
            rf"{re.escape(str(lake))} is being synced by another process \(host '{re.escape(socket.gethostname())}', "
            rf"pid {first.pid}, started \S+\); the lake is unchanged\. Wait for that sync to end\. If it is no longer "
            r"running \(a killed sync on another machine\), the lock is stale: "
            rf"delete {re.escape(str(lake))}/\.lfnb-lock and sync again", str(caught.value)), str(caught.value)
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0, err                    # the refused sync did not disturb the running one
        assert not (lake / ".lfnb-lock").exists()
        again = lf.sync(lake, since=WINDOW[1], until=WINDOW[3], resources=["observations", "scores"])
        assert again["partitions"].sum() == 0                # the first sync completed the lake
