"""The Examples sections of the metrics modules run (against a generated lfnb.local store)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["lfnb.metrics.validation", "lfnb.metrics.query", "lfnb.local.engine"])
def test_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
