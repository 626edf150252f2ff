"""The ``filter=`` JSON query parameter of traces, v1 observations and v2 scores.

The filter JSON → SQL translation belongs to ``lfnb.local.filters_sql`` (owned by the
v2-observations engineer). Until it is available this bridge answers a request that
carries a non-empty ``filter`` with a 400 saying so, rather than silently ignoring
the conditions and returning rows they would have excluded.

:func:`apply_filter` returns the names of the simple query params the filter
overrides: Langfuse lets an advanced filter win only over the simple param of the
*same* field; the other simple params still apply (facts sheet §3.2).
"""

from __future__ import annotations

from lfnb.local.resources_common import ApiRequest, Where, invalid_request

__all__ = ["apply_filter"]


def apply_filter(req: ApiRequest, target: str, where: Where, *, alias: str | None = None) -> set[str]:
    """Add the conditions of ``req``'s ``filter`` param for ``target`` to ``where``.

    Parameters
    ----------
    req : ApiRequest
    target : {"traces", "observations", "scores"}
    where : Where
        Receives the SQL conditions and their bound parameters.
    alias : str, optional
        Table alias of the target table in the handler's FROM clause.

    Returns
    -------
    set of str
        Simple query-param names overridden by the filter.
    """
    raw = req.get("filter")
    if raw is None or raw.strip() in ("", "[]"):
        return set()
    raise invalid_request(
        f"The filter parameter of {req.path} is not supported by lfnb.local yet; "
        "use the simple query parameters (userId, name, environment, ...) instead.")
