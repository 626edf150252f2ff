"""Extraction engines: a paginated read into a FrameBuilder, and parallel windows that follow the data.

A cursor chain is sequential by nature, so :func:`read_windows` reads
``[from_time, to_time)`` as several chains over disjoint start-time windows. The
windows follow the data, not the calendar: the read starts as *one* chain (its first
page says whether there is more than a page at all); whenever a worker is idle it
takes the unread lower half of the window with the most rows estimated left, and
the owner of that
window continues its cursor with the raised lower bound (filters are re-sent with
every page; the cursor only encodes a position). An empty half ends after one
request, so "all time" (``from_time="2000-01-01"``) converges on where the rows are
in a few rounds. A window is split only when it is estimated to hold at least
:data:`MIN_SPLIT_PAGES` more pages (its density times its unread span, capped by the
rows it has read since it last gave a part away), and there are at most ``workers``
windows plus one per 8 pages read, so a read makes few more requests than a
sequential walk (one partial or empty page per window) and a small read stays one
chain. The owner keeps at most :data:`REACH` times the span it has read, so on "all
time" the lower part starts near the rows.

With one worker the chain fetches its next page while it converts the current one
(one-page prefetch); with several, the other chains keep the connections busy.
Windows partition the range with half-open bounds on whole milliseconds (the
cursor's precision), concatenate latest first (the server's ``startTime DESC``) and
so keep the server's order; only a page that was in flight while its window's lower
bound was raised can hold rows of the new lower window, and only then are ids
de-duplicated (first copy wins, which keeps the order).

Failures: a 504/524 (the *query* timed out, not the network) splits the failing
window in two and the halves retry with a budget of :data:`SPLIT_RETRIES` instead of
the transport's full one; any other error — a refused, reset or hanging connection,
an exhausted retry budget — cancels every pending request of the read at once and
is raised, so failing takes about as long as with ``workers=1``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pandas as pd

from lfnb.errors import ServerError
from lfnb.frames.builder import FrameBuilder, combine
from lfnb.langfuse.timestamps import iso
from lfnb.reads.pagination import CursorPaginator, iterate_pages, make_paginator

__all__ = ["read_into", "read_windows", "dedupe", "MIN_SPLIT_PAGES", "SPLIT_RETRIES", "MAX_SPLIT_DEPTH"]

log = logging.getLogger("lfnb.reads.windows")

#: a window is split for an idle worker only when it is estimated to hold this many pages more
MIN_SPLIT_PAGES = 2
#: retries of each half of a window split after a 504/524 (the split is the retry)
SPLIT_RETRIES = 1
#: an idle worker leaves the window it splits at most this many times the span that window has read
REACH = 16
#: 504/524 splits of one window at most, before the error is raised
MAX_SPLIT_DEPTH = 6
_MS = pd.Timedelta(milliseconds=1)
_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")


def read_into(fetch: Callable[[dict], Any], builder: FrameBuilder, *, paging: str, limit: int,
              params: dict, max_rows: int | None = None, workers: int = 1,
              on_page: Callable[[int], None] | None = None,
              transform: Callable[[list], list] | None = None) -> None:
    """Run one paginated read, converting each page into ``builder`` as it arrives."""
    paginator = make_paginator(paging, limit, params)
    for data in iterate_pages(fetch, paginator, max_rows=max_rows, workers=workers, on_page=on_page):
        builder.add(transform(data) if transform is not None else data)
        del data  # the page's dicts are converted: free them before the next request


class _Window:
    """One cursor chain over ``[lo, hi)`` (``lo=None``: unbounded below)."""

    def __init__(self, lo: pd.Timestamp | None, hi: pd.Timestamp, columns, density: float | None,
                 retries: int | None = None, depth: int = 0):
        self.lo, self.hi = lo, hi
        self.builder = FrameBuilder(columns)
        self.pos: pd.Timestamp | None = None  # start time (whole ms) of the last row read
        self.top: pd.Timestamp | None = None  # start time of the first row read
        self.rows = 0
        self.credit = 0.0                     # rows read, halved by each split (see estimate)
        self.density = density                # rows per second, inherited until the window has its own
        self.retries = retries
        self.depth = depth
        self.in_flight = False
        self.done = False

    def remaining(self) -> tuple[pd.Timestamp | None, pd.Timestamp]:
        """``(lo, upper)``: the span not read yet (``upper`` is inclusive of the cursor's ms)."""
        return self.lo, (self.pos if self.pos is not None else self.hi - _MS)

    def estimate(self) -> float:
        """Rows estimated left: the window's density times the span it has not read.

        A window that has not read a row yet estimates nothing: its span may be empty
        ("all time" below the data), and splitting it again would only add requests.
        """
        if self.done or self.density is None or self.rows == 0:
            return 0.0
        lo, upper = self.remaining()
        span = (upper - (lo if lo is not None else _EPOCH)).total_seconds()
        # ... and never more than it has read since it last gave a part away: the rows may
        # stop anywhere below, and a chain that keeps reading keeps proving there are more.
        return min(max(span, 0.0) * self.density, self.credit)


class _Engine:
    def __init__(self, fetch, columns, *, start, end, params, limit, workers, from_key, to_key, time_key, on_page,
                 transform):
        self.fetch, self.columns, self.params, self.limit = fetch, columns, params, limit
        self.workers, self.from_key, self.to_key, self.time_key = workers, from_key, to_key, time_key
        self.on_page, self.transform = on_page, transform
        self.cond = threading.Condition()
        self.windows = [_Window(start, end, columns, None)]
        self.queue = [self.windows[0]]
        self.running = 0
        self.error: BaseException | None = None
        self.overlap = False
        self.requests = 0
        self.pages = 0  # pages that brought rows

    # ----------------------------------------------------------------- scheduling
    def _next(self) -> _Window | None:
        """A window for an idle worker (queued, or the lower half of the fullest one); None when done."""
        with self.cond:
            while True:
                if self.error is not None:
                    return None
                if self.queue:
                    self.running += 1
                    return self.queue.pop(0)
                stolen = self._steal()
                if stolen is not None:
                    self.running += 1
                    return stolen
                if self.running == 0:
                    return None
                self.cond.wait()

    def _steal(self) -> _Window | None:
        # Each window costs one request more than a sequential walk (its last, partial or
        # empty, page): ``workers`` windows to start with, then one more per 8 pages read.
        if len(self.windows) >= self.workers + self.pages // 8:
            return None
        victim = max((w for w in self.windows if not w.done), key=_Window.estimate, default=None)
        if victim is None or victim.estimate() < MIN_SPLIT_PAGES * self.limit:
            return None
        return self._split(victim, retries=None)

    def _split(self, w: _Window, *, retries: int | None) -> _Window | None:
        """Give away the lower half of ``w``'s unread span as a new window (caller holds the lock)."""
        lo, upper = w.remaining()
        base = lo if lo is not None else _EPOCH
        half = (upper - base) / 2
        if w.top is not None and w.pos is not None:
            # The owner keeps at most REACH times the span it has read: when the range
            # reaches far below the data ("all time"), the lower part then starts close to
            # the rows instead of being halved down to them one empty window at a time.
            half = min(half, max(w.top - w.pos, _MS) * REACH)
        mid = (upper - half).floor("ms")
        if mid <= base or mid > upper:
            return None
        lower = _Window(lo, mid, self.columns, w.density, retries=retries, depth=w.depth + 1)
        if w.in_flight and w.pos is not None:
            self.overlap = True  # the page in flight was asked with the old lower bound
        w.lo = mid
        w.credit /= 2
        self.windows.append(lower)
        log.debug("window split at %s", iso(mid))
        return lower

    # ----------------------------------------------------------------- one chain
    def _params(self, w: _Window, base: dict) -> dict:
        q = dict(base)
        if w.lo is not None:
            q[self.from_key] = iso(w.lo)
        else:
            q.pop(self.from_key, None)
        q[self.to_key] = iso(w.hi)
        return q

    def _request(self, w: _Window, q: dict) -> Any:
        if w.retries is None:
            return self.fetch(q)
        return self.fetch(q, max_retries=w.retries)

    def _chain(self, w: _Window, io: ThreadPoolExecutor) -> None:
        paginator = CursorPaginator(self.limit, self.params)
        base = paginator.first_params()
        future = self._submit(io, w, base)
        while True:
            try:
                page = future.result()
            except ServerError as exc:
                if exc.status not in (504, 524):
                    raise
                with self.cond:
                    w.in_flight = False
                    lower = None if w.depth >= MAX_SPLIT_DEPTH else self._split(w, retries=SPLIT_RETRIES)
                    if lower is None:
                        raise
                    w.retries, w.depth = SPLIT_RETRIES, w.depth + 1
                    self.queue.append(lower)
                    self.cond.notify_all()
                    log.info("a window failed with HTTP %s; reading it as two halves", exc.status)
                future = self._submit(io, w, base)
                continue
            nxt = paginator.advance(page)
            data = page["data"]
            del page
            with self.cond:
                w.in_flight = False
                if data:
                    self.pages += 1
                    last = _ms_of(data[-1], self.time_key)
                    if w.top is None:
                        w.top = _ms_of(data[0], self.time_key)
                    w.pos, w.rows, w.credit = last, w.rows + len(data), w.credit + len(data)
                    seconds = (w.top - last).total_seconds()
                    if w.rows >= self.limit or seconds > 0:
                        w.density = w.rows / max(seconds, 0.001)
                if nxt is None:
                    w.done = True
                else:
                    base = {k: v for k, v in nxt.items() if k not in (self.from_key, self.to_key)}
                self.cond.notify_all()
            ahead = nxt is not None and not isinstance(io, _Inline)
            if ahead:
                future = self._submit(io, w, base)  # fetched while this page is converted
            if self.on_page is not None:
                self.on_page(len(data))
            w.builder.add(self.transform(data) if self.transform is not None else data)
            del data
            if nxt is None:
                return
            if not ahead:
                future = self._submit(io, w, base)

    def _submit(self, io: ThreadPoolExecutor, w: _Window, base: dict) -> Future:
        """Send the window's next request; its bounds are read now, under the lock."""
        with self.cond:
            if self.error is not None:
                raise _Cancelled
            q = self._params(w, base)
            w.in_flight = True
            self.requests += 1
        return io.submit(self._request, w, q)

    def _worker(self, io: ThreadPoolExecutor) -> None:
        while True:
            w = self._next()
            if w is None:
                return
            try:
                self._chain(w, io)
            except _Cancelled:
                return
            except BaseException as exc:  # noqa: B036 - handed to the caller's thread and raised there
                with self.cond:
                    if self.error is None:
                        self.error = exc
                    self.cond.notify_all()
                return
            finally:
                with self.cond:
                    self.running -= 1
                    self.cond.notify_all()

    def run(self) -> pd.DataFrame:
        if self.workers <= 1:
            prefetch = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lfnb-prefetch")
            try:
                self._worker(prefetch)
            finally:
                prefetch.shutdown(wait=False, cancel_futures=True)
        else:
            # No prefetch: while one chain converts, the others keep the connections busy,
            # and half as many pages of parsed JSON wait in memory.
            threads = [threading.Thread(target=self._worker, args=(_Inline(),), name=f"lfnb-window-{i}", daemon=True)
                       for i in range(self.workers)]
            for t in threads:
                t.start()
            try:
                with self.cond:
                    while self.error is None and (self.running or self.queue or any(not w.done for w in self.windows)):
                        self.cond.wait()
            except BaseException as exc:  # noqa: B036 - e.g. KeyboardInterrupt: stop every chain, then re-raise
                with self.cond:
                    self.error = self.error or exc
                    self.cond.notify_all()
                raise
            # On an error, nothing waits for the requests still in flight: each ends on its own
            # (refused/timed out) in its daemon thread and its result is dropped; no new request is sent.
            if self.error is None:
                for t in threads:
                    t.join()
        if self.error is not None:
            raise self.error
        ordered = sorted(self.windows, key=lambda w: w.hi, reverse=True)
        df = combine([w.builder for w in ordered])
        return dedupe(df) if self.overlap else df


class _Cancelled(Exception):
    """Another window failed: stop this one without a request."""


class _Inline:
    """An executor that runs each call at once (workers=1: no thread, no prefetch race)."""

    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: B036 - re-raised by result()
            future.set_exception(exc)
        return future


def _ms_of(record: dict, key: str) -> pd.Timestamp:
    return pd.Timestamp(record[key]).tz_convert("UTC").floor("ms")


def read_windows(fetch: Callable[..., Any], columns: Sequence[tuple[str, str]], *,
                 start: pd.Timestamp | None, end: pd.Timestamp, params: dict, limit: int, workers: int,
                 from_key: str = "fromStartTime", to_key: str = "toStartTime", time_key: str = "startTime",
                 on_page: Callable[[int], None] | None = None,
                 transform: Callable[[list], list] | None = None) -> pd.DataFrame:
    """Read a time-ordered cursor endpoint over ``[start, end)`` with up to ``workers`` chains.

    The endpoint sorts by ``time_key`` descending, takes the bounds ``from_key``
    (inclusive) and ``to_key`` (exclusive) with every page, and its cursor encodes
    only a position (v2 observations, v3 scores). ``fetch(params, max_retries=None)``
    sends one request. ``start=None`` reads from the first row on. Rows come out in
    the server's order, each exactly once.
    """
    engine = _Engine(fetch, columns, start=start, end=end, params=params, limit=limit, workers=max(1, int(workers)),
                     from_key=from_key, to_key=to_key, time_key=time_key, on_page=on_page, transform=transform)
    return engine.run()


def dedupe(df: pd.DataFrame, key: str = "id") -> pd.DataFrame:
    """Drop rows whose ``key`` was already seen (first one wins); no copy when there are none."""
    if key not in df.columns or df.empty:
        return df
    dup = df[key].duplicated()
    if dup.any():
        return df.loc[~dup].reset_index(drop=True)
    return df
