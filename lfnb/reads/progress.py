"""Progress of a read: a real bar (percentage, rows, rate) where the API says how far a read is.

How far a read is comes from the pages themselves:

* page-numbered reads (v1 lists): page ``n`` of ``meta.totalPages``;
* cursor reads over a time range (v2 observations, v3 scores): the cursor carries the start
  time of the last row read (``lastStartTimeTo`` / ``lastTimestamp``) and rows come newest
  first, so the share of ``[from_time, to_time)`` already behind the cursor is the share done;
* anything else: rows and rate, without a percentage.

Where it is shown:

* in a Jupyter kernel: an HTML bar updated in place (one display, no widget needed), replaced
  by a one-line summary when the read ends, so no bar is left behind half-way;
* in a terminal: one line on stderr, rewritten in place;
* in a widget: pass the widget's ``ipywidgets.HTML`` as ``progress=`` and the bar is drawn in
  it (a read started by a button has no cell output to draw in), then cleared.

Reads that end within a second show nothing (``delay``). ``progress=None`` shows progress
only in interactive sessions (a Jupyter kernel, or stderr a terminal) unless
``$LFNB_PROGRESS`` says otherwise (``0``/``1``); ``True`` forces it, ``False`` turns it off.
"""

from __future__ import annotations

import base64
import html
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

__all__ = ["Progress", "is_interactive", "default_enabled", "cursor_time", "render_html", "render_text"]

DELAY = 1.0          # seconds a read runs before anything is shown
REFRESH = 0.25       # seconds between two redraws
_BAR_COLOUR = "#0072B2"


def is_interactive() -> bool:
    """True in a Jupyter kernel or when stderr is a terminal."""
    return _in_kernel() or bool(sys.stderr is not None and hasattr(sys.stderr, "isatty") and sys.stderr.isatty())


def _in_kernel() -> bool:
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None) if shell is not None else None
    ip = get() if get is not None else None
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def default_enabled() -> bool:
    """What ``progress=None`` means here: ``$LFNB_PROGRESS`` (0/1, false/true) or :func:`is_interactive`."""
    value = os.environ.get("LFNB_PROGRESS", "").strip().lower()
    if value in ("0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    return is_interactive()


def cursor_time(cursor: str | None) -> pd.Timestamp | None:
    """The time position a Langfuse cursor carries (UTC), or None.

    v2 observations: standard base64 of ``{"lastStartTimeTo", "lastTraceId", "lastId"}``;
    v3 scores: base64url of ``{"v": 1, "lastTimestamp", "lastId"}``.
    """
    if not cursor:
        return None
    padded = cursor + "=" * (-len(cursor) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            data = json.loads(decode(padded).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(data, dict):
            value = data.get("lastStartTimeTo") or data.get("lastTimestamp")
            try:
                return pd.Timestamp(value).tz_convert("UTC") if value else None
            except (ValueError, TypeError):
                return None
    return None


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f} rows/s" if seconds > 0 else ""


def render_text(desc: str, fraction: float | None, rows: int, pages: int, retries: int, seconds: float,
                *, width: int = 20) -> str:
    """The terminal line: ``observations  42% [########------------] 4,300 rows · 2,150 rows/s · 5 pages``."""
    parts = [f"{rows:,} rows", _rate(rows, seconds), f"{pages} pages"]
    if retries:
        parts.append(f"{retries} retries")
    details = " · ".join(p for p in parts if p)
    if fraction is None:
        return f"{desc}  {details}"
    filled = round(width * fraction)
    return f"{desc} {fraction:4.0%} [{'#' * filled}{'-' * (width - filled)}] {details}"


def render_html(desc: str, fraction: float | None, rows: int, pages: int, retries: int, seconds: float) -> str:
    """The notebook/widget bar: a filled track when the share done is known, the counters beside it."""
    parts = [f"{rows:,} rows", _rate(rows, seconds), f"{pages} pages"]
    if retries:
        parts.append(f"{retries} retries")
    details = html.escape(" · ".join(p for p in parts if p))
    if fraction is None:
        track = ""
        head = html.escape(desc)
    else:
        track = ("<div style='width:220px;height:9px;background:#e6e6e6;border-radius:5px;overflow:hidden'>"
                 f"<div style='width:{fraction:.1%};height:100%;background:{_BAR_COLOUR}'></div></div>")
        head = f"{html.escape(desc)} <b>{fraction:.0%}</b>"
    return ("<div class='lfnb-progress' style='display:flex;align-items:center;gap:8px;"
            f"font:12px Helvetica,Arial,sans-serif;color:#333'><span>{head}</span>{track}"
            f"<span style='color:#666'>{details}</span></div>")


class _NotebookView:
    """An HTML display updated in place; at the end a one-line summary replaces the bar."""

    def __init__(self) -> None:
        self._handle = None

    def show(self, html_text: str, text: str) -> None:
        from IPython.display import display

        bundle = {"text/html": html_text, "text/plain": text}
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    def done(self, summary: str) -> None:
        if self._handle is not None:
            self._handle.update({"text/plain": summary,
                                 "text/html": f"<div style='font:12px Helvetica,Arial,sans-serif;color:#666'>"
                                              f"{html.escape(summary)}</div>"}, raw=True)


class _TerminalView:
    def __init__(self, stream: Any) -> None:
        self._stream, self._width = stream, 0

    def show(self, html_text: str, text: str) -> None:
        self._stream.write("\r" + text.ljust(self._width))
        self._width = len(text)
        self._stream.flush()

    def done(self, summary: str) -> None:
        if self._width:
            self._stream.write("\r" + summary.ljust(self._width) + "\n")
            self._stream.flush()


class _WidgetView:
    """Draws into an ``ipywidgets.HTML`` (anything with a ``value``); cleared at the end."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def show(self, html_text: str, text: str) -> None:
        self._target.value = html_text

    def done(self, summary: str) -> None:
        self._target.value = ""


class Progress:
    """Counts rows, pages and retries of one read and shows how far it is.

    Parameters
    ----------
    enabled : bool, None, or an ``ipywidgets.HTML``
        ``None``: :func:`default_enabled`; a widget: draw the bar in it.
    desc : str
        What is read (``observations``).
    transport : Transport, optional
        Its ``retries`` counter is shown.
    span : (Timestamp, Timestamp), optional
        The read's ``[from_time, to_time)``: cursor reads turn the cursor's time into a percentage.
    delay : float, optional
        Nothing is shown before the read has run this long (default :data:`DELAY`, 1 s).
    clock : callable
        Monotonic seconds (tests pin it).
    """

    def __init__(self, enabled: Any, desc: str, transport: Any = None, total: int | None = None, *,
                 span: tuple[Any, Any] | None = None, delay: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.desc = desc
        self.rows = 0
        self.pages = 0
        self.total_pages = total
        self.position: pd.Timestamp | None = None
        self.finished = False
        self._transport = transport
        self._retries0 = getattr(transport, "retries", 0)
        self._span = _span(span)
        self._lock = threading.Lock()
        self._clock, self._delay = clock, DELAY if delay is None else delay
        self._t0 = clock()
        self._last_draw: float | None = None
        self._view = self._choose_view(enabled)
        # While open, the bar says when the transport sleeps for a rate limit (it never waits silently).
        self.waits: list[tuple[float, str]] = []
        self._wait_note: str | None = None
        if hasattr(transport, "add_wait_listener"):
            transport.add_wait_listener(self.waiting)

    @staticmethod
    def _choose_view(enabled: Any) -> Any:
        if enabled is not None and not isinstance(enabled, bool) and hasattr(enabled, "value"):
            return _WidgetView(enabled)
        if enabled is None:
            enabled = default_enabled()
        if not enabled:
            return None
        return _NotebookView() if _in_kernel() else _TerminalView(sys.stderr)

    @property
    def retries(self) -> int:
        return getattr(self._transport, "retries", 0) - self._retries0

    @property
    def seconds(self) -> float:
        return self._clock() - self._t0

    @property
    def fraction(self) -> float | None:
        """Share of the read done (0–1), or None when the API does not tell."""
        if self.finished:
            return 1.0
        if self.total_pages:
            return min(1.0, self.pages / self.total_pages)
        if self._span is not None and self.position is not None:
            start, end = self._span
            done = (end - self.position) / (end - start)
            return min(1.0, max(0.0, done))
        return None

    def watch(self, fetch: Callable[[dict], Any]) -> Callable[[dict], Any]:
        """Wrap a page fetch so that each page's ``meta`` (totalPages, cursor) feeds the percentage.

        A page fetched unparsed (an object with ``json()``, see :func:`lfnb.reads.pagination.parsed`)
        is noted when it is parsed, in the thread that parses it.
        """
        def watched(params: dict, **kwargs: Any) -> Any:
            result = fetch(params, **kwargs)
            if isinstance(result, dict):
                return self._note(result)
            return _Noted(result, self._note)
        return watched

    def _note(self, page: Any) -> Any:
        """The page, after its ``meta`` was noted."""
        meta = page.get("meta") if isinstance(page, dict) else None
        if isinstance(meta, dict):
            with self._lock:
                total = meta.get("totalPages")
                if isinstance(total, int) and total > 0:
                    self.total_pages = total
                when = cursor_time(meta.get("cursor"))
                if when is not None and (self.position is None or when < self.position):
                    self.position = when
                elif when is None and self.position is not None and self._span is not None:
                    self.position = self._span[0]     # a cursor read's last page: no next cursor
        return page

    def page(self, rows: int) -> None:
        with self._lock:
            self.rows += rows
            self.pages += 1
            self._wait_note = None
            self._draw()

    def _draw(self, force: bool = False) -> None:
        if self._view is None:
            return
        now = self._clock()
        if now - self._t0 < self._delay and not force:
            return
        if not force and self._last_draw is not None and now - self._last_draw < REFRESH:
            return
        self._last_draw = now
        desc = f"{self.desc} — {self._wait_note}" if self._wait_note else self.desc
        args = (desc, self.fraction, self.rows, self.pages, self.retries, now - self._t0)
        self._view.show(render_html(*args), render_text(*args))

    def summary(self) -> str:
        seconds = self.seconds
        text = f"{self.desc}: {self.rows:,} rows, {self.pages} pages in {seconds:.1f} s"
        if seconds > 0:
            text += f" ({_rate(self.rows, seconds)})"
        return text + (f", {self.retries} retries" if self.retries else "")

    def waiting(self, seconds: float, reason: str) -> None:
        """Wait listener: show ``waiting N s for the rate limit (resource)`` until the next page."""
        with self._lock:
            self.waits.append((seconds, reason))
            self._wait_note = f"waiting {seconds:.0f} s for {reason}"
            self._draw(force=True)   # shown at once, whatever the delay: a wait is what a person asks about

    def close(self) -> None:
        if hasattr(self._transport, "remove_wait_listener"):
            self._transport.remove_wait_listener(self.waiting)
        with self._lock:
            if self._view is None:
                return
            if self._last_draw is not None:   # something was shown: replace it, leave nothing half-way
                self.finished = True
                self._view.done(self.summary())
            self._view = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _span(span: tuple[Any, Any] | None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    if span is None or span[0] is None or span[1] is None:
        return None
    start, end = (pd.Timestamp(t) for t in span)
    start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
    end = end.tz_localize("UTC") if end.tzinfo is None else end.tz_convert("UTC")
    return (start, end) if end > start else None


class _Noted:
    """An unparsed page whose parsed JSON goes through ``note`` (see :meth:`Progress.watch`)."""

    __slots__ = ("_result", "_note")

    def __init__(self, result: Any, note: Callable[[Any], Any]):
        self._result, self._note = result, note

    def json(self) -> Any:
        load = getattr(self._result, "json", None)
        return self._note(load() if callable(load) else self._result)
