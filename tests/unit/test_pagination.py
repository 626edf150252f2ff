"""Paginators and the page loop, fed with JSON pages (no I/O)."""

from __future__ import annotations

import threading
import warnings

import pytest

from lfnb.errors import LfnbTruncationWarning, PaginationError
from lfnb.reads.pagination import CursorPaginator, PageNumberPaginator, iterate_pages


def page_server(pages_by_number, total_pages):
    calls = []

    def fetch(params):
        calls.append(dict(params))
        n = params["page"]
        return {"data": pages_by_number.get(n, []),
                "meta": {"page": n, "limit": params["limit"], "totalItems": 0, "totalPages": total_pages}}

    return fetch, calls


def test_page_number_stops_at_total_pages_not_on_short_page():
    pages = {1: [{"id": "a"}], 2: [{"id": "b"}, {"id": "c"}], 3: [{"id": "d"}]}  # page 1 short on purpose
    fetch, calls = page_server(pages, total_pages=3)
    out = [r["id"] for data in iterate_pages(fetch, PageNumberPaginator(2, {"name": "x"})) for r in data]
    assert out == ["a", "b", "c", "d"]
    assert [c["page"] for c in calls] == [1, 2, 3]
    assert all(c["name"] == "x" and c["limit"] == 2 for c in calls)


def test_page_number_zero_total_pages_is_one_request():
    fetch, calls = page_server({}, total_pages=0)
    assert list(iterate_pages(fetch, PageNumberPaginator(10))) == [[]]
    assert len(calls) == 1


def test_page_number_not_advancing_raises():
    def fetch(params):
        return {"data": [{"id": "a"}], "meta": {"page": 1, "limit": 1, "totalItems": 5, "totalPages": 5}}

    with pytest.raises(PaginationError, match="asked for page 2 but the server answered page 1"):
        list(iterate_pages(fetch, PageNumberPaginator(1)))


def test_page_without_total_pages_raises():
    with pytest.raises(PaginationError, match="meta.totalPages missing"):
        list(iterate_pages(lambda p: {"data": [], "meta": {"page": 1}}, PageNumberPaginator(1)))


def test_malformed_page_raises():
    with pytest.raises(PaginationError, match="expected a page"):
        list(iterate_pages(lambda p: [1, 2], CursorPaginator(10)))


def test_concurrent_pages_keep_order_and_fetch_each_page_once():
    pages = {n: [{"id": f"{n}-{i}"} for i in range(3)] for n in range(1, 8)}
    fetch, calls = page_server(pages, total_pages=7)
    lock = threading.Lock()

    def locked(params):
        with lock:
            pass
        return fetch(params)

    out = [r["id"] for data in iterate_pages(locked, PageNumberPaginator(3), workers=4) for r in data]
    assert out == [f"{n}-{i}" for n in range(1, 8) for i in range(3)]
    assert sorted(c["page"] for c in calls) == list(range(1, 8))


def test_concurrent_pages_use_no_more_threads_than_pages_left():
    """workers=64 on a 3-page read: pages 2 and 3 are the only ones left, so at most 2 threads fetch them."""
    pages = {n: [{"id": f"{n}-{i}"} for i in range(3)] for n in range(1, 4)}
    fetch, calls = page_server(pages, total_pages=3)
    threads = set()
    before = threading.active_count()
    peak = [0]

    def spy(params):
        threads.add(threading.current_thread().name)
        peak[0] = max(peak[0], threading.active_count() - before)
        return fetch(params)

    out = [r["id"] for data in iterate_pages(spy, PageNumberPaginator(3), workers=64) for r in data]
    assert out == [f"{n}-{i}" for n in range(1, 4) for i in range(3)]
    assert len({t for t in threads if t.startswith("lfnb-page")}) <= 2
    assert peak[0] <= 2


class LazyPage:
    """An unparsed body (like lfnb.http.transport.Body): records the thread that parses it."""

    parsed_in: list = []

    def __init__(self, page):
        self.page = page

    def json(self):
        LazyPage.parsed_in.append(threading.current_thread().name)
        return self.page


@pytest.mark.parametrize("workers", [1, 4])
def test_pages_fetched_unparsed_are_parsed_in_the_consuming_thread(workers):
    """The I/O threads only fetch; every page is parsed where it is consumed (one thread allocates)."""
    pages = {n: [{"id": f"{n}-{i}"} for i in range(3)] for n in range(1, 6)}
    fetch, _ = page_server(pages, total_pages=5)
    fetched_in = []

    def lazy(params):
        fetched_in.append(threading.current_thread().name)
        return LazyPage(fetch(params))

    LazyPage.parsed_in = []
    out = [r["id"] for data in iterate_pages(lazy, PageNumberPaginator(3), workers=workers) for r in data]
    assert out == [f"{n}-{i}" for n in range(1, 6) for i in range(3)]
    me = threading.current_thread().name
    assert LazyPage.parsed_in == [me] * 5
    assert any(name != me for name in fetched_in)  # pages after the first come from I/O threads


def cursor_server(chain):
    """chain: list of (data, cursor-or-None-or-'absent')"""
    calls = []

    def fetch(params):
        calls.append(dict(params))
        idx = 0 if "cursor" not in params else int(params["cursor"].split("-")[1])
        data, cursor = chain[idx]
        meta = {} if cursor == "absent" else {"cursor": cursor}
        return {"data": data, "meta": meta}

    return fetch, calls


def test_cursor_keeps_going_through_empty_and_short_pages_and_resends_filters():
    chain = [([{"id": 1}, {"id": 2}], "c-1"), ([], "c-2"), ([{"id": 3}], "c-3"), ([], "c-4"), ([{"id": 4}], "absent")]
    fetch, calls = cursor_server(chain)
    out = [r["id"] for data in iterate_pages(fetch, CursorPaginator(2, {"filter": "[]", "fields": "core"})) for r in data]
    assert out == [1, 2, 3, 4]
    assert [c.get("cursor") for c in calls] == [None, "c-1", "c-2", "c-3", "c-4"]
    assert all(c["filter"] == "[]" and c["fields"] == "core" and c["limit"] == 2 for c in calls)


def test_cursor_null_stops():
    fetch, calls = cursor_server([([{"id": 1}], None)])
    assert list(iterate_pages(fetch, CursorPaginator(1))) == [[{"id": 1}]]
    assert len(calls) == 1


def test_cursor_that_does_not_advance_raises():
    def fetch(params):
        return {"data": [], "meta": {"cursor": "same"}}

    with pytest.raises(PaginationError, match="cursor does not advance"):
        list(iterate_pages(fetch, CursorPaginator(5)))


def test_cursor_must_be_a_string():
    with pytest.raises(PaginationError, match="meta.cursor must be a non-empty string"):
        list(iterate_pages(lambda p: {"data": [], "meta": {"cursor": 5}}, CursorPaginator(5)))


def test_max_rows_truncates_with_warning():
    chain = [([{"id": i} for i in range(3)], "c-1"), ([{"id": i} for i in range(3, 6)], "absent")]
    fetch, calls = cursor_server(chain)
    with pytest.warns(LfnbTruncationWarning, match="max_rows=4 reached"):
        out = [r["id"] for data in iterate_pages(fetch, CursorPaginator(3), max_rows=4) for r in data]
    assert out == [0, 1, 2, 3]


def test_max_rows_equal_to_total_does_not_warn():
    fetch, _ = cursor_server([([{"id": 1}, {"id": 2}], "absent")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = [r for data in iterate_pages(fetch, CursorPaginator(2), max_rows=2) for r in data]
    assert len(out) == 2


def test_max_rows_stops_early_with_concurrent_pages():
    pages = {n: [{"id": f"{n}-{i}"} for i in range(10)] for n in range(1, 11)}
    fetch, calls = page_server(pages, total_pages=10)
    with pytest.warns(LfnbTruncationWarning):
        out = [r["id"] for data in iterate_pages(fetch, PageNumberPaginator(10), max_rows=25, workers=3) for r in data]
    assert len(out) == 25 and out[-1] == "3-4"
    assert sorted(c["page"] for c in calls) == [1, 2, 3]


def test_on_page_counts_rows():
    fetch, _ = cursor_server([([{"id": 1}], "c-1"), ([], "c-2"), ([{"id": 2}, {"id": 3}], "absent")])
    seen = []
    list(iterate_pages(fetch, CursorPaginator(5), on_page=seen.append))
    assert seen == [1, 0, 2]
