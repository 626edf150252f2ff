"""Every list endpoint of lfnb.local.resources walked page by page over the generated
``store_small`` (300 traces): ids and counts equal the store's, and every page conforms
to the OpenAPI response schema."""

from __future__ import annotations

import pytest
from test_resources import call, conforms, openapi, route  # noqa: F401  (openapi is a fixture)

# (operation, table, documented order, path params from the store, extra query)
LISTS = [
    ("trace_list", "SELECT id FROM traces ORDER BY timestamp DESC, id DESC", {}),
    ("observations_get_many", "SELECT id FROM observations ORDER BY start_time DESC, id DESC", {}),
    ("sessions_list", "SELECT id FROM sessions ORDER BY created_at DESC, id DESC", {}),
    ("score_v2_get", "SELECT id FROM scores ORDER BY timestamp DESC, id DESC", {}),
    ("score_configs_get", "SELECT id FROM score_configs ORDER BY created_at DESC NULLS LAST, id DESC", {}),
    ("comments_get", "SELECT id FROM comments ORDER BY created_at DESC NULLS LAST, id DESC", {}),
    ("datasets_list", "SELECT id FROM datasets ORDER BY created_at DESC NULLS LAST, id DESC", {}),
    ("dataset_items_list", "SELECT id FROM dataset_items ORDER BY created_at DESC NULLS LAST, id DESC", {}),
    ("models_list", "SELECT id FROM models ORDER BY model_name, id", {}),
    ("annotation_queues_list_queues",
     "SELECT id FROM annotation_queues ORDER BY created_at DESC NULLS LAST, id DESC", {}),
]


def walk_checked(store, openapi, op: str, limit: int, query=(), **params):
    method, template, _, _ = route(op)
    path = template
    for k, v in params.items():
        path = path.replace("{" + k + "}", v)
    items, page, pages = [], 1, 0
    while True:
        out = call(store, op, [*query, ("page", str(page)), ("limit", str(limit))], **params)
        conforms(openapi, method, path, out)
        pages += 1
        items += out["data"]
        if page >= out["meta"]["totalPages"]:
            return items, out["meta"], pages
        page += 1


@pytest.mark.parametrize("op,sql,params", LISTS)
def test_walk_generated(store_small, openapi, op, sql, params):
    expected = [r["id"] for r in store_small.fetch(sql)]
    assert expected, f"the generator left {op}'s table empty"
    # a second, odd limit that still keeps the walk to about 25 pages
    for limit in (100, max(7, -(-len(expected) // 25) | 1)):
        items, meta, pages = walk_checked(store_small, openapi, op, limit)
        assert [i["id"] for i in items] == expected
        assert meta["totalItems"] == len(expected)
        assert pages == -(-len(expected) // limit)


def test_walk_runs_items_prompts_queue_items(store_small, openapi):
    for ds in store_small.fetch("SELECT id, name FROM datasets ORDER BY name"):
        runs = [r["id"] for r in store_small.fetch(
            "SELECT id FROM dataset_runs WHERE dataset_id = ? ORDER BY created_at DESC, id DESC", [ds["id"]])]
        items, _, _ = walk_checked(store_small, openapi, "datasets_get_runs", 1, datasetName=ds["name"])
        assert [i["id"] for i in items] == runs
    run = store_small.fetch("SELECT * FROM dataset_runs ORDER BY id LIMIT 1")[0]
    expected = [r["id"] for r in store_small.fetch(
        "SELECT id FROM dataset_run_items WHERE dataset_run_id = ? ORDER BY created_at DESC, id DESC", [run["id"]])]
    items, meta, _ = walk_checked(store_small, openapi, "dataset_run_items_list", 9,
                                  [("datasetId", run["dataset_id"]), ("runName", run["name"])])
    assert [i["id"] for i in items] == expected and meta["totalItems"] == len(expected) > 0
    names = [r["name"] for r in store_small.fetch("SELECT DISTINCT name FROM prompts ORDER BY name")]
    items, _, _ = walk_checked(store_small, openapi, "prompts_list", 4)
    assert [i["name"] for i in items] == names
    versions = store_small.fetch("SELECT name, list(version ORDER BY version) AS v FROM prompts GROUP BY name")
    assert {i["name"]: i["versions"] for i in items} == {r["name"]: list(r["v"]) for r in versions}
    queue = store_small.fetch("SELECT id FROM annotation_queues ORDER BY id LIMIT 1")[0]["id"]
    expected = [r["id"] for r in store_small.fetch(
        "SELECT id FROM annotation_queue_items WHERE queue_id = ? ORDER BY created_at, id", [queue])]
    items, _, _ = walk_checked(store_small, openapi, "annotation_queues_list_queue_items", 11, queueId=queue)
    assert [i["id"] for i in items] == expected


def test_v3_walk_generated(store_small, openapi):
    expected = [r["id"] for r in store_small.fetch("SELECT id FROM scores ORDER BY timestamp DESC, id DESC")]
    got, cursor, pages = [], None, 0
    while True:
        q = [("limit", "100"), ("fields", "details,subject,annotation")] + ([("cursor", cursor)] if cursor else [])
        out = call(store_small, "scores_v3_get_many", q)
        conforms(openapi, "GET", "/api/public/v3/scores", out)
        got += [d["id"] for d in out["data"]]
        pages += 1
        cursor = out["meta"].get("cursor")
        if not cursor:
            break
    assert got == expected and pages == -(-len(expected) // 100)


def test_gets_generated(store_small, openapi):
    trace = store_small.fetch("SELECT id FROM traces ORDER BY id LIMIT 1")[0]["id"]
    t = call(store_small, "trace_get", traceId=trace)
    conforms(openapi, "GET", f"/api/public/traces/{trace}", t)
    assert [o["id"] for o in t["observations"]] == [r["id"] for r in store_small.fetch(
        "SELECT id FROM observations WHERE trace_id = ? ORDER BY start_time, id", [trace])]
    total = store_small.fetch("SELECT coalesce(sum(total_cost), 0) AS c FROM observations WHERE trace_id = ?",
                              [trace])[0]["c"]
    assert t["totalCost"] == pytest.approx(total)
    for prompt in store_small.fetch("SELECT name, version FROM prompts ORDER BY name, version"):
        p = call(store_small, "prompts_get", {"version": str(prompt["version"])}, promptName=prompt["name"])
        conforms(openapi, "GET", f"/api/public/v2/prompts/{prompt['name']}", p)
        assert (p["name"], p["version"]) == (prompt["name"], prompt["version"])
    production = store_small.fetch("SELECT name, version FROM prompts WHERE list_contains(labels, 'production')")
    for row in production:
        assert call(store_small, "prompts_get", promptName=row["name"])["version"] == row["version"]


def test_metrics_daily_generated(store_small):
    days, metas = [], []
    page = 1
    while True:
        out = call(store_small, "metrics_daily", [("page", str(page)), ("limit", "3")])
        days += out["data"]
        metas.append(out["meta"])
        if page >= out["meta"]["totalPages"]:
            break
        page += 1
    traces = store_small.fetch("SELECT id, CAST(timestamp AS DATE) AS day FROM traces")
    obs = store_small.fetch("SELECT trace_id, model, total_usage, total_cost FROM observations")
    day_of = {t["id"]: t["day"].isoformat() for t in traces}
    expected: dict[str, dict] = {}
    for t in traces:
        d = expected.setdefault(day_of[t["id"]], {"countTraces": 0, "countObservations": 0, "totalCost": 0.0,
                                                  "models": {}})
        d["countTraces"] += 1
    for o in obs:
        d = expected[day_of[o["trace_id"]]]
        d["countObservations"] += 1
        d["totalCost"] += o["total_cost"] or 0.0
        if o["model"]:
            m = d["models"].setdefault(o["model"], [0, set()])
            m[0] += o["total_usage"] or 0
            m[1].add(o["trace_id"])
    assert [d["date"] for d in days] == sorted(expected, reverse=True)
    assert metas[0]["totalItems"] == len(expected) and len(metas) == -(-len(expected) // 3)
    for d in days:
        e = expected[d["date"]]
        assert (d["countTraces"], d["countObservations"]) == (e["countTraces"], e["countObservations"])
        assert d["totalCost"] == pytest.approx(e["totalCost"])
        assert {u["model"]: (u["totalUsage"], u["countTraces"]) for u in d["usage"]} == {
            k: (v[0], len(v[1])) for k, v in e["models"].items()}
    user = store_small.fetch("SELECT user_id FROM traces WHERE user_id IS NOT NULL LIMIT 1")[0]["user_id"]
    one = call(store_small, "metrics_daily", {"userId": user})
    assert sum(d["countTraces"] for d in one["data"]) == store_small.fetch(
        "SELECT count(*) AS n FROM traces WHERE user_id = ?", [user])[0]["n"]
