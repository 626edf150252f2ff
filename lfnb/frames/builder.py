"""Records → DataFrame, page by page, with the dtypes of :mod:`lfnb.frames.columns`.

:class:`FrameBuilder` converts each page's records as the page arrives (one C-level
conversion per column from the parsed JSON values into Arrow), so the page's dicts
can be dropped at once. Text (and JSON) columns keep their Arrow chunks and become
pandas' ``str`` dtype at the end without a copy (same arrow buffers). Numbers,
booleans and times are copied from the page's Arrow chunk into one numpy buffer per
column (values and mask, grown by doubling, never touched beyond the rows), and the
chunk is freed at once: when the frame is built the buffers are trimmed in place
and wrapped (``Int64``, ``Float64``, ``boolean``, ``datetime64[us, UTC]``), so the
many small per-page chunks are never alive beside the final arrays.

Arrow memory: a builder fed by one chain uses pyarrow's default pool (mimalloc), the
fastest; parallel windows pass :data:`PARALLEL_POOL` (the system allocator, the one the
parsed pages use), so the memory a page frees is reused by the next one instead of being
kept by a second allocator — with mimalloc, 8 workers at 100k rows peaked above twice the
frame (bench/extract.py; the figures are in README's performance section).

Every column is an extension dtype or ``object`` for JSON values, so the final
``DataFrame`` does not consolidate (copy) blocks.

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

__all__ = ["FrameBuilder", "build_frame", "columns_for", "DTYPES", "empty_frame", "dtype_table", "convert"]



_ARROW_TYPES = {
    "str": pa.large_string(),  # what pandas stores its str dtype in: wrapping is then zero-copy
    "time": pa.timestamp("us", tz="UTC"),
    "int": pa.int64(),
    "float": pa.float64(),
    "price": pa.float64(),
    "bool": pa.bool_(),
}
#: Arrow memory for a read converting on one thread at a time: pyarrow's default pool (mimalloc) is the fastest
ONE_READER_POOL = pa.default_memory_pool()
#: Arrow memory for parallel windows: the system allocator, which reuses what the parsed pages free
PARALLEL_POOL = pa.system_memory_pool()
_MASKED = frozenset({"int", "float", "price", "bool"})
_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError,
                 OverflowError)


def to_chunk(values: list, code: str, pool: Any = None) -> Any:
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
            return pc.cast(pa.array(values, pa.string(), memory_pool=pool), typ, memory_pool=pool)
        if code == "price":
            raise TypeError  # decimal strings are the norm here: parse below
        return pa.array(values, typ, memory_pool=pool)
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


def from_chunks(chunks: list, code: str, pool: Any = None) -> pd.Series:
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
        out = chunked.to_pandas(memory_pool=pool)
        return out if str(out.dtype) == DTYPES["time"] else out.astype(DTYPES["time"])
    return pd.Series(pd.array(chunked, dtype=DTYPES[code]), copy=False)


_NUMPY = {"int": np.dtype(np.int64), "float": np.dtype(np.float64), "price": np.dtype(np.float64),
          "bool": np.dtype(np.bool_), "time": np.dtype("datetime64[us]")}
_FILL = {"int": 0, "float": 0.0, "price": 0.0, "bool": False}
_GROWN = frozenset(_NUMPY)


class _Grown:
    """A number, boolean or time column kept as its final numpy values (and mask), grown page by page.

    Each page's Arrow chunk is converted by the dtype's own ``__from_arrow__`` (time:
    ``to_numpy``) and copied into one buffer per column, so the many small per-page
    chunks are freed page by page and their memory is reused by the next page,
    instead of sitting beside the final arrays when the frame is built. A full buffer
    is replaced by one twice as large (never filled beyond the rows: its untouched
    tail costs no memory) and trimmed in place at the end.
    """

    __slots__ = ("code", "dtype", "values", "mask", "n")

    def __init__(self, code: str):
        self.code = code
        self.dtype = pd.api.types.pandas_dtype(DTYPES[code])
        self.values = np.empty(0, _NUMPY[code])
        self.mask = None if code == "time" else np.empty(0, np.bool_)
        self.n = 0

    def append(self, chunk: Any) -> None:
        k = len(chunk)
        if not k:
            return
        n = self.n
        if n + k > len(self.values):
            self._grow(max(n + k, 2 * len(self.values), 1024))
        code, off = self.code, chunk.offset
        if code == "time":
            self.values[n:n + k] = chunk.to_numpy(zero_copy_only=False)  # datetime64[us], NaT when missing
            self.n = n + k
            return
        validity, data = chunk.buffers()[:2]
        mask = self.mask[n:n + k]
        if validity is None or chunk.null_count == 0:
            mask[:] = False
        else:
            valid = np.unpackbits(np.frombuffer(validity, np.uint8), count=off + k, bitorder="little")[off:]
            np.equal(valid, 0, out=mask)
        if code == "bool":  # bit-packed, like the validity
            self.values[n:n + k] = np.unpackbits(np.frombuffer(data, np.uint8), count=off + k, bitorder="little")[off:]
        else:
            values = np.frombuffer(data, self.values.dtype, count=off + k)[off:]
            if code != "int" and (np.isnan(values) & ~mask).any():
                # a NaN value: the dtype decides whether it is missing; its own conversion says so
                part = self.dtype.__from_arrow__(chunk)
                values = part.to_numpy(dtype=self.values.dtype, na_value=_FILL[code])
                mask[:] = part.isna()
            self.values[n:n + k] = values
        self.n = n + k

    def _grow(self, capacity: int) -> None:
        n = self.n
        values = np.empty(capacity, self.values.dtype)
        values[:n] = self.values[:n]
        self.values = values
        if self.mask is not None:
            mask = np.empty(capacity, np.bool_)
            mask[:n] = self.mask[:n]
            self.mask = mask

    def _trimmed(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Values and mask of exactly ``n`` rows (trimmed in place: no copy); consumes the column."""
        values, mask, n = self.values, self.mask, self.n
        self.values = self.mask = None
        values.resize(n, refcheck=False)
        if mask is not None:
            mask.resize(n, refcheck=False)
        return values, mask

    def series(self) -> pd.Series:
        """The pandas column (consumes the buffers)."""
        return _grown_series(self.code, *self._trimmed())

    def gathered(self, pages: list[tuple[int, int]]) -> pd.Series:
        """The pandas column of the ``(start, length)`` row ranges in this order (consumes the buffers)."""
        values = np.concatenate([self.values[a:a + k] for a, k in pages]) if pages else self.values[:0].copy()
        mask = None
        if self.mask is not None:
            mask = np.concatenate([self.mask[a:a + k] for a, k in pages]) if pages else self.mask[:0].copy()
        self.values = self.mask = None
        return _grown_series(self.code, values, mask)


def _grown_series(code: str, values: np.ndarray, mask: np.ndarray | None) -> pd.Series:
    if code == "time":
        return pd.Series(values, dtype=DTYPES["time"])  # UTC wall times: the values as they are
    cls = {"int": pd.arrays.IntegerArray, "bool": pd.arrays.BooleanArray}.get(code, pd.arrays.FloatingArray)
    return pd.Series(cls(values, mask, copy=False), copy=False)


def _column_store(code: str) -> Any:
    """Where a builder keeps a column's pages: a :class:`_Grown` buffer, or a list of chunks (text, JSON)."""
    return _Grown(code) if code in _GROWN else []


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

    Pages may be added out of order (parallel windows): ``add(records, order=key)``
    and the frame puts the pages in ascending ``key`` order (pages with equal keys
    in the order they were added), as if they had been added in that order — rows,
    and the dynamic columns in the order a sequential walk would have met them.
    """

    def __init__(self, columns: Sequence[tuple[str, str]], *, dynamic: bool = True, pool: Any = None):
        self.columns: dict[str, str] = dict(columns)
        self.pool = pool if pool is not None else ONE_READER_POOL
        self.dynamic = dynamic and any(c.split(".")[0] in DYNAMIC_PREFIXES for c in self.columns)
        self._static = tuple(self.columns)
        self._chunks: dict[str, Any] = {c: _column_store(code) for c, code in self.columns.items()}
        self._lengths: list[int] = []
        self._order: list = []
        self._met: list[tuple[str, ...]] = []  # per page: its dynamic columns that are not static
        self.rows = 0

    def add(self, records: list[dict], order: Any = None) -> None:
        """Convert one page of records into column chunks (the records can then be dropped).

        ``order``: where the page goes in the frame (see the class docstring); None for every
        page keeps the order of the calls.
        """
        n = len(records)
        cache: dict[str, list] = {}
        met: tuple[str, ...] = ()
        if self.dynamic and n:
            met = self._discover(records, cache)
        for col, code in self.columns.items():
            self._chunks[col].append(to_chunk(_column_values(records, col, cache), code, self.pool))
        self._lengths.append(n)
        self._order.append(order)
        self._met.append(met)
        self.rows += n

    def _discover(self, records: list[dict], cache: dict[str, list]) -> tuple[str, ...]:
        met = []
        for prefix, code in DYNAMIC_PREFIXES.items():
            if not any(c.startswith(prefix + ".") for c in self.columns):
                continue
            _column_values(records, prefix + ".", cache)  # fills cache[prefix] with the nested dicts
            keys = set(chain.from_iterable(cache[prefix]))  # iterating a dict yields its keys, in C
            for key in sorted(keys):
                col = f"{prefix}.{key}"
                if col not in self._static:
                    met.append(col)
                if col not in self.columns:
                    self.columns[col] = code
                    # Earlier pages lacked this key: back-fill them with missing values.
                    store = self._chunks[col] = _column_store(code)
                    if code in _GROWN:
                        store.append(to_chunk([None] * self.rows, code, self.pool))
                    else:
                        store.extend(to_chunk([None] * m, code, self.pool) for m in self._lengths)
        return tuple(met)

    def _permutation(self) -> list[int] | None:
        """The pages in frame order, or None when that is the order they were added in."""
        if all(o is None for o in self._order):
            return None
        keys = [(0, o) if o is not None else (1, 0) for o in self._order]
        perm = sorted(range(len(keys)), key=keys.__getitem__)
        return None if perm == list(range(len(perm))) else perm

    def frame(self) -> pd.DataFrame:
        """The DataFrame of every page added so far (consumes the chunks)."""
        perm = self._permutation()
        columns = list(self.columns)
        if perm is not None:
            # the dynamic columns in the order the pages in frame order meet them
            seen = dict.fromkeys(self._static)
            for i in perm:
                seen.update(dict.fromkeys(self._met[i]))
            columns = list(seen)
            starts = np.concatenate([[0], np.cumsum(self._lengths[:-1], dtype=np.int64)]) if self._lengths else []
            pages = [(int(starts[i]), self._lengths[i]) for i in perm]
        data: dict[str, pd.Series] = {}
        for col in columns:
            code = self.columns[col]
            store = self._chunks.pop(col, None)
            if isinstance(store, _Grown):
                data[col] = store.series() if perm is None else store.gathered(pages)
            else:
                chunks = store or []
                data[col] = from_chunks(chunks if perm is None else [chunks[i] for i in perm], code, self.pool)
            del store
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
