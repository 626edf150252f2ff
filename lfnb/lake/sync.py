"""``lf.sync(path)``: mirror a Langfuse project into a local Parquet lake, incrementally.

Per resource, a sync reads ``[high-water mark − lookback, until)`` (a first sync:
``[since, until)``, or the whole history when ``since`` is None, newest day first, an
empty stretch skipped with one probe request) one UTC day at a time with the client's own
``read_*`` (so the lake holds exactly their frames), and for each day:

* rows are keyed by ``id``: a fetched row replaces the stored one, new ids are added,
  stored rows the server did not return are kept (a GET API can lag ingestion; deletions
  are caught by ``verify=True``);
* the day's partition is rewritten only when a row is new or changed — a sync with
  nothing new writes nothing — via a hidden temp file moved onto the fixed name
  (:mod:`lfnb.lake.location`: ``os.replace`` on local disk, a single-object copy on an
  object store);
* the state file is replaced only when every day of the window is written.

A sync killed at any point leaves complete partitions only (each file is the old one or
the new one), and the next sync repeats the window from the old high-water mark; upserts
are idempotent, so it ends identical to an uninterrupted sync. One sync at a time: a sync
holds the lake's lock (:mod:`lfnb.lake.lock`) while it runs; readers never need it.

``path`` is a local directory or an fsspec URL (``s3://bucket/lake`` with ``storage_options``).

On v4 servers ``traces`` are not stored: :meth:`lfnb.lake.Lake.read` derives them from the
lake's observations exactly as ``lf.read_traces`` derives them from the v2 observations API.
"""

from __future__ import annotations

import time
import warnings
from datetime import date
from typing import Any

import pandas as pd

from lfnb.errors import LfnbTruncationWarning
from lfnb.lake import files
from lfnb.lake.location import Location
from lfnb.lake.lock import sync_lock
from lfnb.lake.state import TMP_DIR, LakeError, LakeState
from lfnb.langfuse.timestamps import to_utc, utc_now

__all__ = ["sync", "SYNC_COLUMNS", "parse_lookback"]

SYNC_COLUMNS = ("resource", "fetched", "new", "updated", "deleted", "partitions", "requests", "seconds", "note")
#: days read per request window: a day's partition is written once its window is read, so memory
#: holds one window (a sync of 1M rows needs no more than one of 100k rows)
WINDOW_DAYS = 1
DERIVED_ON_V4 = "derived from observations on read (v4 server)"


def parse_lookback(value: Any) -> pd.Timedelta:
    """``"2h"``, ``"30min"``, a ``timedelta`` or seconds → a non-negative ``Timedelta``."""
    try:
        delta = pd.Timedelta(value) if not isinstance(value, (int, float)) else pd.Timedelta(seconds=value)
    except (ValueError, TypeError):
        raise LakeError(f"lookback must be a duration such as '2h', '30min' or a timedelta, got {value!r}") from None
    if delta < pd.Timedelta(0):
        raise LakeError(f"lookback must not be negative, got {value!r}")
    return delta


def _resources(resources: Any) -> tuple[str, ...]:
    names = (resources,) if isinstance(resources, str) else tuple(resources)
    bad = [r for r in names if r not in files.RESOURCES]
    if bad or not names:
        raise LakeError(f"unknown resource {', '.join(map(repr, bad)) or '(none given)'}; valid: "
                        f"{', '.join(files.RESOURCES)}")
    return names


def _make_root(root: Location) -> None:
    try:
        root.makedirs()
    except OSError as exc:
        raise LakeError(f"Cannot write the lake at {root}: {exc.strerror or exc}") from exc


def _clear_tmp(root: Location) -> None:
    """Drop the temp files of a killed sync (never visible; only the lock holder may do this)."""
    try:
        if root.exists(TMP_DIR):
            root.rmtree(TMP_DIR)
        root.makedirs(TMP_DIR)
    except OSError as exc:
        raise LakeError(f"Cannot write the lake at {root}: {exc.strerror or exc}") from exc


def sync(client, path: Any, *, resources: Any = ("observations", "scores", "traces"), since: Any = None,
         until: Any = None, lookback: Any = "2h", workers: int = 1, progress: bool | None = None,
         verify: bool = False, storage_options: dict | None = None) -> pd.DataFrame:
    """Mirror ``client``'s project into the lake at ``path``; one result row per resource.

    See :meth:`lfnb.client.Client.sync` for the parameters.
    """
    names = _resources(resources)
    start_arg, end_arg = to_utc(since, "since"), to_utc(until, "until")
    if start_arg is not None and end_arg is not None and start_arg >= end_arg:
        raise LakeError(f"since ({start_arg.isoformat()}) must be before until ({end_arg.isoformat()})")
    back = parse_lookback(lookback)
    root = Location.of(path, storage_options)
    state = LakeState.load(root)                 # not a lake, another project: refused before any write
    base_url, project_id, generation = client.base_url, client._project_id() or "", client.generation
    if state is not None:
        state.check_owner(root, base_url, project_id)
    _make_root(root)
    with sync_lock(root):
        state = LakeState.load(root)             # again, under the lock: a sync may have ended meanwhile
        if state is not None:
            state.check_owner(root, base_url, project_id)
        _clear_tmp(root)
        if state is None:
            state = LakeState(base_url=base_url, project_id=project_id, generation=generation)
            state.save(root)
        rows = _sync_resources(client, root, state, names, start_arg, end_arg, back, workers, progress, verify)
    frame = pd.DataFrame(rows, columns=list(SYNC_COLUMNS))
    return frame.astype({"resource": "str", "fetched": "Int64", "new": "Int64", "updated": "Int64", "deleted": "Int64",
                         "partitions": "Int64", "requests": "Int64", "seconds": "Float64", "note": "str"})


def _sync_resources(client, root: Location, state: LakeState, names, start_arg, end_arg, back, workers, progress,
                    verify) -> list[dict]:
    generation = client.generation
    rows = []
    for resource in names:
        t0, req0 = time.perf_counter(), client.transport.requests
        if resource == "traces" and generation == "v4":
            rows.append(dict(resource=resource, fetched=0, new=0, updated=0, deleted=0, partitions=0, requests=0,
                             seconds=0.0, note=DERIVED_ON_V4))
            continue
        end = end_arg if end_arg is not None else utc_now()
        mark = state.resources.get(resource, {}).get("high_water_mark")
        start = start_arg if start_arg is not None else (to_utc(mark) - back if mark else None)
        counts = _sync_window(client, root, resource, start, end, workers, progress, replace=False)
        if verify:
            for day in _days_that_differ(client, root, resource, generation, end):
                lo = pd.Timestamp(day, tz="UTC")
                more = _sync_window(client, root, resource, lo, min(lo + pd.Timedelta(days=1), end), workers,
                                    progress, replace=True)
                counts = {k: counts[k] + more[k] for k in counts}
        entry = state.resources.setdefault(resource, {})
        old_mark = to_utc(entry["high_water_mark"]) if entry.get("high_water_mark") else None
        entry["high_water_mark"] = (max(end, old_mark) if old_mark is not None else end).isoformat()
        state.save(root)
        rows.append(dict(resource=resource, **counts, requests=client.transport.requests - req0,
                         seconds=round(time.perf_counter() - t0, 3), note=""))
    return rows


def _chunks(start, end, days: int = 1):
    """Day-aligned sub-windows of ``[start, end)`` of up to ``days`` days, oldest first (what is
    ``send`` to it, whether a window was empty, changes nothing: see :func:`_history`)."""
    lo = start
    while lo < end:
        hi = min(lo.normalize() + pd.Timedelta(days=days), end)
        yield lo, hi
        lo = hi


def _history(client, resource: str, end):
    """The whole history before ``end`` (a first sync without ``since``), one UTC day at a time.

    The days are read newest first. Whenever a day comes back empty, one probe request
    for the newest row before it (one row, see :func:`_newest_before`) says where the
    next rows are, so an empty stretch costs one request and the walk ends when the probe
    finds nothing. Memory holds one day, as for a sync with ``since``. The generator is
    told through ``send`` whether the day it gave was empty.
    """
    hi = end
    lo = (hi - pd.Timedelta(microseconds=1)).normalize()
    while True:
        empty = yield lo, hi
        if empty:
            newest = _newest_before(client, resource, lo)
            if newest is None:
                return
            lo, hi = newest.normalize(), min(newest.normalize() + pd.Timedelta(days=1), lo)
        else:
            lo, hi = lo - pd.Timedelta(days=1), lo


def _newest_before(client, resource: str, when) -> pd.Timestamp | None:
    """The time of the newest row of ``resource`` before ``when``, or None (one small request)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LfnbTruncationWarning)  # max_rows=1 is the point here
        if resource == "observations":
            frame = client.read_observations(None, when, fields=("core",), max_rows=1, limit=1, progress=False)
        elif resource == "scores":
            frame = client.read_scores(None, when, max_rows=1, progress=False)
        else:
            frame = client.read_traces(None, when, max_rows=1, progress=False)
    times = frame[files.TIME_COLUMN[resource]].dropna()
    return None if times.empty else times.max().tz_convert("UTC")


def _read(client, resource: str, lo, hi, workers: int) -> pd.DataFrame:
    if resource == "observations":
        return client.read_observations(lo, hi, fields=files.ALL_GROUPS, workers=workers, progress=False)
    if resource == "scores":
        return client.read_scores(lo, hi, workers=workers, progress=False)
    return client.read_traces(lo, hi, workers=workers, progress=False)


def _sync_window(client, root: Location, resource: str, start, end, workers: int, progress, *,
                 replace: bool) -> dict[str, int]:
    counts = {"fetched": 0, "new": 0, "updated": 0, "deleted": 0, "partitions": 0}
    if start is None:
        walk, bar = _history(client, resource, end), _bar(progress, resource, None)
    else:
        total = sum(1 for _ in _chunks(start, end, WINDOW_DAYS))
        walk, bar = _chunks(start, end, WINDOW_DAYS), _bar(progress, resource, total)
    try:
        window = next(walk, None)
        while window is not None:
            lo, hi = window
            fetched = _read(client, resource, lo, hi, workers)
            counts["fetched"] += len(fetched)
            if not fetched.empty or replace:
                _store(root, resource, lo, fetched, counts, replace=replace)
            bar.update(1)
            window = _send(walk, fetched.empty)
    finally:
        bar.close()
    return counts


def _send(walk, empty: bool):
    """The next window of ``walk`` (told whether the last one was empty), or None at its end."""
    try:
        return walk.send(empty)
    except StopIteration:
        return None


def _store(root: Location, resource: str, lo, fetched: pd.DataFrame, counts: dict, *, replace: bool) -> None:
    """Upsert one window's rows into the partitions of their days (``replace``: also ``lo``'s day)."""
    tcol = files.TIME_COLUMN[resource]
    days = fetched[tcol].dt.tz_convert("UTC").dt.date if len(fetched) else pd.Series([], dtype=object)
    wanted = set(days) | ({lo.date()} if replace and lo is not None else set())
    for day in sorted(wanted):
        part = fetched[(days == day).to_numpy()] if len(fetched) else fetched
        for key, n in zip(("new", "updated", "deleted", "partitions"),
                          _upsert(root, resource, day, part, replace=replace)):
            counts[key] += n


def _upsert(root: Location, resource: str, day: date, fetched: pd.DataFrame, *, replace: bool) -> tuple[int, int, int, int]:
    """Merge one day's fetched rows into its partition; ``(new, updated, deleted, partitions written)``.

    ``replace`` (verify): the fetched rows are the whole day, stored rows they lack are deleted.
    """
    stored = files.read_partition(root, resource, day)
    incoming = files.encode(fetched, resource)
    if stored is None or stored.empty:
        if incoming.empty:
            return 0, 0, 0, 0
        files.write_partition(root, resource, day, _sorted(incoming, resource))
        return len(incoming), 0, 0, 1
    cols = files.ordered_columns(resource, set(stored.columns) | set(incoming.columns))
    old = files.encode(files.decode(stored, resource, cols), resource)
    new = files.encode(files.decode(incoming, resource, cols), resource) if len(incoming) else old.iloc[:0]
    known = old["id"].isin(new["id"])
    fresh = ~new["id"].isin(old["id"])
    same_ids = new[~fresh].set_index("id")
    before = old[known].set_index("id").loc[same_ids.index]
    changed = int((_row_hash(before) != _row_hash(same_ids)).sum()) if len(same_ids) else 0
    dropped = int((~known).sum()) if replace else 0
    if not fresh.any() and not changed and not dropped:
        return 0, 0, 0, 0
    merged = new if replace else pd.concat([old[~known], new], ignore_index=True)
    if merged.empty:
        files.remove_partition(root, resource, day)
    else:
        files.write_partition(root, resource, day, _sorted(merged, resource))
    return int(fresh.sum()), changed, dropped, 1


def _row_hash(frame: pd.DataFrame) -> pd.Series:
    return pd.util.hash_pandas_object(frame.astype("str").fillna("\0"), index=False).to_numpy()


def _sorted(frame: pd.DataFrame, resource: str) -> pd.DataFrame:
    return frame.sort_values([files.TIME_COLUMN[resource], "id"], kind="stable").reset_index(drop=True)


def _days_that_differ(client, root: Location, resource: str, generation: str, end) -> list[date]:
    """Days whose row count in the lake differs from the server's (one Metrics query per view)."""
    days = files.days_of(root, resource)
    if not days:
        return []
    lo = pd.Timestamp(days[0], tz="UTC")
    views = {"observations": ["observations"], "traces": ["traces"],
             "scores": ["scores-numeric", "scores-categorical"]}[resource]
    server: dict[date, int] = {}
    for view in views:
        query = {"view": view, "metrics": [{"measure": "count", "aggregation": "count"}], "dimensions": [],
                 "filters": [], "timeDimension": {"granularity": "day"},
                 "fromTimestamp": lo.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                 "toTimestamp": (end - pd.Timedelta(milliseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"}
        if generation == "v4":
            query["config"] = {"row_limit": 1000}
        frame = client.read_metrics(query, cache=False)
        for when, n in zip(frame["time_dimension"], frame["count_count"]):
            d = pd.Timestamp(when).date()
            server[d] = server.get(d, 0) + int(n if pd.notna(n) else 0)
    local = {d: len(files.read_partition(root, resource, d, columns=["id"])) for d in days}
    return sorted(d for d in set(server) | set(local) if server.get(d, 0) != local.get(d, 0)
                  and pd.Timestamp(d, tz="UTC") >= lo)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(progress: bool | None, resource: str, total: int | None):
    """A bar of days read (``total`` None: the whole history, length unknown)."""
    if not progress:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError as exc:
        raise ImportError("lf.sync(progress=True) draws its bars with tqdm, which is missing: "
                          "pip install 'lfnb[lake]'") from exc
    return tqdm(total=total, desc=f"sync {resource}", unit="day")
