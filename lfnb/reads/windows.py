"""Extraction engines: a paginated read into a FrameBuilder, and parallel time windows.

A cursor chain is sequential by nature, so :func:`read_windows` splits
``[from_time, to_time)`` into time windows (latest first, matching the server's
``startTime DESC`` order), runs one cursor chain per window on a thread pool
(every thread shares the transport, its connection pool and its rate limiter),
and concatenates the windows in order. Windows partition the range with
half-open bounds, so no row can fall in two of them; ids are still de-duplicated
in case a server treats a bound inclusively. A window that fails with 524 or a
timeout/connection error after the transport's own retries is split in two and
each half is read again (the failed window's partial rows are discarded).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd

from lfnb.errors import ServerError, TransportError
from lfnb.frames.builder import FrameBuilder, combine
from lfnb.langfuse.timestamps import iso
from lfnb.reads.pagination import iterate_pages, make_paginator

__all__ = ["split_windows", "read_into", "read_windows", "dedupe"]

log = logging.getLogger("lfnb.reads.windows")

MAX_SPLIT_DEPTH = 6
MIN_WINDOW_SECONDS = 1.0


def split_windows(start: pd.Timestamp, end: pd.Timestamp, n: int) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """``n`` equal half-open windows of ``[start, end)``, latest first; bounds on whole ms."""
    if end <= start:
        return [(start, end)]
    span = end - start
    n = max(1, min(int(n), int(span.total_seconds() / MIN_WINDOW_SECONDS) or 1))
    edges = [start + span * i / n for i in range(n)] + [end]
    edges = [e.floor("ms") for e in edges[:-1]] + [end]
    windows = [(edges[i], edges[i + 1]) for i in range(n) if edges[i] < edges[i + 1]]
    return windows[::-1]


def read_into(fetch: Callable[[dict], Any], builder: FrameBuilder, *, paging: str, limit: int,
              params: dict, max_rows: int | None = None, workers: int = 1,
              on_page: Callable[[int], None] | None = None,
              transform: Callable[[list], list] | None = None) -> None:
    """Run one paginated read, converting each page into ``builder`` as it arrives."""
    paginator = make_paginator(paging, limit, params)
    for data in iterate_pages(fetch, paginator, max_rows=max_rows, workers=workers, on_page=on_page):
        builder.add(transform(data) if transform is not None else data)
        del data  # the page's dicts are converted: free them before the next request


def _splittable(exc: BaseException) -> bool:
    if isinstance(exc, TransportError):
        return True
    return isinstance(exc, ServerError) and exc.status in (504, 524)


def read_windows(fetch: Callable[[dict], Any], columns: Sequence[tuple[str, str]], *,
                 start: pd.Timestamp, end: pd.Timestamp, params: dict, limit: int, workers: int,
                 from_key: str = "fromStartTime", to_key: str = "toStartTime",
                 on_page: Callable[[int], None] | None = None,
                 transform: Callable[[list], list] | None = None, windows_per_worker: int = 2) -> pd.DataFrame:
    """Read a cursor endpoint over ``[start, end)`` with ``workers`` threads; one typed frame.

    Rows come out in the server's order (windows latest first, each window in
    server order) with duplicate ids removed.
    """
    windows = split_windows(start, end, workers * windows_per_worker)

    def run(window: tuple[pd.Timestamp, pd.Timestamp], depth: int = 0) -> list[FrameBuilder]:
        lo, hi = window
        builder = FrameBuilder(columns)
        pages: list[int] = []
        try:
            read_into(fetch, builder, paging="cursor", limit=limit,
                      params={**params, from_key: iso(lo), to_key: iso(hi)},
                      on_page=pages.append, transform=transform)
        except (ServerError, TransportError) as exc:
            if not _splittable(exc) or depth >= MAX_SPLIT_DEPTH or (hi - lo).total_seconds() < 2 * MIN_WINDOW_SECONDS:
                raise
            mid = (lo + (hi - lo) / 2).floor("ms")
            log.info("window %s..%s failed (%s); splitting it in two", iso(lo), iso(hi), type(exc).__name__)
            return run((mid, hi), depth + 1) + run((lo, mid), depth + 1)
        if on_page is not None:
            # Counted once the window succeeded, so a split window is not counted twice.
            for n in pages:
                on_page(n)
        return [builder]

    if workers <= 1 or len(windows) == 1:
        parts = [b for w in windows for b in run(w)]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lfnb-window") as pool:
            parts = [b for bs in pool.map(run, windows) for b in bs]
    return dedupe(combine(parts))


def dedupe(df: pd.DataFrame, key: str = "id") -> pd.DataFrame:
    """Drop rows whose ``key`` was already seen (first one wins); no copy when there are none."""
    if key not in df.columns or df.empty:
        return df
    dup = df[key].duplicated()
    if dup.any():
        return df.loc[~dup].reset_index(drop=True)
    return df

