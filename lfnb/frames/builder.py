"""Records → DataFrame, page by page, with the dtypes of :mod:`lfnb.frames.columns`.

:class:`FrameBuilder` turns each page's records into typed Arrow column chunks as
the page arrives (one C-level conversion from the parsed JSON values), so the page's
dicts can be dropped at once; at the end it converts each column to its pandas dtype
*once* (not page by page), freeing the column's chunks as it goes. Text columns become
pandas' ``str`` dtype without a copy (same arrow buffers); numbers and booleans go
through the dtype's ``__from_arrow__``. Peak memory stays well under twice the final
frame instead of rows held as Python dicts plus the frame. Every column is an extension dtype (``str``, ``Int64``,
``Float64``, ``boolean``, ``datetime64[us, UTC]``) or ``object`` for JSON values,
so the final ``DataFrame`` does not consolidate (copy) blocks.

Requires pyarrow (pandas 3 stores its ``str`` dtype in it).

An empty result still has every column with its dtype.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from itertools import chain, repeat
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lfnb.frames.columns import DTYPES, DYNAMIC_PREFIXES, OBSERVATION_GROUPS, SPECS, observation_columns, spec

__all__ = ["FrameBuilder", "build_frame", "combine", "columns_for", "DTYPES", "empty_frame", "dtype_table", "convert"]



_ARROW_TYPES = {
    "str": pa.large_string(),  # what pandas stores its str dtype in: wrapping is then zero-copy
    "time": pa.timestamp("us", tz="UTC"),
    "int": pa.int64(),
    "float": pa.float64(),
    "price": pa.float64(),
    "bool": pa.bool_(),
}
_MASKED = frozenset({"int", "float", "price", "bool"})
_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError,
                 OverflowError)


def to_chunk(values: list, code: str) -> Any:
    """One column chunk of a page: a pyarrow Array (an object ndarray for ``json``).

    Arrow converts a list of Python values in C, an order of magnitude faster than
    building a pandas extension array per page; odd values (numbers sent as strings,
    date-only timestamps, objects in a text column) take a slower pandas path for
    that page only.
    """
    if code == "json":
        arr = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):  # element-wise: lists must not become a 2-D array
            arr[i] = v
        return arr
    typ = _ARROW_TYPES.get(code)
    if typ is None:
        raise ValueError(f"unknown dtype code {code!r}; valid: {', '.join(DTYPES)}")
    try:
        if code == "time":
            return pc.cast(pa.array(values, pa.string()), typ)
        if code == "price":
            raise TypeError  # decimal strings are the norm here: parse below
        return pa.array(values, typ)
    except _ARROW_ERRORS:
        return _slow_chunk(values, code, typ)


def _slow_chunk(values: list, code: str, typ: Any) -> Any:
    if code == "str":
        return pa.array([_text(v) for v in values], typ)
    if code == "time":
        parsed = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601", errors="coerce")
        return pa.array(parsed.astype("datetime64[us, UTC]"), typ)
    if code == "bool":
        return pa.array([_boolish(v) for v in values], typ)
    num = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    if code == "int":
        num = num.round().astype("Int64")
    return pa.array(num.astype("Float64") if code != "int" else num, typ)


def from_chunks(chunks: list, code: str) -> pd.Series:
    """One pandas column of dtype ``code`` from the chunks made by :func:`to_chunk`."""
    if code == "json":
        if not chunks:
            return pd.Series(np.empty(0, dtype=object), dtype=object)
        arr = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
        return pd.Series(arr, dtype=object, copy=False)
    typ = _ARROW_TYPES[code]
    if code in _MASKED:
        # One conversion per column: the dtype's own arrow protocol builds values + mask.
        dtype = pd.api.types.pandas_dtype(DTYPES[code])
        return pd.Series(dtype.__from_arrow__(pa.chunked_array(chunks, type=typ)), copy=False)
    chunked = pa.chunked_array(chunks, type=typ)
    if code == "time":
        out = chunked.to_pandas()
        return out if str(out.dtype) == DTYPES["time"] else out.astype(DTYPES["time"])
    return pd.Series(pd.array(chunked, dtype=DTYPES[code]), copy=False)


def convert(values: list, code: str) -> pd.Series:
    """One column: ``values`` (Python objects, None = missing) as a Series of dtype ``code``."""
    return from_chunks([to_chunk(values, code)], code)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _boolish(value: Any) -> bool | None:
    if isinstance(value, str):
        low = value.strip().lower()
        return True if low == "true" else False if low == "false" else None
    return None if value is None else bool(value)


_EMPTY: dict = {}


def _column_values(records: list[dict], column: str, outer_cache: dict[str, list]) -> list:
    """The values of a (possibly dotted) column; ``map(dict.get, ...)`` keeps the loop in C."""
    if "." not in column:
        return list(map(dict.get, records, repeat(column, len(records))))
    outer, inner = column.split(".", 1)
    objs = outer_cache.get(outer)
    if objs is None:
        objs = outer_cache[outer] = [o if o.__class__ is dict else _EMPTY
                                     for o in map(dict.get, records, repeat(outer, len(records)))]
    return list(map(dict.get, objs, repeat(inner, len(objs))))


class FrameBuilder:
    """Collects pages of records and builds one typed DataFrame.

    Parameters
    ----------
    columns : sequence of (name, dtype code)
        From :mod:`lfnb.frames.columns`.
    dynamic : bool
        Add ``usageDetails.*`` / ``costDetails.*`` keys that are not in ``columns``.
    """

    def __init__(self, columns: Sequence[tuple[str, str]], *, dynamic: bool = True):
        self.columns: dict[str, str] = dict(columns)
        self.dynamic = dynamic and any(c.split(".")[0] in DYNAMIC_PREFIXES for c in self.columns)
        self._chunks: dict[str, list] = {c: [] for c in self.columns}
        self._lengths: list[int] = []
        self.rows = 0

    def add(self, records: list[dict]) -> None:
        """Convert one page of records into column chunks (the records can then be dropped)."""
        n = len(records)
        cache: dict[str, list] = {}
        if self.dynamic and n:
            self._discover(records, cache)
        for col, code in self.columns.items():
            self._chunks[col].append(to_chunk(_column_values(records, col, cache), code))
        self._lengths.append(n)
        self.rows += n

    def _discover(self, records: list[dict], cache: dict[str, list]) -> None:
        for prefix, code in DYNAMIC_PREFIXES.items():
            if not any(c.startswith(prefix + ".") for c in self.columns):
                continue
            _column_values(records, prefix + ".", cache)  # fills cache[prefix] with the nested dicts
            keys = set(chain.from_iterable(cache[prefix]))  # iterating a dict yields its keys, in C
            for key in sorted(keys):
                col = f"{prefix}.{key}"
                if col not in self.columns:
                    self.columns[col] = code
                    # Earlier pages lacked this key: back-fill them with missing values.
                    self._chunks[col] = [to_chunk([None] * m, code) for m in self._lengths]

    def frame(self) -> pd.DataFrame:
        """The DataFrame of every page added so far (consumes the chunks)."""
        data: dict[str, pd.Series] = {}
        for col, code in self.columns.items():
            data[col] = from_chunks(self._chunks.pop(col, []), code)
        self._chunks = {}
        return pd.DataFrame(data, copy=False)


def build_frame(resource: str, records: Iterable[dict] | Iterable[list[dict]], *, pages: bool = False,
                fields: Sequence[str] | None = None) -> pd.DataFrame:
    """A typed frame of ``resource`` from records (or pages of records with ``pages=True``).

    ``resource`` is a key of :data:`lfnb.frames.columns.SPECS` or ``"observations"``
    (then ``fields`` chooses the field groups, default core, basic, usage).
    """
    builder = FrameBuilder(columns_for(resource, fields))
    if pages:
        for page in records:
            builder.add(list(page))
    else:
        builder.add(list(records))
    return builder.frame()


def columns_for(resource: str, fields: Sequence[str] | None = None) -> tuple[tuple[str, str], ...]:
    if resource == "observations":
        return observation_columns(fields or ("core", "basic", "usage"))
    return spec(resource)


def empty_frame(resource: str, fields: Sequence[str] | None = None) -> pd.DataFrame:
    """Zero rows, every column of ``resource`` with its dtype."""
    return FrameBuilder(columns_for(resource, fields), dynamic=False).frame()


def dtype_table() -> pd.DataFrame:
    """Every resource's columns and dtypes as one tidy frame (resource, column, dtype)."""
    rows = []
    for resource in ["observations", *SPECS]:
        cols = observation_columns(tuple(OBSERVATION_GROUPS)) if resource == "observations" else SPECS[resource]
        for col, code in cols:
            rows.append({"resource": resource, "column": col, "dtype": str(pd.Series(dtype=DTYPES[code]).dtype)})
    return pd.DataFrame(rows).astype("str")


def combine(builders: Sequence[FrameBuilder]) -> pd.DataFrame:
    """One frame from several builders, in the given order (parallel windows).

    Columns are the union (a dynamic ``usageDetails.*`` key seen in one window
    only is back-filled elsewhere); each column's chunks are concatenated and
    released one column at a time.
    """
    if not builders:
        raise ValueError("combine() needs at least one FrameBuilder")
    columns: dict[str, str] = {}
    for b in builders:
        for col, code in b.columns.items():
            columns.setdefault(col, code)
    data: dict[str, pd.Series] = {}
    for col, code in columns.items():
        chunks: list = []
        for b in builders:
            own = b._chunks.pop(col, None)
            if own is not None:
                chunks.extend(own)
            elif b.rows:
                chunks.append(to_chunk([None] * b.rows, code))
        data[col] = from_chunks(chunks, code)
        del chunks
    return pd.DataFrame(data, copy=False)
