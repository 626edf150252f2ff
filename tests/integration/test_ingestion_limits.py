"""lfnb.local's ingestion limits over HTTP, as Langfuse Cloud applies them (facts sheet §5b, §6):
the 4.5 MB body limit (Next.js' 413, before auth and rate limiting) and the ``ingestion``
rate-limit bucket (1000 a minute on hobby, apart from the 30-a-minute ``public-api`` bucket)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests

from lfnb.langfuse.bodylimits import limit_bytes
from lfnb.local import serve

ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
LIMIT = 4_718_592          # Next's "4.5mb" (the bytes package: 4.5 × 1024²)


def body_of_size(size: int) -> bytes:
    """A valid ingestion body (an empty batch, padded metadata) of exactly ``size`` bytes."""
    empty = json.dumps({"batch": [], "metadata": {"pad": ""}}, separators=(",", ":")).encode()
    body = json.dumps({"batch": [], "metadata": {"pad": "x" * (size - len(empty))}}, separators=(",", ":")).encode()
    assert len(body) == size
    return body


@pytest.fixture
def server():
    with serve(port=0, generation="v4", seed=5, traces=20, days=2, anchor=ANCHOR, rate_limit="hobby") as srv:
        yield srv


def post(server, path, data, *, auth=True, session=None):
    keys = (server.env["LANGFUSE_PUBLIC_KEY"], server.env["LANGFUSE_SECRET_KEY"]) if auth else ("pk-x", "sk-x")
    return (session or requests).post(server.base_url + path, data=data, auth=keys, timeout=60,
                                      headers={"Content-Type": "application/json"})


def test_limit_text_parses_like_the_bytes_package():
    assert limit_bytes("4.5mb") == LIMIT
    assert (limit_bytes("1mb"), limit_bytes("16kb"), limit_bytes("100")) == (1_048_576, 16_384, 100)


def test_a_body_over_4_5_mb_is_nexts_413_before_auth_and_rate_limits(server):
    at_limit = post(server, "/api/public/ingestion", body_of_size(LIMIT))
    assert at_limit.status_code == 207 and at_limit.json() == {"successes": [], "errors": []}
    over = post(server, "/api/public/ingestion", body_of_size(LIMIT + 1))
    assert over.status_code == 413
    assert over.text == "Body exceeded 4.5mb limit"              # Next's plain text, not JSON
    assert "json" not in over.headers.get("content-type", "")
    unauthenticated = post(server, "/api/public/ingestion", body_of_size(LIMIT + 1), auth=False)
    assert (unauthenticated.status_code, unauthenticated.text) == (413, "Body exceeded 4.5mb limit")
    chunked = requests.post(server.base_url + "/api/public/ingestion", timeout=60,
                            data=iter([body_of_size(LIMIT + 1)[i:i + 65536] for i in range(0, LIMIT + 1, 65536)]),
                            auth=(server.env["LANGFUSE_PUBLIC_KEY"], server.env["LANGFUSE_SECRET_KEY"]),
                            headers={"Content-Type": "application/json"})
    assert "content-length" not in {k.lower() for k in chunked.request.headers}
    assert (chunked.status_code, chunked.text) == (413, "Body exceeded 4.5mb limit")
    items = post(server, "/api/public/dataset-items", body_of_size(LIMIT + 1))
    assert (items.status_code, items.text) == (413, "Body exceeded 4.5mb limit")
    small_other = post(server, "/api/public/scores", b'{"name": 1}')
    assert small_other.status_code == 400                          # other routes: no such limit here


def test_ingestion_counts_in_its_own_bucket_of_1000_a_minute(server):
    with requests.Session() as session:
        for _ in range(3):                       # refused by Next before the limiter: no point used
            assert post(server, "/api/public/ingestion", body_of_size(LIMIT + 1), session=session).status_code == 413
        answers = [post(server, "/api/public/ingestion", b'{"batch": []}', session=session).status_code
                   for _ in range(1000)]
        assert answers == [207] * 1000
        refused = post(server, "/api/public/ingestion", b'{"batch": []}', session=session)
        assert refused.status_code == 429
        assert refused.headers["X-RateLimit-Limit"] == "1000"
        assert refused.json()["message"] == "Rate limit exceeded"
        read = session.get(server.base_url + "/api/public/v2/observations", params={"limit": 1}, timeout=30,
                           auth=(server.env["LANGFUSE_PUBLIC_KEY"], server.env["LANGFUSE_SECRET_KEY"]))
        assert read.status_code == 200                              # public-api (30/min) untouched
        assert read.headers.get("X-RateLimit-Limit") is None
