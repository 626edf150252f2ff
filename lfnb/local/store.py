"""The DuckDB store behind lfnb.local: one table per Langfuse resource.

Conventions (every module of lfnb.local relies on them):

* Column names are snake_case; the HTTP layer renames them to the API's camelCase.
* Every timestamp is a naive ``TIMESTAMP`` holding UTC (microsecond precision).
* ``JSON`` columns hold JSON text (objects for metadata/modelParameters/usage and
  cost details, any JSON value for dataset item input/expected output).
  ``input``/``output`` of traces and observations are JSON *strings* exactly as
  the v2 API returns them (raw, untruncated).
* Trace-level attributes are denormalised onto observations (user_id,
  session_id, trace_name, tags, release, trace_version) and onto scores, as
  Langfuse's events table does.
* ``trace_id_hash`` is xxHash32(trace_id) (seed 0), the middle key of the v2
  observations sort order ``start_time DESC, xxHash32(trace_id) DESC, id DESC``.

A ``Store`` is shared by the server's threads: each thread works on its own
``cursor()``; writes go through ``write()`` which serialises them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

SCHEMA_VERSION = 1

DDL = """
CREATE TABLE IF NOT EXISTS projects (
    id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, organization_id VARCHAR,
    metadata JSON, created_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS traces (
    id VARCHAR PRIMARY KEY, project_id VARCHAR NOT NULL, name VARCHAR,
    timestamp TIMESTAMP NOT NULL, user_id VARCHAR, session_id VARCHAR,
    release VARCHAR, version VARCHAR, environment VARCHAR NOT NULL,
    tags VARCHAR[], metadata JSON, input VARCHAR, output VARCHAR,
    public BOOLEAN, bookmarked BOOLEAN, created_at TIMESTAMP, updated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS sessions (
    id VARCHAR PRIMARY KEY, project_id VARCHAR NOT NULL, environment VARCHAR,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS observations (
    id VARCHAR PRIMARY KEY, trace_id VARCHAR NOT NULL, trace_id_hash UINTEGER NOT NULL,
    project_id VARCHAR NOT NULL, parent_observation_id VARCHAR, type VARCHAR NOT NULL,
    name VARCHAR, start_time TIMESTAMP NOT NULL, end_time TIMESTAMP,
    completion_start_time TIMESTAMP, level VARCHAR NOT NULL, status_message VARCHAR,
    version VARCHAR, environment VARCHAR NOT NULL,
    model VARCHAR, internal_model_id VARCHAR, model_parameters JSON,
    input VARCHAR, output VARCHAR, metadata JSON,
    usage_details JSON, cost_details JSON,
    input_usage BIGINT, output_usage BIGINT, total_usage BIGINT,
    input_cost DOUBLE, output_cost DOUBLE, total_cost DOUBLE,
    usage_pricing_tier_name VARCHAR,
    prompt_id VARCHAR, prompt_name VARCHAR, prompt_version INTEGER,
    user_id VARCHAR, session_id VARCHAR, trace_name VARCHAR, tags VARCHAR[],
    release VARCHAR, trace_version VARCHAR,
    bookmarked BOOLEAN, public BOOLEAN,
    tool_names VARCHAR[], called_tool_names VARCHAR[],
    created_at TIMESTAMP, updated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS score_configs (
    id VARCHAR PRIMARY KEY, project_id VARCHAR NOT NULL, name VARCHAR NOT NULL,
    data_type VARCHAR NOT NULL, is_archived BOOLEAN NOT NULL,
    min_value DOUBLE, max_value DOUBLE, categories JSON, description VARCHAR,
    created_at TIMESTAMP, updated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS scores (
    id VARCHAR PRIMARY KEY, project_id VARCHAR NOT NULL, name VARCHAR NOT NULL,
    value DOUBLE, string_value VARCHAR, data_type VARCHAR NOT NULL, source VARCHAR NOT NULL,
    trace_id VARCHAR, observation_id VARCHAR, session_id VARCHAR, dataset_run_id VARCHAR,
    comment VARCHAR, metadata JSON, config_id VARCHAR, author_user_id VARCHAR,
    queue_id VARCHAR, evaluator_id VARCHAR, environment VARCHAR NOT NULL,
    timestamp TIMESTAMP NOT NULL, created_at TIMESTAMP, updated_at TIMESTAMP,
    -- denormalised context for filters and metrics views
    trace_name VARCHAR, user_id VARCHAR, tags VARCHAR[], trace_release VARCHAR,
    trace_version VARCHAR, observation_name VARCHAR, observation_model_name VARCHAR,
    observation_prompt_name VARCHAR, observation_prompt_version INTEGER
);
CREATE TABLE IF NOT EXISTS datasets (
    id VARCHAR PRIMARY KEY, project_id VARCHAR NOT NULL, name VARCHAR NOT NULL UNIQUE,
    description VARCHAR, metadata JSON, input_schema JSON, expected_output_schema JSON,
    created_at TIMESTAMP, updated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS dataset_items (
    id VARCHAR PRIMARY KEY, project_id VARCHAR NOT NULL, dataset_id VARCHAR NOT NULL,
    dataset_name VARCHAR NOT NULL, status VARCHAR NOT NULL,
    input JSON, expected_output JSON, metadata JSON,
    source_trace_id VARCHAR, source_observation_id VARCHAR,
    created_at TIMESTAMP, updated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS dataset_runs (
    id VARCHAR PRIMARY KEY, project_id VARCHAR NOT NULL, dataset_id VARCHAR NOT NULL,
    dataset_name VARCHAR NOT NULL, name VARCHAR NOT NULL, description VARCHAR,
    metadata JSON, created_at TIMESTAMP, updated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS dataset_run_items (
    id VARCHAR PRIMARY KEY, project_id VARCHAR NOT NULL, dataset_run_id VARCHAR NOT NULL,
    dataset_run_name VARCHAR NOT NULL, dataset_item_id VARCHAR NOT NULL,
    trace_id VARCHAR NOT NULL, observation_id VARCHAR,
    created_at TIMESTAMP, updated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS prompts (
    id VARCHAR PRIMARY KEY, project_id VARCHAR NOT NULL, name VARCHAR NOT NULL,
    version INTEGER NOT NULL, type VARCHAR NOT NULL, prompt JSON NOT NULL, config JSON,
    labels VARCHAR[], tags VARCHAR[], commit_message VARCHAR, created_by VARCHAR,
    created_at TIMESTAMP, updated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS models (
    id VARCHAR PRIMARY KEY, project_id VARCHAR, model_name VARCHAR NOT NULL,
    match_pattern VARCHAR NOT NULL, start_date TIMESTAMP, unit VARCHAR,
    input_price DOUBLE, output_price DOUBLE, total_price DOUBLE,
    tokenizer_id VARCHAR, tokenizer_config JSON, is_langfuse_managed BOOLEAN NOT NULL,
    created_at TIMESTAMP, updated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS comments (
    id VARCHAR PRIMARY KEY, project_id VARCHAR NOT NULL, object_type VARCHAR NOT NULL,
    object_id VARCHAR NOT NULL, content VARCHAR NOT NULL, author_user_id VARCHAR,
    created_at TIMESTAMP, updated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS annotation_queues (
    id VARCHAR PRIMARY KEY, project_id VARCHAR NOT NULL, name VARCHAR NOT NULL,
    description VARCHAR, score_config_ids VARCHAR[], created_at TIMESTAMP, updated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS annotation_queue_items (
    id VARCHAR PRIMARY KEY, project_id VARCHAR NOT NULL, queue_id VARCHAR NOT NULL,
    object_id VARCHAR NOT NULL, object_type VARCHAR NOT NULL, status VARCHAR NOT NULL,
    completed_at TIMESTAMP, created_at TIMESTAMP, updated_at TIMESTAMP
);
"""

TABLES = (
    "projects", "traces", "sessions", "observations", "score_configs", "scores",
    "datasets", "dataset_items", "dataset_runs", "dataset_run_items", "prompts",
    "models", "comments", "annotation_queues", "annotation_queue_items",
)


class Store:
    """A DuckDB database holding one Langfuse project's data.

    Parameters
    ----------
    path : str or None
        A database file, or None for an in-memory database.
    """

    def __init__(self, path: str | None = None):
        self.path = path
        self._con = duckdb.connect(path or ":memory:")
        self._con.execute("SET TimeZone = 'UTC'")
        self._con.execute(DDL)
        self._write_lock = threading.Lock()
        # Committed write transactions so far: caches of query results compare it instead of
        # scanning a table to learn whether it changed (see observations_v2_cache).
        self.version = 0
        self._local = threading.local()
        self._thread_cursors: list[duckdb.DuckDBPyConnection] = []
        self._cursors_lock = threading.Lock()

    def thread_cursor(self) -> duckdb.DuckDBPyConnection:
        """The calling thread's long-lived cursor, opened on first use and closed by :meth:`close`.

        Opening a cursor costs about as much as ranking a page of the v2 observations, and
        a cursor outside an explicit transaction sees every committed write, so server
        threads keep one. The store closes them all: a cursor left to a thread's exit
        would be destroyed after its database, which aborts the process (C++ terminate).
        """
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self.cursor()
            with self._cursors_lock:
                self._thread_cursors.append(cur)
        return cur

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection for the calling thread (DuckDB cursors are not shared across threads)."""
        cur = self._con.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        return cur

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for a write; writes are serialised and committed together."""
        with self._write_lock:
            cur = self.cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                yield cur
                cur.execute("COMMIT")
                self.version += 1  # after the commit: a reader that saw this number sees the rows
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                cur.close()

    def fetch(self, sql: str, params: Any = None) -> list[dict]:
        """Rows of a query as dicts (for tests and small reads)."""
        cur = self.cursor()
        try:
            rel = cur.execute(sql, params or [])
            cols = [d[0] for d in rel.description]
            return [dict(zip(cols, row)) for row in rel.fetchall()]
        finally:
            cur.close()

    def count(self, table: str) -> int:
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}; valid: {', '.join(TABLES)}")
        return self.fetch(f"SELECT count(*) AS n FROM {table}")[0]["n"]

    def close(self) -> None:
        with self._cursors_lock:
            for cur in self._thread_cursors:
                cur.close()
            self._thread_cursors.clear()
        self._con.close()
