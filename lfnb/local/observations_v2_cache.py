"""A rendered, sorted snapshot of the observations table for unfiltered v2 page walks.

Reading a big table page by page (the common extraction: ``fields=core,basic,usage``,
a start-time window, ``limit=1000``) costs DuckDB a scan of every needed column per
page, because a page's rows are spread over the whole table. Once a client is walking
such a read (it sent a cursor), this module renders *every* row's JSON once, in page
order, into one contiguous Arrow buffer; each further page is then a binary search
on the sort keys and a slice of that buffer.

It serves only requests whose answer is fully determined by the snapshot: no
``filter``, no simple filter parameters except ``fromStartTime``/``toStartTime`` on
whole milliseconds, and no ``model`` group (prices come from the mutable ``models``
table). Every request first compares the store's write counter (``Store.version``,
bumped after each committed ``store.write()`` transaction, the only way lfnb.local
writes) with the snapshot's and ignores a stale snapshot: an O(1) check, so a page
costs the same at 100k and 1M rows (it used to be a query over the whole table).

At most :data:`MAX_SNAPSHOTS` field sets are kept per store (about 0.8 kB per row for
``core,basic,usage``); a dropped store drops its snapshots.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import xxhash

__all__ = ["Snapshot", "cached_page", "MIN_ROWS", "MAX_SNAPSHOTS"]

#: below this many observations the plain queries are fast enough: no snapshot
MIN_ROWS = 20_000
MAX_SNAPSHOTS = 2

_SIMPLE = ("name", "userId", "sessionId", "level", "traceId", "version", "parentObservationId", "type",
           "isRootObservation", "environment", "filter")
_LOCKS: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()
_SNAPSHOTS: weakref.WeakKeyDictionary[Any, dict] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Snapshot:
    """Rows in page order: sort keys, ids, and the rendered rows each followed by a comma."""

    fingerprint: tuple
    neg_ms: np.ndarray        # -(start time in epoch ms): ascending, for searchsorted
    hashes: np.ndarray        # xxHash32(trace id)
    ids: np.ndarray           # observation ids (object)
    trace_ids: np.ndarray     # trace ids (object)
    offsets: np.ndarray       # n + 1 byte offsets into ``data``
    data: memoryview          # every row's JSON + "," back to back

    def position(self, ms: int, h: int, oid: str) -> int:
        """Index of the first row strictly after the cursor (ms, hash, id) in page order."""
        lo = int(np.searchsorted(self.neg_ms, -ms, "left"))
        hi = int(np.searchsorted(self.neg_ms, -ms, "right"))
        for i in range(lo, hi):  # rows sharing the cursor's millisecond: a handful
            if (int(self.hashes[i]), self.ids[i]) < (h, oid):
                return i
        return hi

    def below(self, ms: int) -> int:
        """Index of the first row whose start time (ms) is below ``ms``."""
        return int(np.searchsorted(self.neg_ms, -ms, "right"))


def _ms(ts: datetime) -> int | None:
    """Epoch ms of a naive-UTC datetime, or None when it is not on a whole millisecond."""
    if ts.microsecond % 1000:
        return None
    return (ts.replace(tzinfo=UTC) - _EPOCH) // timedelta(milliseconds=1)


def eligible(req: Any, groups: tuple[str, ...]) -> bool:
    """Whether the snapshot alone can answer this request."""
    return "model" not in groups and all(req.get(name) is None for name in _SIMPLE)


def cached_page(store: Any, cur: Any, req: Any, groups: tuple[str, ...], expand: bool,
                opts: dict, last: tuple | None, limit: int,
                render: Callable[[], str], cursor_for: Callable[[str, str, str], str]) -> bytes | None:
    """The page body from a snapshot, or None when the caller must run its queries.

    ``render`` gives the SQL expression of one row's JSON over ``observations o`` (called
    only to build a snapshot); ``cursor_for(start_time_iso, trace_id, id)`` encodes a cursor.
    """
    if not eligible(req, groups):
        return None
    bounds = []
    for name in ("fromStartTime", "toStartTime"):
        if name in opts:
            ms = _ms(opts[name])
            if ms is None:
                return None
            bounds.append(ms)
        else:
            bounds.append(None)
    # Read before any query: a snapshot is never tagged newer than the rows it holds.
    version = store.version
    if _row_count(store, cur, version) < MIN_ROWS:
        return None
    fingerprint = (version,)
    key = (groups, expand)
    snap = _SNAPSHOTS.get(store, {}).get(key)
    if snap is None or snap.fingerprint != fingerprint:
        if last is None:
            return None  # a first page alone does not pay for rendering the whole table
        snap = _build(store, cur, key, fingerprint, render)
    return _page(snap, bounds, last, limit, cursor_for)


_COUNTS: weakref.WeakKeyDictionary[Any, tuple[int, int]] = weakref.WeakKeyDictionary()


def _row_count(store: Any, cur: Any, version: int) -> int:
    """The number of observations, counted once per store version."""
    cached = _COUNTS.get(store)
    if cached is None or cached[0] != version:
        cached = _COUNTS[store] = (version, cur.execute("SELECT count(*) FROM observations").fetchone()[0])
    return cached[1]


def _build(store: Any, cur: Any, key: tuple, fingerprint: tuple, render: Callable[[], str]) -> Snapshot:
    with _GUARD:
        lock = _LOCKS.setdefault(store, threading.Lock())
    with lock:  # concurrent walkers wait for one build instead of rendering twice
        snap = _SNAPSHOTS.get(store, {}).get(key)
        if snap is not None and snap.fingerprint == fingerprint:
            return snap
        table = cur.sql(
            f"SELECT {render()} || ',' AS j, epoch_us(o.start_time) // 1000 AS ms, o.trace_id_hash AS h, "
            "o.id, o.trace_id FROM observations o ORDER BY ms DESC, h DESC, o.id DESC").to_arrow_table()
        rows = table.column("j").combine_chunks()
        width = np.int64 if pa.types.is_large_string(rows.type) else np.int32
        offsets = np.frombuffer(rows.buffers()[1], dtype=width)[rows.offset:rows.offset + len(rows) + 1]
        snap = Snapshot(
            fingerprint=fingerprint,
            neg_ms=-table.column("ms").to_numpy().astype(np.int64),
            hashes=table.column("h").to_numpy().astype(np.int64),
            ids=table.column("id").to_numpy(),
            trace_ids=table.column("trace_id").to_numpy(),
            offsets=offsets.astype(np.int64),
            data=memoryview(rows.buffers()[2]),
        )
        per_store = _SNAPSHOTS.setdefault(store, {})
        per_store.pop(key, None)
        per_store[key] = snap
        while len(per_store) > MAX_SNAPSHOTS:
            per_store.pop(next(iter(per_store)))
        return snap


def _page(snap: Snapshot, bounds: list[int | None], last: tuple | None, limit: int,
          cursor_for: Callable[[str, str, str], str]) -> bytes | None:
    from_ms, to_ms = bounds
    start = 0 if to_ms is None else snap.below(to_ms)
    if last is not None:
        last_time, last_trace, last_id = last
        last_ms = _ms(last_time)
        if last_ms is None:
            return None  # not a cursor this server wrote: let the SQL path judge it
        start = max(start, snap.position(last_ms, xxhash.xxh32_intdigest(last_trace.encode(), seed=0), last_id))
    end = len(snap.ids) if from_ms is None else snap.below(from_ms)
    stop = min(start + limit, end)
    if stop <= start:
        return b'{"data":[],"meta":{}}'
    body = bytes(snap.data[int(snap.offsets[start]):int(snap.offsets[stop]) - 1])  # drop the last ","
    meta = b"{}"
    if stop < end:
        i = stop - 1
        when = _EPOCH + timedelta(milliseconds=-int(snap.neg_ms[i]))  # integers: no float rounding
        text = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
        meta = b'{"cursor":"' + cursor_for(text, snap.trace_ids[i], snap.ids[i]).encode() + b'"}'
    return b'{"data":[' + body + b'],"meta":' + meta + b"}"
