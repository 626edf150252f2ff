"""The one error hierarchy of lfnb.

::

    LfnbError
    ├── ConfigError               missing or malformed settings (keys, base URL, options)
    ├── TransportError            the request never got an HTTP answer (DNS, refused, reset, timeout)
    ├── ApiError                  the server answered with a 4xx/5xx: status, method, url, body excerpt
    │   ├── AuthError             401 / 403
    │   ├── NotFoundError         404
    │   ├── RateLimitError        429, with ``retry_after`` seconds
    │   └── ServerError           5xx and 524
    ├── PaginationError           a page or cursor that does not advance, or a malformed page
    └── QueryValidationError      a metrics query or filter that is invalid (also a ``ValueError``)

Warnings: ``LfnbTruncationWarning`` when a result was cut short (``max_rows``, a
metrics result with exactly ``row_limit`` rows).

No message, repr or attribute of these classes ever holds the secret key or an
``Authorization`` header: URLs are stored without credentials and bodies are
excerpts of what the server sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "LfnbError",
    "ConfigError",
    "TransportError",
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


class LfnbError(Exception):
    """Base class of every error lfnb raises."""


class ConfigError(LfnbError):
    """Settings are missing or malformed."""


class TransportError(LfnbError):
    """The request got no HTTP answer (connection refused or reset, timeout, DNS)."""


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
    """

    def __init__(self, status: int, method: str, url: str, body: Any = "", message: str | None = None):
        self.status = int(status)
        self.method = method
        self.url = url
        text = body if isinstance(body, str) else repr(body)
        self.body = text[:_BODY_EXCERPT]
        self.message = message or _message_from_body(text) or ""
        super().__init__(self._format())

    def _format(self) -> str:
        what = f"{self.method} {self.url} failed with HTTP {self.status}"
        if self.message:
            return f"{what}: {self.message}"
        if self.body:
            return f"{what}: {self.body}"
        return what


class AuthError(ApiError):
    """401/403: the keys are wrong or lack access. Check LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY."""


class NotFoundError(ApiError):
    """404: the resource or the endpoint does not exist on this server."""


class RateLimitError(ApiError):
    """429 after every retry was used. ``retry_after`` is the server's Retry-After in seconds."""

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any):
        self.retry_after = retry_after
        super().__init__(*args, **kwargs)


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


def _message_from_body(text: str) -> str | None:
    import json

    try:
        data = json.loads(text)
    except (ValueError, TypeError):
        return None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return data["message"]
    return None
