"""Write-back from a notebook: scores and dataset items, one request per row.

Rows are checked locally first (a row missing a required field is reported, not
sent), then posted concurrently through the shared transport (so retries and
the rate limiter apply). Every input row gets one result row: ``written`` True
with the ``id``, or False with the ``error`` — a bad row never stops the good
ones and is never silently dropped. Rows without an ``id`` get a fresh UUID so
that a retried POST upserts instead of writing twice.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from lfnb.errors import ConfigError, LfnbError

__all__ = ["create_scores", "create_dataset_items", "SCORE_FIELDS", "DATASET_ITEM_FIELDS"]

SCORE_FIELDS = ("id", "traceId", "sessionId", "observationId", "datasetRunId", "name", "value", "comment",
                "metadata", "environment", "queueId", "dataType", "configId")
DATASET_ITEM_FIELDS = ("id", "input", "expectedOutput", "metadata", "sourceTraceId", "sourceObservationId",
                       "status")


def _plain(value: Any) -> Any:
    """A JSON-ready Python value (numpy/pandas scalars unwrapped, NA → None)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
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
    def one(body: dict) -> tuple[str | None, bool, str | None]:
        problem = check(body)
        if problem:
            return body.get("id"), False, problem
        body.setdefault("id", str(uuid.uuid4()))
        try:
            json.dumps(body)
        except (TypeError, ValueError) as exc:
            return body["id"], False, f"row is not JSON-serialisable: {exc}"
        try:
            reply = transport.request("POST", path, json_body=body)
        except LfnbError as exc:
            return body["id"], False, str(exc)
        written_id = reply.get("id", body["id"]) if isinstance(reply, dict) else body["id"]
        return written_id, True, None

    if workers > 1 and len(bodies) > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lfnb-write") as pool:
            results = list(pool.map(one, bodies))
    else:
        results = [one(b) for b in bodies]
    return pd.DataFrame({
        "id": pd.Series([r[0] for r in results], dtype="str", index=index),
        "written": pd.Series([r[1] for r in results], dtype="boolean", index=index),
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
        Same index as ``df``; columns ``id`` (str), ``written`` (boolean),
        ``error`` (str, NA when written).
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
