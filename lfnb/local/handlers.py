"""The framework-free contract between lfnb.local's HTTP app and its endpoint handlers.

A handler is ``handler(store, req) -> Reply | dict | list`` where ``req`` is a
:class:`ApiRequest`. A plain dict/list is sent as ``200`` JSON. A handler signals an
error by raising :class:`ApiProblem` with the status and the JSON body Langfuse sends.
Handlers never see Starlette, so they are unit-testable with plain objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    path_params: dict[str, str]
    query: list[tuple[str, str]]           # every (name, value) pair, repeated names kept in order
    body: Any = None                       # parsed JSON body (None when absent)
    headers: dict[str, str] = field(default_factory=dict)
    generation: str = "both"               # the server's: "v4", "v3" or "both" (see require_v4; ingestion accepts per generation)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The last value of a query parameter (Node's behaviour for repeated scalars)."""
        found = default
        for key, value in self.query:
            if key == name:
                found = value
        return found

    def get_all(self, name: str) -> list[str]:
        return [value for key, value in self.query if key == name]


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    raw_json: bytes | None = None          # pre-serialised body (fast paths); wins over ``body``


class ApiProblem(Exception):
    """An error response: ``status`` and the JSON ``body`` the real server sends."""

    def __init__(self, status: int, body: dict, headers: dict[str, str] | None = None):
        self.status = status
        self.body = body
        self.headers = headers or {}
        super().__init__(f"{status}: {body.get('message', body)}")


def invalid_request(message: str, error: Any = "InvalidRequestError") -> ApiProblem:
    """400 with Langfuse's generic ``{"message", "error"}`` body."""
    return ApiProblem(400, {"message": message, "error": error})


def zod_error(issues: list[dict]) -> ApiProblem:
    """400 as a zod schema failure: ``{"message": "Invalid request data", "error": [issues]}``."""
    return ApiProblem(400, {"message": "Invalid request data", "error": issues})


def not_found(message: str, error: str = "LangfuseNotFoundError") -> ApiProblem:
    return ApiProblem(404, {"message": message, "error": error})


def scalar_list(req: ApiRequest, name: str) -> list[str]:
    """A string-options query parameter as Langfuse's public-API filter builder reads it.

    One value is split on ``,`` without trimming or dropping empties (``a, b`` → ``["a", " b"]``,
    ``""`` → ``[""]``, which matches nothing); a repeated parameter arrives as an array and
    is taken as is (``a,b&c`` → ``["a,b", "c"]``). Source:
    ``packages/shared/src/server/queries/public-api-filter-builder.ts``
    (``convertApiProvidedFilterToClickhouseFilter``: ``Array.isArray(value) ? value : value.split(",")``).
    """
    values = req.get_all(name)
    if len(values) == 1:
        return values[0].split(",")
    return values


_V4_DOCS = "Learn more at: https://langfuse.com/docs/v4"
#: Reads only a v4 write mode serves, and the 404 message a v3 server answers with.
V4_ONLY_MESSAGES = {
    "observations_v2": f"The observations v2 API is only available in a Langfuse v4 write mode. {_V4_DOCS}",
    "metrics_v2": f"The metrics v2 API is only available in a Langfuse v4 write mode. {_V4_DOCS}",
    "experiments": f"The experiments API is only available in a Langfuse v4 write mode. {_V4_DOCS}",
    "experiment_items": f"The experiment items API is only available in a Langfuse v4 write mode. {_V4_DOCS}",
}


def require_v4(req: ApiRequest, api: str) -> None:
    """404 ``LangfuseNotFoundError`` on a v3 server for a v4-only read.

    Langfuse throws this inside the route's ``fn``, i.e. after authentication, rate
    limiting and zod parsing of the query (``web/src/pages/api/public/v2/observations/index.ts``,
    ``v2/metrics.ts``, ``experiments/index.ts``, ``experiment-items/index.ts``), so handlers
    call it right after their parameter validation: an invalid request is a 400 there too.
    """
    if req.generation == "v3":
        raise not_found(V4_ONLY_MESSAGES[api])


Handler = Callable[[Any, ApiRequest], Any]
