"""``lfnb.open_lake(path) -> Lake``: read a synced lake as frames, SQL, metrics or Dask.

>>> lake = lfnb.open_lake("lake/")                                    # doctest: +SKIP
>>> obs = lake.read("observations", "2026-10-25", "2026-11-01", columns=["id", "totalCost"])
>>> lake.sql("SELECT type, count(*) AS n FROM observations GROUP BY type")
>>> lake.metrics({"view": "observations", "metrics": [{"measure": "count", "aggregation": "count"}],
...               "fromTimestamp": "2026-10-25T00:00:00Z", "toTimestamp": "2026-11-01T00:00:00Z"})
>>> lake.dask("observations").groupby("type")["totalCost"].sum().compute()

Every reader sees only complete partitions: a sync replaces each day's file atomically
and writes its temp files under the hidden ``.lfnb-tmp/`` that no reader looks at. Readers
never take the sync lock.

``path`` may be an fsspec URL (``memory://lake``, ``s3://bucket/lake`` with
``storage_options``): frames, SQL (DuckDB reads through the registered fsspec filesystem),
metrics and Dask read the same files there.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lfnb.errors import ConfigError
from lfnb.lake import files
from lfnb.lake.location import Location
from lfnb.lake.state import STATE_FILE, LakeError, LakeState
from lfnb.langfuse.timestamps import to_utc

__all__ = ["Lake", "open_lake"]


def open_lake(path: Any, *, storage_options: dict | None = None) -> Lake:
    """The lake at ``path`` (a directory written by :meth:`lfnb.Client.sync`).

    Parameters
    ----------
    path : str or Path
        A local directory or an fsspec URL (``file://…``, ``memory://…``, ``s3://bucket/prefix``).
    storage_options : dict, optional
        Passed to the fsspec filesystem of a URL (credentials, ``endpoint_url``, …).

    Raises
    ------
    LakeError
        ``path`` does not exist, is not a lake, has another schema version, or names a
        filesystem protocol that is unknown or whose package is not installed.
    """
    root = Location.of(path, storage_options)
    if not root.exists(STATE_FILE) and not root.isdir():
        raise LakeError(f"{root} does not exist or is not a directory; create a lake with lf.sync({str(root)!r})")
    state = LakeState.load(root)
    if state is None:
        raise LakeError(f"{root} is not an lfnb lake (no {STATE_FILE}); create one with lf.sync({str(root)!r})")
    return Lake(root, state)


class Lake:
    """A synced Parquet lake (see the module docstring); open it with :func:`open_lake`."""

    def __init__(self, root: Location, state: LakeState):
        self.root = root
        self.state = state
        self._store = None           # the metrics store (see metrics_store)
        self._stamp: tuple = ()

    def __repr__(self) -> str:
        synced = {r: len(files.days_of(self.root, r)) for r in files.RESOURCES}
        return (f"<lfnb.Lake {self.root} project={self.state.project_id!r} generation={self.state.generation} "
                f"days={synced}>")

    @property
    def generation(self) -> str:
        return self.state.generation

    # ------------------------------------------------------------------ frames
    def read(self, resource: str, from_time: Any = None, to_time: Any = None, *, columns: Any = None,
             filter: Any = None) -> pd.DataFrame:
        """Rows of ``resource`` with ``from_time <= time < to_time`` (naive datetimes are UTC).

        Only the partitions (days) of the range and the requested ``columns`` are read.
        The frame has the columns and dtypes ``lf.read_<resource>`` returns (all field
        groups for observations), rows in the API's order (time descending). ``filter``
        is a pandas query string (``"type == 'GENERATION'"``), applied after reading.
        On a v4 lake ``traces`` are derived from the observations exactly as
        ``lf.read_traces`` derives them on a v4 server.
        """
        if resource not in files.RESOURCES:
            raise LakeError(f"unknown resource {resource!r}; valid: {', '.join(files.RESOURCES)}")
        start, end = to_utc(from_time, "from_time"), to_utc(to_time, "to_time")
        if resource == "traces" and self.generation == "v4":
            from lfnb.reads.generations import _traces_from_observations

            obs = self.read("observations", start, end)
            frame = _traces_from_observations(obs)
            return self._finish(frame, resource, columns, filter)
        wanted = None
        if columns is not None:
            wanted = [columns] if isinstance(columns, str) else list(columns)
            known = set(self._all_columns(resource))
            bad = [c for c in wanted if c not in known]
            if bad:
                raise LakeError(f"unknown column(s) {', '.join(map(repr, bad))} of {resource}; valid: "
                                f"{', '.join(sorted(known))}")
        tcol = files.TIME_COLUMN[resource]
        order_keys = [tcol, "id", "traceId"] if resource == "observations" else [tcol, "id"]
        read_cols = None if wanted is None else list(dict.fromkeys([*wanted, *order_keys]))
        parts = []
        for day in files.days_of(self.root, resource):
            if start is not None and pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1) <= start:
                continue
            if end is not None and pd.Timestamp(day, tz="UTC") >= end:
                continue
            if read_cols is not None:
                present = set(self.root.read_schema(files.partition_path(resource, day)))
                stored = files.read_partition(self.root, resource, day, [c for c in read_cols if c in present])
            else:
                stored = files.read_partition(self.root, resource, day)
            parts.append(stored)
        if not parts:
            frame = files.typed_empty(resource)
        else:
            names = files.ordered_columns(resource, set().union(*(p.columns for p in parts)))
            if read_cols is not None:
                names = [c for c in names if c in read_cols]
            frame = files.decode(pd.concat(parts, ignore_index=True), resource, names)
        times = frame[tcol]
        keep = pd.Series(True, index=frame.index)
        if start is not None:
            keep &= times >= start
        if end is not None:
            keep &= times < end
        frame = frame[keep.to_numpy()]
        return self._finish(_api_order(frame, resource, self.generation), resource, wanted, filter)

    def _finish(self, frame: pd.DataFrame, resource: str, columns: Any, filter: Any) -> pd.DataFrame:
        if filter is not None:
            if not isinstance(filter, str):
                raise ConfigError("filter must be a pandas query string such as \"type == 'GENERATION'\", "
                                  f"got {type(filter).__name__}")
            frame = frame.query(filter).reset_index(drop=True)
        if columns is not None:
            frame = frame[[columns] if isinstance(columns, str) else list(columns)]
        return frame

    def _all_columns(self, resource: str) -> list[str]:
        names = {c for c, _ in files.columns_of(resource)}
        for day in files.days_of(self.root, resource):
            names |= set(self.root.read_schema(files.partition_path(resource, day)))
        return list(names)

    # ------------------------------------------------------------------ SQL
    def sql(self, text: str) -> pd.DataFrame:
        """Run DuckDB SQL over the lake: one view per stored resource (``observations``, ``scores``,
        ``traces``) with the frame's column names (quote dotted ones: ``"usageDetails.input"``)
        and a ``day`` column; json columns are JSON text."""
        import duckdb

        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            if not self.root.local:
                con.register_filesystem(self.root.fs)
            for resource in files.RESOURCES:
                if files.days_of(self.root, resource):
                    glob = self.root.url(f"{resource}/day=*/{files.PART}").replace("'", "''")
                    con.execute(f"CREATE VIEW {resource} AS SELECT * FROM read_parquet('{glob}', "
                                "hive_partitioning = true, union_by_name = true)")
                elif resource == "traces" and self.generation == "v4":
                    derived = files.encode(self.read("traces"), "traces")
                    con.register("traces", derived)
            return con.execute(text).df()
        finally:
            con.close()

    # ------------------------------------------------------------------ metrics
    def metrics(self, query: Any, version: str | None = None) -> pd.DataFrame:
        """A Metrics API query (dict, JSON text or ``MetricsQuery``) answered over the lake.

        Validated exactly as ``lf.read_metrics`` validates it and answered by lfnb.local's
        metrics engine over the lake's rows: the frame ``lf.read_metrics`` returns for the
        same data. No network and no quota. ``version`` defaults as in ``lf.read_metrics``:
        ``v2`` for a lake synced from a v4 server, ``v1`` otherwise. The first call loads
        the lake into an in-memory DuckDB store that later calls reuse until a partition
        changes (it holds the whole lake: for lakes beyond memory use :meth:`sql` or :meth:`dask`).
        """
        from lfnb.lake.metrics import run_over_lake

        if version is None:
            version = "v2" if self.generation == "v4" else "v1"
        return run_over_lake(self, query, version)

    def metrics_store(self):
        """The in-memory store :meth:`metrics` queries, rebuilt when a partition file changed."""
        from lfnb.lake.metrics import load_store

        stamp = tuple((rel, self.root.stamp(rel)) for r in files.RESOURCES
                      for rel in (files.partition_path(r, d) for d in files.days_of(self.root, r)))
        if self._store is None or self._stamp != stamp:
            if self._store is not None:
                self._store.close()
            self._store, self._stamp = load_store(self), stamp
        return self._store

    # ------------------------------------------------------------------ dask
    def dask(self, resource: str):
        """A ``dask.dataframe`` over the resource's partitions, with the frame's dtypes.

        Needs the ``lake`` extra (``pip install 'lfnb[lake]'``). One Dask partition per day.
        """
        try:
            import dask
            import dask.dataframe as dd
        except ImportError as exc:
            raise ImportError("Lake.dask needs dask: pip install 'lfnb[lake]'") from exc
        if resource not in files.RESOURCES or (resource == "traces" and self.generation == "v4"):
            valid = [r for r in files.RESOURCES if not (r == "traces" and self.generation == "v4")]
            raise LakeError(f"no stored resource {resource!r} in {self.root}; valid: {', '.join(valid)}")
        days = files.days_of(self.root, resource)
        names = files.ordered_columns(resource, set(self._all_columns(resource)))
        meta = files.typed_empty(resource, names)
        paths = [self.root.join(files.partition_path(resource, d)) for d in days]
        # dask would turn the frames' ``str`` columns into ``string[pyarrow]`` (NA instead of NaN)
        with dask.config.set({"dataframe.convert-string": False}):
            if not paths:
                return dd.from_pandas(meta, npartitions=1)
            # the fsspec filesystem (None on local disk) travels to the workers with each task: an
            # s3fs filesystem pickles with its storage_options, so a cluster's workers read s3:// too
            n = len(paths)
            return dd.from_map(_load, paths, [resource] * n, [names] * n, [self.root.fs] * n, meta=meta,
                               enforce_metadata=False)


def _api_order(frame: pd.DataFrame, resource: str, generation: str) -> pd.DataFrame:
    """Rows in the API's order: time descending, then (v2 observations) xxHash32(traceId), then id."""
    tcol = files.TIME_COLUMN[resource]
    keys = [tcol, "id"]
    if resource == "observations" and generation == "v4" and len(frame):
        import xxhash

        frame = frame.assign(_hash=[xxhash.xxh32_intdigest(t.encode()) for t in frame["traceId"]])
        keys = [tcol, "_hash", "id"]
    ordered = frame.sort_values(keys, ascending=False, kind="stable").reset_index(drop=True)
    return ordered.drop(columns="_hash") if "_hash" in ordered.columns else ordered


def _load(path: str, resource: str, names: list[str], fs=None) -> pd.DataFrame:
    stored = pd.read_parquet(path, filesystem=fs)
    return files.decode(stored, resource, names)
