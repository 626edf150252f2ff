"""The secret key and the Authorization header never show in reprs, logs, errors or warnings."""

from __future__ import annotations

import base64
import logging
import traceback

import pytest

import lfnb
import lfnb.http.transport as client_mod
from lfnb.errors import LfnbError

SECRET = "sk-lf-TOPSECRET-123"
TOKEN = base64.b64encode(f"pk-lf-1:{SECRET}".encode()).decode()


def leaks(text: str) -> bool:
    return SECRET in text or TOKEN in text


def test_repr_of_client_and_transport_hide_secret():
    lf = lfnb.connect("http://127.0.0.1:9", "pk-lf-1", SECRET)
    for text in (repr(lf), str(lf), repr(lf.transport), repr(lf.transport._session.auth), repr(vars(lf))):
        assert not leaks(text), text
    assert "pk-lf-1" in repr(lf)


def test_errors_and_logs_hide_secret(monkeypatch, caplog):
    monkeypatch.setattr(client_mod.time, "sleep", lambda s: None)
    lf = lfnb.connect("http://127.0.0.1:9", "pk-lf-1", SECRET, max_retries=2)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(LfnbError) as info:
            lf.read_models()
    formatted = "".join(traceback.format_exception(info.value))
    assert "TransportError" in formatted
    assert not leaks(formatted)
    assert not leaks(caplog.text)
    assert "retrying GET /api/public/models" in caplog.text


def test_env_keys_are_used_but_not_shown(monkeypatch):
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", "pk-lf-1")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", SECRET)
    monkeypatch.delenv("LANGFUSE_BASE_URL", raising=False)
    monkeypatch.setenv("LANGFUSE_HOST", "http://127.0.0.1:9")
    lf = lfnb.connect()
    assert lf.base_url == "http://127.0.0.1:9"
    assert not leaks(repr(lf))


def test_missing_keys_message(monkeypatch):
    monkeypatch.delenv("LANGFUSE_PUBLIC_KEY", raising=False)
    monkeypatch.delenv("LANGFUSE_SECRET_KEY", raising=False)
    with pytest.raises(lfnb.ConfigError, match="No Langfuse keys: pass public_key= and secret_key= or set"):
        lfnb.connect("http://127.0.0.1:9")
