"""Langfuse's response schemas for conformance tests: the OpenAPI file, plus the strict key sets.

Two checks apply to a 2xx body of lfnb.local:

* **types and required keys** — the OpenAPI file (``<shared>/reference/langfuse-openapi.yml``),
  loaded by :func:`openapi_spec`. One rewrite is applied: OpenAPI 3.0 ignores the siblings of a
  ``$ref``, but the file writes ``{"$ref": X, "nullable": true}`` meaning "X or null" (e.g. the
  ``trace`` of a v2 score, which Langfuse sends as ``null`` for session scores and with
  ``fields=score``: ``_handleGenerateScoresForPublicApi``); such nodes become
  ``{"anyOf": [{"$ref": X}, {"nullable": true, "enum": [null]}]}`` (other siblings of a
  ``$ref`` are kept beside an ``allOf``).
* **no extra keys where Langfuse's schema is strict** — :data:`STRICT` maps an operation to
  the shape of the zod ``.strict()`` response schema Langfuse's own server tests verify
  (``makeZodVerifiedAPICall`` in ``web/src/__tests__/test-utils.ts``); the sources are the
  files under ``web/src/features/public-api/types/`` named in each comment. Non-strict
  schemas (v2/v3 scores, metrics, score configs, prompts, …) have no entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["openapi_spec", "STRICT", "extra_keys"]


def _rewrite(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _rewrite(v) for k, v in node.items()}
        if "$ref" in node and len(node) > 1:
            ref = node.pop("$ref")
            if node.pop("nullable", False):
                return {"anyOf": [{"$ref": ref}, {"nullable": True, "enum": [None]}], **node}
            return {"allOf": [{"$ref": ref}], **node}
        return node
    if isinstance(node, list):
        return [_rewrite(v) for v in node]
    return node


def openapi_spec(shared: Path) -> dict:
    """The OpenAPI document as a dict, ``$ref`` siblings honoured (module docstring)."""
    import yaml

    return _rewrite(yaml.safe_load((Path(shared) / "reference" / "langfuse-openapi.yml").read_text()))


# A shape is (required keys, optional keys, {key: nested shape}); ("list", shape) is an array of them.
def obj(required: str, optional: str = "", **nested: Any) -> tuple:
    return (frozenset(required.split()), frozenset(optional.split()), nested)


def many(shape: tuple) -> tuple:
    return ("list", shape)


# traces.ts APITrace (.strict())
API_TRACE = obj("id externalId timestamp name userId metadata release version projectId environment public "
                "bookmarked tags input output sessionId createdAt updatedAt")
# observations.ts APIObservation (.strict()); release is optional and never emitted
API_OBSERVATION = obj(
    "id projectId traceId parentObservationId name type environment startTime endTime version createdAt "
    "updatedAt input output metadata level statusMessage model modelParameters completionStartTime promptId "
    "promptName promptVersion usageDetails costDetails usage unit promptTokens completionTokens totalTokens "
    "usagePricingTierName usagePricingTierId modelId inputPrice outputPrice totalPrice calculatedInputCost "
    "calculatedOutputCost calculatedTotalCost latency timeToFirstToken", "release",
    usage=obj("unit input output total"))
# traces.ts APIExtendedTrace = APITrace + observations/scores/totalCost/latency (nullish) + htmlPath
API_EXTENDED_TRACE = obj(" ".join(API_TRACE[0]) + " htmlPath", "observations scores totalCost latency")
PAGE = "data meta"
DEPRECATION = "_deprecation"
# datasets.ts
API_DATASET = obj("id projectId name description metadata inputSchema expectedOutputSchema createdAt updatedAt")
API_DATASET_RUN = obj("datasetName id name description metadata datasetId createdAt updatedAt")
API_DATASET_RUN_ITEM = obj("datasetRunName id datasetRunId datasetItemId traceId observationId createdAt updatedAt")
API_DATASET_ITEM = obj("datasetName id status input expectedOutput metadata sourceTraceId sourceObservationId "
                       "datasetId createdAt updatedAt mediaReferences",
                       mediaReferences=many(obj("field referenceString jsonPath media",
                                                media=obj("mediaId contentType contentLength url urlExpiry"))))
# comments.ts APIComment
API_COMMENT = obj("id projectId createdAt updatedAt objectType objectId content", "authorUserId")
# models.ts APIModelDefinition
API_MODEL = obj("id modelName matchPattern startDate inputPrice outputPrice totalPrice tokenizerId tokenizerConfig "
                "isLangfuseManaged createdAt prices pricingTiers", "unit")
# annotation-queues.ts
QUEUE = obj("id name description scoreConfigIds createdAt updatedAt")
QUEUE_ITEM = obj("id queueId objectId objectType status completedAt createdAt updatedAt")
# experiments.ts ExperimentV1 / ExperimentItemV1 (scores are non-strict APIScoreSchemaV3)
EXPERIMENT = obj("id name description startTime endTime itemCount datasetId", "metadata scores")
EXPERIMENT_ITEM = obj("id traceId startTime endTime level environment experimentId experimentName experimentItemId",
                      "experimentDatasetId experimentItemVersion input output expectedOutput metadata "
                      "experimentItemMetadata experimentMetadata experimentDescription scores")
# metrics.ts GetMetricsDailyV1Response
DAILY_ROW = obj("date countTraces countObservations totalCost usage",
                usage=many(obj("model inputUsage outputUsage totalUsage countObservations countTraces totalCost")))

#: operation → shape of its strict 2xx body.
STRICT: dict[str, tuple] = {
    "trace_list": obj(PAGE, DEPRECATION, data=many(API_EXTENDED_TRACE)),                     # GetTracesV1Response
    "trace_get": obj(" ".join(API_EXTENDED_TRACE[0]) + " observations scores",               # GetTraceV1Response
                     "totalCost latency " + DEPRECATION, observations=many(API_OBSERVATION)),
    "trace_delete": obj("message"),                                                         # DeleteTraceV1Response
    "trace_delete_multiple": obj("message"),                                                # DeleteTracesV1Response
    "observations_get_many": obj(PAGE, DEPRECATION, data=many(API_OBSERVATION)),            # GetObservationsV1Response
    "observations_get": (API_OBSERVATION[0], API_OBSERVATION[1] | {DEPRECATION}, API_OBSERVATION[2]),
    "sessions_list": obj(PAGE, DEPRECATION,                                                 # GetSessionsV1Response
                         data=many(obj("id createdAt projectId environment"))),
    "sessions_get": obj("id createdAt projectId environment traces", DEPRECATION,          # GetSessionV1Response
                        traces=many(API_TRACE)),
    "observations_v2_get_many": obj("data meta"),                 # GetObservationsV2Response: rows .loose()
    "metrics_daily": obj(PAGE, DEPRECATION, data=many(DAILY_ROW)),
    "datasets_list": obj(PAGE, data=many(API_DATASET)),                                     # GetDatasetsV2Response
    "datasets_get": API_DATASET,
    "datasets_create": API_DATASET,
    "datasets_get_runs": obj(PAGE, DEPRECATION, data=many(API_DATASET_RUN)),
    "datasets_get_run": obj(" ".join(API_DATASET_RUN[0]) + " datasetRunItems", DEPRECATION,
                            datasetRunItems=many(API_DATASET_RUN_ITEM)),
    "datasets_delete_run": obj("message"),
    "dataset_run_items_list": obj(PAGE, DEPRECATION, data=many(API_DATASET_RUN_ITEM)),
    "dataset_run_items_create": API_DATASET_RUN_ITEM,
    "dataset_items_list": obj(PAGE, data=many(API_DATASET_ITEM)),
    "dataset_items_get": API_DATASET_ITEM,
    "dataset_items_create": API_DATASET_ITEM,
    "dataset_items_delete": obj("message"),
    "comments_get": obj(PAGE, data=many(API_COMMENT)),
    "comments_get_by_id": API_COMMENT,
    "comments_create": obj("id"),
    "models_list": obj(PAGE, data=many(API_MODEL)),
    "models_get": API_MODEL,
    "models_create": API_MODEL,
    "models_delete": obj("message"),
    "annotation_queues_list_queues": obj(PAGE, data=many(QUEUE)),
    "annotation_queues_get_queue": QUEUE,
    "annotation_queues_create_queue": QUEUE,
    "annotation_queues_list_queue_items": obj(PAGE, data=many(QUEUE_ITEM)),
    "annotation_queues_get_queue_item": QUEUE_ITEM,
    "annotation_queues_create_queue_item": QUEUE_ITEM,
    "annotation_queues_update_queue_item": QUEUE_ITEM,
    "annotation_queues_delete_queue_item": obj("success message"),
    "experiments_list": obj("data meta", data=many(EXPERIMENT), meta=obj("", "cursor")),
    "experiments_list_items": obj("data meta", data=many(EXPERIMENT_ITEM), meta=obj("", "cursor")),
}


def extra_keys(body: Any, shape: tuple, path: str = "$") -> list[str]:
    """Problems of ``body`` against a strict ``shape``: extra keys and missing required keys."""
    if shape[0] == "list":
        if not isinstance(body, list):
            return [f"{path}: expected an array"]
        return [p for i, item in enumerate(body) for p in extra_keys(item, shape[1], f"{path}[{i}]")]
    required, optional, nested = shape
    if not isinstance(body, dict):
        return [f"{path}: expected an object"]
    out = [f"{path}: unexpected key {k!r} (Langfuse's schema is strict)" for k in sorted(set(body) - required - optional)]
    out += [f"{path}: missing key {k!r}" for k in sorted(required - set(body))]
    for key, sub in nested.items():
        if body.get(key) is not None:
            out += extra_keys(body[key], sub, f"{path}.{key}")
    return out
