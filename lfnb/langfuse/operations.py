"""The catalogue: every public Langfuse API operation lfnb knows, as data.

One row per operation of ``seed-operations.tsv`` (86) plus ``scores_v3_get_many``
(``GET /api/public/v3/scores``, served by v4 and by self-hosted v3 from v3.180.0) and
the two v4 replacements of dataset runs: ``experiments_list`` (``GET /api/public/experiments``)
and ``experiments_list_items`` (``GET /api/public/experiment-items``). The rows are
embedded here so that the package works without ``../shared``;
``tests/unit/test_operations.py`` checks them against the TSV and the OpenAPI file
whenever those are present.

Columns of a row (``|``-separated, ``-`` = none):

=========== ==============================================================
operation   snake_case name used by :meth:`lfnb.Client.call`
method      HTTP method
path        path template, ``{name}`` marks a path parameter
query       query parameters the OpenAPI declares (space-separated)
required    required query parameters
paging      ``page`` (v1 page/limit/meta.totalPages), ``cursor``
            (meta.cursor) or ``none``
generation  ``v4`` only on v4 servers, ``v3`` the legacy endpoints (v3
            servers; a v4 server in events_only mode refuses them), ``both``
body        ``body`` when the operation takes a JSON request body
=========== ==============================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from lfnb.errors import ConfigError
from lfnb.langfuse.ratelimits import resource_of

__all__ = ["Operation", "OPERATIONS", "UPSERTS_BY_ID", "get_operation", "operations_frame", "build_request"]

_CATALOGUE = """\
annotation_queues_list_queues|GET|/api/public/annotation-queues|page limit|-|page|both|-
annotation_queues_create_queue|POST|/api/public/annotation-queues|-|-|none|both|body
annotation_queues_get_queue|GET|/api/public/annotation-queues/{queueId}|-|-|none|both|-
annotation_queues_create_queue_assignment|POST|/api/public/annotation-queues/{queueId}/assignments|-|-|none|both|body
annotation_queues_delete_queue_assignment|DELETE|/api/public/annotation-queues/{queueId}/assignments|-|-|none|both|body
annotation_queues_list_queue_items|GET|/api/public/annotation-queues/{queueId}/items|status page limit|-|page|both|-
annotation_queues_create_queue_item|POST|/api/public/annotation-queues/{queueId}/items|-|-|none|both|body
annotation_queues_get_queue_item|GET|/api/public/annotation-queues/{queueId}/items/{itemId}|-|-|none|both|-
annotation_queues_delete_queue_item|DELETE|/api/public/annotation-queues/{queueId}/items/{itemId}|-|-|none|both|-
annotation_queues_update_queue_item|PATCH|/api/public/annotation-queues/{queueId}/items/{itemId}|-|-|none|both|body
comments_get|GET|/api/public/comments|page limit objectType objectId authorUserId|-|page|both|-
comments_create|POST|/api/public/comments|-|-|none|both|body
comments_get_by_id|GET|/api/public/comments/{commentId}|-|-|none|both|-
dataset_items_list|GET|/api/public/dataset-items|datasetName sourceTraceId sourceObservationId version page limit|-|page|both|-
dataset_items_create|POST|/api/public/dataset-items|-|-|none|both|body
dataset_items_get|GET|/api/public/dataset-items/{id}|-|-|none|both|-
dataset_items_delete|DELETE|/api/public/dataset-items/{id}|-|-|none|both|-
dataset_run_items_list|GET|/api/public/dataset-run-items|datasetId runName page limit|datasetId runName|page|v3|-
dataset_run_items_create|POST|/api/public/dataset-run-items|-|-|none|both|body
datasets_get_runs|GET|/api/public/datasets/{datasetName}/runs|page limit|-|page|v3|-
datasets_get_run|GET|/api/public/datasets/{datasetName}/runs/{runName}|-|-|none|v3|-
datasets_delete_run|DELETE|/api/public/datasets/{datasetName}/runs/{runName}|-|-|none|v3|-
health_health|GET|/api/public/health|-|-|none|both|-
ingestion_batch|POST|/api/public/ingestion|-|-|none|both|body
blob_storage_integrations_get_blob_storage_integrations|GET|/api/public/integrations/blob-storage|-|-|none|both|-
blob_storage_integrations_upsert_blob_storage_integration|PUT|/api/public/integrations/blob-storage|-|-|none|both|body
blob_storage_integrations_delete_blob_storage_integration|DELETE|/api/public/integrations/blob-storage/{id}|-|-|none|both|-
llm_connections_list|GET|/api/public/llm-connections|page limit|-|page|both|-
llm_connections_upsert|PUT|/api/public/llm-connections|-|-|none|both|body
media_get_upload_url|POST|/api/public/media|-|-|none|both|body
media_get|GET|/api/public/media/{mediaId}|-|-|none|both|-
media_patch|PATCH|/api/public/media/{mediaId}|-|-|none|both|body
metrics_metrics|GET|/api/public/metrics|query|query|none|v3|-
models_list|GET|/api/public/models|page limit|-|page|both|-
models_create|POST|/api/public/models|-|-|none|both|body
models_get|GET|/api/public/models/{id}|-|-|none|both|-
models_delete|DELETE|/api/public/models/{id}|-|-|none|both|-
observations_get_many|GET|/api/public/observations|page limit name userId type traceId level parentObservationId environment fromStartTime toStartTime version filter|-|page|v3|-
observations_get|GET|/api/public/observations/{observationId}|-|-|none|v3|-
organizations_get_organization_api_keys|GET|/api/public/organizations/apiKeys|-|-|none|both|-
organizations_get_organization_memberships|GET|/api/public/organizations/memberships|-|-|none|both|-
organizations_update_organization_membership|PUT|/api/public/organizations/memberships|-|-|none|both|body
organizations_delete_organization_membership|DELETE|/api/public/organizations/memberships|-|-|none|both|body
organizations_get_organization_projects|GET|/api/public/organizations/projects|-|-|none|both|-
opentelemetry_export_traces|POST|/api/public/otel/v1/traces|-|-|none|both|body
projects_get|GET|/api/public/projects|-|-|none|both|-
projects_create|POST|/api/public/projects|-|-|none|both|body
projects_update|PUT|/api/public/projects/{projectId}|-|-|none|both|body
projects_delete|DELETE|/api/public/projects/{projectId}|-|-|none|both|-
projects_get_api_keys|GET|/api/public/projects/{projectId}/apiKeys|-|-|none|both|-
projects_create_api_key|POST|/api/public/projects/{projectId}/apiKeys|-|-|none|both|body
projects_delete_api_key|DELETE|/api/public/projects/{projectId}/apiKeys/{apiKeyId}|-|-|none|both|-
organizations_get_project_memberships|GET|/api/public/projects/{projectId}/memberships|-|-|none|both|-
organizations_update_project_membership|PUT|/api/public/projects/{projectId}/memberships|-|-|none|both|body
organizations_delete_project_membership|DELETE|/api/public/projects/{projectId}/memberships|-|-|none|both|body
scim_get_resource_types|GET|/api/public/scim/ResourceTypes|-|-|none|both|-
scim_get_schemas|GET|/api/public/scim/Schemas|-|-|none|both|-
scim_get_service_provider_config|GET|/api/public/scim/ServiceProviderConfig|-|-|none|both|-
scim_list_users|GET|/api/public/scim/Users|filter startIndex count|-|none|both|-
scim_create_user|POST|/api/public/scim/Users|-|-|none|both|body
scim_get_user|GET|/api/public/scim/Users/{userId}|-|-|none|both|-
scim_delete_user|DELETE|/api/public/scim/Users/{userId}|-|-|none|both|-
score_configs_get|GET|/api/public/score-configs|page limit|-|page|both|-
score_configs_create|POST|/api/public/score-configs|-|-|none|both|body
score_configs_get_by_id|GET|/api/public/score-configs/{configId}|-|-|none|both|-
score_configs_update|PATCH|/api/public/score-configs/{configId}|-|-|none|both|body
score_create|POST|/api/public/scores|-|-|none|both|body
score_delete|DELETE|/api/public/scores/{scoreId}|-|-|none|both|-
sessions_list|GET|/api/public/sessions|page limit fromTimestamp toTimestamp environment|-|page|v3|-
sessions_get|GET|/api/public/sessions/{sessionId}|-|-|none|v3|-
trace_list|GET|/api/public/traces|page limit userId name sessionId fromTimestamp toTimestamp orderBy tags version release environment fields filter|-|page|v3|-
trace_delete_multiple|DELETE|/api/public/traces|-|-|none|both|body
trace_get|GET|/api/public/traces/{traceId}|fields|-|none|v3|-
trace_delete|DELETE|/api/public/traces/{traceId}|-|-|none|both|-
datasets_list|GET|/api/public/v2/datasets|page limit|-|page|both|-
datasets_create|POST|/api/public/v2/datasets|-|-|none|both|body
datasets_get|GET|/api/public/v2/datasets/{datasetName}|-|-|none|both|-
metrics_v2_metrics|GET|/api/public/v2/metrics|query|query|none|v4|-
observations_v2_get_many|GET|/api/public/v2/observations|fields expandMetadata limit cursor parseIoAsJson name userId sessionId type traceId level parentObservationId isRootObservation environment fromStartTime toStartTime version filter|-|cursor|v4|-
prompts_list|GET|/api/public/v2/prompts|name label tag page limit fromUpdatedAt toUpdatedAt|-|page|both|-
prompts_create|POST|/api/public/v2/prompts|-|-|none|both|body
prompt_version_update|PATCH|/api/public/v2/prompts/{name}/versions/{version}|-|-|none|both|body
prompts_get|GET|/api/public/v2/prompts/{promptName}|version label resolve|-|none|both|-
prompts_delete|DELETE|/api/public/v2/prompts/{promptName}|label version|-|none|both|-
score_v2_get|GET|/api/public/v2/scores|page limit userId name fromTimestamp toTimestamp environment source operator value scoreIds configId sessionId datasetRunId traceId observationId queueId dataType traceTags fields filter|-|page|v3|-
score_v2_get_by_id|GET|/api/public/v2/scores/{scoreId}|-|-|none|v3|-
scores_v3_get_many|GET|/api/public/v3/scores|limit cursor fields id name source dataType environment configId queueId authorUserId value valueMin valueMax traceId sessionId observationId experimentId fromTimestamp toTimestamp|-|cursor|both|-
experiments_list|GET|/api/public/experiments|fields limit scoreLimit cursor fromStartTime toStartTime id name datasetId filter|fromStartTime|cursor|v4|-
experiments_list_items|GET|/api/public/experiment-items|fields limit scoreLimit cursor fromStartTime toStartTime experimentId experimentName experimentItemId datasetId filter|fromStartTime|cursor|v4|-
"""

_PATH_PARAM = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True)
class Operation:
    """One API operation (a row of the catalogue)."""

    name: str
    method: str
    path: str
    query_params: tuple[str, ...]
    required_query: tuple[str, ...]
    paging: str
    generation: str
    has_body: bool

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(_PATH_PARAM.findall(self.path))

    @property
    def resource(self) -> str:
        """The rate-limit resource Langfuse Cloud counts this operation against."""
        return resource_of(self.method, self.path)


def _parse(text: str) -> dict[str, Operation]:
    table: dict[str, Operation] = {}
    for line in text.strip().splitlines():
        name, method, path, query, required, paging, generation, body = line.split("|")
        table[name] = Operation(
            name=name,
            method=method,
            path=path,
            query_params=tuple(query.split()) if query != "-" else (),
            required_query=tuple(required.split()) if required != "-" else (),
            paging=paging,
            generation=generation,
            has_body=body == "body",
        )
    return table


OPERATIONS: dict[str, Operation] = _parse(_CATALOGUE)

#: POSTs that Langfuse upserts on the body's ``id`` (``id: body.id || randomUUID()`` in
#: web/src/pages/api/public/scores/index.ts; dataset items by id): with an id, sending one
#: twice stores it once, so the client may retry it after a lost answer. Every other POST
#: (comments, models, dataset run items, …) creates a new row each time it arrives.
UPSERTS_BY_ID = frozenset({"score_create", "dataset_items_create"})


def get_operation(name: str) -> Operation:
    """The operation called ``name``; ``ConfigError`` listing close names when unknown."""
    try:
        return OPERATIONS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, OPERATIONS, n=5, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ConfigError(
            f"Unknown operation {name!r}.{hint} lf.operations() lists all {len(OPERATIONS)}."
        ) from None


def build_request(name: str, params: dict[str, Any]) -> tuple[Operation, str, dict[str, Any], Any]:
    """Check ``params`` against operation ``name`` and split them.

    Path parameters are substituted (URL-quoted), query parameters are kept and
    the reserved keyword ``body`` becomes the JSON request body.

    Returns
    -------
    (operation, path, query, body)

    Raises
    ------
    ConfigError
        A required path/query parameter is missing, a parameter is unknown (the
        message lists the valid ones), or ``body`` is given to an operation without one.
    """
    op = get_operation(name)
    params = dict(params)
    body = params.pop("body", None)
    valid = list(op.path_params) + list(op.query_params) + (["body"] if op.has_body else [])
    unknown = [k for k in params if k not in op.path_params and k not in op.query_params]
    if body is not None and not op.has_body:
        unknown.append("body")
    if unknown:
        listed = ", ".join(valid) if valid else "none"
        raise ConfigError(
            f"{name}: unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"valid parameters: {listed}"
        )
    missing = [p for p in op.path_params + op.required_query if params.get(p) is None]
    if missing:
        raise ConfigError(f"{name}: missing required parameter{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                          f"({op.method} {op.path})")
    path = op.path
    for p in op.path_params:
        path = path.replace("{" + p + "}", quote(str(params.pop(p)), safe=""))
    query = {k: v for k, v in params.items() if v is not None}
    return op, path, query, body


def operations_frame():
    """The catalogue as a DataFrame: operation, method, path, path_params, query_params, paging, generation."""
    import pandas as pd

    rows = [
        {
            "operation": op.name,
            "method": op.method,
            "path": op.path,
            "path_params": ",".join(op.path_params),
            "query_params": ",".join(op.query_params),
            "paging": op.paging,
            "generation": op.generation,
            "resource": op.resource,
        }
        for op in OPERATIONS.values()
    ]
    return pd.DataFrame(rows).astype("str")
