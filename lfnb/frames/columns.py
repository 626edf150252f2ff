"""The column/dtype map of every resource lfnb reads — one table per resource.

Each table below is the single source of the columns (exact API field names;
nested objects as dotted paths) and dtypes of a ``read_*`` result. Dtype codes:

=========  ==========================================================
code       pandas dtype
=========  ==========================================================
str        ``str`` (pandas 3 string dtype; missing = NaN)
time       ``datetime64[us, UTC]`` (ISO strings parsed; naive = UTC)
int        ``Int64``
float      ``Float64``
price      ``Float64`` parsed from decimal strings (``"0.0001"``) or numbers
bool       ``boolean``
json       ``object``: dicts / lists / JSON values kept as they came
=========  ==========================================================

Observations (v2 endpoint) are chosen by field group (``fields=``), see
:data:`OBSERVATION_GROUPS`; ``usageDetails.*`` / ``costDetails.*`` keys beyond
the listed ones become extra ``int`` / ``float`` columns when they occur.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DTYPES", "SPECS", "OBSERVATION_GROUPS", "DYNAMIC_PREFIXES", "observation_columns", "spec", "column_table",
           "document_columns"]


#: dtype code → pandas dtype (the table in the module docstring).
DTYPES: dict[str, Any] = {
    "str": "str",
    "time": "datetime64[us, UTC]",
    "int": "Int64",
    "float": "Float64",
    "price": "Float64",
    "bool": "boolean",
    "json": object,
}


def _table(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(tuple(line.split()) for line in text.strip().splitlines())  # type: ignore[misc]


OBSERVATION_GROUPS: dict[str, tuple[tuple[str, str], ...]] = {
    "core": _table("""
        id                   str
        traceId              str
        startTime            time
        endTime              time
        projectId            str
        parentObservationId  str
        type                 str
    """),
    "basic": _table("""
        name                 str
        level                str
        statusMessage        str
        version              str
        environment          str
        bookmarked           bool
        public               bool
        userId               str
        sessionId            str
        isRootObservation    bool
    """),
    "time": _table("""
        completionStartTime  time
        createdAt            time
        updatedAt            time
    """),
    "io": _table("""
        input                str
        output               str
    """),
    "metadata": _table("""
        metadata             json
    """),
    "model": _table("""
        model                str
        internalModelId      str
        modelParameters      json
        modelId              str
        inputPrice           price
        outputPrice          price
        totalPrice           price
    """),
    "usage": _table("""
        usageDetails.input   int
        usageDetails.output  int
        usageDetails.total   int
        costDetails.input    float
        costDetails.output   float
        costDetails.total    float
        totalCost            float
        usagePricingTierName str
    """),
    "prompt": _table("""
        promptId             str
        promptName           str
        promptVersion        int
    """),
    "metrics": _table("""
        latency              float
        timeToFirstToken     float
    """),
    "trace_context": _table("""
        tags                 json
        release              str
        traceName            str
    """),
}

# Nested objects whose keys vary by model: extra keys become extra columns.
DYNAMIC_PREFIXES: dict[str, str] = {"usageDetails": "int", "costDetails": "float"}

SPECS: dict[str, tuple[tuple[str, str], ...]] = {
    "traces": _table("""
        id                   str
        timestamp            time
        name                 str
        userId               str
        sessionId            str
        release              str
        version              str
        environment          str
        tags                 json
        public               bool
        bookmarked           bool
        metadata             json
        latency              float
        totalCost            float
    """),
    "sessions": _table("""
        id                   str
        createdAt            time
        projectId            str
        environment          str
    """),
    "scores": _table("""
        id                   str
        name                 str
        value                float
        stringValue          str
        dataType             str
        source               str
        timestamp            time
        environment          str
        traceId              str
        observationId        str
        sessionId            str
        datasetRunId         str
        comment              str
        metadata             json
        configId             str
        queueId              str
        authorUserId         str
        createdAt            time
        updatedAt            time
    """),
    "datasets": _table("""
        id                   str
        name                 str
        description          str
        metadata             json
        inputSchema          json
        expectedOutputSchema json
        projectId            str
        createdAt            time
        updatedAt            time
    """),
    "dataset_items": _table("""
        id                   str
        datasetId            str
        datasetName          str
        status               str
        input                json
        expectedOutput       json
        metadata             json
        sourceTraceId        str
        sourceObservationId  str
        createdAt            time
        updatedAt            time
    """),
    "dataset_runs": _table("""
        id                   str
        name                 str
        description          str
        metadata             json
        datasetId            str
        datasetName          str
        createdAt            time
        updatedAt            time
    """),
    "dataset_run_items": _table("""
        id                   str
        datasetRunId         str
        datasetRunName       str
        datasetItemId        str
        traceId              str
        observationId        str
        createdAt            time
        updatedAt            time
    """),
    "prompts": _table("""
        name                 str
        type                 str
        versions             json
        labels               json
        tags                 json
        lastUpdatedAt        time
        lastConfig           json
    """),
    "models": _table("""
        id                   str
        modelName            str
        matchPattern         str
        startDate            time
        unit                 str
        inputPrice           price
        outputPrice          price
        totalPrice           price
        tokenizerId          str
        tokenizerConfig      json
        isLangfuseManaged    bool
        createdAt            time
        prices               json
    """),
    "comments": _table("""
        id                   str
        projectId            str
        objectType           str
        objectId             str
        content              str
        authorUserId         str
        createdAt            time
        updatedAt            time
    """),
    "annotation_queues": _table("""
        id                   str
        name                 str
        description          str
        scoreConfigIds       json
        createdAt            time
        updatedAt            time
    """),
    "annotation_queue_items": _table("""
        id                   str
        queueId              str
        objectId             str
        objectType           str
        status               str
        completedAt          time
        createdAt            time
        updatedAt            time
    """),
    "score_configs": _table("""
        id                   str
        name                 str
        dataType             str
        isArchived           bool
        minValue             float
        maxValue             float
        categories           json
        description          str
        projectId            str
        createdAt            time
        updatedAt            time
    """),
    "llm_connections": _table("""
        id                   str
        provider             str
        adapter              str
        displaySecretKey     str
        baseURL              str
        customModels         json
        withDefaultModels    bool
        extraHeaderKeys      json
        createdAt            time
        updatedAt            time
    """),
    "projects": _table("""
        id                   str
        name                 str
        organization         json
        metadata             json
        retentionDays        int
    """),
}


def observation_columns(fields) -> tuple[tuple[str, str], ...]:
    """Columns of an observations frame for the field groups ``fields`` (order: API group order).

    ``core`` is always included, ``latency`` and ``timeToFirstToken`` too (keys of
    every row; the client requests the ``metrics`` group so that Langfuse fills
    ``timeToFirstToken``, which it leaves null without ``time``/``metrics``).
    Unknown group names raise ``ValueError`` listing the valid ones (the server
    would silently drop them).
    """
    groups = set(fields) | {"core", "metrics"}
    unknown = sorted(groups - set(OBSERVATION_GROUPS))
    if unknown:
        raise ValueError(f"unknown field group(s) {', '.join(unknown)}; valid: {', '.join(OBSERVATION_GROUPS)}")
    cols: list[tuple[str, str]] = []
    for name, group in OBSERVATION_GROUPS.items():
        if name in groups:
            cols.extend(group)
    return tuple(cols)


def spec(resource: str) -> tuple[tuple[str, str], ...]:
    """The column table of ``resource`` (a key of :data:`SPECS`)."""
    try:
        return SPECS[resource]
    except KeyError:
        raise ValueError(f"unknown resource {resource!r}; valid: {', '.join(SPECS)}") from None


def column_table(resource: str) -> str:
    """A numpydoc ``Returns`` section listing the columns and dtypes of ``resource``."""
    cols = observation_columns(("core", "basic", "usage")) if resource == "observations" else spec(resource)
    width = max(len(c) for c, _ in cols)
    names = {code: (dtype if isinstance(dtype, str) else "object") for code, dtype in DTYPES.items()}
    pad = " " * 8  # the indentation of a method docstring
    rule = f"{pad}    {'=' * width} {'=' * 19}"
    lines = ["", f"{pad}Returns", f"{pad}-------", f"{pad}DataFrame", f"{pad}    One row per item; columns (dtype):", "",
             rule, f"{pad}    {'column'.ljust(width)} dtype", rule]
    lines += [f"{pad}    {c.ljust(width)} {names[code]}" for c, code in cols]
    lines += [rule, ""]
    return "\n".join(lines)


def document_columns(cls: type, resources: dict[str, str]) -> type:
    """Append the column table of each ``read_*`` method's resource to its docstring."""
    for method, resource in resources.items():
        fn = getattr(cls, method)
        if "Returns\n" not in (fn.__doc__ or ""):
            fn.__doc__ = (fn.__doc__ or "").rstrip() + "\n" + column_table(resource)
    return cls
