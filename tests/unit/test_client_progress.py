"""Progress bar counters, interactivity detection, and time helpers of the extractor."""

from __future__ import annotations

import base64
import io
import json
import sys

import pandas as pd
import pytest

from lfnb.errors import ConfigError
from lfnb.langfuse.timestamps import iso, to_utc
from lfnb.reads.progress import Progress, cursor_time
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


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


class Target:
    """Stands for the ipywidgets.HTML a widget passes as progress=."""

    def __init__(self):
        self.value, self.history = "", []

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        if name == "value" and hasattr(self, "history"):
            self.history.append(value)


def cursor(**data) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


def test_progress_forced_on_writes_a_terminal_bar_after_a_second(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    clock = Clock()
    with Progress(True, "observations", FakeTransport(), clock=clock) as bar:
        fetch = bar.watch(lambda params: {"data": [], "meta": {"page": 1, "totalPages": 4}})
        fetch({})
        bar.page(1000)
        assert err.getvalue() == ""                      # under a second: nothing shown
        clock.t += 2.0
        fetch({})
        bar.page(500)
    lines = err.getvalue().split("\r")
    assert lines[1].rstrip() == "observations  50% [##########----------] 1,500 rows · 750 rows/s · 2 pages"
    # the bar is overwritten by the summary (padded to the bar's width), then the line ends
    assert lines[2].rstrip() == "observations: 1,500 rows, 2 pages in 2.0 s (750 rows/s)" and lines[2].endswith("\n")


def test_a_read_under_a_second_shows_nothing(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    clock = Clock()
    target = Target()
    for enabled in (True, target):
        with Progress(enabled, "models_list", clock=clock) as bar:
            bar.page(7)
            clock.t += 0.5
    assert err.getvalue() == "" and target.history == []


def test_cursor_reads_know_how_far_through_the_range_they_are():
    assert cursor_time(cursor(lastStartTimeTo="2026-10-29T12:00:00.000Z", lastTraceId="t", lastId="o")) \
        == pd.Timestamp("2026-10-29T12:00:00Z")
    v3 = base64.urlsafe_b64encode(json.dumps({"v": 1, "lastTimestamp": "2026-10-30T00:00:00Z", "lastId": "s"})
                                  .encode()).decode().rstrip("=")
    assert cursor_time(v3) == pd.Timestamp("2026-10-30T00:00:00Z")
    assert cursor_time(None) is None and cursor_time("not a cursor") is None
    clock, target = Clock(), Target()
    pages = iter([{"data": [1] * 3, "meta": {"cursor": cursor(lastStartTimeTo="2026-10-31T00:00:00Z")}},
                  {"data": [1] * 3, "meta": {"cursor": cursor(lastStartTimeTo="2026-10-26T00:00:00Z")}},
                  {"data": [1], "meta": {}}])
    with Progress(target, "observations", span=("2026-10-25", "2026-11-01"), clock=clock) as bar:
        fetch = bar.watch(lambda params: next(pages))
        fractions = []
        for _ in range(3):
            page = fetch({})
            clock.t += 1.0
            bar.page(len(page["data"]))
            fractions.append(bar.fraction)
        # rows come newest first: one day of seven behind the cursor, then six of seven
        assert [round(f, 3) for f in fractions] == [0.143, 0.857, 1.0]   # the last page has no cursor: done
        assert "<b>100%</b>" in target.value and "7 rows" in target.value and "3 pages" in target.value
    assert target.value == ""                           # the widget is left clean


def test_unknown_extent_shows_rows_and_rate_without_a_percentage():
    clock, target = Clock(), Target()
    with Progress(target, "traces_list", clock=clock) as bar:
        clock.t += 2
        bar.page(50)
        assert bar.fraction is None
        assert "%" not in target.value and "50 rows · 25 rows/s · 1 pages" in target.value


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


def test_a_page_fetched_unparsed_feeds_the_percentage_when_it_is_parsed():
    """Reads fetch bodies in I/O threads and parse them in one thread: the page's meta counts then."""
    class Body:
        def json(self):
            return {"data": [], "meta": {"page": 1, "totalPages": 4}}

    with Progress(False, "observations", FakeTransport(), clock=Clock()) as bar:
        result = bar.watch(lambda params: Body())({})
        assert bar.total_pages is None
        assert result.json() == {"data": [], "meta": {"page": 1, "totalPages": 4}}
        assert bar.total_pages == 4
