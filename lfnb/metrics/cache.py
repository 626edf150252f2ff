"""An on-disk cache of Metrics API results.

Langfuse Cloud allows few metric queries (Hobby: 100 v2 queries a day), so a
notebook re-run should not spend them again. An entry is keyed by base URL,
project id, API version and the normalised query JSON (sorted keys); it holds
only the ``data`` rows and the key parts (never credentials) as one JSON file.
Query results are private: the directory is created ``0700`` and each file ``0600``,
whatever the umask.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

DEFAULT_TTL = 3600.0


def default_directory() -> Path:
    """``$LFNB_CACHE_DIR`` or ``$XDG_CACHE_HOME/lfnb/metrics`` (``~/.cache/lfnb/metrics``)."""
    if os.environ.get("LFNB_CACHE_DIR"):
        return Path(os.environ["LFNB_CACHE_DIR"]) / "metrics"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lfnb" / "metrics"


class MetricsCache:
    """Metrics results on disk, one JSON file per (base URL, project, version, query).

    Parameters
    ----------
    directory : str or Path, optional
        Where the files live (created on first ``put``); default :func:`default_directory`.
    ttl : float
        Seconds an entry stays valid (default one hour); ``0`` disables reads.
    """

    def __init__(self, directory: str | Path | None = None, ttl: float = DEFAULT_TTL):
        self.directory = Path(directory) if directory is not None else default_directory()
        self.ttl = float(ttl)

    def __repr__(self) -> str:
        return f"MetricsCache(directory={str(self.directory)!r}, ttl={self.ttl:g})"

    @staticmethod
    def key(base_url: str, project_id: str | None, query: dict, version: str) -> str:
        """The entry name: sha256 of the key parts as canonical JSON."""
        parts = {"base_url": base_url.rstrip("/"), "project_id": project_id or "", "version": version,
                 "query": query}
        canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def get(self, base_url: str, project_id: str | None, query: dict, version: str) -> list[dict] | None:
        """The cached rows, or None when absent, expired or unreadable."""
        path = self._path(self.key(base_url, project_id, query, version))
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if self.ttl <= 0 or time.time() - float(entry.get("created", 0)) > self.ttl:
            return None
        data = entry.get("data")
        return data if isinstance(data, list) else None

    def put(self, base_url: str, project_id: str | None, query: dict, version: str, data: list[dict]) -> Path:
        """Store rows; written to a temporary file first so readers never see half an entry."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)  # mkdir's mode is masked by the umask (and ignored when it exists)
        key = self.key(base_url, project_id, query, version)
        entry: dict[str, Any] = {"created": time.time(), "base_url": base_url.rstrip("/"),
                                 "project_id": project_id, "version": version, "query": query, "data": data}
        path = self._path(key)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(json.dumps(entry, ensure_ascii=False))
        tmp.replace(path)
        return path

    def clear(self) -> int:
        """Delete every entry; returns how many were removed."""
        if not self.directory.is_dir():
            return 0
        n = 0
        for path in self.directory.glob("*.json"):
            path.unlink(missing_ok=True)
            n += 1
        return n
