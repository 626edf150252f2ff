"""Checks of ``read_*`` arguments, before any request: a wrong value is a ``ConfigError`` saying what is valid.

Plausible mistakes must not turn into a silently empty frame (swapped times, epoch
seconds read as nanoseconds, ``limit=0``) or a raw ``TypeError`` from deep inside
(``fields=None``, ``workers="4"``).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from lfnb.errors import ConfigError, warn_truncated
from lfnb.langfuse.timestamps import to_utc

__all__ = ["time_range", "check_count", "check_choice", "check_fields", "check_read", "no_rows"]


def _time(value: Any, name: str):
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        raise ConfigError(f"{name}={value!r} is a number, which is ambiguous (pandas reads it as nanoseconds since "
                          f"1970); pass a date/time such as '2026-11-01T00:00:00Z', a datetime or a Timestamp "
                          f"(epoch seconds: pd.Timestamp({value!r}, unit='s'))")
    return to_utc(value, name)


def time_range(from_time: Any, to_time: Any, names: tuple[str, str] = ("from_time", "to_time")):
    """``(start, end)`` as UTC Timestamps (either may be None); ``end`` must be after ``start``."""
    start, end = _time(from_time, names[0]), _time(to_time, names[1])
    if start is not None and end is not None and end <= start:
        raise ConfigError(f"{names[1]} ({end.isoformat()}) must be after {names[0]} ({start.isoformat()}): "
                          f"the range [{names[0]}, {names[1]}) is empty. Swapped arguments?")
    return start, end


def check_count(name: str, value: Any, *, minimum: int, optional: bool = False) -> None:
    """``value`` is an int >= ``minimum`` (or None when ``optional``)."""
    if value is None and optional:
        return
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= minimum:
        return
    valid = f"an integer >= {minimum}" + (" or None" if optional else "")
    raise ConfigError(f"{name} must be {valid}, got {value!r}")


def check_choice(name: str, value: Any, valid: Sequence[str]) -> None:
    """``value`` is None or one of ``valid`` (case-sensitive, as the API is)."""
    if value is None or value in valid:
        return
    hint = f" (did you mean {value.upper()!r}?)" if isinstance(value, str) and value.upper() in valid else ""
    raise ConfigError(f"{name}={value!r} is not valid{hint}; valid values: {', '.join(valid)}")


def check_fields(fields: Any, valid: Sequence[str]) -> tuple[str, ...]:
    """Field groups from ``"a,b"`` or a sequence of names, each one of ``valid``."""
    if isinstance(fields, str):
        groups = tuple(f.strip() for f in fields.split(",") if f.strip())
    elif isinstance(fields, Sequence) and all(isinstance(f, str) for f in fields):
        groups = tuple(fields)
    else:
        raise ConfigError(f"fields must be a comma-separated string or a list of field groups, got {fields!r}; "
                          f"valid groups: {', '.join(valid)}")
    unknown = [g for g in groups if g not in valid]
    if unknown:
        raise ConfigError(f"unknown field group{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                          f"valid groups: {', '.join(valid)}")
    return groups


def check_read(*, limit: Any = 1, max_rows: Any = None, workers: Any = 1) -> None:
    """The paging arguments every ``read_*`` shares."""
    check_count("limit", limit, minimum=1)
    check_count("max_rows", max_rows, minimum=0, optional=True)
    check_count("workers", workers, minimum=1)


def no_rows(max_rows: int | None, columns: Sequence[tuple[str, str]]):
    """For ``max_rows=0``: the empty frame with every column, and a truncation warning; else None.

    No request is sent: every read answers ``max_rows=0`` the same way.
    """
    if max_rows != 0:
        return None
    from lfnb.frames.builder import FrameBuilder

    warn_truncated("max_rows=0: the result holds no rows (none were read)")
    return FrameBuilder(columns).frame()
