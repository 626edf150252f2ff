"""Where a lake lives: a local directory, or a directory on any fsspec filesystem.

``Location.of(path, storage_options)`` takes a local path (``str`` or ``Path``) or a URL that
:func:`fsspec.core.url_to_fs` understands: ``file:///data/lake`` (local), ``memory://lake``
(fsspec's in-process filesystem, used by the tests), ``s3://bucket/prefix``, ``gs://…``,
``abfs://…`` (``storage_options`` are passed to the filesystem: credentials, endpoint, …).

Writes keep the lake's one crash-safety rule on every filesystem: a file is written under
the hidden ``.lfnb-tmp/`` and then moved onto its one fixed name, so readers see the old
file or the new one, never a part of one.

* **Local disk** (a path or a ``file://`` URL): write, ``fsync``, then ``os.replace``
  (an atomic rename within one filesystem).
* **Object stores** (S3, GCS, Azure, …): the move is a copy onto the fixed name then a delete
  of the temp object. Each object is written by a single PUT or server-side copy, which
  these stores make atomic: a reader sees the whole old object or the whole new one (S3,
  GCS and Azure Blob also give read-after-write consistency). What an object store lacks
  is an atomic rename of a *directory* — the lake never needs one.

Local paths need nothing beyond lfnb; URLs need ``fsspec`` (``pip install 'lfnb[lake]'``)
plus the package of their protocol (``s3fs``, ``gcsfs``, ``adlfs``, …).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from lfnb.errors import LfnbError

__all__ = ["Location", "LakeError", "as_location", "TMP_DIR"]

TMP_DIR = ".lfnb-tmp"          # hidden: no reader glob (``<resource>/day=*/*.parquet``) reaches it


class LakeError(LfnbError):
    """A lake cannot be opened, synced or written (the message names the path and the reason)."""


def _filesystem(url: str, storage_options: dict[str, Any]):
    try:
        import fsspec.core
        from fsspec.registry import known_implementations
    except ImportError as exc:
        raise ImportError(f"A lake at a URL ({url}) needs fsspec: pip install 'lfnb[lake]'") from exc
    protocol = url.split("://", 1)[0]
    try:
        return fsspec.core.url_to_fs(url, **storage_options)
    except ImportError:
        spec = known_implementations.get(protocol, {})
        package = spec.get("class", "").split(".")[0] or "the package that implements it"
        raise LakeError(f"The filesystem protocol {protocol!r} of {url} needs {package}, which is not "
                        f"installed: pip install {package}; local paths need nothing") from None
    except ValueError as exc:
        if "Protocol not known" not in str(exc):
            raise
        raise LakeError(f"Unknown filesystem protocol {protocol!r} in {url}: no fsspec implementation is "
                        "registered for it. Valid: a local path, file://, memory://, s3:// (pip install s3fs), "
                        "gs:// (pip install gcsfs), abfs:// (pip install adlfs), or the protocol of any installed "
                        "fsspec implementation") from None


class Location:
    """A lake's root: ``fs`` is None on local disk (``path`` is then an OS path), else an fsspec
    filesystem with ``path`` in its own form. Relative names use ``/``."""

    def __init__(self, path: str, fs=None, shown: str | None = None):
        self.path = path
        self.fs = fs
        self.shown = shown or path

    @classmethod
    def of(cls, path: Any, storage_options: dict[str, Any] | None = None) -> Location:
        if isinstance(path, Location):
            return path
        if isinstance(path, str) and "://" in path:
            fs, inner = _filesystem(path, dict(storage_options or {}))
            if type(fs).__name__ == "LocalFileSystem":          # file:// → the local, os.replace path
                return cls(str(Path(inner)), None, str(Path(inner)))
            return cls(inner.rstrip("/"), fs, path.rstrip("/"))
        if storage_options:
            raise LakeError(f"storage_options apply to fsspec URLs (memory://, s3://bucket/…), not to the "
                              f"local path {path}")
        local = str(Path(path).expanduser())
        return cls(local, None, local)

    @property
    def local(self) -> bool:
        return self.fs is None

    def __str__(self) -> str:
        return self.shown

    def __repr__(self) -> str:
        return f"Location({self.shown!r})"

    # ------------------------------------------------------------------ names
    def join(self, rel: str = "") -> str:
        """The full path of ``rel`` (in the filesystem's own form)."""
        if not rel:
            return self.path
        return os.path.join(self.path, *rel.split("/")) if self.local else f"{self.path}/{rel}"

    def show(self, rel: str = "") -> str:
        """``rel`` as messages name it (the URL or local path the user gave, plus ``rel``)."""
        return self.join(rel) if self.local else (f"{self.shown}/{rel}" if rel else self.shown)

    def url(self, rel: str = "") -> str:
        """``rel`` as DuckDB and pandas open it: a local path, or ``protocol://path``."""
        return self.join(rel) if self.local else self.fs.unstrip_protocol(self.join(rel))

    # ------------------------------------------------------------------ queries
    def exists(self, rel: str = "") -> bool:
        return os.path.exists(self.join(rel)) if self.local else self.fs.exists(self.join(rel))

    def isdir(self, rel: str = "") -> bool:
        return os.path.isdir(self.join(rel)) if self.local else self.fs.isdir(self.join(rel))

    def listdir(self, rel: str = "") -> list[str]:
        """Names directly under ``rel`` (empty when it does not exist)."""
        if self.local:
            try:
                return os.listdir(self.join(rel))
            except (FileNotFoundError, NotADirectoryError):
                return []
        try:
            return [p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(self.join(rel), detail=False)]
        except FileNotFoundError:
            return []

    def glob(self, pattern: str) -> list[str]:
        """Files matching ``pattern`` (relative, ``*`` within one name), as relative names."""
        if self.local:
            return [p.relative_to(self.path).as_posix() for p in Path(self.path).glob(pattern)]
        self.fs.invalidate_cache(self.path)      # another process may have written since the last listing
        prefix = self.path.rstrip("/") + "/"
        return [p[len(prefix):] for p in self.fs.glob(self.join(pattern))]

    def stamp(self, rel: str) -> Any:
        """Changes whenever the file at ``rel`` is replaced (mtime; on fsspec its ``ukey``, e.g. the ETag)."""
        return os.stat(self.join(rel)).st_mtime_ns if self.local else self.fs.ukey(self.join(rel))

    # ------------------------------------------------------------------ reads
    def read_bytes(self, rel: str) -> bytes:
        if self.local:
            with open(self.join(rel), "rb") as fh:
                return fh.read()
        return self.fs.cat_file(self.join(rel))

    def read_parquet(self, rel: str, columns: list[str] | None = None):
        import pandas as pd

        return pd.read_parquet(self.join(rel), columns=columns, filesystem=self.fs)

    def read_schema(self, rel: str) -> list[str]:
        import pyarrow.parquet as pq

        return pq.read_schema(self.join(rel), filesystem=self.fs).names

    # ------------------------------------------------------------------ writes
    def makedirs(self, rel: str = "") -> None:
        if self.local:
            os.makedirs(self.join(rel), exist_ok=True)
        else:
            self.fs.makedirs(self.join(rel), exist_ok=True)

    def rmtree(self, rel: str) -> None:
        if self.local:
            shutil.rmtree(self.join(rel), ignore_errors=False)
        elif self.fs.exists(self.join(rel)):
            self.fs.rm(self.join(rel), recursive=True)

    def remove(self, rel: str) -> None:
        """Delete the file ``rel`` (absent is fine) and its directory when that is left empty."""
        path = self.join(rel)
        if self.local:
            Path(path).unlink(missing_ok=True)
            try:
                os.rmdir(os.path.dirname(path))
            except OSError:
                pass
            return
        if self.fs.exists(path):
            self.fs.rm_file(path)
        parent = path.rsplit("/", 1)[0]
        try:
            if self.fs.isdir(parent) and not self.fs.ls(parent, detail=False):
                self.fs.rmdir(parent)
        except OSError:
            pass

    def write_atomic(self, rel: str, data: bytes) -> None:
        """Write ``data`` to ``rel`` so that readers see the old file or the new one, never a part
        (see the module docstring): under ``.lfnb-tmp/`` first, then moved onto ``rel``."""
        target = self.join(rel)
        tmp = self.join(f"{TMP_DIR}/{uuid.uuid4().hex}.tmp")
        try:
            if self.local:
                os.makedirs(self.join(TMP_DIR), exist_ok=True)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                try:
                    with open(tmp, "wb") as fh:
                        fh.write(data)
                        fh.flush()
                        os.fsync(fh.fileno())
                    os.replace(tmp, target)
                except OSError:
                    Path(tmp).unlink(missing_ok=True)
                    raise
            else:
                self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
                try:
                    self.fs.pipe_file(tmp, data)
                    self.fs.mv(tmp, target)
                except OSError:
                    if self.fs.exists(tmp):
                        self.fs.rm_file(tmp)
                    raise
        except OSError as exc:
            raise LakeError(f"Cannot write {self.show(rel)}: {exc.strerror or exc}; "
                              "the lake is unchanged") from exc


def as_location(root: Any) -> Location:
    """``root`` as a :class:`Location` (a ``Location``, a local path or an fsspec URL)."""
    return Location.of(root)
