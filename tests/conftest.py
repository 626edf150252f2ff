"""Shared fixtures: lfnb.local over real HTTP on 127.0.0.1, and a generated store without HTTP."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
SMALL = dict(seed=0, traces=300, days=7, anchor=ANCHOR)


def shared_dir() -> Path | None:
    """``../shared`` beside the checkout (or $LFNB_SHARED_DIR), when present."""
    candidates = [os.environ.get("LFNB_SHARED_DIR"), Path(__file__).resolve().parents[2] / "shared"]
    for c in candidates:
        if c and Path(c, "reference").is_dir():
            return Path(c)
    return None


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_dir()
    if path is None:
        pytest.skip("../shared/reference is not beside this checkout")
    return path


@pytest.fixture(scope="session")
def store_small():
    from lfnb.local.generator import generate
    from lfnb.local.store import Store

    store = Store()
    generate(store, **SMALL)
    yield store
    store.close()


@pytest.fixture(scope="session")
def local_server():
    from lfnb.local import serve

    with serve(port=0, generation="v4", **SMALL) as server:
        yield server


@pytest.fixture(scope="session")
def local_server_v3():
    from lfnb.local import serve

    with serve(port=0, generation="v3", **SMALL) as server:
        yield server


@pytest.fixture
def memory_url():
    """A fresh ``memory://`` lake URL (fsspec's in-process filesystem), removed afterwards."""
    import fsspec

    url = f"memory://lake-{uuid.uuid4().hex[:8]}"
    yield url
    fs = fsspec.filesystem("memory")
    if fs.exists(url):
        fs.rm(url, recursive=True)
