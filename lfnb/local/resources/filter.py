"""The ``filter=`` JSON query parameter of traces, v1 observations and v2 scores.

Parsing, validation (400s with the server's wording) and SQL come from
:mod:`lfnb.local.filters_sql`; this bridge adds the conditions to a handler's
:class:`Where` and reports which simple query params they override: Langfuse lets an
advanced filter win only over the simple param of the *same* field, the other simple
params still apply (facts sheet §3.2).
"""

from __future__ import annotations

from lfnb.langfuse.filter_columns import find_column
from lfnb.local import filters_sql
from lfnb.local.resources.common import ApiRequest, Where

__all__ = ["apply_filter", "OVERRIDES"]

_TARGETS = {"traces": "traces", "observations": "observations_v1", "scores": "scores"}

#: filter target → canonical filter column id → the simple query params it replaces
OVERRIDES: dict[str, dict[str, tuple[str, ...]]] = {
    "traces": {
        "userId": ("userId",), "name": ("name",), "sessionId": ("sessionId",), "version": ("version",),
        "release": ("release",), "timestamp": ("fromTimestamp", "toTimestamp"), "tags": ("tags",),
        "environment": ("environment",),
    },
    "observations_v1": {
        "name": ("name",), "userId": ("userId",), "type": ("type",), "traceId": ("traceId",),
        "level": ("level",), "parentObservationId": ("parentObservationId",),
        "environment": ("environment",), "startTime": ("fromStartTime", "toStartTime"),
        "version": ("version",),
    },
    "scores": {
        "userId": ("userId",), "name": ("name",), "source": ("source",), "sessionId": ("sessionId",),
        "traceId": ("traceId",), "dataType": ("dataType",), "timestamp": ("fromTimestamp", "toTimestamp"),
        "environment": ("environment",), "id": ("scoreIds",), "observationId": ("observationId",),
        "trace_tags": ("traceTags",), "value": ("operator", "value"),
    },
}
# aliases of one field (traces: traceName = name, traceTags = tags, traceId = id)
_CANONICAL = {"traces": {"traceName": "name", "traceTags": "tags"}}


def apply_filter(req: ApiRequest, target: str, where: Where, *, alias: str | None = None) -> set[str]:
    """Add the conditions of ``req``'s ``filter`` param for ``target`` to ``where``.

    Parameters
    ----------
    req : ApiRequest
    target : {"traces", "observations", "scores"}
    where : Where
        Receives the SQL condition and its bound parameters.
    alias : str, optional
        Table alias of the target table in the handler's FROM clause.

    Returns
    -------
    set of str
        Simple query-param names overridden by the filter.

    Raises
    ------
    ApiProblem
        400 for malformed JSON, a schema violation, an unknown column or a filter type
        the column does not accept (messages from :mod:`lfnb.local.filters_sql`).
    """
    name = _TARGETS[target]
    conditions = filters_sql.parse_filter_param(req.get("filter"), name)
    if not conditions:
        return set()
    sql, params = filters_sql.where_sql(conditions, name, alias=alias)
    where.add(sql, *params)
    overridden: set[str] = set()
    canonical = _CANONICAL.get(name, {})
    for cond in conditions:
        col = find_column(name, cond["column"])
        if col is None:
            continue
        overridden.update(OVERRIDES[name].get(canonical.get(col.id, col.id), ()))
    return overridden
