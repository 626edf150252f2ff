"""lfnb.lake without a server: state file, lookback, partition encoding and reads."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pandas.testing as pdt
import pytest

from lfnb.frames.builder import build_frame
from lfnb.lake import LakeError, files, open_lake
from lfnb.lake.state import SCHEMA_VERSION, STATE_FILE, LakeState
from lfnb.lake.sync import _upsert, parse_lookback


def obs_records():
    base = {"projectId": "p", "type": "GENERATION", "level": "DEFAULT", "environment": "default"}
    return [
        {**base, "id": "a", "traceId": "t1", "startTime": "2026-10-30T23:59:59.999Z", "metadata": {"k": [1, 2]},
         "tags": ["x"], "usageDetails": {"input": 3, "cached": 1}, "costDetails": {"total": 0.5}},
        {**base, "id": "b", "traceId": "t2", "startTime": "2026-10-31T00:00:00.000Z", "metadata": None,
         "modelParameters": {"temperature": 0.2}},
    ]


def frame(records):
    return build_frame("observations", records, fields=files.ALL_GROUPS)


def new_lake(tmp_path):
    LakeState(base_url="http://x", project_id="p", generation="v4").save(tmp_path)
    return tmp_path


def test_lookback_parsing():
    assert parse_lookback("2h") == pd.Timedelta(hours=2)
    assert parse_lookback(90) == pd.Timedelta(seconds=90)
    with pytest.raises(LakeError, match=r"lookback must be a duration such as '2h', '30min' or a timedelta, got 'x'"):
        parse_lookback("x")
    with pytest.raises(LakeError, match="lookback must not be negative"):
        parse_lookback("-1h")


def test_state_file_round_trip_and_refusals(tmp_path):
    state = LakeState(base_url="http://x", project_id="p", generation="v3",
                      resources={"scores": {"high_water_mark": "2026-11-01T00:00:00+00:00"}})
    state.save(tmp_path)
    assert LakeState.load(tmp_path) == state
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == [STATE_FILE]
    with pytest.raises(LakeError, match=r"is a lake of project 'p' \(synced from http://x\), not of project 'q'"):
        state.check_owner(tmp_path, "http://x", "q")
    raw = json.loads((tmp_path / STATE_FILE).read_text())
    (tmp_path / STATE_FILE).write_text(json.dumps({**raw, "schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(LakeError, match=f"has lake schema version {SCHEMA_VERSION + 1}; this lfnb reads and "
                                        f"writes version {SCHEMA_VERSION}"):
        LakeState.load(tmp_path)
    (tmp_path / STATE_FILE).write_text("{not json")
    with pytest.raises(LakeError, match="is not a valid lake state file"):
        LakeState.load(tmp_path)


def test_encode_decode_keeps_columns_dtypes_and_json_values(tmp_path):
    original = frame(obs_records())
    root = new_lake(tmp_path)
    for day, part in original.groupby(original["startTime"].dt.date):
        files.write_partition(root, "observations", day, files.encode(part, "observations"))
    assert files.days_of(root, "observations") == [date(2026, 10, 30), date(2026, 10, 31)]
    back = open_lake(root).read("observations")
    expected = original.iloc[::-1].reset_index(drop=True)        # API order: startTime descending
    pdt.assert_frame_equal(back, expected)
    assert back["metadata"][1] == {"k": [1, 2]} and back["tags"][1] == ["x"]
    assert back["usageDetails.cached"].dtype == "Int64"
    assert list(back.columns)[-1] == "usageDetails.cached"             # extras after the fixed columns
    pruned = open_lake(root).read("observations", "2026-10-31", columns=["id", "totalCost"])
    assert list(pruned.columns) == ["id", "totalCost"] and list(pruned["id"]) == ["b"]
    assert list(open_lake(root).read("observations", filter="traceId == 't1'")["id"]) == ["a"]
    empty = open_lake(root).read("scores")
    assert empty.empty and list(empty.columns) == [c for c, _ in files.columns_of("scores")]
    assert str(empty["timestamp"].dtype) == "datetime64[us, UTC]"


def test_upsert_counts_new_changed_and_skips_unchanged(tmp_path):
    root = new_lake(tmp_path)
    day = date(2026, 10, 30)
    first = frame(obs_records()[:1])
    assert _upsert(root, "observations", day, first, replace=False) == (1, 0, 0, 1)
    assert _upsert(root, "observations", day, first, replace=False) == (0, 0, 0, 0)
    changed = frame([{**obs_records()[0], "output": "late"}])
    assert _upsert(root, "observations", day, changed, replace=False) == (0, 1, 0, 1)
    assert open_lake(root).read("observations")["output"][0] == "late"
    assert _upsert(root, "observations", day, frame([]), replace=True) == (0, 0, 1, 1)
    assert files.days_of(root, "observations") == []


def test_open_lake_refuses_a_directory_without_state(tmp_path):
    with pytest.raises(LakeError, match=r"is not an lfnb lake \(no _lfnb_lake.json\); create one with lf.sync"):
        open_lake(tmp_path)


def test_a_progress_bar_without_tqdm_is_an_import_error_naming_the_extra(monkeypatch):
    import sys

    from lfnb.lake.sync import _bar

    monkeypatch.setitem(sys.modules, "tqdm.auto", None)   # as if tqdm were not installed
    assert _bar(False, "observations", 3).__class__.__name__ == "_NoBar"   # no bar asked: nothing needed
    with pytest.raises(ImportError, match=r"pip install 'lfnb\[lake\]'"):
        _bar(True, "observations", 3)
