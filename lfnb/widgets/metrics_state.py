"""State and pure functions of :class:`lfnb.widgets.MetricsExplorer` (no ipywidgets here).

The state is what the controls show; :func:`to_query` turns it into the Metrics
API query dict (through :class:`lfnb.metrics.MetricsQuery`, so the preview, the
Python code and the request are the same object), and :func:`from_query` loads
a saved query back. Relative time ranges (last 24 h / 7 d / 30 d) are resolved
against an injected ``now`` when the query is built; a state loaded from a
query has the ``custom`` range with that query's timestamps, so
``to_query(from_query(q)) == q`` for every query the explorer can show.
:func:`state_to_dict` / :func:`state_from_dict` keep the relative range instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta

from lfnb.metrics import MetricsQuery, query_issues
from lfnb.metrics import schemas as metrics_schemas
from lfnb.metrics.query import to_timestamp
from lfnb.widgets.filter_state import FilterState, condition_code, metrics_target, row_issues, state_from_filters

__all__ = ["MetricsState", "TIME_RANGES", "resolve_range", "to_query", "from_query", "query_code", "issues",
           "measure_choices", "aggregation_choices", "dimension_choices", "metric_pairs", "order_choices",
           "with_view", "with_measures", "state_to_dict", "state_from_dict", "utc_now", "filter_state",
           "GRANULARITIES"]

TIME_RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
GRANULARITIES = ("auto", "minute", "hour", "day", "week", "month")


@dataclass(frozen=True)
class MetricsState:
    """Everything a MetricsExplorer shows.

    ``metrics`` are ``(measure, aggregation)`` pairs; ``granularity`` None means
    no time dimension; ``time_range`` is ``24h``, ``7d``, ``30d`` or ``custom``
    (then ``from_time``/``to_time`` are ISO strings); ``filters`` are API
    condition dicts; ``order_by`` ``(field, direction)`` pairs.
    """

    version: str = "v2"
    view: str = "observations"
    metrics: tuple[tuple[str, str], ...] = (("count", "count"),)
    dimensions: tuple[str, ...] = ()
    granularity: str | None = "auto"
    time_range: str = "7d"
    from_time: str | None = None
    to_time: str | None = None
    filters: tuple[dict, ...] = field(default_factory=tuple)
    row_limit: int | None = None
    order_by: tuple[tuple[str, str], ...] = ()
    bins: int | None = None


def utc_now() -> datetime:
    """Now in UTC, to the minute (so a query built twice within a minute is the same query)."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def resolve_range(state: MetricsState, now: datetime | None = None) -> tuple[str | None, str | None]:
    """``(fromTimestamp, toTimestamp)`` of the state (relative ranges end at ``now``)."""
    if state.time_range == "custom":
        return (to_timestamp(state.from_time) if state.from_time else None,
                to_timestamp(state.to_time) if state.to_time else None)
    if state.time_range not in TIME_RANGES:
        raise ValueError(f"time_range must be one of {', '.join(TIME_RANGES)}, custom; got {state.time_range!r}")
    end = now or utc_now()
    return to_timestamp(end - TIME_RANGES[state.time_range]), to_timestamp(end)


def _builder(state: MetricsState, now: datetime | None) -> MetricsQuery:
    q = MetricsQuery(state.view)
    for measure, aggregation in state.metrics:
        q = q.measure(measure, aggregation)
    if state.dimensions:
        q = q.by(*state.dimensions)
    if state.granularity:
        q = q.every(state.granularity)
    start, end = resolve_range(state, now)
    if start and end:
        q = q.between(start, end)
    if state.filters:
        q = q.where(*state.filters)
    for field_, direction in state.order_by:
        q = q.order(field_, direction)
    if state.row_limit is not None:
        q = q.limit(state.row_limit)
    if state.bins is not None:
        q = q.bins(state.bins)
    return q


def to_query(state: MetricsState, now: datetime | None = None) -> dict:
    """The Metrics API query dict of a state."""
    return _builder(state, now).to_dict()


def from_query(query: dict, *, version: str = "v2") -> MetricsState:
    """A state showing a query dict (``custom`` time range with its timestamps)."""
    td = query.get("timeDimension")
    config = query.get("config") or {}
    return MetricsState(
        version=version,
        view=str(query.get("view", "observations")),
        metrics=tuple((m["measure"], m["aggregation"]) for m in query.get("metrics") or []),
        dimensions=tuple(d["field"] for d in query.get("dimensions") or []),
        granularity=td.get("granularity") if isinstance(td, dict) else None,
        time_range="custom",
        from_time=query.get("fromTimestamp"),
        to_time=query.get("toTimestamp"),
        filters=tuple(dict(f) for f in query.get("filters") or []),
        row_limit=config.get("row_limit"),
        order_by=tuple((o["field"], o.get("direction", "asc")) for o in query.get("orderBy") or []),
        bins=config.get("bins"),
    )


def issues(state: MetricsState, now: datetime | None = None) -> list[dict]:
    """Every problem of the state's query for its API version (``path``, ``message``)."""
    return query_issues(to_query(state, now), state.version)


def query_code(state: MetricsState, now: datetime | None = None, *, client: str = "lf") -> str:
    """Python that builds the same query with ``MetricsQuery`` and runs it."""
    start, end = resolve_range(state, now)
    filter_state = state_from_filters(metrics_target(state.view, state.version), state.filters)
    problems = row_issues(filter_state)
    lines = [f"    MetricsQuery({state.view!r})"]
    lines += [f"    .measure({m!r}, {a!r})" for m, a in state.metrics]
    if state.dimensions:
        lines.append("    .by(" + ", ".join(repr(d) for d in state.dimensions) + ")")
    if state.granularity:
        lines.append(f"    .every({state.granularity!r})")
    if start and end:
        lines.append(f"    .between({start!r}, {end!r})")
    for cond, bad in zip(state.filters, problems):
        lines.append(f"    .where({cond!r})" if bad else f"    .where({condition_code(cond)})")
    lines += [f"    .order({f!r}, {d!r})" for f, d in state.order_by]
    if state.row_limit is not None:
        lines.append(f"    .limit({state.row_limit!r})")
    if state.bins is not None:
        lines.append(f"    .bins({state.bins!r})")
    imports = "from lfnb import Filter, MetricsQuery" if any("Filter." in ln for ln in lines) \
        else "from lfnb import MetricsQuery"
    run = f"{client}.read_metrics(query)" if state.version == "v2" else \
        f"{client}.read_metrics(query, version={state.version!r})"
    return f"{imports}\n\nquery = (\n" + "\n".join(lines) + f"\n)\ndf = {run}"


# --------------------------------------------------------------------------- choices


def measure_choices(version: str, view: str) -> list[str]:
    return list(metrics_schemas.view(version, view)["measures"])


def dimension_choices(version: str, view: str) -> list[str]:
    return list(metrics_schemas.view(version, view)["dimensions"])


def aggregation_choices(version: str, view: str, measures: Sequence[str] = ()) -> list[str]:
    """Aggregations valid for every one of ``measures`` (all when none is given)."""
    facts = metrics_schemas.view(version, view)["measures"]
    allowed = metrics_schemas.aggregations()
    for m in measures:
        if m in facts:
            valid = metrics_schemas.valid_aggregations(facts[m].get("type", ""))
            allowed = [a for a in allowed if a in valid]
    return allowed


def metric_pairs(version: str, view: str, measures: Sequence[str], aggregations: Sequence[str]) -> tuple:
    """measures × aggregations, keeping only the pairs the API accepts (string measures: count, uniq)."""
    facts = metrics_schemas.view(version, view)["measures"]
    out = []
    for m, a in itertools.product(measures, aggregations):
        if m in facts and a in metrics_schemas.valid_aggregations(facts[m].get("type", "")):
            out.append((m, a))
    return tuple(out)


def order_choices(state: MetricsState) -> list[str]:
    """Fields the API accepts in ``orderBy`` for this state (histograms are not orderable)."""
    out = ["time_dimension"] if state.granularity else []
    out += list(state.dimensions)
    out += [f"{a}_{m}" for m, a in state.metrics if a != "histogram"]
    return out


def with_view(state: MetricsState, view: str, version: str | None = None) -> MetricsState:
    """Switch view (and API version), keeping the metrics, dimensions, filters and order that stay valid."""
    version = version or state.version
    facts = metrics_schemas.view(version, view)
    metrics = tuple((m, a) for m, a in state.metrics if (m, a) in metric_pairs(version, view, [m], [a]))
    dims = tuple(d for d in state.dimensions if d in facts["dimensions"])
    new = replace(state, version=version, view=view, metrics=metrics or (("count", "count"),), dimensions=dims)
    allowed = set(order_choices(new))
    filters = tuple(f for f in state.filters if f.get("column") in set(facts["dimensions"]) | {facts["timeColumn"], "metadata"})
    return replace(new, filters=filters, order_by=tuple(o for o in state.order_by if o[0] in allowed))


def with_measures(state: MetricsState, measures: Sequence[str], aggregations: Sequence[str]) -> MetricsState:
    """Set the metrics to measures × aggregations (invalid pairs dropped); order keys that vanish go too."""
    new = replace(state, metrics=metric_pairs(state.version, state.view, measures, aggregations))
    allowed = set(order_choices(new))
    return replace(new, order_by=tuple(o for o in new.order_by if o[0] in allowed))


def state_to_dict(state: MetricsState) -> dict:
    """JSON-able dict of the state (keeps a relative time range relative)."""
    d = asdict(state)
    d["metrics"] = [list(p) for p in state.metrics]
    d["dimensions"] = list(state.dimensions)
    d["filters"] = [dict(f) for f in state.filters]
    d["order_by"] = [list(p) for p in state.order_by]
    return d


def state_from_dict(data: dict) -> MetricsState:
    """Inverse of :func:`state_to_dict`."""
    d = dict(data)
    d["metrics"] = tuple(tuple(p) for p in d.get("metrics", ()))
    d["dimensions"] = tuple(d.get("dimensions", ()))
    d["filters"] = tuple(dict(f) for f in d.get("filters", ()))
    d["order_by"] = tuple(tuple(p) for p in d.get("order_by", ()))
    return MetricsState(**d)


def filter_state(state: MetricsState) -> FilterState:
    """The FilterBuilder state for the explorer's current view."""
    return state_from_filters(metrics_target(state.view, state.version), state.filters)
