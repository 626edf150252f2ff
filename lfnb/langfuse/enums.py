"""Enumerated query-parameter values Langfuse accepts (OpenAPI enums; zod answers 400 for others).

The client checks ``read_*`` arguments against these before any request, so a
``type="generation"`` says at once which values are valid instead of returning a
400 "Invalid request data".
"""

from __future__ import annotations

__all__ = ["OBSERVATION_TYPES", "OBSERVATION_LEVELS", "SCORE_DATA_TYPES", "SCORE_SOURCES",
           "COMMENT_OBJECT_TYPES", "ANNOTATION_QUEUE_STATUSES"]

#: ``ObservationType`` (v2 observations ``type``; the facts sheet §observations lists the same ten).
OBSERVATION_TYPES = ("GENERATION", "SPAN", "EVENT", "AGENT", "TOOL", "CHAIN", "RETRIEVER", "EVALUATOR",
                     "EMBEDDING", "GUARDRAIL")
#: ``ObservationLevel``.
OBSERVATION_LEVELS = ("DEBUG", "DEFAULT", "WARNING", "ERROR")
#: ``ScoreDataType`` (``dataType`` of score reads).
SCORE_DATA_TYPES = ("NUMERIC", "BOOLEAN", "CATEGORICAL", "CORRECTION", "TEXT")
#: ``ScoreSource``.
SCORE_SOURCES = ("ANNOTATION", "API", "EVAL")
#: ``CommentObjectType``.
COMMENT_OBJECT_TYPES = ("TRACE", "OBSERVATION", "SESSION", "PROMPT")
#: ``AnnotationQueueStatus``.
ANNOTATION_QUEUE_STATUSES = ("PENDING", "COMPLETED")
