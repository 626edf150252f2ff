"""Filterable columns of Langfuse's REST list endpoints, as data.

One table per *target* (the endpoint whose ``filter=`` JSON parameter is checked):

================== =============================================
target             endpoint
================== =============================================
``observations_v2`` ``GET /api/public/v2/observations``
``observations_v1`` ``GET /api/public/observations``
``traces``          ``GET /api/public/traces``
``scores``          ``GET /api/public/v2/scores``
================== =============================================

Each row is ``id | display name | column type [| alias of]``. A filter's ``column``
matches a row by its id (``uiTableId``) or its display name (``uiTableName``);
alias rows (e.g. ``tags`` for ``traceTags``) are separate rows, as on the server.
A type of ``-`` means the server has no column definition for it, so any filter type
is accepted there (v1's trace columns). Column types are the server's own names
(``stringOptions``, ``arrayOptions``, ...); which filter types each accepts is
:data:`COMPATIBLE_FILTER_TYPES`.

Sources: the facts sheet §3.2 (types, which columns exist) and Langfuse's
``tableMappings/map*Table.ts`` (display names).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ColumnDef", "COLUMNS", "TARGETS", "COMPATIBLE_FILTER_TYPES", "find_column"]

#: column type → filter types the server accepts on it (``null`` is always accepted).
COMPATIBLE_FILTER_TYPES: dict[str, tuple[str, ...]] = {
    "string": ("string", "stringOptions"),
    "stringOptions": ("string", "stringOptions"),
    "arrayOptions": ("arrayOptions", "stringOptions"),
    "datetime": ("datetime",),
    "number": ("number",),
    "boolean": ("boolean",),
    "stringObject": ("stringObject",),
    "numberObject": ("numberObject",),
    "booleanObject": ("booleanObject",),
    "categoryOptions": ("categoryOptions", "stringOptions"),
}


@dataclass(frozen=True)
class ColumnDef:
    """One filterable column: ``id`` and display ``name`` both match; ``type`` None = unchecked."""

    id: str
    name: str
    type: str | None
    alias_of: str | None = None

    def accepts(self, filter_type: str) -> bool:
        if filter_type == "null" or self.type is None:
            return True
        return filter_type in COMPATIBLE_FILTER_TYPES.get(self.type, (self.type,))


_OBS_COMMON = """
environment          | Environment             | stringOptions
type                 | Type                    | stringOptions
id                   | ID                      | stringOptions
name                 | Name                    | stringOptions
traceId              | Trace ID                | string
parentObservationId  | Parent Observation ID   | string
startTime            | Start Time              | datetime
endTime              | End Time                | datetime
timeToFirstToken     | Time To First Token (s) | number
latency              | Latency (s)             | number
tokensPerSecond      | Tokens per second       | number
inputCost            | Input Cost ($)          | number
outputCost           | Output Cost ($)         | number
totalCost            | Total Cost ($)          | number
level                | Level                   | stringOptions
statusMessage        | Status Message          | string
model                | Model                   | stringOptions
modelId              | Model ID                | stringOptions
inputTokens          | Input Tokens            | number
outputTokens         | Output Tokens           | number
totalTokens          | Total Tokens            | number
tokens               | Tokens                  | number | totalTokens
metadata             | Metadata                | stringObject
version              | Version                 | string
promptName           | Prompt Name             | stringOptions
promptVersion        | Prompt Version          | number
toolDefinitions      | Available Tools         | number
toolCalls            | Tool Calls              | number
toolNames            | Tool Names              | arrayOptions
calledToolNames      | Called Tool Names       | arrayOptions
"""

_OBS_V1_TRACE = """
traceTags            | Trace Tags              | -
userId               | User ID                 | -
sessionId            | Session ID              | -
traceName            | Trace Name              | -
traceEnvironment     | Trace Environment       | -
"""

_OBS_V2_EXTRA = """
providedModelName    | Provided Model Name     | stringOptions | model
release              | Release                 | string
input                | Input                   | string
output               | Output                  | string
sessionId            | Session ID              | string
userId               | User ID                 | string
traceName            | Trace Name              | stringOptions
traceTags            | Trace Tags              | arrayOptions
tags                 | Tags                    | arrayOptions  | traceTags
traceEnvironment     | Trace Environment       | stringOptions
isRootObservation    | Is Root Observation     | boolean
hasParentObservation | Has Parent Observation  | boolean
hasInput             | Has Input               | boolean
hasOutput            | Has Output              | boolean
isExperimentItemRootSpan | Is Experiment Item Root Span | boolean
ingestionApiKey      | Ingestion API Key       | stringOptions
ingestionSdkName     | Ingestion SDK Name      | stringOptions
ingestionSdkVersion  | Ingestion SDK Version   | stringOptions
ingestionSource      | Ingestion Source        | stringOptions
evaluatorId          | Evaluator ID            | stringOptions
ruleId               | Rule ID                 | stringOptions
experimentDatasetId  | Experiment Dataset ID   | stringOptions
experimentId         | Experiment ID           | stringOptions
experimentName       | Experiment Name         | stringOptions
"""

_TRACES = """
bookmarked           | ⭐️                      | boolean
level                | Level                   | stringOptions
id                   | ID                      | string
traceId              | Trace ID                | string        | id
name                 | Name                    | stringOptions
traceName            | Trace Name              | stringOptions | name
timestamp            | Timestamp               | datetime
userId               | User ID                 | string
sessionId            | Session ID              | string
metadata             | Metadata                | stringObject
evaluatorId          | Evaluator ID            | stringOptions
ruleId               | Rule ID                 | stringOptions
version              | Version                 | string
release              | Release                 | string
environment          | Environment             | stringOptions
tags                 | Tags                    | arrayOptions
traceTags            | Trace Tags              | arrayOptions  | tags
warningCount         | Warning Level Count     | number
errorCount           | Error Level Count       | number
defaultCount         | Default Level Count     | number
debugCount           | Debug Level Count       | number
inputTokens          | Input Tokens            | number
outputTokens         | Output Tokens           | number
totalTokens          | Total Tokens            | number
tokens               | Tokens                  | number        | totalTokens
scores_avg           | Scores (numeric)        | numberObject
score_categories     | Scores (categorical)    | categoryOptions
score_booleans       | Scores (boolean)        | booleanObject
latency              | Latency (s)             | number
inputCost            | Input Cost ($)          | number
outputCost           | Output Cost ($)         | number
totalCost            | Total Cost ($)          | number
"""

_SCORES = """
id                   | ID                      | string
timestamp            | Timestamp               | datetime
environment          | Environment             | string
traceId              | Trace ID                | string
observationId        | Observation ID          | string
sessionId            | Session ID              | string
name                 | Name                    | stringOptions
evaluatorId          | Evaluator ID            | stringOptions
source               | Source                  | stringOptions
dataType             | Data Type               | stringOptions
booleanValue         | Boolean Value           | stringOptions
stringValue          | String Value            | stringOptions
userId               | User ID                 | stringOptions
value                | Value                   | number
comment              | Comment                 | string
authorUserId         | Author User ID          | string
metadata             | Metadata                | stringObject
traceName            | Trace Name              | stringOptions
trace_tags           | Trace Tags              | arrayOptions
"""


def _parse(*blocks: str) -> tuple[ColumnDef, ...]:
    rows: list[ColumnDef] = []
    for block in blocks:
        for line in block.strip().splitlines():
            parts = [p.strip() for p in line.split("|")]
            col_type = None if parts[2] == "-" else parts[2]
            rows.append(ColumnDef(parts[0], parts[1], col_type, parts[3] if len(parts) > 3 else None))
    return tuple(rows)


COLUMNS: dict[str, tuple[ColumnDef, ...]] = {
    "observations_v2": _parse(_OBS_COMMON, _OBS_V2_EXTRA),
    "observations_v1": _parse(_OBS_V1_TRACE, _OBS_COMMON),
    "traces": _parse(_TRACES),
    "scores": _parse(_SCORES),
}
TARGETS: tuple[str, ...] = tuple(COLUMNS)


def find_column(target: str, column: str) -> ColumnDef | None:
    """The column definition a filter's ``column`` names on ``target`` (first match by id or name)."""
    for col in COLUMNS[target]:
        if col.id == column or col.name == column:
            return col
    return None
