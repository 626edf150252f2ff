"""The lake's state file ``_lfnb_lake.json``: who the lake belongs to and how far each resource is synced.

::

    {"schema_version": 1, "base_url": "https://cloud.langfuse.com", "project_id": "cl…",
     "generation": "v4",
     "resources": {"observations": {"high_water_mark": "2026-11-01T12:00:00.000000Z",
                                    "synced_at": "…", "rows": 123}}}

``high_water_mark`` is the end of the last *completed* sync window of a resource (the
server's rows up to it are in the lake); the next sync starts at it minus the lookback.
The file is replaced atomically (write a hidden temp file, fsync, ``os.replace``) and only
after every partition of the window is in place, so a killed sync leaves the previous
state and the next sync repeats the window (writes are idempotent upserts).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lfnb.errors import LfnbError

__all__ = ["STATE_FILE", "SCHEMA_VERSION", "TMP_DIR", "LakeState", "LakeError", "atomic_write"]

STATE_FILE = "_lfnb_lake.json"
TMP_DIR = ".lfnb-tmp"          # hidden: no reader glob (``<resource>/day=*/*.parquet``) reaches it
SCHEMA_VERSION = 1


class LakeError(LfnbError):
    """A lake cannot be opened, synced or written (the message names the path and the reason)."""


def atomic_write(root: Path, target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` so that readers see the old file or the new one, never a part."""
    tmp_dir = root / TMP_DIR
    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir / f"{uuid.uuid4().hex}.tmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LakeError(f"Cannot write {target}: {exc.strerror or exc}; the lake is unchanged") from exc


@dataclass
class LakeState:
    """The parsed state file (see the module docstring)."""

    base_url: str
    project_id: str
    generation: str
    schema_version: int = SCHEMA_VERSION
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> LakeState | None:
        """The state of the lake at ``root``; None when ``root`` is empty or absent (a new lake)."""
        path = root / STATE_FILE
        if not path.exists():
            if root.exists() and not root.is_dir():
                raise LakeError(f"{root} is a file, not a lake directory")
            visible = [p.name for p in root.iterdir() if not p.name.startswith(".")] if root.is_dir() else []
            if visible:
                raise LakeError(f"{root} is not an lfnb lake (no {STATE_FILE}) and not empty "
                                f"({', '.join(sorted(visible)[:3])}{', …' if len(visible) > 3 else ''}); "
                                "choose an empty directory or an existing lake")
            return None
        try:
            raw = json.loads(path.read_text())
            state = cls(base_url=raw["base_url"], project_id=raw["project_id"], generation=raw["generation"],
                        schema_version=raw["schema_version"], resources=raw.get("resources") or {})
        except (ValueError, KeyError, TypeError) as exc:
            raise LakeError(f"{path} is not a valid lake state file ({exc})") from exc
        if state.schema_version != SCHEMA_VERSION:
            raise LakeError(f"{root} has lake schema version {state.schema_version}; this lfnb reads and writes "
                            f"version {SCHEMA_VERSION}: sync into a new directory")
        return state

    def check_owner(self, root: Path, base_url: str, project_id: str) -> None:
        """A lake belongs to one project; the same project under another URL (a new port, a
        proxy) may sync into it, and the state then records the new URL."""
        if self.project_id != project_id:
            raise LakeError(f"{root} is a lake of project {self.project_id!r} (synced from {self.base_url}), "
                            f"not of project {project_id!r} at {base_url}: sync each project into its own "
                            "directory")
        self.base_url = base_url

    def save(self, root: Path) -> None:
        body = {"schema_version": self.schema_version, "base_url": self.base_url, "project_id": self.project_id,
                "generation": self.generation, "resources": self.resources}
        atomic_write(root, root / STATE_FILE, json.dumps(body, indent=2, sort_keys=True).encode())
