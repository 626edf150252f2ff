"""Records → DataFrame, page by page, with the dtypes of :mod:`lfnb.frames_specs`.

:class:`FrameBuilder` turns each page's records into typed column chunks as the
page arrives (so the page's dicts can be dropped at once), then concatenates
column by column at the end, freeing each column's chunks as it goes: peak
memory stays near the size of the final frame instead of rows held twice as
Python dicts. Every column is an extension dtype (``str``, ``Int64``,
``Float64``, ``boolean``, ``datetime64[us, UTC]``) or ``object`` for JSON values,
so the final ``DataFrame`` does not consolidate (copy) blocks.

An empty result still has every column with its dtype.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .frames_specs import DYNAMIC_PREFIXES, OBSERVATION_GROUPS, SPECS, observation_columns, spec

__all__ = ["FrameBuilder", "build_frame", "combine", "columns_for", "DTYPES", "empty_frame", "dtype_table", "convert"]

DTYPES: dict[str, Any] = {
    "str": "str",
    "time": "datetime64[us, UTC]",
    "int": "Int64",
    "float": "Float64",
    "price": "Float64",
    "bool": "boolean",
    "json": object,
}


def convert(values: list, code: str) -> pd.Series:
    """One column chunk: ``values`` (Python objects, None = missing) as dtype ``code``."""
    if code == "str":
        try:
            return pd.Series(values, dtype="str")
        except (TypeError, ValueError):
            return pd.Series([_text(v) for v in values], dtype="str")
    if code == "time":
        s = pd.Series(values, dtype=object)
        out = pd.to_datetime(s, utc=True, format="ISO8601", errors="coerce")
        return out.astype("datetime64[us, UTC]")
    if code in ("int", "float", "price"):
        dtype = "Int64" if code == "int" else "Float64"
        if code != "price":
            try:
                return pd.Series(pd.array(values, dtype=dtype))
            except (TypeError, ValueError):
                pass  # strings ("5", "0.0001") or stray values: parse below
        num = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
        if dtype == "Int64":
            num = num.round()
        return num.astype(dtype)
    if code == "bool":
        try:
            return pd.Series(pd.array(values, dtype="boolean"))
        except (TypeError, ValueError):
            return pd.Series(pd.array([_boolish(v) for v in values], dtype="boolean"))
    if code == "json":
        arr = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):  # element-wise: lists must not become a 2-D array
            arr[i] = v
        return pd.Series(arr, dtype=object)
    raise ValueError(f"unknown dtype code {code!r}; valid: {', '.join(DTYPES)}")


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _boolish(value: Any) -> bool | None:
    if isinstance(value, str):
        low = value.strip().lower()
        return True if low == "true" else False if low == "false" else None
    return None if value is None else bool(value)


def _getter(column: str):
    """A function records → list of values for a (possibly dotted) column."""
    if "." not in column:
        return lambda recs: [r.get(column) for r in recs]
    outer, inner = column.split(".", 1)

    def get(recs):
        out = []
        for r in recs:
            obj = r.get(outer)
            out.append(obj.get(inner) if isinstance(obj, dict) else None)
        return out

    return get


class FrameBuilder:
    """Collects pages of records and builds one typed DataFrame.

    Parameters
    ----------
    columns : sequence of (name, dtype code)
        From :mod:`lfnb.frames_specs`.
    aliases : dict, optional
        ``{column: alternative API name}`` read when the column's own key is
        missing (e.g. ``model`` ← ``providedModelName``).
    dynamic : bool
        Add ``usageDetails.*`` / ``costDetails.*`` keys that are not in ``columns``.
    """

    def __init__(self, columns: Sequence[tuple[str, str]], *, aliases: dict[str, str] | None = None,
                 dynamic: bool = True):
        self.columns: dict[str, str] = dict(columns)
        self.aliases = dict(aliases or {})
        self.dynamic = dynamic and any(c.split(".")[0] in DYNAMIC_PREFIXES for c in self.columns)
        self._chunks: dict[str, list[pd.Series]] = {c: [] for c in self.columns}
        self._lengths: list[int] = []
        self.rows = 0

    def add(self, records: list[dict]) -> None:
        """Convert one page of records into column chunks (the records can then be dropped)."""
        n = len(records)
        if self.dynamic and n:
            self._discover(records)
        for col, code in self.columns.items():
            values = _getter(col)(records)
            alias = self.aliases.get(col)
            if alias is not None and all(v is None for v in values):
                values = _getter(alias)(records)
            self._chunks[col].append(convert(values, code))
        self._lengths.append(n)
        self.rows += n

    def _discover(self, records: list[dict]) -> None:
        for prefix, code in DYNAMIC_PREFIXES.items():
            if not any(c.startswith(prefix + ".") for c in self.columns):
                continue
            keys: set[str] = set()
            for r in records:
                obj = r.get(prefix)
                if isinstance(obj, dict):
                    keys.update(obj)
            for key in sorted(keys):
                col = f"{prefix}.{key}"
                if col not in self.columns:
                    self.columns[col] = code
                    # Earlier pages lacked this key: back-fill them with missing values.
                    self._chunks[col] = [convert([None] * m, code) for m in self._lengths]

    def frame(self) -> pd.DataFrame:
        """The DataFrame of every page added so far (consumes the chunks)."""
        data: dict[str, pd.Series] = {}
        for col, code in self.columns.items():
            chunks = self._chunks.pop(col, [])
            if not chunks:
                data[col] = convert([], code)
            elif len(chunks) == 1:
                data[col] = chunks[0].reset_index(drop=True)
            else:
                data[col] = pd.concat(chunks, ignore_index=True)
            del chunks
        self._chunks = {}
        return pd.DataFrame(data, copy=False)


def build_frame(resource: str, records: Iterable[dict] | Iterable[list[dict]], *, pages: bool = False,
                fields: Sequence[str] | None = None) -> pd.DataFrame:
    """A typed frame of ``resource`` from records (or pages of records with ``pages=True``).

    ``resource`` is a key of :data:`lfnb.frames_specs.SPECS` or ``"observations"``
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
        chunks: list[pd.Series] = []
        for b in builders:
            own = b._chunks.pop(col, None)
            if own is not None:
                chunks.extend(own)
            elif b.rows:
                chunks.append(convert([None] * b.rows, code))
        if not chunks:
            data[col] = convert([], code)
        else:
            data[col] = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0].reset_index(drop=True)
        del chunks
    return pd.DataFrame(data, copy=False)
