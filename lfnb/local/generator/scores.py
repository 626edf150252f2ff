"""Scores (with their configs), datasets and runs, comments and annotation queues.

Score values are drawn from one latent "quality" per trace that depends on the
trace's main model and prompt version, so evaluations, user feedback, annotations
and dataset-run results all tell the same story.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from lfnb.local.generator import catalog as cat
from lfnb.local.generator import pools as gio
from lfnb.local.generator.context import ANNOTATORS, DAY_US, US, Context

# name, data type, min, max, categories, description, archived
CONFIGS = [
    ("helpfulness", "NUMERIC", 0.0, 1.0, None, "LLM-as-a-judge: how helpful the answer is", False),
    ("correctness", "BOOLEAN", None, None, None, "Human review: is the answer factually correct", False),
    ("sentiment", "CATEGORICAL", None, None, ["positive", "neutral", "negative"], "User sentiment", False),
    ("user-feedback", "BOOLEAN", None, None, None, "Thumbs up / down from the end user", False),
    ("hallucination", "NUMERIC", 0.0, 1.0, None, "Share of claims not supported by the context", False),
    ("session-satisfaction", "NUMERIC", 1.0, 5.0, None, "Reviewer rating of a whole conversation", False),
    ("tone", "CATEGORICAL", None, None, ["friendly", "neutral", "curt", "rude"], "Tone of the answer", False),
    ("answer-relevance", "NUMERIC", 0.0, 1.0, None, "Replaced by helpfulness", True),
    ("exact-match", "BOOLEAN", None, None, None, "Experiment: output equals the expected output", False),
]
CFG = {c[0]: i for i, c in enumerate(CONFIGS)}
STRINGS = ["False", "True"] + CONFIGS[2][4] + CONFIGS[6][4]
SENTIMENT0, TONE0 = 2, 5  # offsets of the categories in STRINGS
EVALUATORS = ["eval-helpfulness-v2", "eval-hallucination-v1", "eval-sentiment-v1", "eval-exact-match"]
SCORE_COMMENTS = ["The answer addresses the question directly.", "Misses the second half of the question.",
                  "Cites a document that does not support the claim.", "Not helpful, user asked again.",
                  "Perfect, resolved on first try."]
SCORE_META = ["{}", cat.dumps({"judge_model": "gpt-4o", "judge_prompt_version": 2}),
              cat.dumps({"judge_model": "gpt-4o-mini", "judge_prompt_version": 3}),
              cat.dumps({"client": "web-widget"})]
# dataset name, template, item count, description, runs: (run name, model or None, prompt version or None)
DATASETS = [
    ("faq-golden", "chat", 40, "Hand-picked support questions with approved answers",
     [("gpt-4o-baseline", "gpt-4o", None), ("gpt-4o-mini-candidate", "gpt-4o-mini", None)]),
    ("rag-eval", "rag-query", 60, "Questions with the documents that answer them",
     [("claude-sonnet", "claude-3-5-sonnet", None), ("gpt-4o", "gpt-4o", None),
      ("mistral-large", "mistral-large", None)]),
    ("summarize-bench", "summarize", 25, "Ticket transcripts with reference summaries",
     [("haiku", "claude-3-haiku", None), ("flash", "gemini-1.5-flash", None)]),
    ("intent-classification", "classify", 50, "Messages labelled with their intent",
     [("classify-intent-v1", None, 1), ("classify-intent-v2", None, 2)]),
]


class Scores:
    """Accumulates score blocks (numpy arrays of equal length) before one Arrow insert."""

    COLS = ("name", "trace", "obs", "session", "value", "string", "ts", "comment", "meta", "config",
            "author", "queue", "evaluator", "run", "source", "dtype")

    def __init__(self):
        self.blocks: list[dict] = []

    def add(self, name: str, source: str, n: int, **cols) -> None:
        if n == 0:
            return
        block = {c: np.full(n, -1, dtype=np.int64) for c in self.COLS}
        block["value"] = np.zeros(n)
        block["name"] = np.full(n, CFG[name])
        block["source"] = np.full(n, ["API", "ANNOTATION", "EVAL"].index(source))
        block["dtype"] = np.full(n, ["NUMERIC", "BOOLEAN", "CATEGORICAL"].index(CONFIGS[CFG[name]][1]))
        block["config"] = np.full(n, CFG[name])
        for k, v in cols.items():
            block[k] = np.asarray(v) if np.ndim(v) else np.full(n, v)
        self.blocks.append(block)

    def merged(self) -> dict:
        return {c: np.concatenate([b[c] for b in self.blocks]) for c in self.COLS}


def insert_all(cur, ctx: Context, tr: dict, obs: dict, trace_ids: np.ndarray, obs_ids: np.ndarray) -> None:
    """Score configs, annotation queues, scores, datasets and comments."""
    rng = ctx.rng
    n = len(tr["ts"])
    main = obs["main_row"]
    mq = np.array([cat.MODEL_QUALITY[m[0]] for m in cat.MODELS])
    failed = obs["level"][main] == 3
    # The one latent quality per trace that every score below is drawn from.
    quality = (0.62 + mq[obs["model"][main]] + cat.PROMPT_QUALITY_STEP * (obs["pversion"][main] - 1)
               + rng.normal(0, 0.12, n) - 0.3 * failed)
    cfg_ids = gio.to_str(gio.uuid_ids(rng, len(CONFIGS)))
    t0 = ctx.ts(ctx.start_us - 60 * DAY_US)
    gio.insert_rows(cur, "score_configs", [
        [cfg_ids[i], ctx.project_id, c[0], c[1], c[6], c[2], c[3],
         cat.dumps([{"label": lab, "value": v} for v, lab in enumerate(c[4])]) if c[4] else None,
         c[5], t0, t0] for i, c in enumerate(CONFIGS)])
    queue_ids = gio.to_str(gio.uuid_ids(rng, 2))
    gio.insert_rows(cur, "annotation_queues", [
        [queue_ids[0], ctx.project_id, "quality-review", "Spot-check answers for correctness and tone",
         [cfg_ids[CFG["correctness"]], cfg_ids[CFG["tone"]]], t0, t0],
        [queue_ids[1], ctx.project_id, "session-review", "Rate whole conversations",
         [cfg_ids[CFG["session-satisfaction"]]], t0, t0]])
    sess_idx, sess_pool = ctx.sessions
    sess_first = np.full(len(sess_pool), ctx.end_us, dtype=np.int64)
    np.minimum.at(sess_first, sess_idx[sess_idx >= 0], tr["ts"][sess_idx >= 0])

    s = Scores()
    _evaluation_scores(s, ctx, tr, obs, quality)
    _annotation_scores(s, cur, ctx, tr, obs, quality, trace_ids, obs_ids, queue_ids, sess_first)
    run_ids = _insert_datasets(cur, ctx, tr, obs, trace_ids, obs_ids, s)
    _insert_scores(cur, ctx, s.merged(), cfg_ids, queue_ids, run_ids, trace_ids, obs_ids, sess_pool)
    _insert_comments(cur, ctx, tr, obs, trace_ids, obs_ids, sess_pool, sess_first)


def _delay(rng, lo: int, hi: int, k: int) -> np.ndarray:
    """``k`` random delays between ``lo`` and ``hi`` seconds, in microseconds."""
    return rng.integers(lo * US, hi * US, size=k)


def _evaluation_scores(s: Scores, ctx: Context, tr: dict, obs: dict, quality: np.ndarray) -> None:
    """LLM-as-a-judge (EVAL) and end-user (API) scores, shortly after each trace."""
    rng = ctx.rng
    n = len(tr["ts"])
    main = obs["main_row"]
    trace_end = obs["start"][main] + obs["dur"][main]
    # helpfulness: LLM judge on 45 % of traces
    t = np.nonzero(rng.random(n) < 0.45)[0]
    s.add("helpfulness", "EVAL", len(t), trace=t, value=np.round(np.clip(quality[t], 0, 1), 3),
          ts=ctx.before_end(trace_end[t], _delay(rng, 5, 180, len(t))), evaluator=0,
          meta=rng.integers(1, 3, len(t)),
          comment=np.where(rng.random(len(t)) < 0.2, rng.integers(0, len(SCORE_COMMENTS), len(t)), -1))
    # hallucination: on the main generation of chat / rag traces
    rag = np.isin(tr["tpl"], [0, 1])
    t = np.nonzero(rag & (rng.random(n) < 0.35))[0]
    hv = np.clip(0.3 - 1.1 * (quality[t] - 0.62) + rng.normal(0, 0.08, len(t)), 0, 1)
    s.add("hallucination", "EVAL", len(t), trace=t, obs=main[t], value=np.round(hv, 3), evaluator=1,
          ts=ctx.before_end(trace_end[t], _delay(rng, 5, 180, len(t))), meta=rng.integers(1, 3, len(t)))
    # sentiment: categorical judge
    t = np.nonzero(rng.random(n) < 0.2)[0]
    z = quality[t] + rng.normal(0, 0.15, len(t))
    cat_i = np.where(z > 0.7, 0, np.where(z > 0.45, 1, 2))
    s.add("sentiment", "EVAL", len(t), trace=t, value=cat_i.astype(float), string=SENTIMENT0 + cat_i,
          evaluator=2, ts=ctx.before_end(trace_end[t], _delay(rng, 5, 300, len(t))))
    # user feedback (API): thumbs up/down from users, often without a config id
    t = np.nonzero((tr["user"] >= 0) & (rng.random(n) < 0.12))[0]
    up = rng.random(len(t)) < 1 / (1 + np.exp(-(quality[t] - 0.55) * 8))
    s.add("user-feedback", "API", len(t), trace=t, value=up.astype(float), string=up.astype(np.int64),
          ts=ctx.before_end(trace_end[t], _delay(rng, 10, 900, len(t))), meta=3,
          config=np.where(rng.random(len(t)) < 0.3, -1, CFG["user-feedback"]),
          comment=np.where(~up & (rng.random(len(t)) < 0.4), 3, -1))
    # answer-relevance: the archived config still has scores from the first fifth of the range
    t = np.nonzero((tr["frac"] < 0.2) & (rng.random(n) < 0.1))[0]
    s.add("answer-relevance", "EVAL", len(t), trace=t, value=np.round(np.clip(quality[t] + 0.05, 0, 1), 3),
          evaluator=0, ts=ctx.before_end(trace_end[t], _delay(rng, 5, 120, len(t))))


def _annotation_scores(s: Scores, cur, ctx: Context, tr: dict, obs: dict, quality: np.ndarray,
                       trace_ids, obs_ids, queue_ids: list[str], sess_first: np.ndarray) -> None:
    """Annotation queue items and the human (ANNOTATION) scores: queued ones plus ad-hoc reviews."""
    rng = ctx.rng
    n = len(tr["ts"])
    main = obs["main_row"]
    sess_idx, sess_pool = ctx.sessions
    n_sess = len(sess_pool)
    q_traces = rng.choice(n, size=min(60, n), replace=False)
    q_obs = rng.choice(n, size=min(15, n), replace=False)  # traces whose main generation is queued
    q_sess = rng.choice(n_sess, size=min(30, n_sess), replace=False) if n_sess else np.zeros(0, np.int64)
    q_done_t, q_done_o, q_done_s = (rng.random(len(x)) < 0.6 for x in (q_traces, q_obs, q_sess))
    at_t, at_o, at_s = _insert_queue_items(cur, ctx, [
        (queue_ids[0], "TRACE", [trace_ids[i].decode() for i in q_traces], tr["ts"][q_traces], q_done_t),
        (queue_ids[0], "OBSERVATION", [obs_ids[main[i]].decode() for i in q_obs], tr["ts"][q_obs], q_done_o),
        (queue_ids[1], "SESSION", [sess_pool[i] for i in q_sess], sess_first[q_sess], q_done_s)])

    def picked(done: np.ndarray, items: np.ndarray, at: np.ndarray, extra: np.ndarray, base: np.ndarray,
               queue: int, max_days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Objects, queue index (-1 ad hoc) and timestamps of completed items + ad-hoc reviews."""
        objs = np.concatenate([items[done], extra])
        queues = np.concatenate([np.full(int(done.sum()), queue), np.full(len(extra), -1)])
        when = np.concatenate([at[done], ctx.before_end(base[extra], _delay(rng, 3600, max_days * 86400,
                                                                              len(extra)))])
        return objs, queues, when

    # correctness on traces
    t, queue, when = picked(q_done_t, q_traces, at_t, np.nonzero(rng.random(n) < 0.03)[0], tr["ts"], 0, 2)
    ok = rng.random(len(t)) < np.clip(quality[t] + 0.15, 0, 1)
    s.add("correctness", "ANNOTATION", len(t), trace=t, value=ok.astype(float), string=ok.astype(np.int64),
          ts=when, queue=queue, author=rng.integers(0, len(ANNOTATORS), len(t)),
          comment=np.where(~ok, rng.integers(1, 3, len(t)), -1))
    # tone on the main generation
    t, queue, when = picked(q_done_o, q_obs, at_o, np.nonzero(rng.random(n) < 0.03)[0], tr["ts"], 0, 3)
    z = quality[t] + rng.normal(0, 0.2, len(t))
    tone = np.where(z > 0.75, 0, np.where(z > 0.5, 1, np.where(z > 0.3, 2, 3)))
    s.add("tone", "ANNOTATION", len(t), trace=t, obs=main[t], value=tone.astype(float), string=TONE0 + tone,
          ts=when, queue=queue, author=rng.integers(0, len(ANNOTATORS), len(t)))
    # session satisfaction (1-5) from the mean quality of the session's traces
    if n_sess:
        sq = np.zeros(n_sess)
        cnt = np.zeros(n_sess)
        has = sess_idx >= 0
        np.add.at(sq, sess_idx[has], quality[has])
        np.add.at(cnt, sess_idx[has], 1)
        ss, queue, when = picked(q_done_s, q_sess, at_s, np.nonzero(rng.random(n_sess) < 0.2)[0],
                                 sess_first, 1, 2)
        val = np.clip(np.round(1 + 4 * (sq[ss] / np.maximum(cnt[ss], 1)) + rng.normal(0, 0.5, len(ss))), 1, 5)
        s.add("session-satisfaction", "ANNOTATION", len(ss), session=ss, value=val, queue=queue, ts=when,
              author=rng.integers(0, len(ANNOTATORS), len(ss)))


def _insert_queue_items(cur, ctx, groups: list[tuple]) -> list[np.ndarray]:
    """Queue items from ``(queue id, object type, object ids, object time, completed mask)`` groups.

    Returns the completion time of every item, group by group (the annotation
    scores of completed items carry it as their timestamp).
    """
    rng = ctx.rng
    rows, done_times = [], []
    for queue, otype, objs, base, done in groups:
        ids = gio.to_str(gio.uuid_ids(rng, len(objs)))
        created = ctx.before_end(base, rng.integers(600 * US, 86400 * US, size=len(base)))
        done_at = ctx.before_end(created, rng.integers(3600 * US, 2 * 86400 * US, size=len(base)))
        done_times.append(done_at)
        rows += [[ids[i], ctx.project_id, queue, objs[i], otype, "COMPLETED" if done[i] else "PENDING",
                  ctx.ts(done_at[i]) if done[i] else None, ctx.ts(created[i]),
                  ctx.ts(done_at[i] if done[i] else created[i])] for i in range(len(objs))]
    gio.insert_rows(cur, "annotation_queue_items", rows)
    return done_times


def _insert_datasets(cur, ctx, tr, obs, trace_ids, obs_ids, s: Scores) -> list[str]:
    """Datasets, items, runs and run items; adds the runs' exact-match scores to ``s``."""
    rng = ctx.rng
    n = len(tr["ts"])
    span = ctx.end_us - ctx.start_us
    names = [t.name for t in cat.TEMPLATES]
    main = obs["main_row"]
    main_model = obs["model"][main]
    run_ids: list[str] = []
    for d, (dname, tname, n_items, desc, runs) in enumerate(DATASETS):
        did = gio.to_str(gio.uuid_ids(rng, 1))[0]
        created = ctx.start_us + span // 10 + d * 3600 * US
        gio.insert_rows(cur, "datasets", [[
            did, ctx.project_id, dname, desc, cat.dumps({"owner": "ml-platform", "task": tname}),
            None, None, ctx.ts(created), ctx.ts(created)]])
        k = names.index(tname)
        pool = np.nonzero(tr["tpl"] == k)[0]
        if len(pool) == 0:
            pool = np.arange(n)
        item_ids = gio.to_str(gio.uuid_ids(rng, n_items))
        src = rng.choice(pool, size=n_items)
        has_src = rng.random(n_items) < (0.8 if tname == "rag-query" else 0.4)
        qs = tr["question"][src]
        rows = []
        for i in range(n_items):
            q = int(qs[i])
            expected = ["how-to", "billing", "bug", "sales", "other"][q % 5] if tname == "classify" \
                else {"answer": cat.ANSWERS[q]}
            t_item = ctx.ts(created + (i + 1) * 60 * US)
            rows.append([item_ids[i], ctx.project_id, did, dname, "ARCHIVED" if i % 23 == 22 else "ACTIVE",
                         cat.dumps({"question": cat.QUESTIONS[q]}), cat.dumps(expected),
                         cat.dumps({"difficulty": ["easy", "medium", "hard"][i % 3]}),
                         trace_ids[src[i]].decode() if has_src[i] else None,
                         obs_ids[main[src[i]]].decode() if has_src[i] and tname == "rag-query" else None,
                         t_item, t_item])
        gio.insert_rows(cur, "dataset_items", rows)
        for r, (rname, model, pversion) in enumerate(runs):
            rid = gio.to_str(gio.uuid_ids(rng, 1))[0]
            run_ids.append(rid)
            frac = 0.3 + 0.6 * r / max(len(runs) - 1, 1)
            rt = ctx.start_us + int(span * frac)
            gio.insert_rows(cur, "dataset_runs", [[
                rid, ctx.project_id, did, dname, rname,
                f"{dname} with " + (model or f"prompt version {pversion}"),
                cat.dumps({"model": model, "prompt_version": pversion}), ctx.ts(rt), ctx.ts(rt)]])
            keep = np.ones(len(pool), dtype=bool)
            if model is not None:
                keep &= main_model[pool] == cat.MODEL_INDEX[model]
            if pversion is not None:
                keep &= obs["pversion"][main[pool]] == pversion
            chosen = _pick_run_traces(rng, pool[keep] if keep.any() else pool, qs, tr["question"])
            ri_ids = gio.to_str(gio.uuid_ids(rng, n_items))
            t_run = ctx.ts(rt)
            gio.insert_rows(cur, "dataset_run_items", [
                [ri_ids[i], ctx.project_id, rid, rname, item_ids[i], trace_ids[chosen[i]].decode(),
                 obs_ids[main[chosen[i]]].decode(), t_run, t_run] for i in range(n_items)])
            # An experiment holds everything but the compared model / prompt version fixed, so its
            # score follows that factor's expected quality (a sharp threshold: 25-60 items suffice).
            mq = np.array([cat.MODEL_QUALITY[m[0]] for m in cat.MODELS])[main_model[chosen]]
            expected = 0.62 + mq + cat.PROMPT_QUALITY_STEP * ((pversion or 2) - 1)
            ok = expected + rng.normal(0, 0.1, n_items) > 0.62
            # item evaluations score the item's trace, as the SDK's run_experiment does; Langfuse
            # holds exactly one of traceId/sessionId/datasetRunId per score (facts §6 validation)
            s.add("exact-match", "EVAL", n_items, trace=chosen, value=ok.astype(float),
                  string=ok.astype(np.int64), evaluator=3,
                  ts=ctx.before_end(np.full(n_items, rt), rng.integers(US, 600 * US, n_items)))
    return run_ids


def _pick_run_traces(rng, cand: np.ndarray, item_q: np.ndarray, trace_q: np.ndarray) -> np.ndarray:
    """One trace per dataset item: an unused candidate asking the item's question if possible."""
    perm = rng.permutation(cand)
    used = np.zeros(len(perm), dtype=bool)
    out = np.empty(len(item_q), dtype=np.int64)
    for i, q in enumerate(item_q):
        free = np.nonzero(~used & (trace_q[perm] == q))[0]
        if not len(free):
            free = np.nonzero(~used)[0]
        j = free[0] if len(free) else i % len(perm)
        used[j] = True
        out[i] = perm[j]
    return out


def _insert_scores(cur, ctx, sc: dict, cfg_ids, queue_ids, run_ids, trace_ids, obs_ids, sess_pool) -> None:
    rng = ctx.rng
    n = len(sc["name"])
    ids = gio.uuid_ids(rng, n)
    sess = np.where(sc["session"] >= 0, sc["session"], -1)
    table = pa.table({
        "id": gio.arrow_str(ids),
        "name": gio.take([c[0] for c in CONFIGS], sc["name"]),
        "value": pa.array(sc["value"].astype(float)),
        "string_value": gio.take(STRINGS, sc["string"]),
        "data_type": gio.take(["NUMERIC", "BOOLEAN", "CATEGORICAL"], sc["dtype"]),
        "source": gio.take(["API", "ANNOTATION", "EVAL"], sc["source"]),
        "trace_id": gio.take(gio.arrow_str(trace_ids), sc["trace"]),
        "observation_id": gio.take(gio.arrow_str(obs_ids), sc["obs"]),
        "session_id": gio.take(sess_pool or [""], sess),
        "dataset_run_id": gio.take(run_ids or [""], sc["run"]),
        "comment": gio.take(SCORE_COMMENTS, sc["comment"]),
        "metadata": gio.take(SCORE_META, np.where(sc["meta"] < 0, 0, sc["meta"])),
        "config_id": gio.take(cfg_ids, sc["config"]),
        "author_user_id": gio.take(ANNOTATORS, sc["author"]),
        "queue_id": gio.take(queue_ids, sc["queue"]),
        "evaluator_id": gio.take(EVALUATORS, sc["evaluator"]),
        "timestamp": gio.ts_array(sc["ts"]),
        "created_at": gio.ts_array(sc["ts"] + rng.integers(US, 3 * US, n)),
    })
    cur.register("gen_scores", table.take(np.argsort(ids, kind="stable")))  # sorted keys index faster
    cur.execute(f"""
        INSERT INTO scores BY NAME
        SELECT s.*, '{ctx.project_id}' AS project_id, s.created_at AS updated_at,
               coalesce(t.environment, se.environment, 'production') AS environment,
               t.name AS trace_name, t.user_id, t.tags, t.release AS trace_release,
               t.version AS trace_version, o.name AS observation_name, o.model AS observation_model_name,
               o.prompt_name AS observation_prompt_name, o.prompt_version AS observation_prompt_version
        FROM gen_scores s
        LEFT JOIN traces t ON t.id = s.trace_id
        LEFT JOIN observations o ON o.id = s.observation_id
        LEFT JOIN sessions se ON se.id = s.session_id
        ORDER BY s.id  -- a parallel join emits rows in any order; keep the table's order reproducible
    """)
    cur.unregister("gen_scores")


def _insert_comments(cur, ctx, tr, obs, trace_ids, obs_ids, sess_pool, sess_first) -> None:
    rng = ctx.rng
    n = len(tr["ts"])
    # At least one comment of each kind, so small stores have every kind.
    t = np.union1d(np.nonzero(rng.random(n) < 0.015)[0], [n - 1])
    o = obs["main_row"][np.union1d(np.nonzero(rng.random(n) < 0.005)[0], [0])]
    ss = np.union1d(np.nonzero(rng.random(len(sess_pool)) < 0.03)[0], [0]) if sess_pool \
        else np.zeros(0, np.int64)
    objs = ([("TRACE", trace_ids[i].decode(), tr["ts"][i]) for i in t]
            + [("OBSERVATION", obs_ids[i].decode(), obs["start"][i]) for i in o]
            + [("SESSION", sess_pool[i], sess_first[i]) for i in ss])
    if not objs:
        return
    base = np.array([x[2] for x in objs], dtype=np.int64)
    when = ctx.before_end(base, rng.integers(60 * US, 86400 * US, size=len(objs)))
    ids = gio.to_str(gio.uuid_ids(rng, len(objs)))
    text = rng.integers(0, len(cat.COMMENTS), size=len(objs))
    who = rng.integers(0, len(ANNOTATORS), size=len(objs))
    gio.insert_rows(cur, "comments", [
        [ids[i], ctx.project_id, kind, oid, cat.COMMENTS[text[i]], ANNOTATORS[who[i]],
         ctx.ts(when[i]), ctx.ts(when[i])] for i, (kind, oid, _) in enumerate(objs)])
