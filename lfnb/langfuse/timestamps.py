"""Langfuse's timestamp rules, written once for the client and for lfnb.local.

* Naive datetimes are UTC everywhere (the house rule; Langfuse stores UTC).
* Query parameters and filter values are sent as ISO 8601 with milliseconds and ``Z``
  (:func:`iso`, :func:`to_iso`), the way Langfuse writes timestamps.
* Metrics queries keep a string that already carries an offset as written (the server
  accepts any offset matching :func:`parse_timestamp`); other values become ``…Z`` with
  the precision they carry (:func:`to_timestamp`).
* ``auto`` granularity picks bucket sizes with Langfuse's thresholds (:func:`auto_granularity`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from lfnb.errors import ConfigError

__all__ = ["to_utc", "iso", "utc_now", "to_iso", "to_timestamp", "parse_timestamp", "auto_granularity"]


def to_utc(value: Any, name: str = "time"):
    """A tz-aware UTC ``pandas.Timestamp`` from a str/datetime/date/Timestamp; naive values are UTC.

    ``None`` stays ``None``; anything else that is not a time is a ``ConfigError`` naming ``name``.
    """
    import pandas as pd

    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}={value!r} is not a date/time ({exc}); use e.g. '2026-11-01T00:00:00Z'") from None
    if ts is pd.NaT:
        raise ConfigError(f"{name} must be a date/time, got NaT")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def iso(ts) -> str:
    """ISO 8601 with milliseconds and ``Z`` of a UTC timestamp, as Langfuse writes timestamps."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def utc_now():
    """Now, as a tz-aware UTC ``pandas.Timestamp``."""
    import pandas as pd

    return pd.Timestamp(datetime.now(UTC))


def to_iso(value: Any) -> str:
    """A datetime (naive = UTC), date, or ISO string as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (filter values).

    Raises ``TypeError`` for other types and ``ValueError`` for unparseable strings.
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("z", "Z"))
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, date or ISO string, got {type(value).__name__}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_TS = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})$")


def parse_timestamp(text: str) -> datetime:
    """An offset-bearing ISO timestamp as an aware datetime (fractions beyond µs are cut).

    Raises ``ValueError`` for anything the metrics query schema's timestamp pattern rejects.
    """
    match = _TS.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"not an ISO datetime with offset: {text!r}")
    base, frac, offset = match.groups()
    offset = "+00:00" if offset == "Z" else offset
    if len(offset) == 5:
        offset = offset[:3] + ":" + offset[3:]
    frac = "." + (frac[:6].ljust(6, "0")) if frac else ""
    return datetime.fromisoformat(base + frac + offset)


def is_timestamp_text(text: Any) -> bool:
    """Whether ``text`` has the shape :func:`parse_timestamp` accepts (it may still name no real instant)."""
    return isinstance(text, str) and _TS.match(text) is not None


def to_timestamp(value: Any) -> str:
    """A metrics query timestamp: ISO 8601 with ``Z``. Naive datetimes and dates are UTC.

    Strings that already carry an offset are kept as written (the server
    accepts any offset); other strings are parsed and read as UTC.
    """
    if isinstance(value, str):
        try:
            parse_timestamp(value)
            return value
        except ValueError:
            value = datetime.fromisoformat(value)
    if hasattr(value, "to_pydatetime"):  # pandas.Timestamp
        value = value.to_pydatetime()
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, date or ISO string; got {type(value).__name__}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}" if value.microsecond % 1000 == 0 else f".{value.microsecond:06d}"
    return text + "Z"


def auto_granularity(start: Any, end: Any) -> str:
    """Langfuse's ``auto`` bucket size for a span (thresholds 2 h, 72 h, 60 d, 365 d); a missing bound → minute."""
    try:
        hours = (end - start).total_seconds() / 3600
    except (TypeError, AttributeError):
        hours = 0.0
    if hours != hours:  # NaT
        hours = 0.0
    if hours < 2:
        return "minute"
    if hours < 72:
        return "hour"
    if hours < 1440:
        return "day"
    if hours < 8760:
        return "week"
    return "month"
