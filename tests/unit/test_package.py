"""The public facade of ``lfnb``: pinned, resolvable, cheap to import."""

from __future__ import annotations

import subprocess
import sys

import pytest

import lfnb

PUBLIC = [
    "ApiError", "AuthError", "Client", "ConfigError", "Filter", "LakeError", "LfnbError", "LfnbTruncationWarning",
    "MetricsQuery", "NotFoundError", "PaginationError", "QueryValidationError", "RateLimitError",
    "ServerError", "TransportError", "UnconfirmedWriteError", "connect", "histogram_frame", "open_lake",
    "validate_query", "__version__",
]


def test_the_facade_is_pinned():
    # Adding or removing a public name is a decision: change this list with it.
    assert lfnb.__all__ == PUBLIC


@pytest.mark.parametrize("name", [n for n in PUBLIC if n != "__version__"])
def test_every_public_name_resolves_to_an_object_of_that_name(name):
    value = getattr(lfnb, name)
    assert getattr(value, "__name__", name) == name
    assert name in dir(lfnb)


def test_unknown_names_raise_attribute_error_naming_them():
    with pytest.raises(AttributeError, match="no attribute 'read_everything'"):
        lfnb.read_everything  # noqa: B018


def test_errors_form_the_documented_hierarchy():
    assert issubclass(lfnb.AuthError, lfnb.ApiError) and issubclass(lfnb.ApiError, lfnb.LfnbError)
    assert issubclass(lfnb.QueryValidationError, ValueError)
    assert issubclass(lfnb.LfnbTruncationWarning, UserWarning)


def test_import_lfnb_does_not_load_pandas_or_requests():
    code = "import sys, lfnb; print(sorted(m for m in ('pandas', 'requests', 'duckdb') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
