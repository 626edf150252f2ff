"""Write-back from a notebook: scores and dataset items, one request per row.

Rows are checked locally first (a row missing a required field, or holding a
value JSON cannot carry such as NaN inside ``metadata`` or infinity, is reported,
not sent), then posted concurrently through the shared transport (so retries and
the rate limiter apply). Every input row gets one result row with its ``outcome``:

=========================== ========= ==========================================
outcome                     written   meaning
=========================== ========= ==========================================
``written``                 True      the server confirmed it
``not written``             False     refused locally or by the server (4xx, 429)
``may have been written``   <NA>      sent, but no confirmation came back (lost
                                      answer, 5xx after every retry): it may be stored
=========================== ========= ==========================================

Rows without an ``id`` get a fresh UUID, so a retried POST upserts instead of
writing twice, and the result keeps it: re-sending the rows that were not
confirmed *with their ids* (``df.assign(id=result["id"])[result["outcome"] != "written"]``)
upserts instead of duplicating.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from lfnb.errors import ConfigError, LfnbError
from lfnb.http.transport import json_problem

__all__ = ["create_scores", "create_dataset_items", "SCORE_FIELDS", "DATASET_ITEM_FIELDS"]

SCORE_FIELDS = ("id", "traceId", "sessionId", "observationId", "datasetRunId", "name", "value", "comment",
                "metadata", "environment", "queueId", "dataType", "configId")
DATASET_ITEM_FIELDS = ("id", "input", "expectedOutput", "metadata", "sourceTraceId", "sourceObservationId",
                       "status")


OUTCOMES = ("written", "not written", "may have been written")


def _plain(value: Any, top: bool = True) -> Any:
    """A JSON-ready Python value, at any depth: numpy/pandas scalars unwrapped, Timestamps ISO text,
    Decimals floats, tuples/arrays lists, NA → None.

    A top-level NaN is a missing cell (None, left out of the body); a NaN or infinity
    inside a dict/list stays, so the row is reported as not JSON instead of silently changed.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if top and math.isnan(value) else value
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else float("nan")
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, dict):
        return {k: _plain(v, False) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v, False) for v in value]
    return value


def _bodies(df: pd.DataFrame, fields: tuple[str, ...]) -> list[dict]:
    if not isinstance(df, pd.DataFrame):
        raise ConfigError(f"expected a DataFrame, got {type(df).__name__}")
    unknown = [c for c in df.columns if c not in fields]
    if unknown:
        raise ConfigError(f"unknown column(s) {', '.join(map(str, unknown))}; valid columns: {', '.join(fields)}")
    out = []
    for rec in df.to_dict("records"):
        body = {k: _plain(v) for k, v in rec.items()}
        out.append({k: v for k, v in body.items() if v is not None})
    return out


def _post_all(transport: Any, path: str, bodies: list[dict], check: Callable[[dict], str | None],
              index: pd.Index, workers: int) -> pd.DataFrame:
    def one(body: dict) -> tuple[str | None, str, str | None]:
        problem = check(body)
        if problem:
            return body.get("id"), "not written", problem
        body.setdefault("id", str(uuid.uuid4()))
        not_json = json_problem(body)
        if not_json:
            return body["id"], "not written", f"row is not JSON-serialisable: {not_json}"
        try:
            # idempotent: the body carries an id the server upserts on, so a retry cannot duplicate
            reply = transport.request("POST", path, json_body=body, idempotent=True)
        except LfnbError as exc:
            if getattr(exc, "may_have_applied", False):
                return body["id"], "may have been written", (
                    f"may have been written (no confirmation came back; re-send it with id {body['id']} to "
                    f"upsert, not duplicate): {exc}")
            return body["id"], "not written", str(exc)
        written_id = reply.get("id", body["id"]) if isinstance(reply, dict) else body["id"]
        return written_id, "written", None

    if workers > 1 and len(bodies) > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lfnb-write") as pool:
            results = list(pool.map(one, bodies))
    else:
        results = [one(b) for b in bodies]
    written = {"written": True, "not written": False, "may have been written": None}
    return pd.DataFrame({
        "id": pd.Series([r[0] for r in results], dtype="str", index=index),
        "written": pd.Series([written[r[1]] for r in results], dtype="boolean", index=index),
        "outcome": pd.Series([r[1] for r in results], dtype="str", index=index),
        "error": pd.Series([r[2] for r in results], dtype="str", index=index),
    })


def create_scores(transport: Any, df: pd.DataFrame, *, workers: int = 4) -> pd.DataFrame:
    """Post each row of ``df`` as a score (``POST /api/public/scores``).

    Parameters
    ----------
    df : DataFrame
        Columns named as the API: ``name`` and ``value`` required, and one of
        ``traceId``, ``sessionId``, ``observationId``, ``datasetRunId``; optional
        ``id``, ``comment``, ``metadata``, ``environment``, ``queueId``,
        ``dataType``, ``configId``. Missing values are left out of the request.

    Returns
    -------
    DataFrame
        Same index as ``df``; columns ``id`` (str, also for rows that failed),
        ``written`` (boolean: True, False, or NA when it may have been written),
        ``outcome`` (str: ``written``, ``not written``, ``may have been written``),
        ``error`` (str, NA when written). See the module docstring for re-sending.
    """
    def check(body: dict) -> str | None:
        missing = [k for k in ("name", "value") if k not in body]
        if missing:
            return f"missing required field(s): {', '.join(missing)}"
        if not any(k in body for k in ("traceId", "sessionId", "observationId", "datasetRunId")):
            return "a score needs one of traceId, sessionId, observationId, datasetRunId"
        return None

    return _post_all(transport, "/api/public/scores", _bodies(df, SCORE_FIELDS), check, df.index, workers)


def create_dataset_items(transport: Any, dataset_name: str, df: pd.DataFrame, *, workers: int = 4) -> pd.DataFrame:
    """Post each row of ``df`` as an item of dataset ``dataset_name`` (``POST /api/public/dataset-items``).

    ``df`` columns: ``input``, ``expectedOutput``, ``metadata``,
    ``sourceTraceId``, ``sourceObservationId``, ``id``, ``status``. Returns the
    per-row result frame of :func:`create_scores`.
    """
    if not dataset_name:
        raise ConfigError("dataset_name is required")
    bodies = _bodies(df, DATASET_ITEM_FIELDS)
    for body in bodies:
        body["datasetName"] = dataset_name

    def check(body: dict) -> str | None:
        return None if isinstance(body.get("metadata", {}), dict) else "metadata must be a dict"

    return _post_all(transport, "/api/public/dataset-items", bodies, check, df.index, workers)
