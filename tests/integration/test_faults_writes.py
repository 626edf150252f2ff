"""Write-back under lfnb.local's ``lost`` fault (the write is applied, the answer never arrives):
no duplicate is ever stored, and every row's / call's outcome is reported truthfully."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pandas as pd
import pytest

import lfnb
from lfnb.errors import LfnbError, ServerError, UnconfirmedWriteError
from lfnb.local import serve

pytestmark = pytest.mark.integration

SMALL = dict(seed=0, traces=60, days=2, anchor=datetime(2026, 11, 1, tzinfo=UTC))
FAULTS = "lost=0.3,drop=0.05,500=0.05,503=0.03,seed={seed}"


@pytest.fixture(scope="module", params=[1, 4])
def lossy(request):
    with serve(port=0, generation="v4", faults=FAULTS.format(seed=request.param), **SMALL) as server:
        yield server


def client(server, retries=5):
    lf = lfnb.connect(server.base_url, server.public_key, server.secret_key, max_retries=retries, timeout=5)
    lf.transport.backoff = 0.005
    lf.transport.max_backoff = 0.02
    return lf


def stored(server, sql):
    return Counter(r["k"] for r in server.store.fetch(sql))


def check_truthful(result: pd.DataFrame, counts: Counter, keys: pd.Series) -> None:
    """written → stored once; not written → absent; may have been written → at most once."""
    assert set(result["outcome"]) <= {"written", "not written", "may have been written"}
    for outcome, key in zip(result["outcome"], keys):
        if outcome == "written":
            assert counts[key] == 1, key
        elif outcome == "not written":
            assert counts[key] == 0, key
        else:
            assert counts[key] <= 1, key
    assert max(counts.values(), default=0) == 1  # 0 duplicates


@pytest.mark.parametrize("retries", [5, 1])
def test_create_scores_under_lost_replies(lossy, retries):
    lf = client(lossy, retries)
    traces = [r["id"] for r in lossy.store.fetch("SELECT id FROM traces ORDER BY id LIMIT 50")]
    tag = f"lost-{retries}-{lossy.port}"
    df = pd.DataFrame({"traceId": traces, "name": tag, "value": 1.0,
                       "comment": [f"{tag}-{i}" for i in range(len(traces))]})
    result = lf.create_scores(df, workers=4)
    counts = stored(lossy, f"SELECT comment AS k FROM scores WHERE name = '{tag}'")
    check_truthful(result, counts, df["comment"])
    assert lf.transport.retries > 0
    if retries == 1:  # with one retry some rows end unconfirmed, and say so
        assert (result["outcome"] != "written").any()
        unsure = result[result["outcome"] == "may have been written"]
        assert unsure["written"].isna().all() and unsure["id"].notna().all()
        # re-sending them with their ids upserts: still no duplicate
        again = client(lossy, 8).create_scores(df.assign(id=result["id"])[result["outcome"] != "written"])
        assert (again["outcome"] == "written").all()
        counts = stored(lossy, f"SELECT comment AS k FROM scores WHERE name = '{tag}'")
        assert sorted(counts.values()) == [1] * len(df)


def test_create_dataset_items_under_lost_replies(lossy):
    lf = client(lossy, 1)
    name = lossy.store.fetch("SELECT name FROM datasets ORDER BY name LIMIT 1")[0]["name"]
    df = pd.DataFrame({"input": [{"q": f"items-{lossy.port}-{i}"} for i in range(40)]})
    result = lf.create_dataset_items(name, df, workers=4)
    counts = stored(lossy, f"SELECT json_extract_string(input, '$.q') AS k FROM dataset_items "
                           f"WHERE json_extract_string(input, '$.q') LIKE 'items-{lossy.port}-%'")
    check_truthful(result, counts, df["input"].map(lambda d: d["q"]))


def test_calls_without_an_id_are_never_duplicated(lossy):
    lf = client(lossy)
    project = lf.read_projects()["id"][0]
    trace = lossy.store.fetch("SELECT id FROM traces ORDER BY id LIMIT 1")[0]["id"]
    outcomes = {}
    for i in range(30):
        content = f"comment-{lossy.port}-{i}"
        try:
            lf.call("comments_create", body={"projectId": project, "objectType": "TRACE", "objectId": trace,
                                              "content": content})
            outcomes[content] = "written"
        except (UnconfirmedWriteError, ServerError) as exc:
            assert exc.may_have_applied and "MAY have been applied" in str(exc)
            outcomes[content] = "may have been written"
        except LfnbError:
            outcomes[content] = "not written"
    counts = stored(lossy, f"SELECT content AS k FROM comments WHERE content LIKE 'comment-{lossy.port}-%'")
    assert max(counts.values()) == 1                                       # 0 duplicates
    assert all(counts[c] == 1 for c, o in outcomes.items() if o == "written")
    assert all(counts[c] == 0 for c, o in outcomes.items() if o == "not written")
    assert "may have been written" in outcomes.values()                   # the fault did fire
