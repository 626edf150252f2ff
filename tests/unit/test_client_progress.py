"""Progress bar counters, interactivity detection, and time helpers of the extractor."""

from __future__ import annotations

import io
import sys

import pandas as pd
import pytest

from lfnb.errors import ConfigError
from lfnb.langfuse.timestamps import iso, to_utc
from lfnb.reads.progress import Progress, default_enabled, is_interactive
from lfnb.reads.windows import dedupe


class FakeTransport:
    retries = 3


def test_progress_counts_rows_pages_and_retries_without_a_bar():
    t = FakeTransport()
    with Progress(False, "x", t) as bar:
        bar.page(10)
        bar.page(0)
        t.retries = 5
    assert (bar.rows, bar.pages, bar.retries) == (10, 2, 2)


def test_progress_forced_on_writes_a_bar(monkeypatch):
    pytest.importorskip("tqdm")
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    with Progress(True, "observations", FakeTransport()) as bar:
        bar.page(1000)
        bar.page(500)
    text = err.getvalue()
    assert "observations" in text and "1500" in text and "pages=2" in text


def test_not_interactive_under_pytest(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert is_interactive() is False
    assert Progress(None, "x")._bar is None


@pytest.mark.parametrize("value, expected", [("0", False), ("off", False), ("1", True), ("TRUE", True)])
def test_lfnb_progress_environment_decides_the_default(monkeypatch, value, expected):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    monkeypatch.setenv("LFNB_PROGRESS", value)
    assert default_enabled() is expected
    assert (Progress(None, "x")._bar is not None) is expected


def test_lfnb_progress_unset_or_unknown_falls_back_to_interactivity(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    for value in ("", "maybe"):
        monkeypatch.setenv("LFNB_PROGRESS", value)
        assert default_enabled() is False


def test_to_utc_and_iso():
    assert to_utc("2026-11-01") == pd.Timestamp("2026-11-01T00:00:00Z")
    assert to_utc("2026-11-01T02:00:00+02:00") == pd.Timestamp("2026-11-01T00:00:00Z")
    assert iso(to_utc("2026-11-01T10:00:00.123456Z")) == "2026-11-01T10:00:00.123Z"
    assert to_utc(None) is None
    with pytest.raises(ConfigError, match="from_time='yesterday-ish' is not a date/time"):
        to_utc("yesterday-ish", "from_time")


def test_dedupe_keeps_first_and_does_not_copy_without_duplicates():
    df = pd.DataFrame({"id": ["a", "b", "a"], "v": [1, 2, 3]})
    assert dedupe(df)["v"].tolist() == [1, 2]
    clean = pd.DataFrame({"id": ["a", "b"]})
    assert dedupe(clean) is clean
