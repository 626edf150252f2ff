"""A local Parquet mirror of a Langfuse project: :func:`sync` writes it, :func:`open_lake` reads it.

Modules: :mod:`~lfnb.lake.state` (state file, atomic writes), :mod:`~lfnb.lake.files`
(layout, encoding, dtypes), :mod:`~lfnb.lake.sync` (incremental sync),
:mod:`~lfnb.lake.lake` (:class:`Lake`: read, sql, metrics, dask), :mod:`~lfnb.lake.metrics`.
"""

from lfnb.lake.lake import Lake, open_lake
from lfnb.lake.state import LakeError
from lfnb.lake.sync import sync

__all__ = ["Lake", "LakeError", "open_lake", "sync"]
