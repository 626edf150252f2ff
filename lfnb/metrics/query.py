"""``MetricsQuery``: an immutable, fluent builder of Metrics API queries."""

from __future__ import annotations

import html
import json
from typing import Any

from lfnb.errors import QueryValidationError
from lfnb.langfuse.timestamps import to_timestamp
from lfnb.metrics.validation import TOP_LEVEL, load_query, query_issues, validate_query


def _filter_dict(f: Any) -> dict:
    if hasattr(f, "to_dict"):
        return dict(f.to_dict())
    if isinstance(f, dict):
        return dict(f)
    raise TypeError(f"a filter must be an lfnb.Filter or a dict; got {type(f).__name__}")


class MetricsQuery:
    """A Metrics API query, built step by step; every method returns a new query.

    Examples
    --------
    >>> from datetime import datetime
    >>> q = (MetricsQuery("observations").measure("totalCost", "sum").by("providedModelName")
    ...      .every("day").between(datetime(2026, 10, 25), datetime(2026, 11, 1))
    ...      .order("sum_totalCost", "desc").limit(50))
    >>> q.to_dict()["config"]
    {'row_limit': 50}
    """

    __slots__ = ("_data",)

    def __init__(self, view: str = "observations", *, _data: dict | None = None):
        data = _data if _data is not None else {"view": view}
        object.__setattr__(self, "_data", json.loads(json.dumps(data)))  # private deep copy

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("MetricsQuery is immutable; its methods return new queries")

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict) -> MetricsQuery:
        """A builder holding ``data`` (unknown top-level keys are dropped, like the server does)."""
        if not isinstance(data, dict):
            raise TypeError(f"expected a dict; got {type(data).__name__}")
        return cls(_data={k: data[k] for k in TOP_LEVEL if k in data})

    @classmethod
    def from_json(cls, text: str) -> MetricsQuery:
        return cls.from_dict(load_query(text))

    def _with(self, **changes: Any) -> MetricsQuery:
        data = json.loads(json.dumps(self._data))
        data.update(changes)
        return MetricsQuery(_data=data)

    def _config(self, key: str, value: Any) -> MetricsQuery:
        config = dict(self._data.get("config") or {})
        config[key] = value
        return self._with(config=config)

    # -- fluent steps ----------------------------------------------------------------------
    def view(self, view: str) -> MetricsQuery:
        return self._with(view=view)

    def measure(self, measure: str, aggregation: str | None = None) -> MetricsQuery:
        """Add a metric; its result column is ``<aggregation>_<measure>``.

        ``aggregation`` defaults to ``count`` for the ``count`` measure and ``sum`` otherwise.
        """
        agg = aggregation or ("count" if measure == "count" else "sum")
        return self._with(metrics=list(self._data.get("metrics") or []) + [{"measure": measure, "aggregation": agg}])

    def by(self, *fields: str) -> MetricsQuery:
        """Group by dimensions (added after those already set)."""
        dims = list(self._data.get("dimensions") or []) + [{"field": f} for f in fields]
        return self._with(dimensions=dims)

    def every(self, granularity: str | None) -> MetricsQuery:
        """A time series with buckets of ``granularity`` (auto, minute, hour, day, week, month); None removes it."""
        return self._with(timeDimension=None if granularity is None else {"granularity": granularity})

    def between(self, start: Any, end: Any) -> MetricsQuery:
        """The time window, both ends inclusive. Naive datetimes are UTC."""
        return self._with(fromTimestamp=to_timestamp(start), toTimestamp=to_timestamp(end))

    def where(self, *filters: Any) -> MetricsQuery:
        """Add filter conditions (``lfnb.Filter`` objects or plain dicts)."""
        return self._with(filters=list(self._data.get("filters") or []) + [_filter_dict(f) for f in filters])

    def order(self, field: str, direction: str = "asc") -> MetricsQuery:
        """Order by a dimension, ``time_dimension`` or ``<agg>_<measure>`` (added after earlier keys)."""
        return self._with(orderBy=list(self._data.get("orderBy") or []) + [{"field": field, "direction": direction}])

    def limit(self, row_limit: int) -> MetricsQuery:
        """``config.row_limit`` (1-1000)."""
        return self._config("row_limit", row_limit)

    def bins(self, bins: int) -> MetricsQuery:
        """``config.bins`` for histograms (1-100)."""
        return self._config("bins", bins)

    # -- output ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The query object, keys in the documented order, defaults filled like the server's parser."""
        data = json.loads(json.dumps(self._data))
        out = {
            "view": data.get("view"),
            "dimensions": data.get("dimensions", []),
            "metrics": data.get("metrics", []),
            "filters": data.get("filters", []),
            "timeDimension": data.get("timeDimension"),
            "fromTimestamp": data.get("fromTimestamp"),
            "toTimestamp": data.get("toTimestamp"),
            "orderBy": data.get("orderBy"),
        }
        if "config" in data:
            out["config"] = data["config"]
        # keep required keys visible when unset so validation names them
        return {k: v for k, v in out.items() if v is not None or k in ("timeDimension", "orderBy")}

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def problems(self, version: str = "v2") -> list[dict]:
        """Every problem as ``{"path", "message"[, "valid"]}`` (empty when valid)."""
        return query_issues(self.to_dict(), version)

    def validate(self, version: str = "v2") -> dict:
        """The normalised query, or :class:`~lfnb.errors.QueryValidationError`."""
        return validate_query(self.to_dict(), version)

    def is_valid(self, version: str = "v2") -> bool:
        return not self.problems(version)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MetricsQuery) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.to_json(sort_keys=True))

    def __repr__(self) -> str:
        d = self._data
        parts = [f"MetricsQuery({d.get('view')!r})"]
        for m in d.get("metrics") or []:
            parts.append(f".measure({m.get('measure')!r}, {m.get('aggregation')!r})")
        if d.get("dimensions"):
            parts.append(".by(" + ", ".join(repr(x.get("field")) for x in d["dimensions"]) + ")")
        if d.get("timeDimension"):
            parts.append(f".every({d['timeDimension'].get('granularity')!r})")
        if d.get("fromTimestamp") or d.get("toTimestamp"):
            parts.append(f".between({d.get('fromTimestamp')!r}, {d.get('toTimestamp')!r})")
        for f in d.get("filters") or []:
            parts.append(f".where({f!r})")
        for o in d.get("orderBy") or []:
            parts.append(f".order({o.get('field')!r}, {o.get('direction')!r})")
        config = d.get("config") or {}
        if "row_limit" in config:
            parts.append(f".limit({config['row_limit']!r})")
        if "bins" in config:
            parts.append(f".bins({config['bins']!r})")
        return "".join(parts)

    def _repr_html_(self) -> str:
        body = html.escape(self.to_json(indent=2))
        problems = self.problems("v2")
        if not problems:
            status = "<p style='color:#2a7a2a'>valid for the v2 Metrics API</p>"
        else:
            items = "".join(f"<li><code>{html.escape(p['path'])}</code>: {html.escape(p['message'])}</li>"
                            for p in problems)
            status = f"<p style='color:#b00020'>{len(problems)} problem(s) for the v2 Metrics API:</p><ul>{items}</ul>"
        return f"<div class='lfnb-metrics-query'><pre>{body}</pre>{status}</div>"


def as_query_dict(query: MetricsQuery | dict | str) -> dict:
    """A query given as builder, dict or JSON text, as a dict (not yet validated)."""
    if isinstance(query, MetricsQuery):
        return query.to_dict()
    data = load_query(query)
    if not isinstance(data, dict):
        raise QueryValidationError([{"path": "$", "message": "must be a JSON object"}], title="Invalid metrics query")
    return data


__all__ = ["MetricsQuery", "as_query_dict", "to_timestamp"]
