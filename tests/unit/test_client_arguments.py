"""Arguments checked before any request (D6, D8), a base URL that is not Langfuse (D7), the progress
bar's rate-limit wait (D3), metrics cache permissions (D9)."""

from __future__ import annotations

import io
import json
import stat
import sys
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

import lfnb
import lfnb.http.transport as transport_mod
from lfnb.errors import ConfigError, LfnbError, LfnbTruncationWarning
from lfnb.reads.progress import Progress


@pytest.fixture
def lf():
    # nothing listens on port 9: any request would be a TransportError, so a ConfigError proves none was sent
    client = lfnb.connect("http://127.0.0.1:9", "pk-lf-1", "sk-lf-1", max_retries=0)
    yield client
    assert client.transport.requests == 0


F, T = "2026-10-22", "2026-11-01"


@pytest.mark.parametrize("call, text", [
    (lambda lf: lf.read_observations("2026-11-01", "2026-10-25"),
     "to_time (2026-10-25T00:00:00+00:00) must be after from_time (2026-11-01T00:00:00+00:00): the range "
     "[from_time, to_time) is empty. Swapped arguments?"),
    (lambda lf: lf.read_scores(F, F), "to_time (2026-10-22T00:00:00+00:00) must be after from_time "
     "(2026-10-22T00:00:00+00:00): the range [from_time, to_time) is empty. Swapped arguments?"),
    (lambda lf: lf.read_observations(1793404800, 1793491200),
     "from_time=1793404800 is a number, which is ambiguous (pandas reads it as nanoseconds since 1970); pass a "
     "date/time such as '2026-11-01T00:00:00Z', a datetime or a Timestamp (epoch seconds: "
     "pd.Timestamp(1793404800, unit='s'))"),
    (lambda lf: lf.read_observations(F, T, limit=0), "limit must be an integer >= 1, got 0"),
    (lambda lf: lf.read_observations(F, T, max_rows=-1), "max_rows must be an integer >= 0 or None, got -1"),
    (lambda lf: lf.read_models(max_rows=-5), "max_rows must be an integer >= 0 or None, got -5"),
    (lambda lf: lf.read_traces(F, T, workers="4"), "workers must be an integer >= 1, got '4'"),
    (lambda lf: lf.read_observations(F, T, workers=2.5), "workers must be an integer >= 1, got 2.5"),
    (lambda lf: lf.read_observations(F, T, fields=None),
     "fields must be a comma-separated string or a list of field groups, got None; valid groups: core, basic, "
     "time, io, metadata, model, usage, prompt, metrics, trace_context"),
    (lambda lf: lf.read_observations(F, T, fields=["core", "cost"]),
     "unknown field group 'cost'; valid groups: core, basic, time, io, metadata, model, usage, prompt, metrics, "
     "trace_context"),
    (lambda lf: lf.read_observations(F, T, type="generation"),
     "type='generation' is not valid (did you mean 'GENERATION'?); valid values: GENERATION, SPAN, EVENT, AGENT, "
     "TOOL, CHAIN, RETRIEVER, EVALUATOR, EMBEDDING, GUARDRAIL"),
    (lambda lf: lf.read_observations(F, T, level="bogus"),
     "level='bogus' is not valid; valid values: DEBUG, DEFAULT, WARNING, ERROR"),
    (lambda lf: lf.read_scores(F, T, data_type="numeric"),
     "data_type='numeric' is not valid (did you mean 'NUMERIC'?); valid values: NUMERIC, BOOLEAN, CATEGORICAL, "
     "CORRECTION, TEXT"),
    (lambda lf: lf.read_scores(F, T, source="SDK"), "source='SDK' is not valid; valid values: ANNOTATION, API, EVAL"),
    (lambda lf: lf.read_comments(object_type="trace"),
     "object_type='trace' is not valid (did you mean 'TRACE'?); valid values: TRACE, OBSERVATION, SESSION, PROMPT"),
    (lambda lf: lf.call(None), "call() needs an operation name such as 'trace_list', got None; lf.operations() "
     "lists them"),
    (lambda lf: lf.call("score_create", body={"traceId": "t", "name": "n", "value": float("nan")}),
     "POST /api/public/scores: the request body is not JSON: $.value is nan (JSON has no NaN or infinity). "
     "Nothing was sent"),
    (lambda lf: lf.call("score_create", body={"tags": {"a"}}),
     "POST /api/public/scores: the request body is not JSON: $.tags is of type set (use a list); valid: str, int, "
     "float, bool, None, list, dict. Nothing was sent"),
    (lambda lf: lf.create_scores(pd.DataFrame({"name": ["x"]}), workers="4"), "workers must be an integer >= 1, "
     "got '4'"),
])
def test_bad_arguments_are_config_errors_before_any_request(lf, call, text):
    with pytest.raises(ConfigError) as info:
        call(lf)
    assert str(info.value) == text
    assert isinstance(info.value, ValueError)  # `except ValueError` works too


@pytest.mark.parametrize("read", [
    lambda lf: lf.read_observations(F, T, max_rows=0),
    lambda lf: lf.read_traces(F, T, max_rows=0),
    lambda lf: lf.read_sessions(F, T, max_rows=0),
    lambda lf: lf.read_scores(F, T, max_rows=0),
    lambda lf: lf.read_models(max_rows=0),
])
def test_max_rows_zero_is_the_same_everywhere(lf, read):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = read(lf)
    assert len(df) == 0 and len(df.columns) > 3
    assert [str(w.message) for w in caught] == ["max_rows=0: the result holds no rows (none were read)"]
    assert caught[0].category is LfnbTruncationWarning and caught[0].filename == __file__


@pytest.mark.parametrize("kw, text", [
    ({"timeout": 0}, "timeout must be a number > 0 (seconds), got 0"),
    ({"max_retry_after": "1h"}, "max_retry_after must be a number >= 0 (seconds) or math.inf, got '1h'"),
])
def test_connect_settings_are_checked(kw, text):
    with pytest.raises(ConfigError) as info:
        lfnb.connect("http://127.0.0.1:9", "pk", "sk", **kw)
    assert str(info.value) == text


# ---------------------------------------------------------------- D7: a base URL that is not a Langfuse server
@pytest.fixture
def not_langfuse():
    replies = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status, body = replies.get(self.path.split("?")[0], (404, b"<html>Not Found</html>"))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", replies
    server.shutdown()
    server.server_close()


def test_a_404_server_without_langfuse_health_is_not_taken_for_v3(not_langfuse):
    url, _ = not_langfuse
    lf = lfnb.connect(url + "/langfuse", "pk", "sk")
    with pytest.raises(ConfigError) as info:
        _ = lf.generation
    assert str(info.value) == (
        f"{url}/langfuse does not look like a Langfuse server: GET {url}/langfuse/api/public/v2/observations?limit=1"
        f"&fields=core answered HTTP 404 and GET {url}/langfuse/api/public/health answered HTTP 404. base_url must "
        "be the root of a Langfuse server, e.g. https://cloud.langfuse.com")


def test_a_v3_server_is_still_detected_by_its_health_answer(not_langfuse):
    url, replies = not_langfuse
    replies["/api/public/health"] = (200, json.dumps({"status": "OK", "version": "3.100.0"}).encode())
    assert lfnb.connect(url, "pk", "sk").generation == "v3"


def test_a_200_that_is_not_a_langfuse_page_is_refused(not_langfuse):
    url, replies = not_langfuse
    replies["/api/public/v2/observations"] = (200, b'{"ok": true}')
    with pytest.raises(ConfigError, match="does not look like a Langfuse server: GET .* answered HTTP 200 without a "
                                          "data list"):
        _ = lfnb.connect(url, "pk", "sk").generation


# ---------------------------------------------------------------- D3: the bar says it waits
def test_progress_bar_shows_the_rate_limit_wait_while_open(monkeypatch):
    pytest.importorskip("tqdm")
    monkeypatch.setattr(transport_mod.time, "sleep", lambda s: None)
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    t = lfnb.connect("http://127.0.0.1:9", "pk", "sk").transport
    with Progress(True, "observations", t) as bar:
        t._wait(12.4, "the rate limit (public-api)")
    assert "waiting 12 s for the rate limit (public-api)" in err.getvalue()
    assert bar.waits == [(12.4, "the rate limit (public-api)")] and t._wait_listeners == []


# ---------------------------------------------------------------- D9: cache files are private
def test_metrics_cache_is_private_whatever_the_umask(tmp_path):
    import os

    from lfnb.metrics import MetricsCache

    old = os.umask(0o022)
    try:
        path = MetricsCache(tmp_path / "c").put("http://x", "p", {"view": "traces"}, "v2", [{"n": 1}])
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "c").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_every_error_is_an_lfnb_error():
    assert issubclass(ConfigError, LfnbError) and issubclass(ConfigError, ValueError)
