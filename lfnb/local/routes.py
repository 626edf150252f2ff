"""The route table of lfnb.local: every operation it knows, how a path matches, who handles it.

The 86 operations of the seed catalogue (Langfuse's public REST API as of the server snapshot in
the facts sheet) plus ``GET /api/public/v3/scores`` are listed here as data. Handlers come from
the other modules of ``lfnb.local`` (resources, observations v2, metrics engine); an operation
nobody implements yet stays routed and answers 501, so a client always learns *which* operation
is missing instead of getting a bare 404.

Paths are matched segment by segment on the *raw* (still percent-encoded) path, and each
segment is decoded only after splitting, so a prompt or dataset name holding an encoded
``/`` (``a%2Fb``) stays one path parameter, as it does in Next.js.
"""

from __future__ import annotations

import importlib
import logging
import re
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import unquote

log = logging.getLogger("lfnb.local")

SEED_OPERATIONS: tuple[tuple[str, str, str], ...] = (
    ("GET", "/api/public/annotation-queues", "annotation_queues_list_queues"),
    ("POST", "/api/public/annotation-queues", "annotation_queues_create_queue"),
    ("GET", "/api/public/annotation-queues/{queueId}", "annotation_queues_get_queue"),
    ("POST", "/api/public/annotation-queues/{queueId}/assignments", "annotation_queues_create_queue_assignment"),
    ("DELETE", "/api/public/annotation-queues/{queueId}/assignments", "annotation_queues_delete_queue_assignment"),
    ("GET", "/api/public/annotation-queues/{queueId}/items", "annotation_queues_list_queue_items"),
    ("POST", "/api/public/annotation-queues/{queueId}/items", "annotation_queues_create_queue_item"),
    ("GET", "/api/public/annotation-queues/{queueId}/items/{itemId}", "annotation_queues_get_queue_item"),
    ("DELETE", "/api/public/annotation-queues/{queueId}/items/{itemId}", "annotation_queues_delete_queue_item"),
    ("PATCH", "/api/public/annotation-queues/{queueId}/items/{itemId}", "annotation_queues_update_queue_item"),
    ("GET", "/api/public/comments", "comments_get"),
    ("POST", "/api/public/comments", "comments_create"),
    ("GET", "/api/public/comments/{commentId}", "comments_get_by_id"),
    ("GET", "/api/public/dataset-items", "dataset_items_list"),
    ("POST", "/api/public/dataset-items", "dataset_items_create"),
    ("GET", "/api/public/dataset-items/{id}", "dataset_items_get"),
    ("DELETE", "/api/public/dataset-items/{id}", "dataset_items_delete"),
    ("GET", "/api/public/dataset-run-items", "dataset_run_items_list"),
    ("POST", "/api/public/dataset-run-items", "dataset_run_items_create"),
    ("GET", "/api/public/datasets/{datasetName}/runs", "datasets_get_runs"),
    ("GET", "/api/public/datasets/{datasetName}/runs/{runName}", "datasets_get_run"),
    ("DELETE", "/api/public/datasets/{datasetName}/runs/{runName}", "datasets_delete_run"),
    ("GET", "/api/public/health", "health_health"),
    ("POST", "/api/public/ingestion", "ingestion_batch"),
    ("GET", "/api/public/integrations/blob-storage", "blob_storage_integrations_get_blob_storage_integrations"),
    ("PUT", "/api/public/integrations/blob-storage", "blob_storage_integrations_upsert_blob_storage_integration"),
    ("DELETE", "/api/public/integrations/blob-storage/{id}", "blob_storage_integrations_delete_blob_storage_integration"),
    ("GET", "/api/public/llm-connections", "llm_connections_list"),
    ("PUT", "/api/public/llm-connections", "llm_connections_upsert"),
    ("POST", "/api/public/media", "media_get_upload_url"),
    ("GET", "/api/public/media/{mediaId}", "media_get"),
    ("PATCH", "/api/public/media/{mediaId}", "media_patch"),
    ("GET", "/api/public/metrics", "metrics_metrics"),
    ("GET", "/api/public/models", "models_list"),
    ("POST", "/api/public/models", "models_create"),
    ("GET", "/api/public/models/{id}", "models_get"),
    ("DELETE", "/api/public/models/{id}", "models_delete"),
    ("GET", "/api/public/observations", "observations_get_many"),
    ("GET", "/api/public/observations/{observationId}", "observations_get"),
    ("GET", "/api/public/organizations/apiKeys", "organizations_get_organization_api_keys"),
    ("GET", "/api/public/organizations/memberships", "organizations_get_organization_memberships"),
    ("PUT", "/api/public/organizations/memberships", "organizations_update_organization_membership"),
    ("DELETE", "/api/public/organizations/memberships", "organizations_delete_organization_membership"),
    ("GET", "/api/public/organizations/projects", "organizations_get_organization_projects"),
    ("POST", "/api/public/otel/v1/traces", "opentelemetry_export_traces"),
    ("GET", "/api/public/projects", "projects_get"),
    ("POST", "/api/public/projects", "projects_create"),
    ("PUT", "/api/public/projects/{projectId}", "projects_update"),
    ("DELETE", "/api/public/projects/{projectId}", "projects_delete"),
    ("GET", "/api/public/projects/{projectId}/apiKeys", "projects_get_api_keys"),
    ("POST", "/api/public/projects/{projectId}/apiKeys", "projects_create_api_key"),
    ("DELETE", "/api/public/projects/{projectId}/apiKeys/{apiKeyId}", "projects_delete_api_key"),
    ("GET", "/api/public/projects/{projectId}/memberships", "organizations_get_project_memberships"),
    ("PUT", "/api/public/projects/{projectId}/memberships", "organizations_update_project_membership"),
    ("DELETE", "/api/public/projects/{projectId}/memberships", "organizations_delete_project_membership"),
    ("GET", "/api/public/scim/ResourceTypes", "scim_get_resource_types"),
    ("GET", "/api/public/scim/Schemas", "scim_get_schemas"),
    ("GET", "/api/public/scim/ServiceProviderConfig", "scim_get_service_provider_config"),
    ("GET", "/api/public/scim/Users", "scim_list_users"),
    ("POST", "/api/public/scim/Users", "scim_create_user"),
    ("GET", "/api/public/scim/Users/{userId}", "scim_get_user"),
    ("DELETE", "/api/public/scim/Users/{userId}", "scim_delete_user"),
    ("GET", "/api/public/score-configs", "score_configs_get"),
    ("POST", "/api/public/score-configs", "score_configs_create"),
    ("GET", "/api/public/score-configs/{configId}", "score_configs_get_by_id"),
    ("PATCH", "/api/public/score-configs/{configId}", "score_configs_update"),
    ("POST", "/api/public/scores", "score_create"),
    ("DELETE", "/api/public/scores/{scoreId}", "score_delete"),
    ("GET", "/api/public/sessions", "sessions_list"),
    ("GET", "/api/public/sessions/{sessionId}", "sessions_get"),
    ("GET", "/api/public/traces", "trace_list"),
    ("DELETE", "/api/public/traces", "trace_delete_multiple"),
    ("GET", "/api/public/traces/{traceId}", "trace_get"),
    ("DELETE", "/api/public/traces/{traceId}", "trace_delete"),
    ("GET", "/api/public/v2/datasets", "datasets_list"),
    ("POST", "/api/public/v2/datasets", "datasets_create"),
    ("GET", "/api/public/v2/datasets/{datasetName}", "datasets_get"),
    ("GET", "/api/public/v2/metrics", "metrics_v2_metrics"),
    ("GET", "/api/public/v2/observations", "observations_v2_get_many"),
    ("GET", "/api/public/v2/prompts", "prompts_list"),
    ("POST", "/api/public/v2/prompts", "prompts_create"),
    ("PATCH", "/api/public/v2/prompts/{name}/versions/{version}", "prompt_version_update"),
    ("GET", "/api/public/v2/prompts/{promptName}", "prompts_get"),
    ("DELETE", "/api/public/v2/prompts/{promptName}", "prompts_delete"),
    ("GET", "/api/public/v2/scores", "score_v2_get"),
    ("GET", "/api/public/v2/scores/{scoreId}", "score_v2_get_by_id"),
)
"""(method, path template, operation name) of the 86 seed operations."""

EXTRA_OPERATIONS: tuple[tuple[str, str, str], ...] = (
    ("GET", "/api/public/v3/scores", "scores_v3_get_many"),
)

HEALTH_PATH = "/api/public/health"

# Deprecated v1 reads that a Langfuse v4 deployment in events_only mode refuses (facts §2.9).
LEGACY_V1_READS = frozenset({
    ("GET", "/api/public/traces"), ("GET", "/api/public/traces/{}"),
    ("GET", "/api/public/observations"), ("GET", "/api/public/observations/{}"),
    ("GET", "/api/public/sessions"), ("GET", "/api/public/sessions/{}"),
    ("GET", "/api/public/v2/scores"), ("GET", "/api/public/v2/scores/{}"),
    ("GET", "/api/public/metrics"),
})

# Reads a v3 deployment refuses with 404 LangfuseNotFoundError and these messages.
V4_ONLY_READS = {
    ("GET", "/api/public/v2/observations"): "The observations v2 API is only available in a Langfuse v4 write mode. Learn more at: https://langfuse.com/docs/v4",
    ("GET", "/api/public/v2/metrics"): "The metrics v2 API is only available in a Langfuse v4 write mode. Learn more at: https://langfuse.com/docs/v4",
    # Langfuse gates v3 scores with its own flag (LANGFUSE_ENABLE_SCORES_V3_API) and this
    # message in web/src/pages/api/public/v3/scores/index.ts; a v3 deployment without the flag.
    ("GET", "/api/public/v3/scores"): "v3 Scores API is not enabled on this instance",
}

# Cursor-paginated reads: the only ones the ``empty``/``short`` faults apply to.
CURSOR_READS = frozenset({("GET", "/api/public/v2/observations"), ("GET", "/api/public/v3/scores")})

_PARAM = re.compile(r"^\{([^{}/]+)\}$")


def shape(template: str) -> str:
    """A template with every ``{param}`` replaced by ``{}`` (the key two spellings share)."""
    return "/".join("{}" if _PARAM.match(seg) else seg for seg in template.split("/"))


@dataclass
class Operation:
    """One routed operation: where it lives and who answers it (``handler`` None → 501)."""

    method: str
    template: str
    name: str
    handler: Callable[[Any, Any], Any] | None = None
    missing_reason: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, shape(self.template))


class RouteTable:
    """Operations indexed by path shape; ``match`` resolves a raw request path."""

    def __init__(self) -> None:
        self._ops: dict[tuple[str, str], Operation] = {}
        self._shapes: dict[int, list[tuple[list[str | None], str]]] = {}

    def add(self, op: Operation) -> None:
        """Add or replace (a later registration with a handler wins over a bare entry)."""
        key = op.key
        old = self._ops.get(key)
        if old is not None and op.handler is None:
            return
        if old is not None:
            op.name = old.name  # the seed catalogue names operations
        self._ops[key] = op
        segs = key[1].split("/")
        pattern = [None if s == "{}" else s for s in segs]
        bucket = self._shapes.setdefault(len(segs), [])
        if (pattern, key[1]) not in bucket:
            bucket.append((pattern, key[1]))

    def operations(self) -> list[Operation]:
        return list(self._ops.values())

    def get(self, method: str, template: str) -> Operation | None:
        return self._ops.get((method, shape(template)))

    def match(self, method: str, raw_path: str) -> tuple[Operation | None, dict[str, str], list[str]]:
        """``(operation, path params, allowed methods)`` for a raw path.

        The operation is None when the path is unknown (allowed is empty) or when the
        path exists under other methods only (allowed lists them, for a 405).
        """
        path = raw_path.rstrip("/") or "/"
        segs = path.split("/")
        candidates = []
        for pattern, shp in self._shapes.get(len(segs), []):
            if all(p is None or p == s for p, s in zip(pattern, segs)):
                # literal segments beat parameters (``/organizations/apiKeys`` before ``/{id}``)
                literal = sum(p is not None for p in pattern)
                candidates.append((literal, shp))
        candidates.sort(key=lambda c: -c[0])
        allowed: list[str] = []
        for _, shp in candidates:
            op = self._ops.get((method, shp))
            if op is None:
                allowed.extend(m for (m, s) in self._ops if s == shp and m not in allowed)
                continue
            names = [_PARAM.match(s).group(1) for s in op.template.split("/") if _PARAM.match(s)]
            values = [unquote(s) for s, p in zip(segs, shp.split("/")) if p == "{}"]
            return op, dict(zip(names, values)), []
        return None, {}, allowed


def _load(module: str, attr: str):
    """``module.attr`` or ``(None, reason)`` when the module is absent or broken.

    Imported at app creation so a module another engineer has not landed yet (or that
    fails to import) turns its operations into 501s instead of crashing the server.
    """
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        return None, f"{module} is not available ({exc})"
    found = getattr(mod, attr, None)
    if found is None:
        return None, f"{module}.{attr} does not exist"
    return found, ""


def build_table() -> RouteTable:
    """Every seed operation plus v3 scores, with the handlers that exist right now."""
    table = RouteTable()
    for method, template, name in SEED_OPERATIONS + EXTRA_OPERATIONS:
        table.add(Operation(method, template, name, None, "no handler in lfnb.local"))
    routes, why = _load("lfnb.local.resources", "ROUTES")
    if routes is None:
        log.info("resource handlers unavailable: %s", why)
    for method, template, name, handler in routes or []:
        table.add(Operation(method.upper(), template, name, handler))
    for method, template, module, attr in (
        ("GET", "/api/public/v2/observations", "lfnb.local.observations_v2", "get_observations_v2"),
        ("GET", "/api/public/metrics", "lfnb.local.engine", "handle_metrics_v1"),
        ("GET", "/api/public/v2/metrics", "lfnb.local.engine", "handle_metrics_v2"),
    ):
        handler, why = _load(module, attr)
        existing = table.get(method, template)
        name = existing.name if existing else attr
        if handler is not None:
            table.add(Operation(method, existing.template if existing else template, name, handler))
        elif existing is not None and existing.handler is None:
            existing.missing_reason = why
    return table
