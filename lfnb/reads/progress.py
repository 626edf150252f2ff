"""A thread-safe progress bar for reads: rows, pages and retries (tqdm.auto).

``progress=None`` shows the bar only in interactive sessions (a Jupyter kernel
or a terminal on stderr) unless ``$LFNB_PROGRESS`` says otherwise (``0``/``1``);
``True`` forces it, ``False`` turns it off. Without tqdm installed the bar is
silently off.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

__all__ = ["Progress", "is_interactive", "default_enabled"]


def is_interactive() -> bool:
    """True in a Jupyter kernel or when stderr is a terminal."""
    shell = sys.modules.get("IPython")
    if shell is not None:
        get = getattr(shell, "get_ipython", None)
        ip = get() if get is not None else None
        if ip is not None and "IPKernelApp" in getattr(ip, "config", {}):
            return True
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())


def default_enabled() -> bool:
    """What ``progress=None`` means here: ``$LFNB_PROGRESS`` (0/1, false/true) or :func:`is_interactive`."""
    value = os.environ.get("LFNB_PROGRESS", "").strip().lower()
    if value in ("0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    return is_interactive()


class Progress:
    """Counts rows/pages of one read and shows them (plus the transport's retries)."""

    def __init__(self, enabled: bool | None, desc: str, transport: Any = None, total: int | None = None):
        self.rows = 0
        self.pages = 0
        self._transport = transport
        self._retries0 = getattr(transport, "retries", 0)
        self._lock = threading.Lock()
        self._bar = None
        if enabled is None:
            enabled = default_enabled()
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total, desc=desc, unit=" rows", leave=True)
        # While open, the bar says when the transport sleeps for a rate limit (it never waits silently).
        self.waits: list[tuple[float, str]] = []
        if hasattr(transport, "add_wait_listener"):
            transport.add_wait_listener(self.waiting)

    @property
    def retries(self) -> int:
        return getattr(self._transport, "retries", 0) - self._retries0

    def page(self, rows: int) -> None:
        with self._lock:
            self.rows += rows
            self.pages += 1
            if self._bar is not None:
                self._bar.update(rows)
                self._bar.set_postfix(pages=self.pages, retries=self.retries, refresh=False)

    def waiting(self, seconds: float, reason: str) -> None:
        """Wait listener: show ``waiting N s for the rate limit (resource)`` until the next page."""
        with self._lock:
            self.waits.append((seconds, reason))
            if self._bar is not None:
                self._bar.set_postfix_str(f"waiting {seconds:.0f} s for {reason}", refresh=True)

    def close(self) -> None:
        if hasattr(self._transport, "remove_wait_listener"):
            self._transport.remove_wait_listener(self.waiting)
        with self._lock:
            if self._bar is not None:
                self._bar.set_postfix(pages=self.pages, retries=self.retries, refresh=True)
                self._bar.close()
                self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
