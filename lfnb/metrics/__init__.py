"""Metrics API: query builder, validation against the bundled schemas, typed results, cache.

>>> from lfnb.metrics import MetricsQuery, validate_query
"""

from lfnb.metrics.cache import MetricsCache
from lfnb.metrics.frames import histogram_frame, metrics_frame, result_columns
from lfnb.metrics.query import MetricsQuery, to_timestamp
from lfnb.metrics.run import PATHS, prepare_query, run_query
from lfnb.metrics.schemas import SCHEMA_VERSION
from lfnb.metrics.validation import query_issues, validate_query

__all__ = [
    "MetricsQuery", "validate_query", "query_issues", "metrics_frame", "histogram_frame", "result_columns",
    "MetricsCache", "run_query", "prepare_query", "PATHS", "SCHEMA_VERSION", "to_timestamp",
]
