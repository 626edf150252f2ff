"""Id makers, Arrow helpers and the precomputed string pools of the generator.

Rows never format their own strings: they carry an index into a pool built here
once (a few thousand JSON texts), and :func:`take` turns indexes into Arrow
dictionary columns without copying a byte per row.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lfnb.local.generator import catalog as cat
from lfnb.local.generator.traces import KINDS

# --------------------------------------------------------------------------- ids


def hex_ids(rng: np.random.Generator, n: int, nbytes: int) -> np.ndarray:
    """``n`` random lowercase hex ids of ``2 * nbytes`` characters (numpy bytes array)."""
    return np.frombuffer(rng.bytes(n * nbytes).hex().encode("ascii"), dtype=f"S{2 * nbytes}")


def unique_hex_ids(rng: np.random.Generator, n: int, nbytes: int) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`hex_ids` but guaranteed distinct; also returns the sorting order.

    64-bit ids collide with probability ~n**2 / 2**65 (3e-8 for a million rows);
    a collision would break the primary key, so duplicates are redrawn.
    """
    if n > 256 ** nbytes:
        raise ValueError(f"cannot draw {n} distinct ids of {nbytes} bytes")
    ids = hex_ids(rng, n, nbytes).copy()
    while True:
        order = np.argsort(ids, kind="stable")
        srt = ids[order]
        dup = np.nonzero(srt[1:] == srt[:-1])[0]
        if not len(dup):
            return ids, order
        ids[order[dup + 1]] = hex_ids(rng, len(dup), nbytes)


def uuid_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random version-4 UUIDs (RFC 4122 variant) as a numpy bytes array."""
    raw = np.frombuffer(hex_ids(rng, n, 16).tobytes(), dtype=np.uint8).reshape(n, 32)
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    out[:, 0:8], out[:, 9:13], out[:, 14:18] = raw[:, 0:8], raw[:, 8:12], raw[:, 12:16]
    out[:, 19:23], out[:, 24:36] = raw[:, 16:20], raw[:, 20:32]
    out[:, 14] = ord("4")
    ch = raw[:, 16].astype(np.int64)
    nibble = np.where(ch >= ord("a"), ch - ord("a") + 10, ch - ord("0"))
    out[:, 19] = np.frombuffer(b"89ab", dtype=np.uint8)[nibble % 4]
    return out.reshape(-1).view("S36")


def to_str(ids: np.ndarray) -> list[str]:
    """Small id arrays as Python strings (for the little tables built row by row)."""
    return [b.decode("ascii") for b in ids.tolist()]


def arrow_str(ids: np.ndarray) -> pa.Array:
    """A numpy fixed-width ASCII id array as an Arrow string array, built from its buffer."""
    n, width = len(ids), ids.dtype.itemsize
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(ids)))


def take(pool: list | pa.Array, idx: np.ndarray, null_below: int = 0) -> pa.Array:
    """``pool[idx]`` as Arrow; indexes below ``null_below`` (e.g. -1) become null.

    String pools come back as dictionary arrays (no bytes copied; DuckDB reads
    them into VARCHAR columns), other pools through ``pyarrow.compute.take``.
    """
    arr = pool if isinstance(pool, pa.Array) else pa.array(pool)
    mask = idx < null_below
    safe = np.where(mask, 0, idx)
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return pa.DictionaryArray.from_arrays(pa.array(safe.astype(np.int32), mask=mask), arr)
    return pc.take(arr, pa.array(safe, mask=mask))


def ts_array(us: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Microseconds since the epoch as naive Arrow timestamps (UTC by convention)."""
    return pa.array(us.astype(np.int64), type=pa.timestamp("us"), mask=mask)


def insert_rows(cur, table: str, rows: list[list]) -> None:
    """Insert small positional rows (in DDL column order) through one Arrow table.

    DuckDB's ``executemany`` costs about a millisecond per row; one registered
    Arrow table inserts hundreds of rows at once.
    """
    if not rows:
        return
    cols = [r[0] for r in cur.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table]).fetchall()]
    if len(cols) != len(rows[0]):
        raise ValueError(f"{table}: {len(rows[0])} values for {len(cols)} columns")
    data = pa.table({c: pa.array([r[i] for r in rows]) for i, c in enumerate(cols)})
    cur.register("gen_rows", data)
    cur.execute(f"INSERT INTO {table} SELECT * FROM gen_rows")
    cur.unregister("gen_rows")


# --------------------------------------------------------------------------- text pools
D = cat.dumps


def _gen_texts(tpl: str, node: cat.Node, q: int) -> tuple[str, str]:
    question, answer = cat.QUESTIONS[q], cat.ANSWERS[q]
    system = cat.PROMPTS[node.prompt][2] if node.prompt else "Rewrite the user's question as a search query."
    user = question
    if node.name == "answer-generation":
        user = f"Context:\n[1] {answer}\n[2] Related article about {question.lower()}\n\nQuestion: {question}"
    elif node.name in ("summarize-chunk", "combine-summaries"):
        user = f"Support ticket transcript #{1000 + q}: customer asks '{question}' and the agent explains."
    msgs = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    content = answer
    if node.name == "classify":
        content = ["how-to", "billing", "bug", "sales", "other"][q % 5]
    elif node.name in ("extract", "repair-json"):
        content = D({"entities": [{"type": "product", "text": cat.QUESTIONS[q].split(" in ")[-1][:-1]},
                                  {"type": "amount", "text": f"${(q + 3) * 17}.00"}]})
    elif node.name == "rewrite-query":
        content = question.lower().rstrip("?")
    elif node.name in ("summarize-chunk", "combine-summaries"):
        content = f"- Customer wants to {question[9:-1].lower()}\n- Agent explained the steps\n- Resolved"
    elif node.name in ("plan", "reason"):
        content = f"I should look this up before answering: {question}"
    return D({"messages": msgs}), D({"role": "assistant", "content": content})


def _tool_texts(tool: str, q: int) -> tuple[str, str]:
    question, answer = cat.QUESTIONS[q], cat.ANSWERS[q]
    topic = question[9:-1].lower()
    if tool in ("search_docs", "web_search"):
        hits = [{"title": f"{topic.capitalize()} ({i + 1})", "url": f"https://docs.acme.dev/kb/{q * 3 + i}"}
                for i in range(3)]
        return D({"query": question, "limit": 3}), D({"hits": hits})
    if tool == "get_order":
        order = f"ORD-{10000 + q * 37}"
        return D({"order_id": order}), D({"order_id": order, "status": ["shipped", "pending", "refunded"][q % 3],
                                          "total": round(19.9 + q * 7.5, 2)})
    if tool == "create_ticket":
        return D({"subject": question, "priority": ["low", "normal", "high"][q % 3]}), D(
            {"ticket_id": f"T-{5000 + q}", "status": "open"})
    if tool == "calculator":
        return D({"expression": f"{q + 3} * 17"}), D({"result": (q + 3) * 17})
    if tool == "send_email":
        return D({"to": f"customer{q}@example.com", "subject": f"Re: {question}"}), D({"status": "queued"})
    if tool == "rerank":
        return D({"query": question, "documents": 8}), D({"ranking": [(q + i * 3) % 8 for i in range(8)]})
    if tool == "ocr":
        return D({"file": f"invoice-{q:04d}.pdf"}), D({"pages": 1 + q % 4, "characters": 900 + q * 41})
    if tool == "validate-schema":
        return D({"schema": "entities@v2"}), D({"valid": q % 9 != 0})
    return D({"arguments": {"query": question}}), D({"status": "ok", "result": answer[:80]})


def io_texts(tpl: str, node: cat.Node, slot: int, q: int, variant: str = "") -> tuple[str, str]:
    """The (input, output) JSON texts of one template slot for question ``q``.

    ``variant`` is the tool name of TOOL slots and ``"flag"`` for a guardrail
    that flagged or an evaluator that failed (both WARNING level).
    """
    question, answer = cat.QUESTIONS[q], cat.ANSWERS[q]
    if slot == 0:
        return D({"query": question}), D({"answer": answer})
    k = node.kind
    if k == "gen":
        return _gen_texts(tpl, node, q)
    if k == "retr":
        docs = [{"id": f"doc-{(q * 7 + i) % 97}", "score": round(0.92 - 0.07 * i, 2),
                 "title": f"Help center: {question[9:-1]}"} for i in range(3)]
        return D({"query": question, "top_k": 3}), D({"documents": docs})
    if k == "embed":
        return D(question), D({"dimensions": 1536})
    if k == "tool":
        return _tool_texts(variant, q)
    if k == "guard":
        return D(question), D({"passed": variant != "flag", "categories": ["pii"] if variant == "flag" else []})
    if k == "eval":
        verdict = {"verdict": "fail", "score": 0.2} if variant == "flag" else {"verdict": "pass", "score": 0.9}
        return D({"question": question, "answer": answer}), D(verdict)
    if k == "event":
        return D({"query": question}), "null"
    return D({"query": question}), D({"status": "ok"})


def variants(node: cat.Node) -> tuple[str, ...]:
    """The text variants of a slot: tool names, pass/flag, or just one."""
    if node.kind == "tool":
        return node.tools
    if node.kind in ("guard", "eval"):
        return ("", "flag")
    return ("",)


def io_pools() -> tuple[list[str], list[str], np.ndarray]:
    """Input and output pools and the offsets table.

    One entry per (template, slot, variant, question): TOOL slots have one
    block of questions per tool name, guardrail and evaluator slots a second
    block for flagged/failed results (see :func:`variants`), so a row's entry is
    ``offsets[template, slot] + variant_code * n_questions + question``.
    """
    nq = len(cat.QUESTIONS)
    width = max(len(t.nodes) for t in cat.TEMPLATES)
    offsets = np.zeros((len(cat.TEMPLATES), width), dtype=np.int64)
    ins: list[str] = []
    outs: list[str] = []
    for k, t in enumerate(cat.TEMPLATES):
        for j, nd in enumerate(t.nodes):
            offsets[k, j] = len(ins)
            for variant in variants(nd):
                for q in range(nq):
                    i, o = io_texts(t.name, nd, j, q, variant)
                    ins.append(i)
                    outs.append(o)
    return ins, outs, offsets


def name_pool() -> tuple[list[str], np.ndarray]:
    """Observation names: one per slot, or one per tool for TOOL slots (indexed by tool code)."""
    width = max(len(t.nodes) for t in cat.TEMPLATES)
    base = np.zeros((len(cat.TEMPLATES), width), dtype=np.int64)
    names: list[str] = []
    for k, t in enumerate(cat.TEMPLATES):
        for j, nd in enumerate(t.nodes):
            base[k, j] = len(names)
            names.extend(nd.tools if nd.kind == "tool" else [nd.name])
    return names, base


REGIONS = ["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-1"]
GEN_META_VARIANTS = 8  # the last variant carries a value longer than 200 characters


def gen_metadata_pool() -> list[str]:
    """Generation metadata per (model, variant)."""
    out = []
    for m in cat.MODELS:
        for v in range(GEN_META_VARIANTS):
            meta = {"provider": m[1], "region": REGIONS[v % 4], "stream": "true" if v % 2 else "false",
                    "cache_hit": "true" if v == 3 else "false"}
            if v == GEN_META_VARIANTS - 1:
                meta["gateway_note"] = cat.LONG_NOTE
            out.append(D(meta))
    return out


def span_metadata_pool() -> list[str]:
    """Metadata of non-generation observations per (kind, worker)."""
    return [D({"component": k, "worker": f"worker-{w}"}) for k in KINDS for w in range(4)]


CLIENTS = ["web", "ios", "android", "api"]
USER_PLANS = ["free", "pro", "enterprise"]


def trace_metadata_pool() -> list[str]:
    """Trace metadata per (client, plan, bucket, long?)."""
    out = []
    for c in CLIENTS:
        for p in USER_PLANS:
            for b in "AB":
                for long in (False, True):
                    meta = {"client": c, "plan": p, "ab_bucket": b}
                    if long:
                        meta["support_note"] = cat.LONG_NOTE
                    out.append(D(meta))
    return out


TEMPERATURES = [0.0, 0.2, 0.7, 1.0]
MAX_TOKENS = [256, 512, 1024, 2048]


def model_parameters_pool() -> list[str]:
    return [D({"temperature": t, "max_tokens": mt}) for t in TEMPERATURES for mt in MAX_TOKENS]
