"""Paginators for Langfuse's two list styles, and the one loop that drives them.

A paginator is a small state machine without I/O: :meth:`first_params` gives the
parameters of the first request, :meth:`advance` reads a page and returns the
parameters of the next request or ``None`` when done. Make a new one per
iteration. The stop rules are Langfuse's, never guessed from the data:

* page-number (v1 endpoints): stop after ``meta.totalPages`` (``page >=
  totalPages``); a short page before that means nothing.
* cursor (v2 observations, v3 scores): stop only when ``meta.cursor`` is absent
  or null. An empty page that carries a cursor means *keep going*.

A page whose ``meta.page`` is not the page asked for, or a cursor that was
already sent, raises :class:`~lfnb.errors.PaginationError` instead of looping.

:func:`iterate_pages` is the loop: it calls a ``fetch(params) -> page`` callable
(the client's transport) and yields each page's ``data``; the next page is
requested while the caller converts the current one (one page ahead); with
``workers > 1`` page-number pages 2..N are fetched concurrently after page 1 told
the total. ``fetch`` may return the page unparsed (an object with a ``json()``
method, such as :class:`lfnb.http.transport.Body`): the I/O threads then only read
bytes and every page is parsed in the caller's thread (see :func:`parsed`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Any

from lfnb.errors import PaginationError, warn_max_rows

__all__ = ["PageNumberPaginator", "CursorPaginator", "iterate_pages", "make_paginator", "parsed"]

Page = dict[str, Any]


def _check_page(page: Any) -> tuple[list, dict]:
    if not isinstance(page, dict) or not isinstance(page.get("data"), list):
        raise PaginationError(f"expected a page {{'data': [...], 'meta': {{...}}}}, got {_excerpt(page)}")
    meta = page.get("meta")
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise PaginationError(f"expected 'meta' to be an object, got {_excerpt(meta)}")
    return page["data"], meta


def _excerpt(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:120] + "…"


class PageNumberPaginator:
    """v1 paging: ``page=1..meta.totalPages`` with ``limit`` rows each."""

    kind = "page"

    def __init__(self, limit: int = 100, params: dict | None = None):
        self.limit = int(limit)
        self.params = dict(params or {})
        self.page = 1
        self.total_pages: int | None = None
        self.total_items: int | None = None

    def first_params(self) -> dict:
        return {**self.params, "page": 1, "limit": self.limit}

    def params_for(self, page: int) -> dict:
        return {**self.params, "page": page, "limit": self.limit}

    def check(self, page_json: Any, requested: int) -> list:
        """Validate one page (``requested`` is the page number sent); return its data."""
        data, meta = _check_page(page_json)
        try:
            total_pages = int(meta["totalPages"])
        except (KeyError, TypeError, ValueError):
            raise PaginationError(f"page {requested}: meta.totalPages missing or not an integer in "
                                  f"{_excerpt(meta)}") from None
        got = meta.get("page", requested)
        if got is not None and int(got) != requested:
            raise PaginationError(f"asked for page {requested} but the server answered page {got}: "
                                  "the page number does not advance")
        if self.total_pages is None or requested == 1:
            self.total_pages = total_pages
            self.total_items = meta.get("totalItems")
        return data

    def advance(self, page_json: Any) -> dict | None:
        """Read the current page; return the next request's params, or None when done."""
        self.check(page_json, self.page)
        if self.page >= (self.total_pages or 0):
            return None
        self.page += 1
        return self.params_for(self.page)


class CursorPaginator:
    """Cursor paging (v2 observations, v3 scores): follow ``meta.cursor`` until absent/null."""

    kind = "cursor"

    def __init__(self, limit: int = 1000, params: dict | None = None):
        self.limit = int(limit)
        self.params = dict(params or {})
        self.cursor: str | None = None
        self._seen: set[str] = set()

    def first_params(self) -> dict:
        # Filters are re-sent on every page: the cursor encodes only a position.
        return {**self.params, "limit": self.limit}

    def advance(self, page_json: Any) -> dict | None:
        _, meta = _check_page(page_json)
        cursor = meta.get("cursor")
        if cursor is None:
            return None
        if not isinstance(cursor, str) or not cursor:
            raise PaginationError(f"meta.cursor must be a non-empty string or absent, got {_excerpt(cursor)}")
        if cursor in self._seen:
            raise PaginationError("the server sent a cursor it had already sent: the cursor does not advance "
                                  f"(after {len(self._seen)} pages)")
        self._seen.add(cursor)
        self.cursor = cursor
        return {**self.params, "limit": self.limit, "cursor": cursor}


def parsed(result: Any) -> Any:
    """A fetched page as parsed JSON: ``result`` itself, or ``result.json()`` for an unparsed body.

    Called in the thread that converts the pages, so that the I/O threads only read
    bytes (``requests`` releases the GIL while it waits) and one thread allocates
    the parsed objects.
    """
    if isinstance(result, (dict, list)) or result is None:
        return result
    load = getattr(result, "json", None)
    return load() if callable(load) else result


def make_paginator(kind: str, limit: int, params: dict | None = None):
    """A fresh paginator for an operation's paging kind (``page`` or ``cursor``)."""
    if kind == "page":
        return PageNumberPaginator(limit, params)
    if kind == "cursor":
        return CursorPaginator(limit, params)
    raise ValueError(f"operation paging kind {kind!r} is not paginated (valid: page, cursor)")


def iterate_pages(fetch: Callable[[dict], Any], paginator, *, max_rows: int | None = None,
                  workers: int = 1, on_page: Callable[[int], None] | None = None) -> Iterator[list]:
    """Drive ``paginator`` with ``fetch`` and yield each page's ``data`` list.

    Parameters
    ----------
    fetch : callable
        ``fetch(params) -> page`` (parsed JSON, or a body parsed by :func:`parsed` in this thread);
        does the I/O.
    paginator : PageNumberPaginator or CursorPaginator
        A fresh one.
    max_rows : int, optional
        Stop after this many rows; warns with ``LfnbTruncationWarning`` when more exist.
    workers : int
        Page-number paging only: pages 2..N in parallel once page 1 told ``totalPages``.
    on_page : callable, optional
        Called with the row count of every page (progress bars).
    """
    if max_rows is not None and max_rows <= 0:
        return
    if workers > 1 and isinstance(paginator, PageNumberPaginator):
        yield from _iterate_concurrent(fetch, paginator, max_rows=max_rows, workers=workers, on_page=on_page)
        return
    params: dict | None = paginator.first_params()
    seen = 0
    # One-page prefetch: the next request is sent as soon as this page told its params,
    # so that the server works while the caller converts this page. Never beyond max_rows.
    prefetch = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lfnb-prefetch")
    try:
        pending = prefetch.submit(fetch, params)
        while params is not None:
            page = parsed(pending.result())
            params = paginator.advance(page)
            data = page["data"]
            del page
            if on_page is not None:
                on_page(len(data))
            if max_rows is not None and seen + len(data) >= max_rows:
                more = seen + len(data) > max_rows or params is not None
                yield data[: max_rows - seen]
                if more:
                    warn_max_rows(max_rows)
                return
            seen += len(data)
            if params is not None:
                pending = prefetch.submit(fetch, params)
            yield data
            del data  # do not hold the previous page while the next one is fetched
    finally:
        # An error or a consumer that stops early: the request in flight (if any) ends on its own.
        prefetch.shutdown(wait=False, cancel_futures=True)


def _iterate_concurrent(fetch, paginator: PageNumberPaginator, *, max_rows, workers, on_page) -> Iterator[list]:
    first = parsed(fetch(paginator.first_params()))
    data = paginator.check(first, 1)
    del first
    if on_page is not None:
        on_page(len(data))
    total = paginator.total_pages or 0
    if max_rows is not None:
        needed = max(1, math.ceil(max_rows / paginator.limit))
        truncated = needed < total or (len(data) > max_rows)
        last = min(total, needed)
    else:
        truncated, last = False, total
    seen = 0

    def emit(rows: list) -> Iterator[list]:
        nonlocal seen
        if max_rows is not None and seen + len(rows) > max_rows:
            rows = rows[: max_rows - seen]
        seen += len(rows)
        if rows:
            yield rows

    yield from emit(data)
    del data
    if last > 1:
        numbers = iter(range(2, last + 1))
        # never more threads than pages left to read
        threads = min(workers, last - 1)
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="lfnb-page") as pool:
            # A sliding window of 2 x threads pages in flight: pages are consumed (parsed,
            # checked, converted) in order in this thread, and at most that many wait in
            # memory as bytes, however slow the consumer.
            pending = deque((n, pool.submit(fetch, paginator.params_for(n))) for n in islice(numbers, 2 * threads))
            try:
                while pending:
                    number, future = pending.popleft()
                    rows = paginator.check(parsed(future.result()), number)
                    del future
                    if on_page is not None:
                        on_page(len(rows))
                    nxt = next(numbers, None)
                    if nxt is not None:
                        pending.append((nxt, pool.submit(fetch, paginator.params_for(nxt))))
                    yield from emit(rows)
            finally:
                for _, waiting in pending:
                    waiting.cancel()
    if truncated and max_rows is not None and seen >= max_rows:
        warn_max_rows(max_rows)
