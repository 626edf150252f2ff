"""The synthetic data generator: determinism, integrity, realism patterns."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
import xxhash

from lfnb.local import generator
from lfnb.local.generator import generate, resolve_anchor
from lfnb.local.store import TABLES, Store

ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
NAIVE_ANCHOR = datetime(2026, 11, 1)
START = NAIVE_ANCHOR - timedelta(days=3)


def _make(**kw) -> tuple[Store, dict]:
    store = Store()
    counts = generate(store, **kw)
    return store, counts


@pytest.fixture(scope="module")
def small():
    store, counts = _make(seed=0, traces=200, days=3, anchor=ANCHOR)
    yield store, counts
    store.close()


@pytest.fixture(scope="module")
def medium():
    """Enough traffic for the statistical patterns (two weeks, 3,000 traces)."""
    store, _ = _make(seed=1, traces=3000, days=14, anchor=ANCHOR)
    yield store
    store.close()


def one(store: Store, sql: str):
    row = store.fetch(sql)[0]
    return next(iter(row.values()))


def dump(store: Store) -> dict:
    return {t: store.fetch(f"SELECT * FROM {t} ORDER BY id") for t in TABLES}


def test_constants():
    assert generator.DEFAULT_PUBLIC_KEY == "pk-lf-local"
    assert generator.DEFAULT_SECRET_KEY == "sk-lf-local"
    assert isinstance(generator.PROJECT_ID, str) and generator.PROJECT_ID


def test_same_inputs_give_identical_data(small):
    store, counts = small
    again, counts2 = _make(seed=0, traces=200, days=3, anchor=ANCHOR)
    assert counts == counts2
    assert dump(again) == dump(store)
    again.close()


def test_naive_anchor_is_utc_and_seed_changes_data(small):
    store, _ = small
    naive, _ = _make(seed=0, traces=200, days=3, anchor=NAIVE_ANCHOR)
    assert dump(naive)["traces"] == dump(store)["traces"]
    other, _ = _make(seed=1, traces=200, days=3, anchor=ANCHOR)
    assert dump(other)["traces"] != dump(store)["traces"]
    naive.close()
    other.close()


def test_resolve_anchor():
    assert resolve_anchor(NAIVE_ANCHOR) == ANCHOR
    berlin = timezone(timedelta(hours=1))
    assert resolve_anchor(datetime(2026, 11, 1, 1, tzinfo=berlin)) == ANCHOR
    now = resolve_anchor(None)
    assert now.tzinfo == UTC and (now.hour, now.minute, now.second, now.microsecond) == (0, 0, 0, 0)
    assert datetime.now(UTC) - now < timedelta(days=1)


def test_every_table_filled_and_counts_match(small):
    store, counts = small
    assert set(counts) == set(TABLES)
    for t in TABLES:
        assert counts[t] == store.count(t) > 0, t
    assert counts["traces"] == 200
    assert counts["projects"] == 1
    assert one(store, "SELECT id FROM projects") == generator.PROJECT_ID
    assert 6.5 <= counts["observations"] / counts["traces"] <= 10


def test_rejects_bad_sizes_and_filled_stores(small):
    with pytest.raises(ValueError, match="traces and days must be >= 1, got traces=0, days=30"):
        generate(Store(), traces=0)
    store, counts = small
    with pytest.raises(ValueError, match="generate\\(\\) needs an empty store"):
        generate(store, traces=10, days=1, anchor=ANCHOR)
    assert store.count("traces") == counts["traces"]


def test_id_formats_and_hash(small):
    store, _ = small
    for r in store.fetch("SELECT id FROM traces"):
        assert re.fullmatch(r"[0-9a-f]{32}", r["id"])
    rows = store.fetch("SELECT id, trace_id, trace_id_hash FROM observations LIMIT 200")
    for r in rows:
        assert re.fullmatch(r"[0-9a-f]{16}", r["id"])
        assert r["trace_id_hash"] == xxhash.xxh32_intdigest(r["trace_id"].encode())
    for r in store.fetch("SELECT id FROM scores LIMIT 50") + store.fetch("SELECT id FROM models"):
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", r["id"])
        assert uuid.UUID(r["id"]).version == 4


def test_unique_hex_ids_redraws_collisions():
    import numpy as np

    from lfnb.local.generator.pools import unique_hex_ids

    ids, order = unique_hex_ids(np.random.default_rng(0), 200, 1)  # 200 of 256 values: collisions certain
    assert len(set(ids.tolist())) == 200
    assert all(re.fullmatch(rb"[0-9a-f]{2}", i) for i in ids.tolist())
    assert (ids[order][1:] > ids[order][:-1]).all()
    with pytest.raises(ValueError, match="cannot draw 257 distinct ids of 1 bytes"):
        unique_hex_ids(np.random.default_rng(0), 257, 1)


def test_trees_reaching_the_anchor_move_back():
    import numpy as np

    from lfnb.local.generator import _keep_before_anchor

    tr = {"ts": np.array([0, 100])}
    obs = {"trace": np.array([0, 0, 1]), "start": np.array([0, 5, 100]), "dur": np.array([50, 10, 30])}
    _keep_before_anchor(tr, obs, 120)
    assert tr["ts"].tolist() == [0, 89]
    assert obs["start"].tolist() == [0, 5, 89]


@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM observations o ANTI JOIN traces t ON t.id = o.trace_id",
    """SELECT count(*) FROM observations o WHERE parent_observation_id IS NOT NULL AND NOT EXISTS
       (SELECT 1 FROM observations p WHERE p.id = o.parent_observation_id AND p.trace_id = o.trace_id)""",
    "SELECT count(*) FROM dataset_run_items r ANTI JOIN traces t ON t.id = r.trace_id",
    "SELECT count(*) FROM dataset_run_items r ANTI JOIN observations o ON o.id = r.observation_id",
    "SELECT count(*) FROM dataset_run_items r ANTI JOIN dataset_items i ON i.id = r.dataset_item_id",
    "SELECT count(*) FROM dataset_run_items r ANTI JOIN dataset_runs d ON d.id = r.dataset_run_id",
    "SELECT count(*) FROM dataset_items i WHERE source_trace_id NOT IN (SELECT id FROM traces)",
    "SELECT count(*) FROM scores s WHERE config_id IS NOT NULL AND config_id NOT IN (SELECT id FROM score_configs)",
    "SELECT count(*) FROM scores s WHERE trace_id IS NOT NULL AND trace_id NOT IN (SELECT id FROM traces)",
    "SELECT count(*) FROM scores s WHERE observation_id NOT IN (SELECT id FROM observations)",
    "SELECT count(*) FROM scores s WHERE session_id NOT IN (SELECT id FROM sessions)",
    "SELECT count(*) FROM scores s WHERE dataset_run_id NOT IN (SELECT id FROM dataset_runs)",
    "SELECT count(*) FROM scores s WHERE queue_id NOT IN (SELECT id FROM annotation_queues)",
    "SELECT count(*) FROM observations WHERE internal_model_id NOT IN (SELECT id FROM models)",
    "SELECT count(*) FROM observations o WHERE prompt_id NOT IN (SELECT id FROM prompts)",
    """SELECT count(*) FROM observations o JOIN prompts p ON p.id = o.prompt_id
       WHERE p.name <> o.prompt_name OR p.version <> o.prompt_version""",
    "SELECT count(*) FROM annotation_queue_items q ANTI JOIN annotation_queues a ON a.id = q.queue_id",
    """SELECT count(*) FROM comments c WHERE object_type = 'TRACE' AND object_id NOT IN (SELECT id FROM traces)
       OR object_type = 'OBSERVATION' AND object_id NOT IN (SELECT id FROM observations)
       OR object_type = 'SESSION' AND object_id NOT IN (SELECT id FROM sessions)""",
    "SELECT count(*) FROM observations WHERE parent_observation_id IS NULL AND trace_id IN "
    "(SELECT trace_id FROM observations WHERE parent_observation_id IS NULL GROUP BY 1 HAVING count(*) > 1)",
])
def test_referential_integrity(small, sql):
    store, _ = small
    assert one(store, sql) == 0


def test_denormalised_trace_fields(small):
    store, _ = small
    assert one(store, """SELECT count(*) FROM observations o JOIN traces t ON t.id = o.trace_id
        WHERE o.trace_name <> t.name OR o.user_id IS DISTINCT FROM t.user_id
        OR o.session_id IS DISTINCT FROM t.session_id OR o.tags <> t.tags OR o.release <> t.release
        OR o.trace_version <> t.version OR o.environment <> t.environment""") == 0
    assert one(store, """SELECT count(*) FROM scores s JOIN traces t ON t.id = s.trace_id
        WHERE s.trace_name <> t.name OR s.user_id IS DISTINCT FROM t.user_id OR s.tags <> t.tags
        OR s.environment <> t.environment OR s.trace_release <> t.release""") == 0
    assert one(store, """SELECT count(*) FROM scores s JOIN observations o ON o.id = s.observation_id
        WHERE s.observation_name <> o.name OR s.observation_model_name IS DISTINCT FROM o.model
        OR s.observation_prompt_version IS DISTINCT FROM o.prompt_version""") == 0


def test_costs_are_usage_times_model_price(small):
    store, _ = small
    rows = store.fetch("""SELECT o.*, m.model_name, m.input_price, m.output_price FROM observations o
                          JOIN models m ON m.id = o.internal_model_id""")
    assert len(rows) > 100
    for r in rows:
        assert r["model"] == r["model_name"]
        assert r["input_cost"] == pytest.approx(r["input_usage"] * r["input_price"], rel=1e-9, abs=1e-15)
        assert r["output_cost"] == pytest.approx(r["output_usage"] * r["output_price"], rel=1e-9, abs=1e-15)
        assert r["total_cost"] == pytest.approx(r["input_cost"] + r["output_cost"], rel=1e-9, abs=1e-15)
        assert r["total_usage"] == r["input_usage"] + r["output_usage"]
        assert json.loads(r["usage_details"]) == {
            "input": r["input_usage"], "output": r["output_usage"], "total": r["total_usage"]}
        cost = json.loads(r["cost_details"])
        assert cost == {"input": r["input_cost"], "output": r["output_cost"], "total": r["total_cost"]}
    assert one(store, "SELECT count(*) FROM observations WHERE type = 'GENERATION' AND model IS NULL") == 0


def test_generation_fields(small):
    store, _ = small
    gens = store.fetch("SELECT * FROM observations WHERE type = 'GENERATION'")
    for g in gens:
        assert g["start_time"] <= g["completion_start_time"] <= g["end_time"]
        params = json.loads(g["model_parameters"])
        assert set(params) == {"temperature", "max_tokens"}
        msgs = json.loads(g["input"])["messages"]
        assert [m["role"] for m in msgs] == ["system", "user"]
        if g["level"] != "ERROR":
            assert json.loads(g["output"])["role"] == "assistant"
        else:
            assert g["output"] is None and g["status_message"]
    assert any(g["prompt_name"] for g in gens)
    assert any(g["called_tool_names"] for g in gens) and any(g["tool_names"] for g in gens)
    models = {g["model"] for g in gens}
    assert {"gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet"} <= models


def test_called_tools_exist_and_tool_io_matches_tool(small):
    store, _ = small
    calls = store.fetch("""SELECT g.trace_id, g.called_tool_names[1] AS tool FROM observations g
                           WHERE len(g.called_tool_names) > 0""")
    assert len(calls) > 10
    assert one(store, """SELECT count(*) FROM observations g WHERE len(g.called_tool_names) > 0 AND NOT EXISTS
        (SELECT 1 FROM observations t WHERE t.trace_id = g.trace_id AND t.type = 'TOOL'
         AND t.name = g.called_tool_names[1] AND t.start_time > g.start_time)""") == 0
    assert one(store, """SELECT count(*) FROM observations g WHERE len(g.called_tool_names) > 0
        AND NOT list_has_all(g.tool_names, g.called_tool_names)""") == 0
    inputs = {r["name"]: r["i"] for r in store.fetch(
        "SELECT name, any_value(input) AS i FROM observations WHERE type = 'TOOL' GROUP BY 1")}
    assert "order_id" in json.loads(inputs["get_order"])
    assert "expression" in json.loads(inputs["calculator"])


def test_children_inside_parents_and_trace_starts_at_root(small):
    store, _ = small
    assert one(store, """SELECT count(*) FROM observations c JOIN observations p ON p.id = c.parent_observation_id
        WHERE c.start_time < p.start_time OR coalesce(c.end_time, c.start_time) > p.end_time""") == 0
    assert one(store, """SELECT count(*) FROM observations o JOIN traces t ON t.id = o.trace_id
        WHERE o.parent_observation_id IS NULL AND o.start_time <> t.timestamp""") == 0
    assert one(store, "SELECT count(*) FROM observations WHERE end_time < start_time") == 0
    assert one(store, "SELECT count(*) FROM observations WHERE type = 'EVENT' AND end_time IS NOT NULL") == 0


def test_time_range(small):
    store, _ = small
    for table, col in [("traces", "timestamp"), ("observations", "start_time"), ("observations", "end_time"),
                       ("scores", "timestamp"), ("sessions", "created_at"), ("comments", "created_at")]:
        lo, hi = store.fetch(f"SELECT min({col}) AS lo, max({col}) AS hi FROM {table}")[0].values()
        assert START <= lo and hi < NAIVE_ANCHOR, (table, col, lo, hi)


def test_long_metadata_and_levels(small):
    store, _ = small
    for table in ("observations", "traces"):
        longest = one(store, f"""SELECT max(length(CAST(v.value AS VARCHAR))) FROM {table},
                                json_each({table}.metadata) AS v""")
        assert longest > 200, table
    levels = {r["level"]: r["n"] for r in store.fetch("SELECT level, count(*) AS n FROM observations GROUP BY 1")}
    assert set(levels) == {"DEFAULT", "DEBUG", "WARNING", "ERROR"}
    total = sum(levels.values())
    assert 0.002 < levels["ERROR"] / total < 0.05
    assert 0.005 < levels["WARNING"] / total < 0.08
    assert one(store, "SELECT count(*) FROM observations WHERE level IN ('ERROR','WARNING') "
                      "AND status_message IS NULL") == 0


def test_scores_shapes(small):
    store, _ = small
    kinds = {(r["data_type"], r["source"]) for r in store.fetch("SELECT DISTINCT data_type, source FROM scores")}
    assert {("NUMERIC", "EVAL"), ("BOOLEAN", "API"), ("CATEGORICAL", "EVAL"), ("NUMERIC", "ANNOTATION"),
            ("BOOLEAN", "ANNOTATION")} <= kinds
    assert one(store, """SELECT count(*) FROM scores WHERE data_type = 'BOOLEAN' AND NOT
        (value = 1 AND string_value = 'True' OR value = 0 AND string_value = 'False')""") == 0
    cats = store.fetch("""SELECT s.value, s.string_value, c.categories FROM scores s
                          JOIN score_configs c ON c.id = s.config_id WHERE s.data_type = 'CATEGORICAL'""")
    assert cats
    for r in cats:
        labels = [c["label"] for c in json.loads(r["categories"])]
        assert labels[int(r["value"])] == r["string_value"]
    sess = store.fetch("SELECT * FROM scores WHERE session_id IS NOT NULL")
    assert sess and all(r["trace_id"] is None and r["source"] == "ANNOTATION" for r in sess)
    assert one(store, "SELECT count(*) FROM scores WHERE observation_id IS NOT NULL") > 0
    assert one(store, "SELECT count(*) FROM scores WHERE source = 'EVAL' AND evaluator_id IS NULL") == 0
    assert one(store, "SELECT count(*) FROM scores WHERE source = 'ANNOTATION' AND author_user_id IS NULL") == 0
    assert one(store, "SELECT count(*) FROM scores WHERE queue_id IS NOT NULL") > 0
    # Langfuse holds exactly one of traceId/sessionId/datasetRunId per score; item evaluations are trace scores
    assert one(store, "SELECT count(*) FROM scores WHERE (trace_id IS NOT NULL)::INT + (session_id IS NOT NULL)::INT "
                      "+ (dataset_run_id IS NOT NULL)::INT <> 1") == 0
    assert one(store, "SELECT count(*) FROM scores WHERE comment IS NOT NULL") > 0
    assert one(store, """SELECT count(*) FROM scores s JOIN score_configs c ON c.id = s.config_id
        WHERE s.name <> c.name OR s.data_type <> c.data_type
        OR s.value < c.min_value OR s.value > c.max_value""") == 0


def test_prompts_models_sessions_datasets(small):
    store, _ = small
    prod = store.fetch("""SELECT name, count(*) FILTER (WHERE list_contains(labels, 'production')) AS p,
        max(version) FILTER (WHERE list_contains(labels, 'latest')) AS latest, max(version) AS v
        FROM prompts GROUP BY name""")
    assert len(prod) >= 5
    for r in prod:
        assert r["p"] == 1 and r["latest"] == r["v"] and 2 <= r["v"] <= 5
    assert {r["type"] for r in store.fetch("SELECT DISTINCT type FROM prompts")} == {"text", "chat"}
    managed = store.fetch("SELECT is_langfuse_managed, project_id, unit, match_pattern, model_name FROM models")
    assert {m["is_langfuse_managed"] for m in managed} == {True, False}
    for m in managed:
        assert (m["project_id"] is None) == m["is_langfuse_managed"] and m["unit"] == "TOKENS"
        assert re.search(m["match_pattern"], m["model_name"])
        assert re.search(m["match_pattern"], m["model_name"].upper() + "-2024-08-06")
        assert not re.search(m["match_pattern"], m["model_name"] + "-turbo")
    assert one(store, """SELECT count(*) FROM (SELECT session_id, min(timestamp) AS first FROM traces
        WHERE session_id IS NOT NULL GROUP BY 1) t FULL JOIN sessions s ON s.id = t.session_id
        WHERE s.created_at IS DISTINCT FROM t.first""") == 0
    assert one(store, "SELECT max(n) FROM (SELECT count(*) AS n FROM traces GROUP BY session_id)") >= 3
    runs = store.fetch("SELECT dataset_id, count(*) AS n FROM dataset_runs GROUP BY 1")
    assert 3 <= len(runs) <= 4 and all(2 <= r["n"] <= 3 for r in runs)
    assert {r["status"] for r in store.fetch("SELECT DISTINCT status FROM annotation_queue_items")} == {
        "PENDING", "COMPLETED"}
    assert one(store, "SELECT count(*) FROM annotation_queues") == 2
    assert {r["object_type"] for r in store.fetch("SELECT DISTINCT object_type FROM annotation_queue_items")} == {
        "TRACE", "OBSERVATION", "SESSION"}
    # an annotation made through a queue is timestamped when its item was completed
    assert one(store, """SELECT count(*) FROM scores s JOIN annotation_queue_items q
        ON q.queue_id = s.queue_id AND q.object_id = coalesce(s.observation_id, s.trace_id, s.session_id)
        WHERE q.status = 'COMPLETED' AND s.timestamp = q.completed_at""") == one(
        store, "SELECT count(*) FROM scores WHERE queue_id IS NOT NULL") > 0
    assert {r["object_type"] for r in store.fetch("SELECT DISTINCT object_type FROM comments")} == {
        "TRACE", "OBSERVATION", "SESSION"}


def test_weekdays_busier_than_weekends(medium):
    rows = medium.fetch("""SELECT isodow(timestamp) >= 6 AS weekend, count(*) / count(DISTINCT CAST(timestamp AS DATE))
                           AS per_day FROM traces GROUP BY 1""")
    per_day = {r["weekend"]: r["per_day"] for r in rows}
    assert per_day[False] > 1.8 * per_day[True]
    hours = {r["h"]: r["n"] for r in medium.fetch(
        "SELECT hour(timestamp) AS h, count(*) AS n FROM traces GROUP BY 1")}
    assert hours[11] > 3 * hours[3]


def test_patterns_for_analyses(medium):
    mix = {r["late"]: r["mini"] for r in medium.fetch("""
        SELECT o.start_time >= TIMESTAMP '2026-10-25' AS late,
               avg(CASE WHEN o.model = 'gpt-4o-mini' THEN 1 ELSE 0 END) AS mini
        FROM observations o WHERE o.name IN ('chat-completion', 'answer-generation') GROUP BY 1""")}
    assert mix[True] > mix[False] + 0.15
    err = {r["model"]: r["rate"] for r in medium.fetch("""SELECT model, avg(CASE WHEN level = 'ERROR'
        THEN 1 ELSE 0 END) AS rate FROM observations WHERE type = 'GENERATION' GROUP BY 1""")}
    assert err["mistral-large"] > 3 * err["gpt-4o"]
    quality = {r["m"]: r["v"] for r in medium.fetch("""SELECT o.model AS m, avg(s.value) AS v FROM scores s
        JOIN observations o ON o.trace_id = s.trace_id AND o.name IN ('chat-completion','answer-generation',
        'final-answer', 'combine-summaries', 'classify', 'extract')
        WHERE s.name = 'helpfulness' GROUP BY 1""")}
    assert quality["claude-3-5-sonnet"] > quality["gemini-1.5-flash"] + 0.08
    heavy = medium.fetch("SELECT count(*) AS n FROM traces WHERE user_id IS NOT NULL GROUP BY user_id ORDER BY n DESC")
    assert heavy[0]["n"] > 10 * heavy[len(heavy) // 2]["n"]
    slow = {r["rel"]: r["ms"] for r in medium.fetch("""SELECT release = 'v1.6.0' AS rel,
        median(epoch_ms(end_time) - epoch_ms(start_time)) AS ms FROM observations
        WHERE type = 'RETRIEVER' AND environment = 'production' GROUP BY 1""")}
    assert slow[True] > 1.3 * slow[False]
    by_version = {r["v"]: r["q"] for r in medium.fetch("""SELECT o.prompt_version AS v, avg(s.value) AS q
        FROM scores s JOIN observations o ON o.trace_id = s.trace_id AND o.name = 'chat-completion'
        WHERE s.name = 'helpfulness' GROUP BY 1""")}
    assert by_version[max(by_version)] > by_version[1] + 0.05
    match = one(medium, """SELECT avg(CASE WHEN json_extract_string(i.input, '$.question')
        = json_extract_string(t.input, '$.query') THEN 1 ELSE 0 END) FROM dataset_run_items r
        JOIN dataset_items i ON i.id = r.dataset_item_id JOIN traces t ON t.id = r.trace_id""")
    assert match > 0.75  # small candidate pools (model x question) in a 3,000-trace store
    runs = {r["name"]: r["v"] for r in medium.fetch("""SELECT d.name, avg(s.value) AS v FROM scores s
        JOIN dataset_run_items r ON r.trace_id = s.trace_id JOIN dataset_runs d ON d.id = r.dataset_run_id
        WHERE s.name = 'exact-match' GROUP BY 1""")}
    assert len(runs) == 9 and runs["gpt-4o-baseline"] > runs["gpt-4o-mini-candidate"]
    envs = {r["environment"] for r in medium.fetch("SELECT DISTINCT environment FROM traces")}
    assert envs == {"production", "staging", "development"}
