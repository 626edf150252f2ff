"""The parallel window engine against an in-memory cursor endpoint (no HTTP).

The fake endpoint follows Langfuse's v2 observations contract: rows in ``startTime``
descending order, ``fromStartTime`` inclusive, ``toStartTime`` exclusive, the cursor
encodes only a position (bounds are re-sent with every page).
"""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from lfnb.errors import ServerError, TransportError
from lfnb.reads.windows import MIN_SPLIT_PAGES, SPLIT_RETRIES, read_windows

COLUMNS = (("id", "str"), ("startTime", "time"))
END = pd.Timestamp("2026-11-01", tz="UTC")


class Endpoint:
    """``n`` rows one per ``step`` before END; counts requests; optional failure rule."""

    def __init__(self, n: int, step: pd.Timedelta = pd.Timedelta(minutes=1), fail=None, delay: float = 0.0):
        self.times = [END - step * (i + 1) for i in range(n)]
        self.ids = [f"o{i:06d}" for i in range(n)]
        self.calls: list[dict] = []
        self.lock = threading.Lock()
        self.fail = fail
        self.delay = delay

    def __call__(self, q: dict, max_retries: int | None = None):
        with self.lock:
            self.calls.append({**q, "max_retries": max_retries})
            number = len(self.calls)
        if self.delay:
            time.sleep(self.delay)
        if self.fail is not None:
            self.fail(q, number)
        lo = pd.Timestamp(q["fromStartTime"]) if "fromStartTime" in q else None
        hi = pd.Timestamp(q["toStartTime"])
        start = int(q["cursor"]) + 1 if "cursor" in q else 0
        rows = [i for i in range(start, len(self.times))
                if self.times[i] < hi and (lo is None or self.times[i] >= lo)]
        page = rows[: q["limit"]]
        data = [{"id": self.ids[i], "startTime": self.times[i].strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}
                for i in page]
        meta = {"cursor": str(page[-1])} if len(rows) > q["limit"] else {}
        return {"data": data, "meta": meta}

    @property
    def reference(self) -> list[str]:
        return self.ids


def read(endpoint, *, start, workers, limit=50, end=END):
    return read_windows(endpoint, COLUMNS, start=start, end=end, params={"fields": "core"}, limit=limit,
                        workers=workers)


@pytest.mark.parametrize("workers", [1, 2, 4, 8])
@pytest.mark.parametrize("start", ["2026-10-20", "2000-01-01", None], ids=["own", "all-time", "open"])
def test_rows_exactly_once_in_server_order(workers, start):
    ep = Endpoint(3000, step=pd.Timedelta(minutes=4), delay=0.001)
    df = read(ep, start=pd.Timestamp(start, tz="UTC") if start else None, workers=workers)
    assert df["id"].tolist() == ep.reference
    sequential = 3000 // 50 + 1
    # one partial page per window at most, plus the empty halves found below the data
    assert len(ep.calls) <= sequential * 1.25 + 2 * workers, len(ep.calls)


def test_all_time_runs_in_parallel_and_reaches_the_rows():
    """With 8 workers and "all time", the rows are read by several chains (not one)."""
    ep = Endpoint(4000, step=pd.Timedelta(minutes=10), delay=0.005)
    df = read(ep, start=pd.Timestamp("2000-01-01", tz="UTC"), workers=8)
    assert df["id"].tolist() == ep.reference
    by_others = [c for c in ep.calls if c["toStartTime"] != "2026-11-01T00:00:00.000Z"]
    assert len(by_others) >= 0.4 * len(ep.calls), "most pages should be read by the windows split off"
    assert len({c["toStartTime"] for c in by_others if "cursor" in c}) >= 3, "several windows walked the rows"


def test_a_small_read_is_one_request_whatever_the_workers():
    ep = Endpoint(40)
    df = read(ep, start=pd.Timestamp("2000-01-01", tz="UTC"), workers=64)
    assert len(df) == 40
    assert len(ep.calls) == 1


def test_no_split_below_min_split_pages():
    ep = Endpoint(50 * MIN_SPLIT_PAGES + 10, delay=0.002)
    read(ep, start=pd.Timestamp("2026-10-01", tz="UTC"), workers=8)
    assert len(ep.calls) <= MIN_SPLIT_PAGES + 3


def test_a_dead_server_fails_like_workers_1():
    """Connection errors are not split and the first one stops every chain (reliability D1)."""
    def dead_after_first_page(q, number):
        if number > 1:
            raise TransportError("GET /x got no answer (ConnectionError)")

    counts = {}
    for workers in (1, 8):
        ep = Endpoint(5000, fail=dead_after_first_page, delay=0.002)
        with pytest.raises(TransportError, match="got no answer"):
            read(ep, start=pd.Timestamp("2026-01-01", tz="UTC"), workers=workers)
        counts[workers] = len(ep.calls)
    assert counts[1] == 2
    assert counts[8] <= 2 * 8  # at most the requests already in flight: nothing new after the failure


def test_a_hanging_server_returns_after_the_first_failure():
    """The caller gets the error as soon as one chain fails; nothing waits for the other requests."""
    release = threading.Event()

    def hang_then_fail(q, number):
        if number == 2:
            raise TransportError("GET /x got no answer (ReadTimeout)")
        if number > 2:
            release.wait(5)

    ep = Endpoint(5000, fail=hang_then_fail, delay=0.01)
    t0 = time.perf_counter()
    with pytest.raises(TransportError, match="ReadTimeout"):
        read(ep, start=pd.Timestamp("2026-01-01", tz="UTC"), workers=8)
    waited = time.perf_counter() - t0
    release.set()
    assert waited < 2.5


def test_524_splits_the_window_and_the_halves_spend_a_small_budget():
    def timeout_on_long_windows(q, number):
        lo = pd.Timestamp(q.get("fromStartTime", "1970-01-01T00:00:00Z"))
        if pd.Timestamp(q["toStartTime"]) - lo > pd.Timedelta(days=2):
            raise ServerError(524, "GET", "/x", '{"message": "A timeout occurred"}')

    ep = Endpoint(2000, step=pd.Timedelta(minutes=5), fail=timeout_on_long_windows)
    df = read(ep, start=pd.Timestamp("2026-10-01", tz="UTC"), workers=4, limit=100)
    assert df["id"].tolist() == ep.reference
    retried = [c for c in ep.calls if c["max_retries"] is not None]
    assert retried and all(c["max_retries"] == SPLIT_RETRIES for c in retried)
    assert ep.calls[0]["max_retries"] is None  # the transport's own budget before any split


def test_524_on_a_tiny_window_is_raised():
    def always_524(q, number):
        raise ServerError(524, "GET", "/x", '{"message": "A timeout occurred"}')

    ep = Endpoint(100, fail=always_524)
    with pytest.raises(ServerError, match="524"):
        read(ep, start=pd.Timestamp("2026-10-31T23:00:00Z"), workers=4)
    assert len(ep.calls) <= 2 ** 7


class _Rows(list):
    """A page's data list that can be watched with a weak reference."""

    __hash__ = object.__hash__


class _Body:
    """An unparsed answer (like lfnb.http.transport.Body); ``json()`` records where it is parsed."""

    def __init__(self, page: dict, log: list):
        self.page, self.log = page, log

    def json(self):
        self.log.append(threading.current_thread().name)
        page, self.page = self.page, None
        return {"data": _Rows(page["data"]), "meta": page["meta"]}


@pytest.mark.parametrize("workers", [1, 4, 8])
def test_one_thread_parses_and_few_pages_are_alive(workers):
    """I/O threads only fetch; the caller's thread parses every page; at most ``workers`` unparsed
    bodies and one parsed page are alive at any time (issue 14: memory with several workers)."""
    import weakref

    ep = Endpoint(3000, step=pd.Timedelta(minutes=4), delay=0.002)
    parsed_in: list = []
    bodies: weakref.WeakSet = weakref.WeakSet()
    pages: weakref.WeakSet = weakref.WeakSet()
    alive = {"bodies": 0, "pages": 0}

    def fetch(q, max_retries=None):
        body = _Body(ep(q, max_retries), parsed_in)
        bodies.add(body)
        return body

    def transform(rows):
        pages.add(rows)
        alive["bodies"] = max(alive["bodies"], sum(1 for b in list(bodies) if b.page is not None))
        alive["pages"] = max(alive["pages"], len(pages))
        return rows

    df = read_windows(fetch, COLUMNS, start=pd.Timestamp("2026-10-20", tz="UTC"), end=END,
                      params={"fields": "core"}, limit=50, workers=workers, transform=transform)
    assert df["id"].tolist() == ep.reference
    assert set(parsed_in) == {threading.current_thread().name}
    assert alive["pages"] == 1
    assert alive["bodies"] <= workers


def test_no_window_is_opened_while_the_converting_thread_is_what_limits_the_read():
    """Answers that arrive faster than pages are converted: more chains cannot help, so the read stays
    one chain (as many requests as workers=1) whatever ``workers`` (issue 14: workers never slower)."""
    ep = Endpoint(1000, delay=0.0)

    def slow(rows):
        time.sleep(0.02)  # converting takes longer than the next answer
        return rows

    df = read_windows(ep, COLUMNS, start=pd.Timestamp("2026-10-01", tz="UTC"), end=END, params={"fields": "core"},
                      limit=50, workers=8, transform=slow)
    assert df["id"].tolist() == ep.reference
    assert len(ep.calls) == 1000 // 50  # the sequential walk: the last full page carries no cursor
    assert {c["toStartTime"] for c in ep.calls} == {"2026-11-01T00:00:00.000Z"}
