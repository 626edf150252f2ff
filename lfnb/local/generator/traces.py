"""Vectorised synthesis of traces and their observation trees (numpy only, no per-row Python).

Times are int64 microseconds since the Unix epoch (UTC) throughout, so child
intervals nest exactly inside their parents without float rounding.
"""

from __future__ import annotations

import numpy as np

from lfnb.local.generator import catalog as cat

US = 1_000_000
HOUR_US = 3600 * US
# Relative traffic per UTC hour of day: Europe + US working hours dominate.
HOUR_PROFILE = np.array([0.15, 0.12, 0.10, 0.10, 0.12, 0.18, 0.30, 0.50, 0.80, 1.00, 1.00, 1.00,
                         0.95, 1.00, 1.00, 0.95, 0.90, 0.80, 0.60, 0.45, 0.35, 0.30, 0.25, 0.20])
WEEKEND_FACTOR = 0.35
RELEASES = ["v1.4.0", "v1.5.0", "v1.6.0"]
RELEASE_STARTS = [0.0, 0.4, 0.7]  # share of the range at which each release goes live
SLOW_RELEASE = 2  # v1.6.0 (a new gateway) made generations, retrieval and tools slower
ENVIRONMENTS = ["production", "staging", "development"]
KINDS = ["span", "gen", "retr", "embed", "tool", "guard", "eval", "event"]


def weekday(us: np.ndarray) -> np.ndarray:
    """Monday = 0 (1970-01-01 was a Thursday)."""
    return (us // (24 * HOUR_US) + 3) % 7


def hour_of_day(us: np.ndarray) -> np.ndarray:
    return (us // HOUR_US) % 24


def sample_times(rng: np.random.Generator, n: int, start_us: int, days: int) -> np.ndarray:
    """Timestamps with daily/weekly seasonality and a mild growth trend over the range."""
    hours = np.arange(days * 24, dtype=np.int64)
    h_us = start_us + hours * HOUR_US
    w = HOUR_PROFILE[hour_of_day(h_us)] * np.where(weekday(h_us) >= 5, WEEKEND_FACTOR, 1.0)
    w = w * (1.0 + 0.3 * hours / len(hours))
    pick = rng.choice(len(hours), size=n, p=w / w.sum())
    return h_us[pick] + rng.integers(0, HOUR_US, size=n)


def _group_sizes(rng: np.random.Generator, count: int, mean: float) -> np.ndarray:
    """Group ids (0..g-1) for ``count`` items split into groups of geometric size."""
    sizes = 1 + rng.geometric(1.0 / mean, size=count)
    ends = np.cumsum(sizes)
    g = int(np.searchsorted(ends, count)) + 1
    return np.searchsorted(ends[:g], np.arange(count), side="right")


def make_traces(rng: np.random.Generator, n: int, start_us: int, end_us: int, days: int) -> dict:
    """Trace-level arrays (sorted by timestamp): template, user, session, env, release, question."""
    tpl = cat.TEMPLATES
    name = rng.choice(len(tpl), size=n, p=np.array([t.weight for t in tpl]) / sum(t.weight for t in tpl))
    in_sess = rng.random(n) < np.array([t.sessions for t in tpl])[name]
    # A "unit" is a session (several traces) or a lone trace: it has one user and one start time.
    unit = np.full(n, -1, dtype=np.int64)
    n_units = 0
    for k in range(len(tpl)):
        idx = np.nonzero(in_sess & (name == k))[0]
        if len(idx):
            g = _group_sizes(rng, len(idx), 2.5)
            unit[idx] = n_units + g
            n_units += int(g.max()) + 1
    n_sessions = n_units
    lone = unit < 0
    unit[lone] = n_sessions + np.arange(int(lone.sum()))
    n_units += int(lone.sum())

    n_users = max(12, n // 15)
    uw = 1.0 / np.arange(1, n_users + 1) ** 0.85  # a few heavy users, a long tail
    unit_user = rng.choice(n_users, size=n_units, p=uw / uw.sum())
    unit_user[n_sessions:][rng.random(n_units - n_sessions) < 0.08] = -1  # anonymous API calls
    unit_env = rng.choice(3, size=n_units, p=[0.86, 0.10, 0.04])
    unit_start = sample_times(rng, n_units, start_us, days)

    # Turn offsets inside a session: cumulative think-time gaps (median 70 s).
    order = np.argsort(unit, kind="stable")
    gaps = np.exp(rng.normal(np.log(70.0), 0.8, size=n)) * US
    gaps = gaps.astype(np.int64)
    u_sorted = unit[order]
    first = np.r_[True, u_sorted[1:] != u_sorted[:-1]]
    gaps[order[first]] = 0
    cum = np.cumsum(gaps[order])
    base = np.maximum.accumulate(np.where(first, cum, 0))
    offset = np.empty(n, dtype=np.int64)
    offset[order] = cum - base
    unit_span = np.zeros(n_units, dtype=np.int64)
    np.maximum.at(unit_span, unit, offset)
    # Keep whole sessions (plus 10 min for the slowest trace tree) before the anchor: a
    # session that would overrun moves back by its own length, which keeps the hourly shape.
    margin = 10 * 60 * US
    over = unit_start + unit_span + margin > end_us
    unit_start = np.where(over, unit_start - unit_span - margin, unit_start)
    unit_start = np.maximum(unit_start, start_us)
    ts = unit_start[unit] + offset

    srt = np.argsort(ts, kind="stable")
    tr = {"tpl": name[srt], "ts": ts[srt], "unit": unit[srt], "user": unit_user[unit][srt],
          "env": unit_env[unit][srt], "question": rng.integers(0, len(cat.QUESTIONS), size=n)}
    tr["session"] = np.where(tr["unit"] < n_sessions, tr["unit"], -1)
    frac = (tr["ts"] - start_us) / max(end_us - start_us, 1)
    ahead = np.where(tr["env"] > 0, 0.15, 0.0)  # staging/dev run the next release early
    tr["release"] = np.searchsorted(RELEASE_STARTS, frac + ahead, side="right") - 1
    tr["frac"] = frac
    tr["tags"] = rng.integers(0, 4, size=n)
    tr["meta"] = rng.random(n)
    tr["n_users"] = n_users
    return tr


def _lognormal(rng, median, sigma, size):
    return np.exp(rng.normal(np.log(median), sigma, size=size))


def _mix(rng, probs: dict, size: int) -> np.ndarray:
    keys = [cat.MODEL_INDEX[k] for k in probs]
    p = np.array(list(probs.values()))
    return np.array(keys)[rng.choice(len(keys), size=size, p=p / p.sum())]


def _main_models(rng, frac: np.ndarray) -> np.ndarray:
    """Main-answer models: the mix moves to cheaper models around the middle of the range."""
    names = list(cat.MAIN_MIX_EARLY)
    early = np.array([cat.MAIN_MIX_EARLY[k] for k in names])
    late = np.array([cat.MAIN_MIX_LATE[k] for k in names])
    s = 1.0 / (1.0 + np.exp(-(frac - 0.5) * 25.0))
    cum = np.cumsum(early[None, :] * (1 - s)[:, None] + late[None, :] * s[:, None], axis=1)
    pick = (rng.random(len(frac))[:, None] > cum[:, :-1]).sum(axis=1)
    return np.array([cat.MODEL_INDEX[k] for k in names])[pick]


def make_observations(rng: np.random.Generator, tr: dict, prompt_created: dict) -> dict:
    """Observation arrays for every trace, built template by template.

    ``prompt_created`` maps a prompt name to the sorted creation times (us) of its
    versions. Rows come out grouped by template, in slot order inside a trace.
    """
    price = np.array([(m[2], m[3]) for m in cat.MODELS])
    ttft_med = np.array([m[4] for m in cat.MODELS])
    tps = np.array([max(m[5], 1.0) for m in cat.MODELS])
    base_err = np.array([m[6] for m in cat.MODELS])
    ts_all = tr["ts"]
    peak = (weekday(ts_all) < 5) & (hour_of_day(ts_all) >= 13) & (hour_of_day(ts_all) < 17)
    parts: list[dict] = []
    main_row = np.full(len(ts_all), -1, dtype=np.int64)
    row0 = 0
    for k, t in enumerate(cat.TEMPLATES):
        ti = np.nonzero(tr["tpl"] == k)[0]
        N, M = len(ti), len(t.nodes)
        if N == 0:
            continue
        ts = ts_all[ti]
        slow = tr["release"][ti] == SLOW_RELEASE
        u = rng.random((N, M))
        present = np.zeros((N, M), dtype=bool)
        for j, nd in enumerate(t.nodes):
            ok = u[:, j] < nd.p
            if nd.parent >= 0:
                ok &= present[:, nd.parent]
            if nd.req >= 0:
                ok &= present[:, nd.req]
            present[:, j] = ok
        model = np.full((N, M), -1, dtype=np.int64)
        tin = np.zeros((N, M), dtype=np.int64)
        tout = np.zeros((N, M), dtype=np.int64)
        ttft = np.zeros((N, M), dtype=np.int64)
        own = np.zeros((N, M), dtype=np.int64)
        level = np.zeros((N, M), dtype=np.int8)  # 0 DEFAULT, 1 DEBUG, 2 WARNING, 3 ERROR
        pversion = np.zeros((N, M), dtype=np.int64)
        name_code = np.zeros((N, M), dtype=np.int64)  # index into node.tools for tool rows
        lv = rng.random((N, M))
        for j, nd in enumerate(t.nodes):
            if nd.kind in ("gen", "embed"):
                if nd.kind == "embed":
                    m = np.full(N, cat.EMBED_MODEL)
                elif nd.model == "main":
                    m = _main_models(rng, tr["frac"][ti])
                else:
                    m = _mix(rng, cat.CHEAP_MIX, N)
                model[:, j] = m
                tin[:, j] = np.maximum(1, _lognormal(rng, nd.tokens[0], 0.45, N)).astype(np.int64)
                if nd.kind == "gen":
                    tout[:, j] = np.maximum(1, _lognormal(rng, nd.tokens[1], 0.5, N)).astype(np.int64)
                first = _lognormal(rng, 1.0, 0.35, N) * ttft_med[m] * np.where(slow, 1.3, 1.0)
                gen_ms = tout[:, j] / tps[m] * 1000.0 * _lognormal(rng, 1.0, 0.2, N)
                gen_ms *= np.where(slow, 1.4, 1.0)
                ttft[:, j] = (first * 1000).astype(np.int64)
                own[:, j] = ttft[:, j] + (gen_ms * 1000).astype(np.int64)
                err_p = base_err[m] * np.where(peak[ti], 2.5, 1.0)
                warn_p = 0.035 if nd.kind == "gen" else 0.004
                level[:, j] = np.where(lv[:, j] < err_p, 3, np.where(lv[:, j] < err_p + warn_p, 2, 0))
                if nd.prompt:
                    created = prompt_created[nd.prompt]
                    latest = np.searchsorted(created, ts, side="right")  # versions live at ts
                    if nd.prompt == cat.CANDIDATE_PROMPT:
                        cap = np.where(tr["env"][ti] == 0, len(created) - 1, len(created))
                        latest = np.minimum(latest, cap)
                    lag = (rng.random(N) < 0.15) & (latest > 1)  # some clients pin the previous one
                    pversion[:, j] = np.maximum(latest - lag, 1)
            else:
                med = {"span": 3.0, "retr": 140.0, "tool": 260.0, "guard": 70.0, "eval": 850.0,
                       "event": 0.0}[nd.kind]
                if med:
                    sig = 0.7 if nd.kind == "tool" else 0.45
                    ms = _lognormal(rng, med, sig, N)
                    if nd.kind in ("retr", "tool"):
                        ms *= np.where(slow, 2.2 if nd.kind == "retr" else 1.6, 1.0)
                    own[:, j] = (ms * 1000).astype(np.int64)
                err_p = 0.006 if nd.kind in ("tool", "retr") else 0.002
                # Guardrails flag and evaluators fail more often than other steps warn.
                warn_p = {"guard": 0.05, "eval": 0.10}.get(nd.kind, 0.01)
                dbg = 0.4 if nd.kind == "event" else 0.0
                level[:, j] = np.where(lv[:, j] < err_p, 3, np.where(lv[:, j] < err_p + warn_p, 2,
                                       np.where(lv[:, j] > 1 - dbg, 1, 0)))
                if nd.kind == "tool":
                    name_code[:, j] = rng.integers(0, len(nd.tools), size=N)
        # Failed generations produce no output tokens.
        tout = np.where(level == 3, 0, tout)
        # Bottom-up: a parent lasts as long as its children (run one after another) plus overhead.
        gap = (_lognormal(rng, 1.5, 0.6, (N, M)) * 1000).astype(np.int64)
        dur = own.copy()
        child_sum = np.zeros((N, M), dtype=np.int64)
        has_child = np.zeros((N, M), dtype=bool)
        for j in range(M - 1, -1, -1):
            dur[:, j] = np.where(has_child[:, j], child_sum[:, j] + own[:, j] + 500, own[:, j])
            p = t.nodes[j].parent
            if p >= 0:
                child_sum[:, p] += np.where(present[:, j], dur[:, j] + gap[:, j], 0)
                has_child[:, p] |= present[:, j]
        # Top-down: children start one after another inside their parent.
        start = np.zeros((N, M), dtype=np.int64)
        cursor = np.zeros((N, M), dtype=np.int64)
        for j in range(1, M):
            p = t.nodes[j].parent
            start[:, j] = cursor[:, p] + gap[:, j]
            cursor[:, p] = np.where(present[:, j], start[:, j] + dur[:, j], cursor[:, p])
            cursor[:, j] = start[:, j]
        start += ts[:, None]
        r, j = np.nonzero(present)
        cnt = len(r)
        rowid = np.full((N, M), -1, dtype=np.int64)
        rowid[r, j] = row0 + np.arange(cnt)
        parents = np.array([nd.parent for nd in t.nodes])
        par = np.where(parents[j] >= 0, rowid[r, np.maximum(parents[j], 0)], -1)
        main_slot = [i for i, nd in enumerate(t.nodes) if nd.main][0]
        main_row[ti] = rowid[:, main_slot]
        calls = np.array([nd.calls for nd in t.nodes])
        called_slot = calls[j]
        has_call = called_slot >= 0
        called_present = np.zeros(cnt, dtype=bool)
        called_code = np.zeros(cnt, dtype=np.int64)
        called_present[has_call] = present[r[has_call], called_slot[has_call]]
        called_code[has_call] = name_code[r[has_call], called_slot[has_call]]
        m = model[r, j]
        parts.append({
            "trace": ti[r], "tpl": np.full(cnt, k), "slot": j, "parent": par,
            "start": start[r, j], "dur": dur[r, j], "ttft": ttft[r, j], "model": m,
            "tin": tin[r, j], "tout": tout[r, j], "level": level[r, j], "pversion": pversion[r, j],
            "tool": name_code[r, j], "called": np.where(called_present, called_code, -1),
            # Rounded so JSON shows 0.00277, not 0.0027700000000000003.
            "in_cost": np.round(np.where(m >= 0, tin[r, j] * price[np.maximum(m, 0), 0], np.nan), 12),
            "out_cost": np.round(np.where(m >= 0, tout[r, j] * price[np.maximum(m, 0), 1], np.nan), 12),
        })
        row0 += cnt
    obs = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    obs["main_row"] = main_row
    return obs
