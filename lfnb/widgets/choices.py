"""Dropdown values (model names, trace names, environments, users) from the data, fetched once.

Widgets never fetch on construction or display: a :class:`ChoiceCache` calls
its ``fetch`` function the first time a column's values are wanted (when the
user picks that column in a filter row) and keeps the answer — also an empty
one after an error, so a broken connection costs one attempt per column, not
one per keystroke.

:func:`metrics_fetcher` builds a ``fetch`` from any ``read_metrics``-like
callable: one small Metrics API query per column (the column's dimension,
``count`` of observations, most frequent first, 100 values, last 30 days).
Columns with a fixed set of values (``level``, ``type``, …) need no request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from lfnb.metrics.query import MetricsQuery

__all__ = ["ChoiceCache", "metrics_fetcher", "STATIC_CHOICES", "COLUMN_DIMENSIONS"]

STATIC_CHOICES: dict[str, tuple[str, ...]] = {
    "level": ("DEBUG", "DEFAULT", "WARNING", "ERROR"),
    "type": ("GENERATION", "SPAN", "EVENT", "AGENT", "TOOL", "CHAIN", "RETRIEVER", "EVALUATOR", "EMBEDDING",
             "GUARDRAIL"),
    "dataType": ("NUMERIC", "CATEGORICAL", "BOOLEAN"),
    "source": ("API", "ANNOTATION", "EVAL"),
    "isRootObservation": ("true", "false"),
}

#: filter column (REST or metrics) → v2 ``observations`` view dimension holding its values
COLUMN_DIMENSIONS: dict[str, str] = {
    "model": "providedModelName", "providedModelName": "providedModelName",
    "traceName": "traceName", "name": "name", "environment": "environment",
    "traceEnvironment": "environment", "userId": "userId", "release": "release",
    "version": "version", "promptName": "promptName",
}


class ChoiceCache:
    """Values per column, fetched at most once each.

    Parameters
    ----------
    fetch : callable, optional
        ``fetch(column) -> sequence of str``; without it only the static
        choices are known.
    """

    def __init__(self, fetch: Callable[[str], Sequence[str]] | None = None):
        self._fetch = fetch
        self._values: dict[str, tuple[str, ...]] = {}
        self.errors: dict[str, str] = {}
        self.calls = 0

    def __repr__(self) -> str:
        return f"<ChoiceCache columns={sorted(self._values)} calls={self.calls}>"

    def cached(self, column: str) -> tuple[str, ...]:
        """The values known without fetching (static ones, or fetched earlier)."""
        return STATIC_CHOICES.get(column) or self._values.get(column, ())

    def get(self, column: str) -> tuple[str, ...]:
        """The known values of ``column`` (fetched on first use)."""
        if column in STATIC_CHOICES:
            return STATIC_CHOICES[column]
        if column in self._values:
            return self._values[column]
        values: tuple[str, ...] = ()
        if self._fetch is not None:
            self.calls += 1
            try:
                values = tuple(str(v) for v in self._fetch(column) if v is not None and str(v) != "")
            except Exception as exc:  # noqa: BLE001 - the fetch is user-supplied; a failure means "no suggestions"
                self.errors[column] = f"{type(exc).__name__}: {exc}"
        self._values[column] = values
        return values


def metrics_fetcher(read_metrics: Callable[..., Any], *, days: int = 30, limit: int = 100,
                    now: Callable[[], datetime] | None = None) -> Callable[[str], list[str]]:
    """A ``fetch(column)`` asking the v2 Metrics API for a column's most frequent values."""
    from lfnb.widgets.metrics_state import utc_now

    clock = now or utc_now

    def fetch(column: str) -> list[str]:
        dim = COLUMN_DIMENSIONS.get(column)
        if dim is None:
            return []
        end = clock()
        query = (MetricsQuery("observations").measure("count", "count").by(dim)
                 .between(end - timedelta(days=days), end).order("count_count", "desc").limit(limit))
        df = read_metrics(query.to_dict())
        if dim not in df.columns:
            return []
        return [str(v) for v in df[dim].tolist() if v is not None and v == v]

    return fetch
