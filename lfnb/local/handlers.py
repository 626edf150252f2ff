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
    generation: str = "both"               # the server's generation (ingestion accepts per generation)

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


Handler = Callable[[Any, ApiRequest], Any]
