"""pyproject's explicit package list names every package of lfnb (a wheel would silently miss a new one)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import lfnb

ROOT = Path(lfnb.__file__).parent


def test_every_package_is_listed_in_pyproject():
    config = tomllib.loads((ROOT.parent / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {".".join(("lfnb", *p.parent.relative_to(ROOT).parts)) for p in ROOT.rglob("__init__.py")}
    assert found - listed == set()
