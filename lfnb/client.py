"""``lfnb.connect()`` and :class:`Client`: every Langfuse list endpoint as a typed DataFrame.

>>> import lfnb
>>> lf = lfnb.connect()                                   # LANGFUSE_* environment variables
>>> obs = lf.read_observations(from_time="2026-10-25", to_time="2026-11-01", workers=4)

The client works against both API generations: on v4 servers (Langfuse Cloud)
observations, traces and sessions come from ``GET /api/public/v2/observations``,
scores from ``GET /api/public/v3/scores`` and dataset runs from
``GET /api/public/experiments``; on v3 servers (older self-hosted) from the v1
endpoints and ``GET /api/public/v2/scores``. :attr:`Client.generation` is detected once (a 404 on the
v2 observations endpoint means v3). The columns are the same either way; each
``read_*`` docstring says which values differ.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from lfnb.errors import ConfigError
from lfnb.http.ratelimit import make_rate_limiter
from lfnb.http.transport import Transport
from lfnb.langfuse.operations import operations_frame
from lfnb.reads.generations import GenerationReads

__all__ = ["connect", "Client"]

DEFAULT_BASE_URL = "https://cloud.langfuse.com"


def connect(base_url: str | None = None, public_key: str | None = None, secret_key: str | None = None, *,
            timeout: float = 60.0, max_retries: int = 5, rate_limit: Any = None,
            pool_size: int = 16, max_retry_after: float = 60.0) -> Client:
    """A :class:`Client` for one Langfuse project.

    Parameters
    ----------
    base_url : str, optional
        Default ``$LANGFUSE_BASE_URL``, then ``$LANGFUSE_HOST``, then Langfuse Cloud (EU).
    public_key, secret_key : str, optional
        Default ``$LANGFUSE_PUBLIC_KEY`` / ``$LANGFUSE_SECRET_KEY``.
    timeout : float
        Read timeout per request, seconds.
    max_retries : int
        Retries on 429/5xx/524/connection errors (exponential backoff with jitter,
        ``Retry-After`` honoured).
    rate_limit : None, "hobby", "core", "pro", dict or RateLimiter
        Client-side limiter shared by all worker threads (None = off; self-hosted
        servers are not rate limited).
    pool_size : int
        HTTP connections kept open (at least the largest ``workers`` you use).
    max_retry_after : float
        Longest wait for a rate limit, seconds (default 60). A server ``Retry-After``
        or a client-side limiter wait above it raises ``RateLimitError`` at once
        (naming the limit, when it resets and what to do) instead of sleeping;
        shorter waits are shown on the progress bar.

    Raises
    ------
    ConfigError
        Keys or base URL missing or malformed (a base URL ending in ``/api/public``
        included), or a setting out of range (``timeout <= 0``, …).
    """
    return Client(base_url, public_key, secret_key, timeout=timeout, max_retries=max_retries,
                  rate_limit=rate_limit, pool_size=pool_size, max_retry_after=max_retry_after)


class Client(GenerationReads):
    """A connection to one Langfuse project (see :func:`connect` for the parameters)."""

    def __init__(self, base_url: str | None = None, public_key: str | None = None, secret_key: str | None = None,
                 *, timeout: float = 60.0, max_retries: int = 5, rate_limit: Any = None, pool_size: int = 16,
                 max_retry_after: float = 60.0):
        base_url = base_url or os.environ.get("LANGFUSE_BASE_URL") or os.environ.get("LANGFUSE_HOST") \
            or DEFAULT_BASE_URL
        public_key = public_key or os.environ.get("LANGFUSE_PUBLIC_KEY")
        secret_key = secret_key or os.environ.get("LANGFUSE_SECRET_KEY")
        if not public_key or not secret_key:
            raise ConfigError("No Langfuse keys: pass public_key= and secret_key= or set LANGFUSE_PUBLIC_KEY "
                              "and LANGFUSE_SECRET_KEY")
        super().__init__(Transport(base_url, public_key, secret_key, timeout=timeout, max_retries=max_retries,
                                   pool_size=pool_size, rate_limiter=make_rate_limiter(rate_limit),
                                   max_retry_after=max_retry_after))
        self._project: str | None = None

    # ------------------------------------------------------------------ basics
    @property
    def base_url(self) -> str:
        return self._transport.base_url

    @property
    def transport(self) -> Transport:
        """The HTTP transport (retry counters: ``transport.retries``, ``transport.requests``)."""
        return self._transport

    def __repr__(self) -> str:
        gen = self._generation or "not yet detected"
        limiter = self._transport.rate_limiter
        return (f"<lfnb.Client {self._transport.base_url} public_key={self._transport.public_key!r} "
                f"generation={gen} rate_limit={getattr(limiter, 'name', None)!r}>")

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _get(self, path: str, params: dict | list | None = None) -> Any:
        return self._transport.request("GET", path, params=params)

    # ------------------------------------------------------------------ catalogue
    def operations(self) -> pd.DataFrame:
        """The catalogue: operation, method, path, path_params, query_params, paging, generation, resource."""
        return operations_frame()

    # ------------------------------------------------------------------ metrics
    def read_metrics(self, query: Any, version: str | None = None, cache: Any = True) -> pd.DataFrame:
        """Run a Metrics API query and return its typed frame (see :mod:`lfnb.metrics`).

        Parameters
        ----------
        query : MetricsQuery, dict or JSON text
            Validated with :func:`lfnb.validate_query` before any request.
        version : {"v2", "v1"}, optional
            Default: ``v2`` on v4 servers, ``v1`` on v3 servers.
        cache : bool or MetricsCache
            ``True`` uses the on-disk cache (Cloud allows few metric queries a day),
            ``False`` sends the query every time.

        Raises
        ------
        QueryValidationError
            The query is invalid for ``version`` (nothing is sent).
        """
        from lfnb.metrics import MetricsCache, run_query

        if version is None:
            version = "v2" if self.generation == "v4" else "v1"
        if version not in ("v1", "v2"):
            raise ConfigError(f"version must be 'v1' or 'v2', got {version!r}")
        store = MetricsCache() if cache is True else (cache or None)
        key = (self.base_url, self._project_id() if store is not None else None)
        return run_query(lambda path, params: self._get(path, params), query, version, store, key)

    def _project_id(self) -> str | None:
        """The keys' project id (one request, then remembered): part of the metrics cache key."""
        if self._project is None:
            body = self._get("/api/public/projects")
            data = body.get("data") if isinstance(body, dict) else None
            self._project = data[0].get("id") if data else ""
        return self._project or None

    # ------------------------------------------------------------------ lake
    def sync(self, path: Any, *, resources: Any = ("observations", "scores", "traces"), since: Any = None,
             until: Any = None, lookback: Any = "2h", workers: int = 1, progress: bool | None = None,
             verify: bool = False, storage_options: dict | None = None) -> pd.DataFrame:
        """Mirror this project into a Parquet lake at ``path``, incrementally (see :mod:`lfnb.lake.sync`).

        Parameters
        ----------
        path : str or Path
            An empty or new directory, or a lake of this project: a local path or an fsspec
            URL (``file://…``, ``memory://…``, ``s3://bucket/prefix``, ``gs://…``).
        resources : sequence of {"observations", "scores", "traces"}
        since, until : str, datetime or Timestamp, optional
            The window (naive = UTC). Default: from the lake's high-water mark minus
            ``lookback`` to now. A window is read and written one UTC day at a time; a first
            sync without ``since`` walks the whole history the same way, newest day first, and
            skips an empty stretch with one probe request for the newest row before it.
        lookback : str or timedelta
            How far before the high-water mark each sync re-reads (late updates, API lag).
        workers : int
            Passed to the ``read_*`` calls.
        progress : bool, optional
            A bar per resource (days done); needs tqdm (the ``lake`` extra).
        verify : bool
            Compare per-day counts with the server (one Metrics query per resource view)
            and re-read, replacing, the days that differ (catches deletions).
        storage_options : dict, optional
            Passed to the fsspec filesystem of a URL ``path`` (credentials, ``endpoint_url``, …).

        Returns
        -------
        DataFrame
            One row per resource: ``resource``, ``fetched``, ``new``, ``updated``,
            ``deleted`` (by ``verify``), ``partitions`` (written), ``requests``, ``seconds``, ``note``.

        Raises
        ------
        lfnb.lake.LakeError
            Unwritable path, a directory that is not a lake, a lake of another project or
            schema version, an unknown resource, ``since`` not before ``until``, a failed write,
            another sync of the same lake still running (its lock names the holder), a URL
            whose filesystem protocol is unknown or not installed.
        """
        from lfnb.lake.sync import sync

        return sync(self, path, resources=resources, since=since, until=until, lookback=lookback,
                    workers=workers, progress=progress, verify=verify, storage_options=storage_options)

    # ------------------------------------------------------------------ writes
    def create_scores(self, df: pd.DataFrame, *, workers: int = 4) -> pd.DataFrame:
        """Post one score per row (``POST /api/public/scores``); see :func:`lfnb.reads.writes.create_scores`."""
        from lfnb.reads.arguments import check_count
        from lfnb.reads.writes import create_scores

        check_count("workers", workers, minimum=1)
        return create_scores(self._transport, df, workers=workers)

    def create_dataset_items(self, dataset_name: str, df: pd.DataFrame, *, workers: int = 4) -> pd.DataFrame:
        """Post one dataset item per row; see :func:`lfnb.reads.writes.create_dataset_items`."""
        from lfnb.reads.arguments import check_count
        from lfnb.reads.writes import create_dataset_items

        check_count("workers", workers, minimum=1)
        return create_dataset_items(self._transport, dataset_name, df, workers=workers)

