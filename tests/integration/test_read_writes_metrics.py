"""Write-back (scores, dataset items), read_metrics and call() against lfnb.local."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("lfnb.local.server")
pytest.importorskip("lfnb.local.generator")

import lfnb  # noqa: E402
from lfnb.local import serve  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def own_server():
    # Writes change the store: a server of this module's own, not the shared fixture.
    anchor = pd.Timestamp("2026-11-01", tz="UTC").to_pydatetime()
    with serve(port=0, generation="v4", seed=1, traces=30, days=2, anchor=anchor) as server:
        yield server


@pytest.fixture(scope="module")
def lf(own_server):
    return lfnb.connect(own_server.base_url, own_server.public_key, own_server.secret_key)


def test_create_scores_reports_every_row(lf, own_server):
    trace_ids = [r["id"] for r in own_server.store.fetch("SELECT id FROM traces ORDER BY id LIMIT 2")]
    before = own_server.store.count("scores")
    df = pd.DataFrame({
        "traceId": [trace_ids[0], None, trace_ids[1], trace_ids[1]],
        "name": ["helpfulness", "helpfulness", None, "helpfulness"],
        "value": [0.9, 0.5, 0.1, 0.7],
        "comment": ["good", None, None, "ok"],
    }, index=[10, 11, 12, 13])
    result = lf.create_scores(df)
    assert list(result.index) == [10, 11, 12, 13]
    assert list(result.columns) == ["id", "written", "outcome", "error"]
    assert result["written"].tolist() == [True, False, False, True]
    assert result["outcome"].tolist() == ["written", "not written", "not written", "written"]
    assert result.loc[11, "error"] == "a score needs one of traceId, sessionId, observationId, datasetRunId"
    assert result.loc[12, "error"] == "missing required field(s): name"
    assert own_server.store.count("scores") == before + 2
    written = set(result.loc[result["written"].astype(bool), "id"])
    stored = {r["id"] for r in own_server.store.fetch("SELECT id FROM scores WHERE name = 'helpfulness'")}
    assert written <= stored


def test_create_scores_rejects_unknown_columns(lf):
    with pytest.raises(lfnb.ConfigError, match="unknown column\\(s\\) score; valid columns: id, traceId"):
        lf.create_scores(pd.DataFrame({"score": [1]}))


def test_create_dataset_items(lf, own_server):
    name = own_server.store.fetch("SELECT name FROM datasets ORDER BY name LIMIT 1")[0]["name"]
    before = len(lf.read_dataset_items(name, progress=False))
    df = pd.DataFrame({"input": [{"q": "2+2"}, {"q": "3+3"}], "expectedOutput": ["4", "6"],
                       "metadata": [{"src": "nb"}, "not-a-dict"]})
    result = lf.create_dataset_items(name, df)
    assert result["written"].tolist() == [True, False]
    assert result.loc[1, "error"] == "metadata must be a dict"
    after = lf.read_dataset_items(name, progress=False)
    assert len(after) == before + 1
    assert result.loc[0, "id"] in set(after["id"])


def test_server_rejection_is_reported_not_raised(lf):
    df = pd.DataFrame({"traceId": ["t"], "name": ["x"], "value": [1.0], "dataType": ["NOT_A_TYPE"]})
    result = lf.create_scores(df)
    assert result["written"].tolist() == [False]
    assert "failed with HTTP 400" in result.loc[0, "error"]


def test_read_metrics(lf, own_server, tmp_path):
    from lfnb.metrics import MetricsCache

    query = {"view": "observations", "dimensions": [{"field": "type"}],
             "metrics": [{"measure": "count", "aggregation": "count"}],
             "fromTimestamp": "2026-10-01T00:00:00Z", "toTimestamp": "2026-11-02T00:00:00Z"}
    try:
        df = lf.read_metrics(query, cache=MetricsCache(tmp_path))
    except lfnb.ServerError as exc:
        if exc.status == 501:
            pytest.skip("metrics endpoint not implemented in lfnb.local yet")
        raise
    counts = {r["type"]: r["n"] for r in own_server.store.fetch(
        "SELECT type, count(*) AS n FROM observations GROUP BY type")}
    assert dict(zip(df["type"], df["count_count"])) == counts
    again = lf.read_metrics(query, cache=MetricsCache(tmp_path))
    pd.testing.assert_frame_equal(df, again)
    with pytest.raises(lfnb.QueryValidationError):
        lf.read_metrics({**query, "view": "nope"}, cache=False)


def test_operations_frame_and_health(lf):
    ops = lf.operations()
    assert len(ops) == 89      # 86 seed operations, v3 scores, experiments and experiment items
    assert lf.call("health_health")["status"] == "OK"


def test_filter_is_validated_before_any_request(lf):
    _ = lf.generation  # the one-off probe is allowed to happen first
    sent = lf.transport.requests
    with pytest.raises(lfnb.QueryValidationError) as info:
        lf.read_observations(filter=[{"type": "string", "column": "nope", "operator": "=", "value": "x"}],
                             progress=False)
    assert "Column nope does not match a UI / CH table mapping." in str(info.value)
    assert lf.transport.requests == sent


def test_server_rate_limit_surfaces_as_rate_limit_error():
    anchor = pd.Timestamp("2026-11-01", tz="UTC").to_pydatetime()
    secret = "sk-lf-rate-limit-secret"
    with serve(port=0, generation="v3", seed=2, traces=10, days=1, anchor=anchor, rate_limit="hobby",
               secret_key=secret) as server:
        lf = lfnb.connect(server.base_url, server.public_key, secret, max_retries=0)
        with pytest.raises(lfnb.RateLimitError) as info:
            for _ in range(20):  # public-api-legacy on hobby: 15 per minute
                lf.call("trace_list", limit=1)
        err = info.value
        assert err.status == 429 and err.retry_after is not None and err.retry_after > 0
        assert "Rate limit exceeded" in str(err)
        assert secret not in str(err) and secret not in repr(err.__dict__)
