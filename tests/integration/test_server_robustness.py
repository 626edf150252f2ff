"""lfnb.local under hostile input (S1, S2) and the ``lost`` fault / client disconnects (S3), over real HTTP."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import pytest
import requests

from lfnb.local import serve
from lfnb.local.store import Store

pytestmark = pytest.mark.integration

AUTH = ("pk-lf-local", "sk-lf-local")


@pytest.fixture(scope="module")
def server():
    with serve(generation="both", seed=0, traces=20, days=2, anchor=datetime(2026, 11, 1, tzinfo=UTC)) as s:
        yield s


@pytest.mark.parametrize("path", ["/api/public/models", "/api/public/comments", "/api/public/dataset-items",
                                  "/api/public/v2/datasets", "/api/public/v2/prompts", "/api/public/score-configs",
                                  "/api/public/traces", "/api/public/observations", "/api/public/sessions",
                                  "/api/public/v2/scores", "/api/public/metrics/daily"])
@pytest.mark.parametrize("page", ["1e20", "99999999999999999999"])
def test_huge_page_numbers_are_400_not_500(server, path, page):
    r = requests.get(server.base_url + path, params={"page": page}, auth=AUTH, timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["error"][0]["path"] == ["page"]
    assert r.json()["error"][0]["message"] == "Invalid input: expected int, received number"


@pytest.mark.parametrize("value", ["1" + "0" * 400, "1e400", "-1e999"])
def test_out_of_range_numbers_in_a_body_are_400(server, value):
    trace = server.store.fetch("SELECT id FROM traces LIMIT 1")[0]["id"]
    body = f'{{"traceId": "{trace}", "name": "x", "value": {value}}}'
    r = requests.post(server.base_url + "/api/public/scores", data=body, auth=AUTH, timeout=10,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["message"] == "Invalid request data"
    assert r.json()["error"][0]["message"].startswith("Invalid input: expected number, received Infinity")


def test_deeply_nested_body_is_nexts_400_and_the_connection_stays_usable(server):
    with requests.Session() as s:
        s.auth = AUTH
        r = s.post(server.base_url + "/api/public/comments", data="[" * 5000, timeout=10,
                   headers={"Content-Type": "application/json"})
        # Next.js's body parser refuses it before Langfuse's code: its sendError sets no content type
        assert (r.status_code, r.headers.get("content-type"), r.text) == (400, None, "Invalid JSON")
        again = s.post(server.base_url + "/api/public/comments", data="[" * 5000, timeout=10,
                       headers={"Content-Type": "application/json"})
        assert again.status_code == 400


def test_lost_applies_the_write_then_drops_the_answer():
    store = Store()
    with serve(store=store, faults="lost=1") as server:
        with pytest.raises(requests.ConnectionError):
            requests.post(server.base_url + "/api/public/v2/datasets", json={"name": "ds-lost"}, auth=AUTH, timeout=5)
        assert [r["name"] for r in store.fetch("SELECT name FROM datasets")] == ["ds-lost"]
    store.close()


def test_client_giving_up_during_slow_is_one_log_line(caplog):
    store = Store()
    with serve(store=store, faults="slow=1,slow_ms=600") as server:
        with caplog.at_level(logging.INFO):
            with pytest.raises(requests.exceptions.ReadTimeout):
                requests.post(server.base_url + "/api/public/v2/datasets", json={"name": "ds-slow"}, auth=AUTH,
                              timeout=(2, 0.2))
            time.sleep(0.8)  # let the server notice the disconnect
    lines = [r for r in caplog.records if r.name.startswith(("lfnb.local", "uvicorn"))]
    assert [r.getMessage() for r in lines if r.levelno >= logging.INFO and "disconnect" in r.getMessage()] == [
        "client disconnected before its request body arrived: POST /api/public/v2/datasets (fault slow); not applied"]
    assert not any("Exception in ASGI application" in r.getMessage() or r.exc_info for r in lines)
    assert store.fetch("SELECT count(*) AS n FROM datasets")[0]["n"] == 0
    store.close()


def test_the_clients_400_message_carries_the_servers_field_issues(server):
    import lfnb

    lf = lfnb.connect(server.base_url, server.public_key, server.secret_key)
    with pytest.raises(lfnb.ApiError) as info:
        lf.call("models_list", limit="abc")
    assert str(info.value) == (f"GET {server.base_url}/api/public/models?limit=abc failed with HTTP 400: Invalid "
                               "request data (limit: Invalid input: expected number, received NaN)")
