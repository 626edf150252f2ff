"""Extraction engines: a paginated read into a FrameBuilder, and parallel windows that follow the data.

A cursor chain is sequential by nature, so :func:`read_windows` reads
``[from_time, to_time)`` as several chains over disjoint start-time windows. The
windows follow the data, not the calendar: the read starts as *one* chain (its first
page says whether there is more than a page at all); whenever an I/O thread is idle
(and more chains can help, see below) it takes the unread lower half of the window
with the most rows estimated left, and the owner of that
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

Threads: the caller's thread is the only one that parses and converts. ``workers``
I/O threads only send the requests and read the bodies; when a body arrives, the
caller's thread parses it, sends that window's next request at once (so it is
fetched while this page is converted: a one-page prefetch per chain), gives idle
I/O threads new windows, and converts the page. At most ``workers`` bodies and one
parsed page are alive at a time, and the window state needs no lock. A window is
split off only when the caller's thread had to *wait* for the body it converts next:
when a body is already waiting, the conversion is what limits the read and another
chain would only add requests, memory and contention for the cores (no latency,
large pages: ``workers=8`` then reads as one chain, like ``workers=1``). All pages
go into one :class:`~lfnb.frames.builder.FrameBuilder`, each with its window's place.

Windows partition the range with half-open bounds on whole milliseconds (the
cursor's precision) and concatenate latest first (the server's ``startTime DESC``),
which keeps the server's order. A page that was in flight while its window's lower
bound was raised is cut at the new bound (its lower rows belong to the new window,
which reads them itself), so no row is read into two windows and nothing is
de-duplicated.

Failures: a 504/524 (the *query* timed out, not the network) splits the failing
window in two and the halves retry with a budget of :data:`SPLIT_RETRIES` instead of
the transport's full one; any other error — a refused, reset or hanging connection,
an exhausted retry budget — cancels every request not sent yet and is raised at
once (the requests in flight end on their own), so failing takes about as long as
with ``workers=1``.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pandas as pd

from lfnb.errors import ServerError
from lfnb.frames.builder import PARALLEL_POOL, FrameBuilder
from lfnb.langfuse.timestamps import iso
from lfnb.reads.pagination import CursorPaginator, iterate_pages, make_paginator, parsed

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

    def __init__(self, lo: pd.Timestamp | None, hi: pd.Timestamp, density: float | None,
                 retries: int | None = None, depth: int = 0, *, limit: int, params: dict):
        self.lo, self.hi = lo, hi
        self.paginator = CursorPaginator(limit, params)
        self.base = self.paginator.first_params()  # the next request's parameters, bounds aside
        self.pos: pd.Timestamp | None = None  # start time (whole ms) of the last row read
        self.top: pd.Timestamp | None = None  # start time of the first row read
        self.rows = 0
        self.credit = 0.0                     # rows read, halved by each split (see estimate)
        self.density = density                # rows per second, inherited until the window has its own
        self.retries = retries
        self.depth = depth
        self.in_flight = False
        self.stale = False                    # its lower bound was raised while a request was in flight
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
    """One converter (the caller's thread) and ``workers`` I/O threads.

    The I/O threads only send requests and read the bodies (``requests`` releases the
    GIL while it waits); the caller's thread parses every page, advances its window's
    cursor, sends that window's next request at once, and then converts the page. So
    at most ``workers`` bodies and one parsed page are alive at a time, every Python
    object and Arrow chunk of the read is allocated by one thread (one malloc arena),
    and no two threads fight over the GIL to parse. The window state is touched by the
    caller's thread only: no locks.
    """

    def __init__(self, fetch, columns, *, start, end, params, limit, workers, from_key, to_key, time_key, on_page,
                 transform, parse):
        self.fetch, self.columns, self.params, self.limit = fetch, columns, params, limit
        self.workers, self.from_key, self.to_key, self.time_key = workers, from_key, to_key, time_key
        self.on_page, self.transform, self.parse = on_page, transform, parse
        self.windows = [_Window(start, end, None, limit=limit, params=params)]
        # One builder for every window: pages are put in the server's order (windows latest
        # first) when the frame is built, without a copy of the text columns and with one
        # copy of each number column.
        self.builder = FrameBuilder(columns, pool=PARALLEL_POOL if workers > 1 else None)
        self.done: queue.SimpleQueue = queue.SimpleQueue()   # (window, future) as each request ends
        self.in_flight = 0
        self.starved = True  # the caller's thread waited for the last body (see run)
        self.requests = 0
        self.pages = 0  # pages that brought rows

    # ----------------------------------------------------------------- scheduling
    def _fill(self, io: ThreadPoolExecutor) -> None:
        """Give idle I/O threads the lower half of the fullest window, while that is worth it."""
        while self.in_flight < self.workers:
            lower = self._steal()
            if lower is None:
                return
            self._submit(io, lower)

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
        """Give away the lower half of ``w``'s unread span as a new window."""
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
        lower = _Window(lo, mid, w.density, retries=retries, depth=w.depth + 1, limit=self.limit,
                        params=self.params)
        if w.in_flight:
            w.stale = True  # the page in flight was asked with the old lower bound: cut it at ``mid``
        w.lo = mid
        w.credit /= 2
        self.windows.append(lower)
        log.debug("window split at %s", iso(mid))
        return lower

    # ----------------------------------------------------------------- requests
    def _params(self, w: _Window) -> dict:
        q = dict(w.base)
        if w.lo is not None:
            q[self.from_key] = iso(w.lo)
        else:
            q.pop(self.from_key, None)
        q[self.to_key] = iso(w.hi)
        return q

    def _submit(self, io: ThreadPoolExecutor, w: _Window) -> None:
        """Send the window's next request (its bounds are read now)."""
        q = self._params(w)
        w.in_flight, w.stale = True, False
        self.in_flight += 1
        self.requests += 1
        future = io.submit(self._request, w, q)
        future.add_done_callback(lambda f, w=w: self.done.put((w, f)))

    def _request(self, w: _Window, q: dict) -> Any:
        if w.retries is None:
            return self.fetch(q)
        return self.fetch(q, max_retries=w.retries)

    # ----------------------------------------------------------------- one page
    def _page(self, io: ThreadPoolExecutor, w: _Window, future: Future) -> None:
        self.in_flight -= 1
        w.in_flight = False
        try:
            page = self.parse(future.result())  # here: a truncated body is fetched again by the transport
        except ServerError as exc:
            if exc.status not in (504, 524):
                raise
            lower = None if w.depth >= MAX_SPLIT_DEPTH else self._split(w, retries=SPLIT_RETRIES)
            if lower is None:
                raise
            w.retries, w.depth = SPLIT_RETRIES, w.depth + 1
            log.info("a window failed with HTTP %s; reading it as two halves", exc.status)
            self._submit(io, w)
            self._submit(io, lower)
            return
        del future
        nxt = w.paginator.advance(page)
        data = page["data"]
        del page
        if w.stale and data:
            cut = self._below(data, w.lo)
            if cut < len(data):
                # rows below the raised lower bound belong to the window split off (which reads
                # them itself); rows come latest first, so this window has nothing more to read
                data, nxt = data[:cut], None
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
            w.base = {k: v for k, v in nxt.items() if k not in (self.from_key, self.to_key)}
            self._submit(io, w)  # fetched while this page is converted
        if self.starved:
            self._fill(io)
        if self.on_page is not None:
            self.on_page(len(data))
        self.builder.add(self.transform(data) if self.transform is not None else data, order=-w.hi.value)

    def _below(self, data: list, lo: pd.Timestamp | None) -> int:
        """How many leading rows of ``data`` (latest first) start at or after ``lo``."""
        if lo is None:
            return len(data)
        n = len(data)
        while n and _time_of(data[n - 1], self.time_key) < lo:
            n -= 1
        return n

    def run(self) -> pd.DataFrame:
        io = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="lfnb-fetch")
        try:
            self._submit(io, self.windows[0])
            while self.in_flight:
                try:
                    w, future = self.done.get_nowait()
                    self.starved = False  # a body was waiting: this thread is what limits the read
                except queue.Empty:
                    w, future = self.done.get()
                    self.starved = True   # this thread waited for the network/server: more chains can help
                self._page(io, w, future)
        finally:
            # On an error (or Ctrl-C) nothing waits for the requests still in flight: each ends
            # on its own (refused/timed out) in its thread and its result is dropped; the
            # requests not sent yet are cancelled.
            io.shutdown(wait=False, cancel_futures=True)
        return self.builder.frame()


def _time_of(record: dict, key: str) -> pd.Timestamp:
    return pd.Timestamp(record[key]).tz_convert("UTC")


def _ms_of(record: dict, key: str) -> pd.Timestamp:
    return _time_of(record, key).floor("ms")


def read_windows(fetch: Callable[..., Any], columns: Sequence[tuple[str, str]], *,
                 start: pd.Timestamp | None, end: pd.Timestamp, params: dict, limit: int, workers: int,
                 from_key: str = "fromStartTime", to_key: str = "toStartTime", time_key: str = "startTime",
                 on_page: Callable[[int], None] | None = None,
                 transform: Callable[[list], list] | None = None,
                 parse: Callable[[Any], Any] = parsed) -> pd.DataFrame:
    """Read a time-ordered cursor endpoint over ``[start, end)`` with up to ``workers`` chains.

    The endpoint sorts by ``time_key`` descending, takes the bounds ``from_key``
    (inclusive) and ``to_key`` (exclusive) with every page, and its cursor encodes
    only a position (v2 observations, v3 scores). ``fetch(params, max_retries=None)``
    sends one request in an I/O thread and may return the body unparsed; ``parse``
    turns it into the page, in the caller's thread. ``start=None`` reads from the
    first row on. Rows come out in the server's order, each exactly once.
    """
    engine = _Engine(fetch, columns, start=start, end=end, params=params, limit=limit, workers=max(1, int(workers)),
                     from_key=from_key, to_key=to_key, time_key=time_key, on_page=on_page, transform=transform,
                     parse=parse)
    return engine.run()


def dedupe(df: pd.DataFrame, key: str = "id") -> pd.DataFrame:
    """Drop rows whose ``key`` was already seen (first one wins); no copy when there are none."""
    if key not in df.columns or df.empty:
        return df
    dup = df[key].duplicated()
    if dup.any():
        return df.loc[~dup].reset_index(drop=True)
    return df
