"""The HTTP face of lfnb.local: a Starlette app that speaks Langfuse's public REST API.

What happens to a request, in order (the order Langfuse's own middleware uses where it
matters, e.g. the events_only refusal comes before authentication):

1. ``latency_ms`` delay (emulates a remote server; the benchmark uses 100 ms);
2. fault injection (:mod:`lfnb.local.faults`), never on ``/api/public/health`` (``lost``
   runs steps 3-9 and then drops the connection instead of answering);
3. routing (:mod:`lfnb.local.routes`): unknown path → 404 JSON;
4. what Next.js does before Langfuse's handler runs (Langfuse's routes are Next API routes):
   a body over the route's ``sizeLimit`` (:mod:`lfnb.langfuse.bodylimits`: 4.5 MB for
   ingestion and dataset items) → 413, plain text ``Body exceeded 4.5mb limit``; a JSON body
   that does not parse (also one nested too deeply) → 400, plain text ``Invalid JSON``
   (``api-utils/node/parse-body.js``);
5. a known path with another method → 405 ``{"message": "Method not allowed", "error":
   "MethodNotAllowedError"}`` (``withMiddlewares.ts``; no ``Allow`` header);
6. generation ``v4``: routes Langfuse builds with ``rejectInEventsOnlyMode`` → 404 with its
   events_only message, before authentication and parameter validation;
7. HTTP Basic auth with the configured keys on every route except ``GET /api/public/health``
   (the only operation without ``security`` in the OpenAPI file); 401 ``{"message"}`` with
   Langfuse's wording;
8. rate limits (:mod:`lfnb.local.ratelimit`), when a plan is configured;
9. the handler (sync handlers in Starlette's thread pool), or 501 naming the operation;
   on a ``v3`` server the v4-only reads (v2 observations, v2 metrics, experiments) answer
   404 ``LangfuseNotFoundError`` from inside their handler, after parameter validation.

Every answer of Langfuse's own code is JSON, including errors (the two of step 4 are Next's
plain text): an exception escaping a handler is logged and becomes 500 ``{"message",
"error": "InternalServerError"}``; numbers JavaScript cannot hold (``1e400``, a 400-digit
integer) are 400 "Invalid request data" after authentication, as zod answers for
``Infinity``. A client that disconnects before its body arrived is logged in one line.

Difference from Langfuse, on purpose: a wrong public key is refused even with the right
secret key (Langfuse looks keys up by the secret's hash only).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import inspect
import json
import logging
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Mount, request_response

from lfnb.langfuse.bodylimits import body_limit, too_large_text
from lfnb.local.faults import FaultPlan, equivalent_cursor, error_reply, short_limit
from lfnb.local.handlers import ApiProblem, ApiRequest, Reply
from lfnb.local.ratelimit import RateLimiter
from lfnb.local.routes import (
    CURSOR_READS,
    EVENTS_ONLY_REJECTED,
    HEALTH_PATH,
    Operation,
    RouteTable,
    build_table,
)

log = logging.getLogger("lfnb.local")

GENERATIONS = ("v4", "v3", "both")
EVENTS_ONLY_MESSAGE = (
    "This endpoint is not available on deployments running in Langfuse v4 events_only mode. "
    "Learn more about Langfuse v4 at: https://langfuse.com/docs/v4"
)
_HOST_HINT = ". Confirm that you've configured the correct host."
_HIDDEN_HEADERS = {"authorization", "cookie", "proxy-authorization"}
_CURSOR_DEFAULT_LIMIT = 50   # v2 observations and v3 scores both default to 50 rows


def create_app(store, *, public_key: str, secret_key: str, generation: str = "v4",
               rate_limit: str | RateLimiter | None = None, faults: str | FaultPlan | None = None,
               latency_ms: float = 0) -> Starlette:
    """A Starlette app serving ``store`` as Langfuse's public API.

    Parameters
    ----------
    store : lfnb.local.store.Store
        The data; handlers read it through their own cursors.
    public_key, secret_key : str
        The one key pair HTTP Basic auth accepts.
    generation : {"v4", "v3", "both"}
        ``v4``: a v4 deployment in events_only mode (the v1 reads and dataset-run routes
        answer 404); ``v3``: a self-hosted v3 from v3.180.0 (v1 reads, v2 and v3 scores;
        v2 observations, v2 metrics and experiments answer 404); ``both``: everything.
    rate_limit : str or RateLimiter, optional
        ``"hobby"``, ``"core"`` or ``"pro"``, optionally ``":sliding"`` (default fixed windows).
    faults : str or FaultPlan, optional
        A fault spec, e.g. ``"500=0.02,drop=0.01,seed=7"`` (grammar in :mod:`lfnb.local.faults`).
    latency_ms : float
        Extra delay added to every request.

    Returns
    -------
    starlette.applications.Starlette
        ``app.state.lfnb`` holds the :class:`LocalApi` (route table, limiter, fault plan).
    """
    if generation not in GENERATIONS:
        raise ValueError(f"unknown generation {generation!r}; valid: {', '.join(GENERATIONS)}")
    if isinstance(rate_limit, str):
        rate_limit = RateLimiter.from_spec(rate_limit)
    if isinstance(faults, str):
        faults = FaultPlan.parse(faults) if faults.strip() else None
    api = LocalApi(store, build_table(), public_key, secret_key, generation, rate_limit, faults,
                   float(latency_ms or 0))
    # No method list: every method reaches the route table, so TRACE or PROPFIND get
    # Langfuse's JSON 405 like any other method the path does not serve.
    app = Starlette(routes=[Mount("", app=request_response(api.endpoint))])
    app.state.lfnb = api
    return app


@dataclass(repr=False)
class LocalApi:
    """Request flow of lfnb.local (see the module docstring). Holds no Starlette state."""

    store: Any
    table: RouteTable
    public_key: str
    secret_key: str
    generation: str
    limiter: RateLimiter | None
    faults: FaultPlan | None
    latency_ms: float

    def __repr__(self) -> str:
        return (f"LocalApi(generation={self.generation!r}, public_key={self.public_key!r}, "
                f"operations={len(self.table.operations())}, limiter={self.limiter!r})")

    async def endpoint(self, request: Request) -> Response:
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        method = "GET" if request.method == "HEAD" else request.method
        raw = request.scope.get("raw_path") or request.url.path.encode()
        path = raw.decode("latin-1").split("?", 1)[0].rstrip("/") or "/"

        fault, extra = (None, 0.0)
        if self.faults is not None and path != HEALTH_PATH:
            fault, extra = self.faults.draw()
            if fault == "drop":
                return await _drop(request)
            if fault in ("429", "500", "502", "503", "524"):
                status, headers, body = error_reply(fault, self.faults.retry_after)
                return json_response(status, body, headers)
            if fault == "slow":
                await asyncio.sleep(self.faults.slow_ms / 1000)
        try:
            response = await self._dispatch(request, method, path, fault, extra)
        except ClientDisconnect:
            # The client gave up (e.g. its timeout during a ``slow`` fault) before its body
            # arrived: nothing was applied and there is nobody to answer. One line, no traceback.
            log.info("client disconnected before its request body arrived: %s %s (fault %s); not applied",
                     method, path, fault or "none")
            return Response(status_code=499)
        if fault == "lost":
            return await _drop(request)   # applied above; the answer never leaves
        if fault == "slow":
            response.headers["X-Lfnb-Fault"] = "slow"
        return response

    async def _dispatch(self, request: Request, method: str, path: str, fault: str | None,
                        extra: float) -> Response:
        """Steps 3-9 of the module docstring."""
        op, params, allowed = self.table.match(method, path)
        if op is None and not allowed:
            return json_response(404, {"message": f"No API route matches {method} {path} on lfnb.local",
                                       "error": "NotFound"})
        # Next.js reads and parses the body before Langfuse's handler (405, events_only, auth) runs.
        limit = body_limit(method, op.template) if op is not None else None
        if limit is not None and await _over_limit(request, limit[1]):
            return Response(too_large_text(limit[0]), status_code=413)
        body, refused, zod_refusal = await _parse_body(request, method)
        if refused is not None:
            return refused
        if op is None:
            return json_response(405, {"message": "Method not allowed", "error": "MethodNotAllowedError"})
        if self.generation == "v4" and op.key in EVENTS_ONLY_REJECTED:
            return json_response(404, {"message": EVENTS_ONLY_MESSAGE})
        if op.key[1] != HEALTH_PATH:
            denied = self._authenticate(request.headers.get("authorization"))
            if denied:
                return json_response(401, {"message": denied})
        if self.limiter is not None and op.key[1] != HEALTH_PATH:
            refusal = self.limiter.consume(method, op.key[1], path)
            if refusal is not None:
                return json_response(refusal.status, refusal.body, refusal.headers)

        if op.handler is None:
            if op.key[1] == HEALTH_PATH:
                return json_response(200, {"status": "OK", "version": _version()})
            return json_response(501, {
                "message": f"{op.name} ({op.method} {op.template}) is not implemented in lfnb.local yet",
                "error": "NotImplemented", "operation": op.name})

        query = list(request.query_params.multi_items())
        cursor_read = op.key in CURSOR_READS
        if fault == "short" and cursor_read:
            smaller = short_limit(_last(query, "limit"), _CURSOR_DEFAULT_LIMIT, extra)
            if smaller is None:
                fault = None
            else:
                query = [(k, v) for k, v in query if k != "limit"] + [("limit", str(smaller))]
        if zod_refusal is not None:   # a number JSON.parse makes Infinity: zod refuses it in the handler
            return zod_refusal
        req = ApiRequest(method=method, path=path, path_params=params, query=query, body=body,
                         headers={k: v for k, v in request.headers.items() if k not in _HIDDEN_HEADERS},
                         generation=self.generation)
        response = await self._run(op, req)
        if fault in ("empty", "short") and cursor_read:
            response = _apply_page_fault(response, fault, _last(query, "cursor"),
                                         urlsafe=op.key[1] == "/api/public/v3/scores")
        return response

    def _authenticate(self, header: str | None) -> str | None:
        """None when the header carries the configured keys, else Langfuse's 401 message."""
        if not header:
            return "No authorization header"
        if header.startswith("Bearer "):
            return "Access denied - need to use basic auth with secret key"
        if not header.startswith("Basic "):
            return "Invalid authorization header"
        try:
            decoded = base64.b64decode(header.split(" ")[1], validate=True).decode("utf-8")
        except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
            return "Invalid authorization header" + _HOST_HINT
        username, sep, password = decoded.partition(":")
        if not sep or not username or not password:
            return "Invalid authorization header" + _HOST_HINT
        if not hmac.compare_digest(username.encode(), self.public_key.encode()):
            return "Invalid public key" + _HOST_HINT
        if not hmac.compare_digest(password.encode(), self.secret_key.encode()):
            return "Invalid credentials" + _HOST_HINT
        return None

    async def _run(self, op: Operation, req: ApiRequest) -> Response:
        try:
            if inspect.iscoroutinefunction(op.handler):
                result = await op.handler(self.store, req)
            else:
                result = await run_in_threadpool(op.handler, self.store, req)
        except ApiProblem as problem:
            return json_response(problem.status, problem.body, problem.headers)
        except Exception:  # noqa: BLE001 - the server's last line: a handler bug must become JSON 500, not a dead connection
            log.exception("handler of %s (%s %s) failed", op.name, req.method, req.path)
            return json_response(500, {"message": f"Internal error in lfnb.local while handling {op.name}",
                                       "error": "InternalServerError"})
        if isinstance(result, Reply):
            if result.raw_json is not None:
                return Response(result.raw_json, status_code=result.status, headers=result.headers,
                                media_type="application/json")
            return json_response(result.status, result.body, result.headers)
        if result is None:
            return Response(status_code=204)
        return json_response(200, result)


class _OutOfRange(ValueError):
    """A JSON number beyond a double (JavaScript's JSON.parse makes it Infinity)."""


_MAX_SAFE_INTEGER = 2**53 - 1


async def _parse_body(request: Request, method: str) -> tuple[Any, Response | None, Response | None]:
    """``(body, refusal now, refusal after auth)``, as Next.js's body parser hands it to Langfuse.

    A JSON body Next cannot parse is refused by Next itself, before Langfuse's code runs: 400,
    plain text ``Invalid JSON`` (``api-utils/node/parse-body.js``). A body that is not JSON (e.g.
    OTLP protobuf) reaches the handler as bytes. (Langfuse's OpenTelemetry routes turn the parser
    off and parse JSON themselves; lfnb.local does not emulate them.) A number JavaScript cannot hold (``1e400``) parses to
    ``Infinity`` and is refused later by zod (after authentication), as "Invalid request data".
    """
    if method not in ("POST", "PUT", "PATCH", "DELETE"):
        return None, None, None
    raw_body = await request.body()
    ctype = request.headers.get("content-type", "")
    if raw_body and ctype and "json" not in ctype:
        return raw_body, None, None
    if not raw_body.strip():
        return None, None, None
    try:
        return json.loads(raw_body, parse_int=_js_int, parse_float=_js_float, parse_constant=_no_constant), None, None
    except _OutOfRange as exc:
        return None, None, json_response(400, {"message": "Invalid request data", "error": [{
            "code": "invalid_type", "expected": "number", "received": "Infinity", "path": [],
            "message": f"Invalid input: expected number, received Infinity ({exc})"}]})
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        return None, Response("Invalid JSON", status_code=400), None


async def _over_limit(request: Request, limit: int) -> bool:
    """Whether the body is larger than ``limit`` bytes. Read whole (and cached for the handler):
    answering before a client has sent its body can reset its connection mid-upload."""
    return len(await request.body()) > limit


def _js_int(text: str) -> int | float:
    """An integer as JavaScript reads it: beyond 2**53 a double, beyond a double an error."""
    value = int(text)
    if abs(value) <= _MAX_SAFE_INTEGER:
        return value
    as_float = float(text)   # float() of a huge digit string is inf, never an OverflowError
    if not math.isfinite(as_float):
        raise _OutOfRange(f"{text[:20]}… has {len(text.lstrip('-'))} digits")
    return as_float


def _js_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _OutOfRange(f"{text[:40]} is beyond a double")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")   # NaN, Infinity: JSON.parse refuses them too


def _last(query: list[tuple[str, str]], name: str) -> str | None:
    found = None
    for key, value in query:
        if key == name:
            found = value
    return found


def _apply_page_fault(response: Response, fault: str, cursor: str | None, *, urlsafe: bool) -> Response:
    """Mark a short page, or turn a page into an empty one that resumes where it started."""
    if response.status_code != 200:
        return response
    if fault == "short":
        response.headers["X-Lfnb-Fault"] = "short"
        return response
    if not cursor:
        return response            # first page: no position to hand back (documented in faults.py)
    same = equivalent_cursor(cursor, urlsafe)
    if same is None:
        return response
    try:
        page = json.loads(response.body)
    except ValueError:
        return response
    if not isinstance(page, dict):
        return response
    page["data"] = []
    meta = page.get("meta") if isinstance(page.get("meta"), dict) else {}
    page["meta"] = {**meta, "cursor": same}
    return json_response(200, page, {"X-Lfnb-Fault": "empty"})


async def _drop(request: Request) -> Response:
    """Close the connection without answering (the ``drop`` fault).

    lfnb.local's uvicorn protocol puts the connection's transport in
    ``scope["extensions"]["lfnb.transport"]``; closing it before any byte is sent makes the
    client see the connection end without a response. uvicorn discards whatever the app
    sends after the disconnect, so the Response returned here never reaches the wire.
    """
    transport = request.scope.get("extensions", {}).get("lfnb.transport")
    if transport is None:
        raise RuntimeError("the drop fault needs lfnb.local.server's uvicorn protocol")
    transport.close()
    for _ in range(20):    # let uvicorn notice the disconnect so it does not log a missing response
        await asyncio.sleep(0.001)
        if transport.is_closing() and await request.is_disconnected():
            break
    return Response(status_code=499)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status_code=status, headers=headers or None, media_type="application/json")


def dumps(obj: Any) -> bytes:
    """Compact JSON as Node sends it: NaN/Infinity become null, datetimes ISO with ms and Z."""
    try:
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_default)
    except ValueError:
        text = json.dumps(_finite(obj), separators=(",", ":"), ensure_ascii=False, default=_default)
    return text.encode("utf-8")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if hasattr(value, "item"):          # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):        # numpy arrays
        return value.tolist()
    return str(value)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _finite(value.item())
    return value


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"lfnb.local {version('lfnb')}"
    except PackageNotFoundError:
        return "lfnb.local"
