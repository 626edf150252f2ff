"""Reads whose endpoint depends on the server generation: observations, traces, sessions, scores.

Mixed into :class:`lfnb.client.Client`. On v4 servers these use the v2
observations and v3 scores endpoints; on v3 servers the v1 endpoints and v2
scores. The frame has the same columns either way (see each docstring for what
differs).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from lfnb.errors import warn_max_rows
from lfnb.frames.builder import FrameBuilder
from lfnb.frames.columns import OBSERVATION_GROUPS, SPECS, document_columns, observation_columns
from lfnb.langfuse.enums import OBSERVATION_LEVELS, OBSERVATION_TYPES, SCORE_DATA_TYPES, SCORE_SOURCES
from lfnb.langfuse.timestamps import iso, utc_now
from lfnb.reads.arguments import check_choice, check_fields, check_read, no_rows, time_range
from lfnb.reads.lists import ListReads, as_list, filter_json
from lfnb.reads.progress import Progress
from lfnb.reads.windows import dedupe, read_into, read_windows

__all__ = ["GenerationReads"]

CURSOR_LIMIT = 1000     # v2 observations: max 1000
SCORES_V3_LIMIT = 100   # v3 scores: max 100
PAGE_LIMIT = 100        # v1 endpoints: max 100


def _observations_v2(records: list) -> list:
    """v2 observation records (in place): ``providedModelName`` (the OpenAPI's spelling) becomes ``model``.

    Current servers and SDK 5 send ``model``; a server that follows the older OpenAPI
    text sends ``providedModelName``. Only pages that carry it are touched.
    """
    if records and "providedModelName" in records[0]:
        for r in records:
            name = r.pop("providedModelName", None)
            if r.get("model") is None:
                r["model"] = name
    return records


# v1 (strict APIObservation) name → the v2 name of the same value (both from reduceUsageOrCostDetails)
_V1_TO_V2 = (("calculatedInputCost", "inputCost"), ("calculatedOutputCost", "outputCost"),
             ("calculatedTotalCost", "totalCost"), ("promptTokens", "inputUsage"),
             ("completionTokens", "outputUsage"), ("totalTokens", "totalUsage"))


def _observations_v1(records: list) -> list:
    """v1 observation records shaped like v2 ones (in place): io as JSON text, derived flags,
    usage/cost under their v2 names (v1 sends ``calculatedTotalCost``, ``promptTokens``, …)."""
    for r in records:
        for key in ("input", "output"):
            v = r.get(key)
            if v is not None and not isinstance(v, str):
                r[key] = json.dumps(v, ensure_ascii=False)
        if r.get("isRootObservation") is None:
            r["isRootObservation"] = r.get("parentObservationId") is None
        for v1, v2 in _V1_TO_V2:
            if r.get(v2) is None and r.get(v1) is not None:
                r[v2] = r[v1]
    return records


def _scores_v3(records: list) -> list:
    """v3 score records shaped like v2 ones: subject → traceId/observationId/sessionId/datasetRunId."""
    for r in records:
        subject = r.get("subject") or {}
        kind, sid = subject.get("kind"), subject.get("id")
        if kind == "trace":
            r.setdefault("traceId", sid)
        elif kind == "observation":
            r.setdefault("observationId", sid)
            r.setdefault("traceId", subject.get("traceId"))
        elif kind == "session":
            r.setdefault("sessionId", sid)
        elif kind == "experiment":
            r.setdefault("datasetRunId", sid)
        value, _dtype = r.get("value"), r.get("dataType")
        if isinstance(value, bool):
            r["value"], r["stringValue"] = float(value), "True" if value else "False"
        elif isinstance(value, str):
            r["value"], r["stringValue"] = None, value
    return records


class GenerationReads(ListReads):
    """``read_observations``, ``read_traces``, ``read_sessions``, ``read_scores``.

    ``from_time, to_time`` are the only positional pair (a time range reads naturally
    as two values); everything after them is keyword-only as the house style asks.
    """

    def read_observations(self, from_time: Any = None, to_time: Any = None, *,
                          fields: str | Sequence[str] = ("core", "basic", "usage"), filter: Any = None,
                          type: str | None = None, name: str | None = None, trace_id: str | None = None,
                          user_id: str | None = None, session_id: str | None = None, level: str | None = None,
                          environment: str | Iterable[str] | None = None, version: str | None = None,
                          parent_observation_id: str | None = None, max_rows: int | None = None,
                          workers: int = 1, progress: bool | None = None, limit: int = CURSOR_LIMIT) -> pd.DataFrame:
        """Every observation with ``from_time <= startTime < to_time`` as a typed DataFrame.

        Parameters
        ----------
        from_time, to_time : str, datetime or Timestamp, optional
            Naive values are UTC. ``to_time`` is exclusive.
        fields : sequence of str
            Field groups: core (always), basic, time, io, metadata, model, usage,
            prompt, metrics, trace_context. ``latency`` and ``timeToFirstToken``
            columns are always there: on v4 the client always adds the ``metrics``
            group to the request, because Langfuse returns ``timeToFirstToken`` as
            null on every row unless ``time`` or ``metrics`` is requested.
        filter : list of Filter/dict, or JSON text
            Validated with :func:`lfnb.filters.validate_filters` before sending.
        type, name, trace_id, user_id, session_id, level, environment, version, parent_observation_id
            Simple filters (``environment`` may be a list: any of).
        max_rows : int, optional
            Stop after this many rows (``LfnbTruncationWarning`` when more exist).
        workers : int
            With ``workers > 1`` (and no ``max_rows``) the range is read as several
            start-time windows that follow the data (v4) or pages 2..N are read
            concurrently (v3); capped at the transport's ``pool_size``.
        progress : bool, optional
            Progress bar (percentage, rows, rate, retries) for reads over a second; default: only
            in interactive sessions. An ``ipywidgets.HTML`` draws the bar in that widget.
        limit : int
            Rows per request (v4: up to 1000; v3: capped at 100).

        Returns
        -------
        DataFrame
            One row per observation in the server's order (``startTime`` descending),
            columns per field group as in :data:`lfnb.frames.columns.OBSERVATION_GROUPS`
            (``id`` str, ``startTime`` datetime64[us, UTC], ``usageDetails.input``
            Int64, ``costDetails.total`` Float64, ``metadata`` dicts, …).

        Notes
        -----
        On v3 servers (v1 endpoint): ``userId``, ``sessionId``, ``bookmarked``,
        ``public``, ``projectId`` and the trace_context columns are missing (NA)
        because the v1 endpoint does not return them; ``isRootObservation`` is
        derived from ``parentObservationId``; ``input``/``output`` are the v1
        values serialised as JSON text (v2 returns raw text); metadata is not
        truncated (v2 truncates values to 200 characters).
        """
        groups = check_fields(fields, tuple(OBSERVATION_GROUPS))
        check_choice("type", type, OBSERVATION_TYPES)
        check_choice("level", level, OBSERVATION_LEVELS)
        check_read(limit=limit, max_rows=max_rows, workers=workers)
        columns = observation_columns(groups)
        start, end = time_range(from_time, to_time)
        if max_rows == 0:
            return no_rows(max_rows, columns)
        v4 = self.generation == "v4"
        target = "observations_v2" if v4 else "observations_v1"
        filter_text = filter_json(filter, target)
        params: dict[str, Any] = {"type": type, "name": name, "traceId": trace_id, "userId": user_id,
                                  "level": level, "environment": as_list(environment), "version": version,
                                  "parentObservationId": parent_observation_id}
        if v4:
            # "metrics" always: the frame has latency and timeToFirstToken columns, and Langfuse
            # leaves timeToFirstToken null unless the time or metrics group is requested
            params.update(fields=",".join(dict.fromkeys(("core", *groups, "metrics"))), sessionId=session_id,
                          filter=filter_text)
        else:
            if session_id is not None:  # v1 has no sessionId parameter; its filter column does exist
                cond = {"type": "string", "column": "sessionId", "operator": "=", "value": session_id}
                filter_text = json.dumps(json.loads(filter_text or "[]") + [cond])
            params["filter"] = filter_text
        operation = "observations_v2_get_many" if v4 else "observations_get_many"
        op, fetch, params = self._operation(operation, params)
        transport = self._transport

        limit = min(limit, CURSOR_LIMIT if v4 else PAGE_LIMIT)
        # More threads than pooled connections would only queue for a connection.
        workers = max(1, min(int(workers), transport.pool_size))
        with Progress(progress, "observations", transport, span=(start, end)) as bar:
            if v4 and workers > 1 and max_rows is None:
                # windows run side by side: no single cursor position, so rows and rate only
                return read_windows(fetch, columns, start=start, end=end or utc_now(), params=params, limit=limit,
                                    workers=workers, on_page=bar.page, transform=_observations_v2)
            fetch = bar.watch(fetch)   # totalPages (v1) or the cursor's time (v2) give the percentage
            if start is not None:
                params["fromStartTime"] = iso(start)
            if end is not None:
                params["toStartTime"] = iso(end)
            builder = FrameBuilder(columns)
            read_into(fetch, builder, paging="cursor" if v4 else "page", limit=limit, params=params,
                      max_rows=max_rows, workers=1 if v4 else workers, on_page=bar.page,
                      transform=_observations_v2 if v4 else _observations_v1)
        # One cursor chain (v4) or page-number pages (v3, where a row can move between
        # pages while they are read): ids are de-duplicated on v3 only.
        return builder.frame() if v4 else dedupe(builder.frame())

    def read_traces(self, from_time: Any = None, to_time: Any = None, *, user_id: str | None = None,
                    session_id: str | None = None, name: str | None = None,
                    environment: str | Iterable[str] | None = None, max_rows: int | None = None,
                    workers: int = 1, progress: bool | None = None) -> pd.DataFrame:
        """Every trace in ``[from_time, to_time)`` (naive datetimes are UTC).

        On v4 servers traces are built from v2 observations grouped by ``traceId``
        (the replacement Langfuse documents for ``GET /api/public/traces``):
        ``timestamp`` is the earliest observation ``startTime``, ``latency`` the
        span from the first start to the last end in seconds, ``totalCost`` the
        sum of the observations' ``totalCost``; ``version``, ``public``,
        ``bookmarked`` and ``metadata`` (trace-level) are NA; the time window
        applies to observation start times. ``max_rows`` counts traces. On v3 servers
        the rows come from ``GET /api/public/traces`` (``timestamp`` is the trace's).
        """
        check_read(max_rows=max_rows, workers=workers)
        time_range(from_time, to_time)
        if max_rows == 0:
            return no_rows(max_rows, SPECS["traces"])
        if self.generation == "v4":
            filt = None
            if name is not None:
                filt = [{"type": "stringOptions", "column": "traceName", "operator": "any of", "value": [name]}]
            obs = self.read_observations(from_time, to_time=to_time, fields=("core", "basic", "usage", "trace_context"),
                                         filter=filt, user_id=user_id, session_id=session_id,
                                         environment=environment, workers=workers, progress=progress)
            return _head(_traces_from_observations(obs), max_rows)
        start, end = time_range(from_time, to_time)
        return self._read_list("trace_list", "traces",
                               {"fromTimestamp": iso(start) if start is not None else None,
                                "toTimestamp": iso(end) if end is not None else None,
                                "userId": user_id, "sessionId": session_id, "name": name,
                                "environment": as_list(environment), "fields": "core,metrics"},
                               max_rows=max_rows, workers=workers, progress=progress)

    def read_sessions(self, from_time: Any = None, to_time: Any = None, *,
                      environment: str | Iterable[str] | None = None, max_rows: int | None = None,
                      workers: int = 1, progress: bool | None = None) -> pd.DataFrame:
        """Every session in ``[from_time, to_time)`` (naive datetimes are UTC).

        On v4 servers sessions are built from v2 observations grouped by
        ``sessionId`` (``createdAt`` = earliest observation ``startTime``; the
        window applies to observation start times); on v3 servers they come from
        ``GET /api/public/sessions`` (``createdAt`` is the session's own).
        """
        check_read(max_rows=max_rows, workers=workers)
        time_range(from_time, to_time)
        if max_rows == 0:
            return no_rows(max_rows, SPECS["sessions"])
        if self.generation == "v4":
            obs = self.read_observations(from_time, to_time=to_time, fields=("core", "basic"), environment=environment,
                                         filter=[{"type": "null", "column": "sessionId", "operator": "is not null",
                                                  "value": ""}],
                                         workers=workers, progress=progress)
            return _head(_sessions_from_observations(obs), max_rows)
        start, end = time_range(from_time, to_time)
        return self._read_list("sessions_list", "sessions",
                               {"fromTimestamp": iso(start) if start is not None else None,
                                "toTimestamp": iso(end) if end is not None else None,
                                "environment": as_list(environment)},
                               max_rows=max_rows, workers=workers, progress=progress)

    def read_scores(self, from_time: Any = None, to_time: Any = None, *, name: str | None = None,
                    source: str | None = None, data_type: str | None = None, trace_id: str | None = None,
                    observation_id: str | None = None, session_id: str | None = None,
                    config_id: str | None = None, queue_id: str | None = None,
                    environment: str | Iterable[str] | None = None, max_rows: int | None = None,
                    workers: int = 1, progress: bool | None = None) -> pd.DataFrame:
        """Every score with ``from_time <= timestamp < to_time`` (naive datetimes are UTC).

        v4 servers: ``GET /api/public/v3/scores`` (cursor). Its ``subject`` becomes
        ``traceId``/``observationId``/``sessionId``/``datasetRunId``; categorical,
        text and correction scores have ``stringValue`` and NA ``value`` (v2 gives
        categorical scores a numeric mapping); boolean scores get ``value`` 0/1 and
        ``stringValue`` "True"/"False" as on v2; ``workers > 1`` reads time windows in
        parallel as :meth:`read_observations` does. A score of a dataset run (experiment)
        has ``datasetRunId`` and NA ``traceId`` (v3's ``subject`` names one of them).

        v3 servers: ``GET /api/public/v2/scores`` (page-based; ``workers`` reads pages
        concurrently). Self-hosted v3 from v3.180.0 also serves ``/v3/scores``; lfnb does
        not use it there: ``bench/scores.py`` (3,626 scores, 100 ms per request) reads
        them 1.7x faster through the v3 cursor than through sequential v2 pages, but
        3.8x faster through v2 pages with ``workers=8``, and v2 works on every v3
        version and keeps the v3 frame as it was (categorical scores keep their
        numeric ``value``).
        """
        check_read(max_rows=max_rows, workers=workers)
        check_choice("data_type", data_type, SCORE_DATA_TYPES)
        check_choice("source", source, SCORE_SOURCES)
        start, end = time_range(from_time, to_time)
        if max_rows == 0:
            return no_rows(max_rows, SPECS["scores"])
        params: dict[str, Any] = {
            "fromTimestamp": iso(start) if start is not None else None,
            "toTimestamp": iso(end) if end is not None else None,
            "name": name, "source": source, "dataType": data_type, "traceId": trace_id,
            "observationId": observation_id, "sessionId": session_id, "configId": config_id, "queueId": queue_id,
        }
        envs = as_list(environment)
        if self.generation == "v4":
            params.update(fields="details,subject,annotation", environment=",".join(envs) if envs else None)
            workers = max(1, min(int(workers), self._transport.pool_size))
            if workers > 1 and max_rows is None:
                # v3 scores are a cursor chain sorted by timestamp: parallel windows as for observations.
                op, fetch, query = self._operation("scores_v3_get_many", params)
                transport = self._transport
                with Progress(progress, op.name, transport) as bar:
                    return read_windows(fetch, SPECS["scores"], start=start, end=end or utc_now(),
                                        params={k: v for k, v in query.items() if k not in ("fromTimestamp",
                                                                                            "toTimestamp")},
                                        limit=SCORES_V3_LIMIT, workers=workers, from_key="fromTimestamp",
                                        to_key="toTimestamp", time_key="timestamp", on_page=bar.page,
                                        transform=_scores_v3)
            return self._read_list("scores_v3_get_many", "scores", params, limit=SCORES_V3_LIMIT,
                                   max_rows=max_rows, progress=progress, transform=_scores_v3)
        params["environment"] = envs
        return self._read_list("score_v2_get", "scores", params, max_rows=max_rows, workers=workers,
                               progress=progress)


def _head(df: pd.DataFrame, max_rows: int | None) -> pd.DataFrame:
    if max_rows is None or len(df) <= max_rows:
        return df
    warn_max_rows(max_rows)
    return df.iloc[:max_rows].reset_index(drop=True)


def _typed(data: dict[str, Any], resource: str, n: int) -> pd.DataFrame:
    """A frame with exactly the columns/dtypes of ``resource``; absent columns are NA."""
    from lfnb.frames.builder import DTYPES, convert

    out = {}
    for col, code in SPECS[resource]:
        if col in data:
            out[col] = data[col].reset_index(drop=True).astype(DTYPES[code])
        else:
            out[col] = convert([None] * n, code)
    return pd.DataFrame(out, copy=False)


def _traces_from_observations(obs: pd.DataFrame) -> pd.DataFrame:
    """One row per ``traceId`` (first appearance order = latest observation first)."""
    if obs.empty:
        return _typed({}, "traces", 0)
    g = obs.groupby("traceId", sort=False)
    first = g.first()  # first non-null per column
    start = g["startTime"].min()
    finish = g["endTime"].max()
    latency = (finish - start).dt.total_seconds()
    data = {
        "id": pd.Series(first.index, dtype="str"),
        "timestamp": start,
        "name": first["traceName"],
        "userId": first["userId"],
        "sessionId": first["sessionId"],
        "release": first["release"],
        "environment": first["environment"],
        "tags": first["tags"],
        "latency": latency,
        "totalCost": g["totalCost"].sum(min_count=1),
    }
    return _typed(data, "traces", len(first))


def _sessions_from_observations(obs: pd.DataFrame) -> pd.DataFrame:
    obs = obs[obs["sessionId"].notna()]
    if obs.empty:
        return _typed({}, "sessions", 0)
    g = obs.groupby("sessionId", sort=False)
    first = g.first()
    data = {
        "id": pd.Series(first.index, dtype="str"),
        "createdAt": g["startTime"].min(),
        "projectId": first["projectId"],
        "environment": first["environment"],
    }
    return _typed(data, "sessions", len(first))


document_columns(GenerationReads, {"read_traces": "traces", "read_sessions": "sessions", "read_scores": "scores"})
