"""The generator's shared context and its small tables: models, prompts, sessions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

import numpy as np
import xxhash

from lfnb.local.generator import catalog as cat
from lfnb.local.generator import pools as gio

US = 1_000_000
DAY_US = 86_400 * US
EPOCH = datetime(1970, 1, 1)
ANNOTATORS = ["annotator-ana", "annotator-ben", "annotator-chen", "reviewer-dora"]


@dataclass
class Context:
    """State shared by the generator's steps (one per :func:`generate` call)."""

    rng: np.random.Generator
    start_us: int
    end_us: int
    project_id: str
    sessions: tuple = field(default=None, repr=False)  # (session index per trace, session ids)
    trace_table: object = field(default=None, repr=False)  # pyarrow.Table of traces, trace-index order

    @cached_property
    def io(self) -> tuple[list[str], list[str], np.ndarray]:
        return gio.io_pools()

    @staticmethod
    def trace_hash(trace_ids: np.ndarray) -> np.ndarray:
        """xxHash32 (seed 0) of each trace id, the v2 observations sort key."""
        h = xxhash.xxh32_intdigest
        return np.fromiter((h(t) for t in trace_ids.tolist()), dtype=np.uint32, count=len(trace_ids))

    @staticmethod
    def ts(us) -> datetime:
        """A naive UTC datetime for one microsecond timestamp (small tables)."""
        return EPOCH + timedelta(microseconds=int(us))

    def before_end(self, base: np.ndarray, delay: np.ndarray) -> np.ndarray:
        """``base + delay``, pulled back into ``[base, end)`` where it would pass the anchor."""
        t = base + delay
        over = t >= self.end_us
        room = np.maximum(self.end_us - base - 1, 0)
        return np.where(over, base + (room * self.rng.random(len(base))).astype(np.int64), t)


def insert_models(cur, ctx: Context) -> list[str]:
    """One ``models`` row per catalogue model; returns their ids in catalogue order."""
    ids = gio.to_str(gio.uuid_ids(ctx.rng, len(cat.MODELS)))
    created = ctx.ts(ctx.start_us - 200 * DAY_US)
    rows = []
    for mid, (name, provider, pin, pout, *_rest, managed) in zip(ids, cat.MODELS):
        tok_id = {"openai": "openai", "anthropic": "claude"}.get(provider)
        tok_cfg = cat.dumps({"tokenizerModel": name, "tokensPerMessage": 3, "tokensPerName": 1}) \
            if provider == "openai" else None
        rows.append([mid, None if managed else ctx.project_id, name, cat.match_pattern(name, provider), None,
                     "TOKENS", pin, pout, None, tok_id, tok_cfg, managed, created, created])
    gio.insert_rows(cur, "models", rows)
    return ids


def insert_prompts(cur, ctx: Context) -> dict:
    """Prompt versions spread over the range; returns creation times, ids and offsets per name."""
    rng = ctx.rng
    span = ctx.end_us - ctx.start_us
    total = sum(p[1] for p in cat.PROMPTS.values())
    ids = gio.to_str(gio.uuid_ids(rng, total))
    created: dict[str, np.ndarray] = {}
    base = []
    rows = []
    for name, (ptype, nv, text) in cat.PROMPTS.items():
        base.append(len(rows))
        times = [ctx.start_us - 20 * DAY_US] + [
            ctx.start_us + int(span * (v - 0.5) / nv) + int(rng.integers(0, 6 * 3600 * US)) for v in range(1, nv)]
        created[name] = np.array(times, dtype=np.int64)
        production = nv - 1 if name == cat.CANDIDATE_PROMPT else nv
        for v in range(1, nv + 1):
            body = text if v == 1 else f"{text} Version {v}: be concise and cite your sources."
            prompt = cat.dumps(body if ptype == "text" else [
                {"role": "system", "content": body}, {"role": "user", "content": "{{question}}"}])
            labels = (["production"] if v == production else []) + (["latest"] if v == nv else [])
            if v == nv and v != production:
                labels.append("staging")
            config = cat.dumps({"model": "gpt-4o" if v < nv else "gpt-4o-mini", "temperature": 0.2})
            t = ctx.ts(times[v - 1])
            rows.append([ids[len(rows)], ctx.project_id, name, v, ptype, prompt, config, labels,
                         [name.split("-")[0]], f"v{v}: " + ("initial version" if v == 1 else "tighter wording"),
                         ANNOTATORS[v % len(ANNOTATORS)], t, t])
    gio.insert_rows(cur, "prompts", rows)
    return {"created": created, "ids": ids, "base": np.array(base, dtype=np.int64)}


def insert_sessions(cur, ctx: Context) -> None:
    """One row per distinct session id, created at its first trace."""
    cur.execute(f"""
        INSERT INTO sessions
        SELECT session_id, '{ctx.project_id}', arg_min(environment, timestamp), min(timestamp)
        FROM traces WHERE session_id IS NOT NULL GROUP BY session_id ORDER BY 4, 1
    """)

