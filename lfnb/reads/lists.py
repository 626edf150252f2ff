"""The generic paginated read, and the ``read_*`` of every list endpoint (dataset runs depend on the generation).

Mixed into :class:`lfnb.client.Client`; relies on ``self._transport``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd

from lfnb.errors import ConfigError
from lfnb.filters import validate_filters
from lfnb.frames.builder import FrameBuilder
from lfnb.frames.columns import document_columns, spec
from lfnb.langfuse.enums import ANNOTATION_QUEUE_STATUSES, COMMENT_OBJECT_TYPES
from lfnb.langfuse.timestamps import iso
from lfnb.reads.arguments import check_choice, check_read, no_rows, time_range
from lfnb.reads.pagination import parsed
from lfnb.reads.progress import Progress
from lfnb.reads.session import Session
from lfnb.reads.windows import dedupe, read_into

__all__ = ["ListReads", "LIST_READS", "filter_json", "as_list"]

PAGE_LIMIT = 100  # v1 page-based endpoints accept 1..100

#: Every paginated list operation of the catalogue → the ``read_*`` that returns all its rows.
LIST_READS: dict[str, str] = {
    "annotation_queues_list_queues": "read_annotation_queues",
    "annotation_queues_list_queue_items": "read_annotation_queue_items",
    "comments_get": "read_comments",
    "dataset_items_list": "read_dataset_items",
    "dataset_run_items_list": "read_dataset_run_items",  # v3 servers
    "datasets_get_runs": "read_dataset_runs",            # v3 servers
    "experiments_list_items": "read_dataset_run_items",  # v4 servers
    "experiments_list": "read_dataset_runs",             # v4 servers
    "datasets_list": "read_datasets",
    "llm_connections_list": "read_llm_connections",
    "models_list": "read_models",
    "prompts_list": "read_prompts",
    "score_configs_get": "read_score_configs",
    "observations_v2_get_many": "read_observations",   # v4 servers
    "observations_get_many": "read_observations",      # v3 servers
    "trace_list": "read_traces",                       # v3 servers (v4: from v2 observations)
    "sessions_list": "read_sessions",                  # v3 servers (v4: from v2 observations)
    "scores_v3_get_many": "read_scores",               # v4 servers
    "score_v2_get": "read_scores",                     # v3 servers
}


def filter_json(filter: Any, target: str) -> str | None:
    """Validate ``filter`` (list of Filter/dicts, or JSON text) for ``target``; the JSON text to send.

    Raises ``QueryValidationError`` (from :mod:`lfnb.filters`) before any request.
    """
    if filter is None:
        return None
    return json.dumps(validate_filters(filter, target))


def as_list(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return list(value)


class ListReads(Session):
    """``read_*`` for the list endpoints (the same on v3 and v4 servers, except dataset runs)."""

    def _read_list(self, operation: str, columns: Sequence[tuple[str, str]] | str, params: dict | None = None, *,
                   limit: int = PAGE_LIMIT, max_rows: int | None = None, workers: int = 1,
                   progress: bool | None = None, transform: Callable[[list], list] | None = None
                   ) -> pd.DataFrame:
        """Every row of a paginated (or plain ``{data: [...]}``) operation as a typed frame."""
        check_read(limit=limit, max_rows=max_rows, workers=workers)
        # More threads than pooled connections would only queue for a connection (and urllib3
        # would open and discard extra ones); iterate_pages also caps them at the pages left.
        workers = max(1, min(int(workers), self._transport.pool_size))
        op, fetch, params = self._operation(operation, params)
        cols = spec(columns) if isinstance(columns, str) else columns
        if max_rows == 0:
            return no_rows(max_rows, cols)
        builder = FrameBuilder(cols)
        with Progress(progress, op.name, self._transport) as bar:
            fetch = bar.watch(fetch)
            if op.paging == "none":
                page = parsed(fetch(params))
                data = page.get("data", page) if isinstance(page, dict) else page
                data = data if isinstance(data, list) else [data]
                bar.page(len(data))
                builder.add(transform(data) if transform else data)
            else:
                read_into(fetch, builder, paging=op.paging, limit=limit, params=params, max_rows=max_rows,
                          workers=workers, on_page=bar.page, transform=transform)
        return dedupe(builder.frame())

    def read_datasets(self, *, max_rows: int | None = None, progress: bool | None = None) -> pd.DataFrame:
        """Every dataset (``GET /api/public/v2/datasets``); columns: :data:`SPECS['datasets']`."""
        return self._read_list("datasets_list", "datasets", max_rows=max_rows, progress=progress)

    def read_dataset_items(self, dataset_name: str | None = None, *, source_trace_id: str | None = None,
                           source_observation_id: str | None = None, max_rows: int | None = None,
                           workers: int = 1, progress: bool | None = None) -> pd.DataFrame:
        """Dataset items (``GET /api/public/dataset-items``), of one dataset or all."""
        return self._read_list("dataset_items_list", "dataset_items",
                               {"datasetName": dataset_name, "sourceTraceId": source_trace_id,
                                "sourceObservationId": source_observation_id},
                               max_rows=max_rows, workers=workers, progress=progress)

    def read_dataset_runs(self, dataset_name: str, *, max_rows: int | None = None,
                          progress: bool | None = None) -> pd.DataFrame:
        """Runs of one dataset.

        v3 servers: ``GET /api/public/datasets/{datasetName}/runs``. v4 servers refuse
        that route (events_only mode), so the runs are read as *experiments*
        (``GET /api/public/experiments``, filtered on the dataset's id, which one
        ``GET /api/public/v2/datasets/{datasetName}`` resolves; ``fromStartTime`` is
        1970-01-01, so every run is included). On v4 ``createdAt`` is the
        experiment's ``startTime`` (when its first item ran), ``updatedAt`` is NA,
        and the rows come latest activity first.
        """
        if self.generation == "v4":
            dataset = self.call("datasets_get", datasetName=dataset_name)
            return self._read_list("experiments_list", "dataset_runs",
                                   {"datasetId": dataset["id"], "fromStartTime": _ALL_TIME, "fields": "core,metadata"},
                                   limit=PAGE_LIMIT, max_rows=max_rows, progress=progress,
                                   transform=lambda rows: [_run_from_experiment(r, dataset["name"]) for r in rows])
        return self._read_list("datasets_get_runs", "dataset_runs", {"datasetName": dataset_name},
                               max_rows=max_rows, progress=progress)

    def read_dataset_run_items(self, dataset_id: str | None = None, *, run_name: str | None = None,
                               dataset_name: str | None = None, max_rows: int | None = None,
                               workers: int = 1, progress: bool | None = None) -> pd.DataFrame:
        """Items of one dataset run.

        Give ``dataset_id`` or ``dataset_name`` (resolved with one request), and ``run_name``.
        v3 servers: ``GET /api/public/dataset-run-items``. v4 servers refuse that route
        (events_only mode), so the items are read as *experiment items*
        (``GET /api/public/experiment-items`` filtered on the dataset id and the run
        name, from 1970-01-01): ``id`` is then the experiment item's id (on Langfuse its
        root observation's id), ``observationId`` and ``updatedAt`` are NA and
        ``createdAt`` is the item's ``startTime``. ``workers`` applies to v3 only.
        """
        if dataset_id is None and dataset_name is not None:
            dataset_id = self.call("datasets_get", datasetName=dataset_name)["id"]
        if dataset_id is None or run_name is None:
            raise ConfigError("read_dataset_run_items needs run_name and dataset_id (or dataset_name)")
        if self.generation == "v4":
            # the run name goes in a filter: the experimentName parameter splits on commas
            name_filter = [{"type": "stringOptions", "column": "experimentName", "operator": "any of",
                            "value": [run_name]}]
            return self._read_list("experiments_list_items", "dataset_run_items",
                                   {"datasetId": dataset_id, "fromStartTime": _ALL_TIME, "fields": "core",
                                    "filter": json.dumps(name_filter)},
                                   limit=PAGE_LIMIT, max_rows=max_rows, progress=progress,
                                   transform=lambda rows: [_run_item_from_experiment_item(r) for r in rows])
        return self._read_list("dataset_run_items_list", "dataset_run_items",
                               {"datasetId": dataset_id, "runName": run_name},
                               max_rows=max_rows, workers=workers, progress=progress)

    def read_prompts(self, *, name: str | None = None, label: str | None = None, tag: str | None = None,
                     from_updated_at: Any = None, to_updated_at: Any = None, max_rows: int | None = None,
                     progress: bool | None = None) -> pd.DataFrame:
        """Prompt metadata, one row per prompt name (``GET /api/public/v2/prompts``)."""
        f, t = time_range(from_updated_at, to_updated_at, ("from_updated_at", "to_updated_at"))
        return self._read_list("prompts_list", "prompts",
                               {"name": name, "label": label, "tag": tag,
                                "fromUpdatedAt": iso(f) if f is not None else None,
                                "toUpdatedAt": iso(t) if t is not None else None},
                               max_rows=max_rows, progress=progress)

    def read_models(self, *, max_rows: int | None = None, progress: bool | None = None) -> pd.DataFrame:
        """Model definitions with prices (``GET /api/public/models``)."""
        return self._read_list("models_list", "models", max_rows=max_rows, progress=progress)

    def read_comments(self, *, object_type: str | None = None, object_id: str | None = None,
                      author_user_id: str | None = None, max_rows: int | None = None, workers: int = 1,
                      progress: bool | None = None) -> pd.DataFrame:
        """Comments (``GET /api/public/comments``), optionally of one object type / object."""
        check_choice("object_type", object_type, COMMENT_OBJECT_TYPES)
        return self._read_list("comments_get", "comments",
                               {"objectType": object_type, "objectId": object_id, "authorUserId": author_user_id},
                               max_rows=max_rows, workers=workers, progress=progress)

    def read_annotation_queues(self, *, max_rows: int | None = None, progress: bool | None = None) -> pd.DataFrame:
        """Annotation queues (``GET /api/public/annotation-queues``)."""
        return self._read_list("annotation_queues_list_queues", "annotation_queues",
                               max_rows=max_rows, progress=progress)

    def read_annotation_queue_items(self, queue_id: str, *, status: str | None = None,
                                    max_rows: int | None = None, progress: bool | None = None) -> pd.DataFrame:
        """Items of one annotation queue (``GET /api/public/annotation-queues/{queueId}/items``)."""
        check_choice("status", status, ANNOTATION_QUEUE_STATUSES)
        return self._read_list("annotation_queues_list_queue_items", "annotation_queue_items",
                               {"queueId": queue_id, "status": status}, max_rows=max_rows, progress=progress)

    def read_score_configs(self, *, max_rows: int | None = None, progress: bool | None = None) -> pd.DataFrame:
        """Score configs (``GET /api/public/score-configs``)."""
        return self._read_list("score_configs_get", "score_configs", max_rows=max_rows, progress=progress)

    def read_llm_connections(self, *, max_rows: int | None = None, progress: bool | None = None) -> pd.DataFrame:
        """LLM connections (``GET /api/public/llm-connections``; secrets are masked by the server)."""
        return self._read_list("llm_connections_list", "llm_connections", max_rows=max_rows, progress=progress)

    def read_projects(self) -> pd.DataFrame:
        """The project(s) these keys belong to (``GET /api/public/projects``)."""
        return self._read_list("projects_get", "projects", progress=False)



_ALL_TIME = "1970-01-01T00:00:00.000Z"   # experiments need a fromStartTime


def _run_from_experiment(r: dict, dataset_name: str) -> dict:
    """An ``ExperimentV1`` row as a dataset run record (see :meth:`ListReads.read_dataset_runs`)."""
    return {"id": r.get("id"), "name": r.get("name"), "description": r.get("description"),
            "metadata": r.get("metadata"), "datasetId": r.get("datasetId"), "datasetName": dataset_name,
            "createdAt": r.get("startTime"), "updatedAt": None}


def _run_item_from_experiment_item(r: dict) -> dict:
    """An ``ExperimentItemV1`` row as a dataset run item record (see :meth:`ListReads.read_dataset_run_items`)."""
    return {"id": r.get("id"), "datasetRunId": r.get("experimentId"), "datasetRunName": r.get("experimentName"),
            "datasetItemId": r.get("experimentItemId"), "traceId": r.get("traceId"), "observationId": None,
            "createdAt": r.get("startTime"), "updatedAt": None}


document_columns(ListReads, {
    "read_datasets": "datasets", "read_dataset_items": "dataset_items", "read_dataset_runs": "dataset_runs",
    "read_dataset_run_items": "dataset_run_items", "read_prompts": "prompts", "read_models": "models",
    "read_comments": "comments", "read_annotation_queues": "annotation_queues",
    "read_annotation_queue_items": "annotation_queue_items", "read_score_configs": "score_configs",
    "read_llm_connections": "llm_connections", "read_projects": "projects",
})
