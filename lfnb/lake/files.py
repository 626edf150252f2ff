"""Frames ↔ Parquet partitions of a lake: layout, encoding and dtypes.

Layout: ``ROOT/<resource>/day=YYYY-MM-DD/part-0.parquet`` (one file per UTC day of the
resource's time column), plus ``ROOT/_lfnb_lake.json``, the hidden ``ROOT/.lfnb-tmp/`` where
files are written before they are moved into place (:mod:`lfnb.lake.location`) and, while a
sync runs, the hidden ``ROOT/.lfnb-lock`` (:mod:`lfnb.lake.lock`). ``ROOT`` is a
:class:`~lfnb.lake.location.Location`: a local directory or an fsspec URL.

A partition holds the frame ``lf.read_*`` returns, rows sorted by (time, id); ``json``
columns (``metadata``, ``tags``, ``modelParameters``) are stored as JSON text and decoded on
read, so a read gives back exactly the frame's columns and dtypes
(:mod:`lfnb.frames.columns`): the fixed columns in their order, then the
``usageDetails.*``/``costDetails.*`` extras in sorted order.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from datetime import date
from typing import Any

import pandas as pd

from lfnb.frames.columns import DTYPES, DYNAMIC_PREFIXES, OBSERVATION_GROUPS, SPECS, observation_columns
from lfnb.lake.location import as_location

__all__ = ["RESOURCES", "TIME_COLUMN", "columns_of", "encode", "decode", "partition_path", "days_of",
           "read_partition", "write_partition", "remove_partition", "typed_empty"]

#: resource -> its time column (the partition key)
TIME_COLUMN = {"observations": "startTime", "scores": "timestamp", "traces": "timestamp"}
RESOURCES = tuple(TIME_COLUMN)
PART = "part-0.parquet"
ALL_GROUPS = tuple(OBSERVATION_GROUPS)


def columns_of(resource: str) -> tuple[tuple[str, str], ...]:
    if resource == "observations":
        return observation_columns(ALL_GROUPS)
    return SPECS[resource]


def _codes(resource: str, names: Iterable[str]) -> dict[str, str]:
    fixed = dict(columns_of(resource))
    out = {}
    for name in names:
        if name in fixed:
            out[name] = fixed[name]
        elif name.split(".")[0] in DYNAMIC_PREFIXES and resource == "observations":
            out[name] = DYNAMIC_PREFIXES[name.split(".")[0]]
    return out


def ordered_columns(resource: str, names: Iterable[str]) -> list[str]:
    """The fixed columns in their order, then the dynamic extras present in ``names``, sorted."""
    fixed = [c for c, _ in columns_of(resource)]
    extra = sorted(set(names) - set(fixed))
    return fixed + [c for c in extra if c.split(".")[0] in DYNAMIC_PREFIXES]


def encode(frame: pd.DataFrame, resource: str) -> pd.DataFrame:
    """The frame as stored: json columns as JSON text."""
    out = frame.copy()
    for col, code in _codes(resource, frame.columns).items():
        if code == "json":
            out[col] = pd.array([None if v is None or (isinstance(v, float) and v != v)
                                 else json.dumps(v, ensure_ascii=False, sort_keys=False) for v in frame[col]],
                                dtype="str")
    return out


def decode(frame: pd.DataFrame, resource: str, columns: list[str] | None = None) -> pd.DataFrame:
    """A stored frame back to the ``read_*`` frame: column order, dtypes, json values."""
    names = ordered_columns(resource, frame.columns) if columns is None else columns
    codes = _codes(resource, names)
    data = {}
    for col in names:
        code = codes[col]
        if col not in frame.columns:
            data[col] = pd.Series([None] * len(frame), dtype=DTYPES[code] if code != "json" else object)
            continue
        series = frame[col].reset_index(drop=True)
        if code == "json":
            data[col] = pd.Series([json.loads(v) if isinstance(v, str) else None for v in series], dtype=object)
        elif code == "time":
            data[col] = series.astype(DTYPES[code])
        else:
            data[col] = series.astype(DTYPES[code])
    return pd.DataFrame(data, copy=False)


def typed_empty(resource: str, columns: list[str] | None = None) -> pd.DataFrame:
    names = [c for c, _ in columns_of(resource)] if columns is None else columns
    return decode(pd.DataFrame({c: pd.Series([], dtype=object) for c in names}), resource, names)


def partition_path(resource: str, day: date) -> str:
    """The partition file of one day, relative to the lake's root."""
    return f"{resource}/day={day.isoformat()}/{PART}"


def days_of(root: Any, resource: str) -> list[date]:
    """The days holding a partition of ``resource`` (sorted)."""
    found = as_location(root).glob(f"{resource}/day=*/{PART}")
    return sorted(date.fromisoformat(rel.split("/")[1][4:]) for rel in found)


def read_partition(root: Any, resource: str, day: date, columns: list[str] | None = None) -> pd.DataFrame | None:
    """The stored (encoded) frame of one day, or None when the day has no partition."""
    root, rel = as_location(root), partition_path(resource, day)
    if not root.exists(rel):
        return None
    return root.read_parquet(rel, columns=columns)


def write_partition(root: Any, resource: str, day: date, stored: pd.DataFrame) -> None:
    """Replace one day's file atomically (``stored`` is already encoded and sorted)."""
    root, rel = as_location(root), partition_path(resource, day)
    buf = io.BytesIO()
    stored.to_parquet(buf, index=False)
    root.write_atomic(rel, buf.getvalue())


def remove_partition(root: Any, resource: str, day: date) -> None:
    as_location(root).remove(partition_path(resource, day))
