"""lf.sync + open_lake against lfnb.local over real HTTP: equal frames, incremental upserts with real
late updates (POST /api/public/ingestion, plain HTTP: SDK 5 has no ingestion client), crash safety,
verify, faults and bad input."""

from __future__ import annotations

import errno
import importlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest
import requests

import lfnb
from lfnb.lake import LakeError
from lfnb.lake.files import ALL_GROUPS
from lfnb.local import serve

ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
TINY = dict(seed=1, traces=120, days=3, anchor=ANCHOR)
SINCE, UNTIL = "2026-10-28T00:00:00Z", "2026-11-01T00:00:00Z"
SYNC = importlib.import_module("lfnb.lake.sync")   # the module (lfnb.lake.sync is also the function)


def connect(server):
    return lfnb.connect(server.base_url, server.env["LANGFUSE_PUBLIC_KEY"], server.env["LANGFUSE_SECRET_KEY"],
                        max_retries=8)


def ingest(server, batch):
    r = requests.post(server.base_url + "/api/public/ingestion", json={"batch": batch},
                      auth=(server.env["LANGFUSE_PUBLIC_KEY"], server.env["LANGFUSE_SECRET_KEY"]), timeout=30)
    assert r.status_code == 207, r.text
    assert r.json()["errors"] == [], r.json()
    return r.json()


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def visible_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))


def lake_frames(root) -> dict[str, pd.DataFrame]:
    lake = lfnb.open_lake(root)
    return {r: lake.read(r) for r in ("observations", "scores", "traces")}


@pytest.mark.parametrize("generation", ["v3", "v4"])
def test_lake_frames_metrics_and_sql_equal_the_api(tmp_path, generation):
    with serve(port=0, generation=generation, **TINY) as server:
        lf = connect(server)
        result = lf.sync(tmp_path, since=SINCE, until=UNTIL)
        assert list(result.columns) == ["resource", "fetched", "new", "updated", "deleted", "partitions",
                                        "requests", "seconds", "note"]
        obs_row = result.set_index("resource").loc["observations"]
        assert obs_row["fetched"] == obs_row["new"] == server.store.count("observations")
        lake = lfnb.open_lake(tmp_path)
        window = ("2026-10-29T06:00:00Z", "2026-10-31T12:00:00Z")
        expected = lf.read_observations(*window, fields=ALL_GROUPS)
        if generation == "v3":
            # v1 pages sort by the stored microseconds but send milliseconds: ties cannot be ordered alike
            expected = expected.sort_values(["startTime", "id"], ascending=False).reset_index(drop=True)
        pdt.assert_frame_equal(lake.read("observations", *window), expected)
        pdt.assert_frame_equal(lake.read("scores", *window), lf.read_scores(*window))
        pdt.assert_frame_equal(lake.read("traces", *window), lf.read_traces(*window))
        query = {"view": "observations", "dimensions": [{"field": "type"}],
                 "metrics": [{"measure": "count", "aggregation": "count"},
                             {"measure": "totalCost", "aggregation": "sum"}],
                 "fromTimestamp": "2026-10-29T00:00:00Z", "toTimestamp": "2026-10-31T00:00:00Z"}
        version = "v2" if generation == "v4" else "v1"
        pdt.assert_frame_equal(lake.metrics(query, version=version), lf.read_metrics(query, cache=False))
        tokens = {**query, "metrics": [{"measure": "inputTokens", "aggregation": "sum"},
                                       {"measure": "latency", "aggregation": "p95"}],
                  "dimensions": [{"field": "providedModelName"}]}
        pdt.assert_frame_equal(lake.metrics(tokens), lf.read_metrics(tokens, cache=False))
        scores = {**query, "view": "scores-numeric", "dimensions": [{"field": "name"}],
                  "metrics": [{"measure": "value", "aggregation": "avg"}]}
        pdt.assert_frame_equal(lake.metrics(scores), lf.read_metrics(scores, cache=False))
        counts = lake.sql("SELECT count(*) AS n, count(DISTINCT day) AS days FROM observations")
        assert (counts["n"][0], counts["days"][0]) == (server.store.count("observations"), 3)
        with pytest.raises(lfnb.QueryValidationError):
            lake.metrics({"view": "no-such-view", "metrics": []})
        files = visible_files(tmp_path)
        assert files[0] == "_lfnb_lake.json"
        assert all(f.endswith("/part-0.parquet") for f in files[1:])
        assert "observations/day=2026-10-31/part-0.parquet" in files


def test_incremental_sync_applies_late_updates_and_writes_nothing_when_idle(tmp_path):
    with serve(port=0, generation="both", **TINY) as server:
        lf = connect(server)
        lf.sync(tmp_path, since=SINCE, until=UNTIL)
        late = server.store.fetch("SELECT id, trace_id, start_time FROM observations WHERE type = 'GENERATION' "
                                  "ORDER BY start_time DESC LIMIT 1")[0]
        start = late["start_time"].replace(tzinfo=UTC)
        assert ANCHOR - start < timedelta(hours=2)
        new_start = ANCHOR + timedelta(minutes=10)
        ingest(server, [
            {"id": "u1", "type": "generation-update", "timestamp": iso(ANCHOR + timedelta(minutes=1)),
             "body": {"id": late["id"], "output": "a late answer", "costDetails": {"input": 1.0, "output": 2.0}}},
            {"id": "t1", "type": "trace-create", "timestamp": iso(new_start),
             "body": {"id": "trace-late", "name": "late", "userId": "u-late"}},
            {"id": "g1", "type": "generation-create", "timestamp": iso(new_start),
             "body": {"id": "obs-late", "traceId": "trace-late", "startTime": iso(new_start),
                      "model": "gpt-4o-mini", "usageDetails": {"input": 7, "output": 3}}},
        ])
        later = ANCHOR + timedelta(hours=1)
        count = {"view": "observations", "metrics": [{"measure": "count", "aggregation": "count"}],
                 "fromTimestamp": SINCE, "toTimestamp": iso(later)}
        opened = lfnb.open_lake(tmp_path)
        before_count = opened.metrics(count)["count_count"][0]
        second = lf.sync(tmp_path, until=later).set_index("resource")
        assert opened.metrics(count)["count_count"][0] == before_count + 1     # the cached store is rebuilt
        assert (second.loc["observations", "new"], second.loc["observations", "updated"]) == (1, 1)
        assert second.loc["observations", "partitions"] == 2
        lake = lfnb.open_lake(tmp_path)
        row = lake.read("observations", filter=f"id == '{late['id']}'")
        assert (row["output"][0], row["totalCost"][0]) == ("a late answer", 3.0)
        pdt.assert_frame_equal(lake.read("observations"), lf.read_observations(SINCE, later, fields=ALL_GROUPS))
        before = {f: os.stat(tmp_path / f).st_mtime_ns for f in visible_files(tmp_path) if f.endswith(".parquet")}
        idle = lf.sync(tmp_path, until=later)
        assert idle["partitions"].sum() == 0 and idle["new"].sum() == 0 and idle["updated"].sum() == 0
        assert {f: os.stat(tmp_path / f).st_mtime_ns for f in before} == before


@pytest.mark.parametrize("generation", ["v3", "both"])
def test_a_first_sync_without_since_walks_the_whole_history_a_day_at_a_time(tmp_path, monkeypatch, generation):
    # TINY holds 3 days up to ANCHOR; one trace 20 days earlier leaves a 17-day gap to skip.
    with serve(port=0, generation=generation, **TINY) as server:
        old = ANCHOR - timedelta(days=20, hours=3)
        ingest(server, [
            {"id": "t0", "type": "trace-create", "timestamp": iso(old), "body": {"id": "trace-old", "name": "old"}},
            {"id": "s0", "type": "span-create", "timestamp": iso(old),
             "body": {"id": "obs-old", "traceId": "trace-old", "startTime": iso(old), "name": "old"}},
            {"id": "c0", "type": "score-create", "timestamp": iso(old),
             "body": {"id": "score-old", "traceId": "trace-old", "name": "old", "value": 1}},
        ])
        lf = connect(server)
        windows = []
        real_read = SYNC._read

        def recording_read(client, resource, lo, hi, workers):
            windows.append((resource, lo, hi))
            return real_read(client, resource, lo, hi, workers)

        monkeypatch.setattr(SYNC, "_read", recording_read)
        before = lf.transport.requests
        result = lf.sync(tmp_path, until=UNTIL).set_index("resource")
        monkeypatch.undo()
        # streamed: never an open-ended window, none longer than a day
        assert all(lo is not None and hi - lo <= pd.Timedelta(days=1) for _, lo, hi in windows)
        obs_days = [lo.date().isoformat() for r, lo, _ in windows if r == "observations"]
        # newest day first; one empty day (the gap's first) before the probe jumps to the old day
        assert obs_days == ["2026-10-31", "2026-10-30", "2026-10-29", "2026-10-28", "2026-10-11", "2026-10-10"]
        lake = lfnb.open_lake(tmp_path)
        expected = lf.read_observations(None, UNTIL, fields=ALL_GROUPS)
        got = lake.read("observations")
        if generation == "v3":
            expected = expected.sort_values(["startTime", "id"], ascending=False).reset_index(drop=True)
        pdt.assert_frame_equal(got, expected)
        assert "obs-old" in set(got["id"])
        pdt.assert_frame_equal(lake.read("scores"), lf.read_scores(None, UNTIL))
        assert result.loc["observations", "fetched"] == len(expected)
        assert result["requests"].sum() <= lf.transport.requests - before


def test_late_scores_reach_a_v4_lake(tmp_path):
    with serve(port=0, generation="v4", **TINY) as server:
        lf = connect(server)
        lf.sync(tmp_path, since=SINCE, until=UNTIL)
        trace = server.store.fetch("SELECT id FROM traces ORDER BY timestamp DESC LIMIT 1")[0]["id"]
        out = ingest(server, [{"id": "s1", "type": "score-create", "timestamp": iso(ANCHOR + timedelta(minutes=5)),
                               "body": {"id": "late-score", "traceId": trace, "name": "late", "value": 0.25}}])
        assert out["successes"] == [{"id": "s1", "status": 201}]
        result = lf.sync(tmp_path, until=ANCHOR + timedelta(hours=1)).set_index("resource")
        assert result.loc["scores", "new"] == 1
        scores = lfnb.open_lake(tmp_path).read("scores", filter="id == 'late-score'")
        assert (scores["value"][0], scores["traceId"][0]) == (0.25, trace)


def test_a_killed_sync_leaves_complete_partitions_and_resumes_identically(tmp_path, monkeypatch):
    with serve(port=0, generation="v4", **TINY) as server:
        lf = connect(server)
        reference = tmp_path / "reference"
        lf.sync(reference, since=SINCE, until=UNTIL)
        broken = tmp_path / "broken"
        real_replace = os.replace
        calls = {"n": 0}

        def replace_then_die(src, dst):
            calls["n"] += 1
            if calls["n"] == 4:       # the third partition's temp file is written, then the process "dies"
                raise KeyboardInterrupt
            return real_replace(src, dst)

        monkeypatch.setattr(os, "replace", replace_then_die)
        with pytest.raises(KeyboardInterrupt):
            lf.sync(broken, since=SINCE, until=UNTIL)
        monkeypatch.setattr(os, "replace", real_replace)
        assert list((broken / ".lfnb-tmp").iterdir())                  # the orphan exists, but hidden
        assert not (broken / ".lfnb-lock").exists()                     # the lock is released on Ctrl-C
        assert visible_files(broken) == ["_lfnb_lake.json", "observations/day=2026-10-29/part-0.parquet",
                                         "observations/day=2026-10-30/part-0.parquet"]
        partial = lfnb.open_lake(broken).read("observations")           # readable: only complete partitions
        assert len(partial) == sum(len(pd.read_parquet(broken / f)) for f in visible_files(broken)[1:])
        assert lfnb.open_lake(broken).state.resources == {}             # no high-water mark yet
        lf.sync(broken, since=SINCE, until=UNTIL)
        assert not list((broken / ".lfnb-tmp").iterdir())
        assert visible_files(broken) == visible_files(reference)
        for name, frame in lake_frames(reference).items():
            pdt.assert_frame_equal(lake_frames(broken)[name], frame)


def test_verify_removes_rows_deleted_on_the_server(tmp_path):
    with serve(port=0, generation="v3", **TINY) as server:
        lf = connect(server)
        lf.sync(tmp_path, since=SINCE, until=UNTIL)
        victim = server.store.fetch("SELECT id FROM scores ORDER BY timestamp LIMIT 1")[0]["id"]
        r = requests.delete(f"{server.base_url}/api/public/scores/{victim}",
                            auth=(server.env["LANGFUSE_PUBLIC_KEY"], server.env["LANGFUSE_SECRET_KEY"]))
        assert r.status_code == 204
        plain = lf.sync(tmp_path, until=UNTIL).set_index("resource")
        assert plain.loc["scores", "deleted"] == 0
        assert victim in set(lfnb.open_lake(tmp_path).read("scores")["id"])
        checked = lf.sync(tmp_path, until=UNTIL, verify=True).set_index("resource")
        assert (checked.loc["scores", "deleted"], checked.loc["scores", "partitions"]) == (1, 1)
        assert checked.loc["observations", "partitions"] == 0
        assert victim not in set(lfnb.open_lake(tmp_path).read("scores")["id"])


def test_a_sync_through_faults_equals_a_clean_sync(tmp_path):
    with serve(port=0, generation="v4", **TINY) as server:
        lf = connect(server)
        lf.sync(tmp_path / "clean", since=SINCE, until=UNTIL)
        project = lf._project_id()
    with serve(port=0, generation="v4", faults="500=0.1,502=0.05,drop=0.05,seed=11", **TINY) as server:
        lf = connect(server)
        assert lf._project_id() == project
        result = lf.sync(tmp_path / "faulty", since=SINCE, until=UNTIL)
        assert lf.transport.retries > 0
        assert result["new"].sum() > 0
    clean, faulty = lake_frames(tmp_path / "clean"), lake_frames(tmp_path / "faulty")
    for name in clean:
        pdt.assert_frame_equal(faulty[name], clean[name])


def test_bad_input_is_a_clear_error_and_leaves_the_lake_valid(tmp_path, monkeypatch):
    with serve(port=0, generation="v4", **TINY) as server:
        lf = connect(server)
        lake = tmp_path / "lake"
        lf.sync(lake, since=SINCE, until=UNTIL, resources=["scores"])
        state = (lake / "_lfnb_lake.json").read_text()
        with pytest.raises(LakeError, match=r"unknown resource 'spans'; valid: observations, scores, traces"):
            lf.sync(lake, resources=["spans"])
        with pytest.raises(LakeError, match=r"since \(2026-11-01T00:00:00\+00:00\) must be before until"):
            lf.sync(lake, since=UNTIL, until=SINCE)
        with pytest.raises(LakeError, match="lookback must be a duration"):
            lf.sync(lake, lookback="soon")
        other = tmp_path / "other"
        other.mkdir()
        (other / "notes.txt").write_text("mine")
        with pytest.raises(LakeError, match=r"other is not an lfnb lake \(no _lfnb_lake.json\) and not empty "
                                            r"\(notes.txt\)"):
            lf.sync(other)
        with pytest.raises(LakeError, match=r"Cannot write the lake at .*file.txt/lake"):
            (tmp_path / "file.txt").write_text("x")
            lf.sync(tmp_path / "file.txt" / "lake")
        foreign = tmp_path / "foreign"
        foreign.mkdir()
        (foreign / "_lfnb_lake.json").write_text(state.replace('"project_id": "', '"project_id": "someone-else-'))
        with pytest.raises(LakeError, match=r"foreign is a lake of project 'someone-else-lfnb-local-project' "
                                            r"\(synced from http://127.0.0.1:\d+\), not of project "
                                            r"'lfnb-local-project' at http"):
            lf.sync(foreign)
        with pytest.raises(LakeError, match="does not exist or is not a directory"):
            lfnb.open_lake(tmp_path / "missing")
        with pytest.raises(LakeError, match=r"unknown column\(s\) 'nope' of scores"):
            lfnb.open_lake(lake).read("scores", columns=["nope"])

        ingest_time = ANCHOR - timedelta(minutes=30)
        trace = server.store.fetch("SELECT id FROM traces LIMIT 1")[0]["id"]
        ingest(server, [{"id": "s9", "type": "score-create", "timestamp": iso(ingest_time),
                         "body": {"id": "disk-full-score", "traceId": trace, "name": "x", "value": 1}}])
        before = lake_frames(lake)["scores"]

        def no_space(fd):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "fsync", no_space)
        with pytest.raises(LakeError, match=r"Cannot write .*scores/day=2026-10-31/part-0.parquet: No space left "
                                            r"on device; the lake is unchanged"):
            lf.sync(lake, until=UNTIL, resources=["scores"])
        monkeypatch.undo()
        assert not (lake / ".lfnb-lock").exists()                       # released on an error
        assert (lake / "_lfnb_lake.json").read_text() == state
        pdt.assert_frame_equal(lake_frames(lake)["scores"], before)
        assert list((lake / ".lfnb-tmp").iterdir()) == []
        assert lf.sync(lake, until=UNTIL, resources=["scores"])["new"][0] == 1
