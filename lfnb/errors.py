"""The one error hierarchy of lfnb.

::

    LfnbError
    ├── ConfigError               missing or malformed settings or arguments (also a ``ValueError``)
    ├── TransportError            the request never got an HTTP answer (DNS, refused, reset, timeout)
    │   └── UnconfirmedWriteError a write was sent but its answer was lost: it MAY have been applied
    ├── ApiError                  the server answered with a 4xx/5xx: status, method, url, body excerpt
    │                             (the message lists the server's field-level issues, first three)
    │   ├── AuthError             401 / 403
    │   ├── NotFoundError         404
    │   ├── RateLimitError        429, with ``retry_after`` seconds
    │   └── ServerError           5xx and 524
    ├── PaginationError           a page or cursor that does not advance, or a malformed page
    └── QueryValidationError      a metrics query or filter that is invalid (also a ``ValueError``)

Warnings: ``LfnbTruncationWarning`` when a result was cut short (``max_rows``, a
metrics result with exactly ``row_limit`` rows).

No message, repr or attribute of these classes ever holds the secret key or an
``Authorization`` header: URLs are stored without credentials, bodies are
excerpts of what the server sent with any ``Basic``/``Bearer`` credential
replaced by ``***`` (a proxy may echo request headers), and the transport raises
them with no chained ``requests`` exception (whose request still carries the header).
"""

from __future__ import annotations

import json
import re
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

__all__ = [
    "LfnbError",
    "ConfigError",
    "TransportError",
    "UnconfirmedWriteError",
    "ApiError",
    "AuthError",
    "NotFoundError",
    "RateLimitError",
    "ServerError",
    "PaginationError",
    "QueryValidationError",
    "LfnbTruncationWarning",
]

_BODY_EXCERPT = 500
_ISSUES_SHOWN = 3
# ``Basic <base64>`` / ``Bearer <token>`` anywhere in a quoted body (an echoing proxy, a debug page).
# 16+ characters so that prose such as "need to use Basic auth" is left alone.
_CREDENTIAL = re.compile(r"\b(Basic|Bearer)(\s+)[A-Za-z0-9+/=._~-]{16,}")


def redact(text: str, *secrets: str) -> str:
    """``text`` with every Basic/Bearer credential and each of ``secrets`` replaced by ``***``."""
    text = _CREDENTIAL.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class LfnbError(Exception):
    """Base class of every error lfnb raises."""


class ConfigError(LfnbError, ValueError):
    """Settings or arguments are missing or malformed (also a ``ValueError``)."""


class TransportError(LfnbError):
    """The request got no HTTP answer (connection refused or reset, timeout, DNS).

    ``may_have_applied`` is True for a write of which some attempt may have reached the server.
    """

    may_have_applied = False


class UnconfirmedWriteError(TransportError):
    """A write (POST/PATCH without an id the server upserts on) was sent, but its answer was lost.

    The server may or may not have applied it, so it was not retried (a retry could
    write it twice). Check whether it exists before sending it again.
    """


class ApiError(LfnbError):
    """The server answered with an error status.

    Attributes
    ----------
    status : int
    method : str
    url : str
        The URL without credentials.
    body : str
        At most 500 characters of the response body.
    message : str
        The server's own message (``message`` of its JSON body) when it sent one.
    issues : list of dict
        The field-level problems of a validation answer (zod ``error: [{path, message}]``
        or ``errors: [...]``), each as ``{"path": "type", "message": "..."}``; the
        message shows the first three.
    note : str
        What lfnb adds (e.g. that a write may have been applied); empty by default.
    may_have_applied : bool
        True for a write of which some attempt may have been applied (a 5xx, a lost answer).
    """

    may_have_applied = False

    def __init__(self, status: int, method: str, url: str, body: Any = "", message: str | None = None,
                 note: str = ""):
        self.status = int(status)
        self.method = method
        self.url = url
        text = redact(body if isinstance(body, str) else repr(body))
        self.body = text[:_BODY_EXCERPT]
        data = _json(text)
        self.message = redact(message) if message else _message_from_body(data) or ""
        self.issues = _issues_from_body(data)
        self.note = note
        super().__init__(self._format())

    def _format(self) -> str:
        what = f"{self.method} {self.url} failed with HTTP {self.status}"
        if self.message:
            what = f"{what}: {self.message}"
        elif self.body and not self.issues:
            what = f"{what}: {self.body}"
        if self.issues:
            shown = "; ".join(f"{i['path']}: {i['message']}" if i["path"] else i["message"]
                              for i in self.issues[:_ISSUES_SHOWN])
            more = len(self.issues) - _ISSUES_SHOWN
            what = f"{what} ({shown}{f'; and {more} more' if more > 0 else ''})"
        if self.note:
            what = f"{what}. {self.note}"
        return what


class AuthError(ApiError):
    """401/403: the keys are wrong or lack access. Check LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY."""


class NotFoundError(ApiError):
    """404: the resource or the endpoint does not exist on this server."""


class RateLimitError(ApiError):
    """429 after every retry was used, or a wait for a rate limit longer than lfnb waits.

    Attributes
    ----------
    retry_after : float or None
        Seconds until the limit resets (the server's ``Retry-After``, or the
        client-side limiter's wait); None when unknown.
    resource : str or None
        The Langfuse rate-limit resource (``public-api``, ``public-api-v2-metrics``, …).
    reset_at : float or None
        When the limit resets, as a Unix time.
    client_side : bool
        True when lfnb's own limiter (``rate_limit=``) refused to send the request
        (``status`` is then 429 as if the server had answered).
    """

    def __init__(self, *args: Any, retry_after: float | None = None, resource: str | None = None,
                 client_side: bool = False, **kwargs: Any):
        self.retry_after = retry_after
        self.resource = resource
        self.reset_at = time.time() + retry_after if retry_after is not None else None
        self.client_side = client_side
        super().__init__(*args, **kwargs)

    def _format(self) -> str:
        if not self.client_side:  # lfnb's own limiter refused: no request went out
            return super()._format()
        return f"{self.method} {self.url} was not sent: {self.message}. {self.note}"


class ServerError(ApiError):
    """5xx or 524 after every retry was used."""


class PaginationError(LfnbError):
    """A page or cursor that does not advance, or a page that is not shaped as documented."""


class QueryValidationError(LfnbError, ValueError):
    """A query or filter is invalid; ``issues`` lists every problem.

    Each issue is a dict with ``path`` (JSON path such as ``$.metrics[0].aggregation``),
    ``message`` and, where known, ``valid`` (the valid choices).
    """

    def __init__(self, issues: Sequence[dict], *, shown: int = 3, title: str = "Invalid query"):
        self.issues = list(issues)
        lines = [f"{title}: {len(self.issues)} problem{'s' if len(self.issues) != 1 else ''}"]
        for issue in self.issues[:shown]:
            lines.append(f"- {issue.get('path', '$')}: {issue.get('message', '')}")
        if len(self.issues) > shown:
            lines.append(f"and {len(self.issues) - shown} more")
        super().__init__("\n".join(lines))


class LfnbTruncationWarning(UserWarning):
    """A result holds fewer rows than exist (``max_rows`` reached, or ``row_limit`` rows returned)."""


def warn_truncated(message: str) -> None:
    """Issue an :class:`LfnbTruncationWarning` pointing at the user's line (the first frame outside lfnb)."""
    frame, level = sys._getframe(0), 1
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == "lfnb":
        frame, level = frame.f_back, level + 1
    warnings.warn(message, LfnbTruncationWarning, stacklevel=level)


def warn_max_rows(max_rows: int) -> None:
    """``max_rows`` rows were kept and more exist."""
    warn_truncated(f"max_rows={max_rows} reached: the result holds the first {max_rows} rows, more exist")


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return None


def _message_from_body(data: Any) -> str | None:
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return data["message"]
    return None


def _issues_from_body(data: Any) -> list[dict]:
    """Langfuse's validation details: zod issues under ``error`` (or ``errors``; ingestion sends strings)."""
    if not isinstance(data, dict):
        return []
    raw = data.get("error") if isinstance(data.get("error"), list) else data.get("errors")
    if not isinstance(raw, list):
        return []
    issues = []
    for item in raw:
        if isinstance(item, dict) and isinstance(item.get("message"), str):
            path = item.get("path")
            path = ".".join(str(p) for p in path) if isinstance(path, list) else str(path or "")
            issues.append({"path": path, "message": item["message"]})
        elif isinstance(item, str):
            issues.append({"path": "", "message": item})
    return issues
