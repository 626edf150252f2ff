"""The lake's state file ``_lfnb_lake.json``: who the lake belongs to and how far each resource is synced.

::

    {"schema_version": 1, "base_url": "https://cloud.langfuse.com", "project_id": "cl…",
     "generation": "v4",
     "resources": {"observations": {"high_water_mark": "2026-11-01T12:00:00.000000Z",
                                    "synced_at": "…", "rows": 123}}}

``high_water_mark`` is the end of the last *completed* sync window of a resource (the
server's rows up to it are in the lake); the next sync starts at it minus the lookback.
The file is replaced atomically (:meth:`lfnb.lake.location.Location.write_atomic`: a hidden
temp file moved onto the name) and only after every partition of the window is in place, so a killed sync leaves the previous
state and the next sync repeats the window (writes are idempotent upserts).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lfnb.lake.location import TMP_DIR, LakeError, Location, as_location

__all__ = ["STATE_FILE", "SCHEMA_VERSION", "TMP_DIR", "LakeState", "LakeError"]

STATE_FILE = "_lfnb_lake.json"
SCHEMA_VERSION = 1


@dataclass
class LakeState:
    """The parsed state file (see the module docstring)."""

    base_url: str
    project_id: str
    generation: str
    schema_version: int = SCHEMA_VERSION
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Location | Any) -> LakeState | None:
        """The state of the lake at ``root``; None when ``root`` is empty or absent (a new lake)."""
        root = as_location(root)
        path = root.show(STATE_FILE)
        if not root.exists(STATE_FILE):
            if root.exists() and not root.isdir():
                raise LakeError(f"{root} is a file, not a lake directory")
            visible = [name for name in root.listdir() if not name.startswith(".")]
            if visible:
                raise LakeError(f"{root} is not an lfnb lake (no {STATE_FILE}) and not empty "
                                f"({', '.join(sorted(visible)[:3])}{', …' if len(visible) > 3 else ''}); "
                                "choose an empty directory or an existing lake")
            return None
        try:
            raw = json.loads(root.read_bytes(STATE_FILE))
            state = cls(base_url=raw["base_url"], project_id=raw["project_id"], generation=raw["generation"],
                        schema_version=raw["schema_version"], resources=raw.get("resources") or {})
        except (ValueError, KeyError, TypeError) as exc:
            raise LakeError(f"{path} is not a valid lake state file ({exc})") from exc
        if state.schema_version != SCHEMA_VERSION:
            raise LakeError(f"{root} has lake schema version {state.schema_version}; this lfnb reads and writes "
                            f"version {SCHEMA_VERSION}: sync into a new directory")
        return state

    def check_owner(self, root: Location | Any, base_url: str, project_id: str) -> None:
        """A lake belongs to one project; the same project under another URL (a new port, a
        proxy) may sync into it, and the state then records the new URL."""
        if self.project_id != project_id:
            raise LakeError(f"{root} is a lake of project {self.project_id!r} (synced from {self.base_url}), "
                            f"not of project {project_id!r} at {base_url}: sync each project into its own "
                            "directory")
        self.base_url = base_url

    def save(self, root: Location | Any) -> None:
        body = {"schema_version": self.schema_version, "base_url": self.base_url, "project_id": self.project_id,
                "generation": self.generation, "resources": self.resources}
        as_location(root).write_atomic(STATE_FILE, json.dumps(body, indent=2, sort_keys=True).encode())
