"""One sync at a time per lake: the hidden lock file ``ROOT/.lfnb-lock``.

A sync holds the lock from before it touches the lake (it clears ``.lfnb-tmp/``, which holds a
running sync's temp files) until it ends — on success, on an error and on ``KeyboardInterrupt``.
Readers (:func:`lfnb.open_lake`) never take it: every file they see is complete.

The lock is a small JSON object naming its holder::

    {"host": "laptop", "pid": 4242, "started": "2026-11-01T12:00:00.000000+00:00", "token": "…"}

* **Local disk**: created with ``os.open(O_CREAT | O_EXCL)``, which the kernel makes exclusive.
* **fsspec filesystems** (object stores): created with mode ``"xb"`` (exclusive where the
  backend implements it, e.g. a conditional PUT) after checking that no lock exists, then read
  back: the sync proceeds only if the object holds its own random token. This is weaker than
  ``O_EXCL`` on a store without conditional writes: two syncs started within one round trip of
  each other can both see their own token (the later write wins, the earlier sync does not
  notice). Run one sync per lake (one scheduled job) on such stores.

A lock left by a sync that died (``kill -9``, a power cut) is *stale*. When its host is this
machine and its pid is no longer running, the next sync takes it over. A stale lock of
another host cannot be checked from here: the error names the holder and the file to delete.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from lfnb.lake.location import LakeError, Location

__all__ = ["LOCK_FILE", "sync_lock", "pid_alive"]

LOCK_FILE = ".lfnb-lock"


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:        # it exists, under another user
        return True
    except (OSError, OverflowError, ValueError):
        return False
    return True


@contextmanager
def sync_lock(root: Location) -> Iterator[dict[str, Any]]:
    """Hold the lake's lock for the ``with`` block (see the module docstring)."""
    mine = _acquire(root)
    try:
        yield mine
    finally:
        _release(root, mine)


def _holder_text(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "a holder that left no readable record"
    return f"host {holder.get('host')!r}, pid {holder.get('pid')}, started {holder.get('started')}"


def _busy(root: Location, holder: dict[str, Any] | None) -> LakeError:
    return LakeError(f"{root} is being synced by another process ({_holder_text(holder)}); the lake is "
                     "unchanged. Wait for that sync to end. If it is no longer running (a killed sync on "
                     f"another machine), the lock is stale: delete {root.show(LOCK_FILE)} and sync again")


def _read(root: Location) -> tuple[bool, dict[str, Any] | None]:
    """(exists, holder or None when unreadable)."""
    try:
        raw = root.read_bytes(LOCK_FILE)
    except FileNotFoundError:
        return False, None
    try:
        holder = json.loads(raw)
    except ValueError:
        return True, None
    return True, holder if isinstance(holder, dict) else None


def _stale(holder: dict[str, Any] | None) -> bool:
    if not holder or holder.get("host") != socket.gethostname():
        return False
    pid = holder.get("pid")
    return isinstance(pid, int) and not pid_alive(pid)


def _create(root: Location, body: bytes) -> bool:
    """Create the lock exclusively; False when it exists."""
    path = root.join(LOCK_FILE)
    if root.local:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        try:
            os.write(fd, body)     # no fsync: a lock outliving a crash is stale anyway
        finally:
            os.close(fd)
        return True
    if root.fs.exists(path):
        return False
    try:
        with root.fs.open(path, "xb") as fh:
            fh.write(body)
    except FileExistsError:
        return False
    except (NotImplementedError, ValueError):         # a backend without mode "x"
        root.fs.pipe_file(path, body)
    return True


def _acquire(root: Location) -> dict[str, Any]:
    mine = {"host": socket.gethostname(), "pid": os.getpid(),
            "started": datetime.now(UTC).isoformat(), "token": uuid.uuid4().hex}
    body = json.dumps(mine).encode()
    try:
        for _ in range(2):          # a second try after taking over a stale lock
            if _create(root, body):
                exists, holder = _read(root)
                if holder is not None and holder.get("token") == mine["token"]:
                    return mine
                raise _busy(root, holder)              # another sync wrote its lock over ours
            exists, holder = _read(root)
            if not exists:
                continue                               # released in between: try again
            if not _stale(holder):
                raise _busy(root, holder)
            # take over: delete the dead holder's lock, unless it changed since we read it
            again = _read(root)[1]
            if again == holder:
                _remove(root)
    except OSError as exc:
        raise LakeError(f"Cannot write the lake at {root}: {exc.strerror or exc} (creating its lock "
                        f"{LOCK_FILE})") from exc
    raise _busy(root, _read(root)[1])


def _remove(root: Location) -> None:
    path = root.join(LOCK_FILE)
    if root.local:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    elif root.fs.exists(path):
        root.fs.rm_file(path)


def _release(root: Location, mine: dict[str, Any]) -> None:
    """Delete the lock if it is still ours (a user may have deleted it and another sync taken it)."""
    try:
        holder = _read(root)[1]
        if holder is not None and holder.get("token") == mine["token"]:
            _remove(root)
    except OSError:
        pass             # the lake itself is complete; a lock left behind is stale and taken over
