"""Seeded fault injection for lfnb.local (off unless a spec is given).

Grammar of a spec (comma-separated ``name=value`` items, spaces ignored)::

    spec     := item ("," item)*
    item     := kind "=" probability | option "=" number
    kind     := 429 | 500 | 502 | 503 | 524 | drop | slow | empty | short | lost
    option   := seed | retry_after | slow_ms

    e.g. "429=0.05,500=0.02,502=0.01,503=0.01,524=0.01,drop=0.01,slow=0.02,empty=0.05,short=0.05,seed=7"

* probabilities are in [0, 1] and add up to at most 1; ``seed`` (default 0) makes the draw
  sequence reproducible: the same seed and the same sequence of requests give the same faults;
* ``429`` answers Langfuse's rate-limit body with ``Retry-After: <retry_after>`` (default 1 s);
* ``500``/``502``/``503``/``524`` answer that status with a JSON body;
* ``drop`` closes the connection without sending any response (the client sees a connection
  error, e.g. requests' ``RemoteDisconnected``);
* ``slow`` delays the real answer by ``slow_ms`` (default 1000 ms); a client that gives up
  meanwhile (its timeout) is logged in one line, and a write it sent is not applied;
* ``lost`` handles the request normally — a write **is applied** — then closes the connection
  without sending the answer: the client cannot tell it from ``drop`` (where nothing was
  applied). It models a reply lost on the way back, the case a client must not retry into a
  duplicate;
* ``empty``/``short`` apply to cursor-paginated reads only (v2 observations, v3 scores):
  ``short`` serves the page with a smaller ``limit`` (1 … limit-1), so the handler itself
  computes the cursor after the last row it returned; ``empty`` serves zero rows with a
  cursor equivalent to the one the request sent (its JSON re-encoded with extra trailing
  whitespace, so the text differs but the position is the same). ``empty`` never fires on a
  first page (no incoming cursor: there is no position to hand back). On other endpoints a
  drawn ``empty``/``short`` means no fault. A correct client loses no row through either.

Each request makes one draw (two uniform numbers: the fault, and the size of a short page);
``/api/public/health`` is never faulted and draws nothing. With concurrent clients the order in
which requests reach the server decides which one gets which fault.
Every faulted response carries the header ``X-Lfnb-Fault: <kind>``.
"""

from __future__ import annotations

import base64
import json
import random
import threading
from dataclasses import dataclass, field

# New kinds go at the end: the draw walks KINDS in order, so old specs keep their fault sequence.
KINDS = ("429", "500", "502", "503", "524", "drop", "slow", "empty", "short", "lost")
OPTIONS = {"seed": int, "retry_after": float, "slow_ms": float}
ERROR_BODIES = {
    "500": {"message": "Internal Server Error", "error": "InternalServerError"},
    "502": {"message": "Bad Gateway", "error": "BadGateway"},
    "503": {"message": "Service Unavailable", "error": "ServiceUnavailable"},
    "524": {"message": "A timeout occurred", "error": "Timeout"},
}


class FaultSpecError(ValueError):
    """A fault spec that does not follow the grammar (the message says what is valid)."""


def _valid_text() -> str:
    return (f"valid kinds: {', '.join(KINDS)} (each =probability in [0, 1]); "
            f"valid options: {', '.join(OPTIONS)}; e.g. '500=0.02,drop=0.01,seed=7'")


@dataclass
class FaultPlan:
    """Parsed spec plus the seeded generator that draws one fault per request."""

    probabilities: dict[str, float]
    seed: int = 0
    retry_after: float = 1.0
    slow_ms: float = 1000.0
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, spec: str) -> FaultPlan:
        """Parse a spec string (see the module docstring for the grammar)."""
        probabilities: dict[str, float] = {}
        options: dict[str, float] = {}
        for raw in spec.split(","):
            item = raw.strip()
            if not item:
                continue
            name, sep, value = (part.strip() for part in item.partition("="))
            if not sep:
                raise FaultSpecError(f"fault item {item!r} has no '='; {_valid_text()}")
            if name in OPTIONS:
                try:
                    options[name] = OPTIONS[name](value)
                except ValueError:
                    raise FaultSpecError(f"{name} must be a number, got {value!r}; {_valid_text()}") from None
                if options[name] < 0:
                    raise FaultSpecError(f"{name} must not be negative, got {value!r}")
                continue
            if name not in KINDS:
                raise FaultSpecError(f"unknown fault kind {name!r}; {_valid_text()}")
            try:
                p = float(value)
            except ValueError:
                raise FaultSpecError(f"probability of {name} must be a number, got {value!r}") from None
            if not 0.0 <= p <= 1.0:
                raise FaultSpecError(f"probability of {name} must be in [0, 1], got {value!r}")
            probabilities[name] = p
        total = sum(probabilities.values())
        if total > 1.0 + 1e-9:
            raise FaultSpecError(f"fault probabilities add up to {total:g}; they must add up to at most 1")
        return cls(probabilities, seed=int(options.get("seed", 0)),
                   retry_after=options.get("retry_after", 1.0), slow_ms=options.get("slow_ms", 1000.0))

    def draw(self) -> tuple[str | None, float]:
        """The next request's fault (None: answer normally) and a second uniform number
        drawn with it (sizes a short page). Two draws per request, always, so the sequence
        of faults depends only on the seed and the number of requests."""
        with self._lock:
            u = self._rng.random()
            extra = self._rng.random()
        acc = 0.0
        for kind in KINDS:
            acc += self.probabilities.get(kind, 0.0)
            if u < acc:
                return kind, extra
        return None, extra


def error_reply(kind: str, retry_after: float) -> tuple[int, dict[str, str], dict]:
    """``(status, headers, body)`` of a status fault."""
    headers = {"X-Lfnb-Fault": kind}
    if kind == "429":
        seconds = int(retry_after) if float(retry_after).is_integer() else retry_after
        headers["Retry-After"] = str(seconds)
        body = {"message": "Rate limit exceeded", "code": "rate_limited",
                "details": {"retryAfterSeconds": seconds, "limit": 0, "remaining": 0, "resetAt": None}}
        return 429, headers, body
    return int(kind), headers, dict(ERROR_BODIES[kind])


def short_limit(requested: str | None, default: int, extra: float) -> int | None:
    """The smaller ``limit`` a ``short`` page is served with, or None when it cannot be shorter."""
    try:
        limit = int(requested) if requested not in (None, "") else default
    except ValueError:
        return None  # let the handler answer its own 400 for a malformed limit
    if limit <= 1:
        return None
    return 1 + int(extra * (limit - 1))  # 1 … limit-1


def equivalent_cursor(cursor: str, urlsafe: bool) -> str | None:
    """A cursor naming the same position as ``cursor`` but spelled differently.

    The JSON inside the base64 gets one more trailing space than it had: JSON parsers
    ignore it, so the position is unchanged, and a client guarding against a cursor that
    does not advance still sees a new cursor. None when ``cursor`` is not base64 JSON.
    """
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        raw = (base64.urlsafe_b64decode if urlsafe else base64.b64decode)(padded).decode("utf-8")
        json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    text = raw + " "
    encoded = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(text.encode("utf-8")).decode("ascii")
    if not cursor.endswith("="):
        encoded = encoded.rstrip("=") if urlsafe else encoded
    return encoded
