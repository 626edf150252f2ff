"""Static catalogues behind the synthetic data: models, prompts, trace templates, text pools.

Everything here is plain data (no randomness): :mod:`lfnb.local.generator` draws
indexes into these tables with a seeded ``numpy`` generator, so the data stays
deterministic while strings are built once, not once per row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

# --------------------------------------------------------------------------- models
# (name, provider, input price/token, output price/token, ttft median ms, tokens/s,
#  base error rate, langfuse-managed)
MODELS: list[tuple[str, str, float, float, float, float, float, bool]] = [
    ("gpt-4o", "openai", 2.5e-6, 1.0e-5, 450.0, 70.0, 0.010, True),
    ("gpt-4o-mini", "openai", 1.5e-7, 6.0e-7, 300.0, 105.0, 0.008, True),
    ("claude-3-5-sonnet", "anthropic", 3.0e-6, 1.5e-5, 650.0, 55.0, 0.012, True),
    ("claude-3-haiku", "anthropic", 2.5e-7, 1.25e-6, 350.0, 120.0, 0.010, True),
    ("gemini-1.5-flash", "google", 7.5e-8, 3.0e-7, 280.0, 160.0, 0.015, True),
    # The project's own price definition: the flaky model of the demo (errors x6).
    ("mistral-large", "mistral", 2.0e-6, 6.0e-6, 800.0, 38.0, 0.060, False),
    ("text-embedding-3-small", "openai", 2.0e-8, 0.0, 40.0, 0.0, 0.004, True),
]
MODEL_INDEX = {m[0]: i for i, m in enumerate(MODELS)}
EMBED_MODEL = MODEL_INDEX["text-embedding-3-small"]
CHAT_MODELS = [i for i, m in enumerate(MODELS) if m[0] != "text-embedding-3-small"]

# Model mix of the "main" answer before / after the mid-range switch to cheaper models.
MAIN_MIX_EARLY = {"gpt-4o": 0.38, "gpt-4o-mini": 0.08, "claude-3-5-sonnet": 0.27,
                  "claude-3-haiku": 0.07, "gemini-1.5-flash": 0.08, "mistral-large": 0.12}
MAIN_MIX_LATE = {"gpt-4o": 0.14, "gpt-4o-mini": 0.42, "claude-3-5-sonnet": 0.16,
                 "claude-3-haiku": 0.08, "gemini-1.5-flash": 0.12, "mistral-large": 0.08}
CHEAP_MIX = {"gpt-4o-mini": 0.55, "claude-3-haiku": 0.25, "gemini-1.5-flash": 0.20}
# Additive effect of the main model on quality scores (the pattern analyses should find).
MODEL_QUALITY = {"gpt-4o": 0.08, "gpt-4o-mini": -0.02, "claude-3-5-sonnet": 0.10,
                 "claude-3-haiku": -0.06, "gemini-1.5-flash": -0.08, "mistral-large": -0.03,
                 "text-embedding-3-small": 0.0}


def match_pattern(name: str, provider: str) -> str:
    """The regex Langfuse would use to map a provided model name onto this model row.

    Accepts an optional ``provider/`` prefix and a dated snapshot suffix,
    e.g. ``openai/gpt-4o-2024-08-06``.
    """
    return f"(?i)^({provider}/)?({name.replace('.', '[.]')})(-[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})?$"


# --------------------------------------------------------------------------- prompts
# name -> (type, number of versions, system text)
PROMPTS: dict[str, tuple[str, int, str]] = {
    "chat-system": ("chat", 4, "You are Nova, the friendly support assistant of Acme Cloud. Answer briefly."),
    "rag-answer": ("chat", 3, "Answer only from the provided context and cite the sources as [n]."),
    "summarize-doc": ("text", 5, "Summarize the following document in at most five bullet points:"),
    "classify-intent": ("text", 2, "Classify the user's message into one of: billing, bug, how-to, sales, other."),
    "extract-entities": ("chat", 3, "Extract the entities (people, companies, dates, amounts) as JSON."),
    "agent-planner": ("chat", 3, "You are a support agent. Plan the next step and call tools when needed."),
}
PROMPT_NAMES = list(PROMPTS)
# The newest version of this prompt is a candidate: labelled "staging", used by
# staging/development only; "production" stays on the version before it.
CANDIDATE_PROMPT = "rag-answer"
PROMPT_QUALITY_STEP = 0.05  # each newer prompt version scores this much higher

# --------------------------------------------------------------------------- tools
TOOLS = ["search_docs", "get_order", "create_ticket", "calculator", "send_email", "web_search"]
AGENT_TOOLS = TOOLS[:5]

# --------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class Node:
    """One slot of a trace template (present with probability ``p`` when its parent is)."""

    type: str
    name: str
    parent: int  # slot index of the parent; -1 for the root
    p: float = 1.0
    kind: str = "span"  # span | gen | retr | embed | tool | guard | eval | event
    req: int = -2  # another slot that must be present too (-2: none)
    model: str = "main"  # gen: main | cheap
    tokens: tuple[float, float] = (600.0, 200.0)  # gen: median input / output tokens
    prompt: str | None = None
    main: bool = False  # the trace's answer: scores are computed from it
    tools: tuple[str, ...] = ()  # tool kind: names drawn per row; gen: tool definitions
    calls: int = -1  # gen: slot of the TOOL observation whose name is the called tool


@dataclass(frozen=True)
class Template:
    name: str
    weight: float
    sessions: float  # share of these traces that belong to a multi-turn session
    nodes: list[Node] = field(default_factory=list)
    tags: tuple[tuple[str, ...], ...] = ()


def _agent_nodes() -> list[Node]:
    nodes = [Node("AGENT", "support-agent", -1),
             Node("GUARDRAIL", "input-moderation", 0, 0.7, "guard"),
             Node("GENERATION", "plan", 0, 1.0, "gen", tokens=(900, 120), prompt="agent-planner",
                  tools=tuple(AGENT_TOOLS))]
    prev = -2
    for step in range(6):
        p = 0.97 if step == 0 else 0.72
        s = len(nodes)
        nodes.append(Node("SPAN", f"step-{step + 1}", 0, p, "span", req=prev))
        nodes.append(Node("GENERATION", "reason", s, 1.0, "gen", model="cheap", tokens=(1400, 90),
                          prompt="agent-planner", tools=tuple(AGENT_TOOLS), calls=s + 2))
        nodes.append(Node("TOOL", "tool", s, 0.92, "tool", tools=tuple(AGENT_TOOLS)))
        nodes.append(Node("EVENT", "tool-result-cached", s, 0.15, "event"))
        prev = s
    nodes.append(Node("GENERATION", "final-answer", 0, 1.0, "gen", tokens=(2200, 320),
                      prompt="agent-planner", main=True))
    nodes.append(Node("EVALUATOR", "answer-check", 0, 0.5, "eval"))
    return nodes


TEMPLATES: list[Template] = [
    Template("chat", 0.33, 0.85, [
        Node("SPAN", "chat-turn", -1),
        Node("GUARDRAIL", "input-moderation", 0, 0.8, "guard"),
        Node("EVENT", "cache-lookup", 0, 0.5, "event"),
        Node("SPAN", "build-context", 0, 0.85, "span"),
        Node("RETRIEVER", "memory-recall", 3, 0.8, "retr"),
        Node("EMBEDDING", "embed-message", 3, 0.6, "embed", tokens=(40, 0)),
        Node("GENERATION", "chat-completion", 0, 1.0, "gen", tokens=(1100, 260), prompt="chat-system",
             main=True, tools=("web_search",), calls=7),
        Node("TOOL", "web_search", 0, 0.25, "tool", tools=("web_search",)),
        Node("GENERATION", "chat-followup", 0, 1.0, "gen", tokens=(1600, 220), prompt="chat-system", req=7),
        Node("GUARDRAIL", "output-moderation", 0, 0.7, "guard"),
        Node("EVALUATOR", "response-check", 0, 0.35, "eval"),
        Node("EVENT", "response-sent", 0, 0.6, "event"),
    ], (("chat",), ("chat", "web"), ("chat", "mobile"), ("chat", "beta"))),
    Template("rag-query", 0.25, 0.6, [
        Node("CHAIN", "rag-pipeline", -1),
        Node("SPAN", "query-rewrite", 0, 0.65, "span"),
        Node("GENERATION", "rewrite-query", 1, 1.0, "gen", model="cheap", tokens=(300, 40)),
        Node("EMBEDDING", "embed-query", 0, 1.0, "embed", tokens=(30, 0)),
        Node("RETRIEVER", "vector-search", 0, 1.0, "retr"),
        Node("RETRIEVER", "bm25-search", 0, 0.55, "retr"),
        Node("TOOL", "rerank", 0, 0.7, "tool", tools=("rerank",)),
        Node("GENERATION", "answer-generation", 0, 1.0, "gen", tokens=(3200, 300), prompt="rag-answer",
             main=True),
        Node("EVALUATOR", "groundedness-check", 0, 0.45, "eval"),
        Node("GUARDRAIL", "pii-filter", 0, 0.6, "guard"),
        Node("EVENT", "citations-attached", 0, 0.7, "event"),
    ], (("rag",), ("rag", "kb:docs"), ("rag", "kb:billing"), ("rag", "kb:api"))),
    Template("summarize", 0.10, 0.0, [
        Node("CHAIN", "summarize-doc", -1),
        Node("EVENT", "doc-loaded", 0, 1.0, "event"),
        Node("SPAN", "chunking", 0, 1.0, "span"),
        *[Node("GENERATION", "summarize-chunk", 0, p, "gen", model="cheap", tokens=(1800, 150),
               prompt="summarize-doc") for p in (1.0, 0.9, 0.75, 0.6, 0.45, 0.3)],
        Node("GENERATION", "combine-summaries", 0, 1.0, "gen", tokens=(900, 350), prompt="summarize-doc",
             main=True),
    ], (("batch",), ("batch", "pdf"), ("batch", "email"))),
    Template("agent-run", 0.14, 0.7, _agent_nodes(),
             (("agent",), ("agent", "support"), ("agent", "beta"), ("agent", "support", "escalation"))),
    Template("classify", 0.08, 0.0, [
        Node("SPAN", "classify-intent", -1),
        Node("GENERATION", "classify", 0, 1.0, "gen", model="cheap", tokens=(250, 6), prompt="classify-intent",
             main=True),
        Node("EVENT", "label-assigned", 0, 0.85, "event"),
        Node("GUARDRAIL", "confidence-threshold", 0, 0.35, "guard"),
    ], (("routing",), ("routing", "inbox"))),
    Template("extract", 0.10, 0.0, [
        Node("CHAIN", "extract-entities", -1),
        Node("SPAN", "parse-document", 0, 1.0, "span"),
        Node("TOOL", "ocr", 1, 0.4, "tool", tools=("ocr",)),
        Node("GENERATION", "extract", 0, 1.0, "gen", tokens=(2400, 280), prompt="extract-entities", main=True),
        Node("TOOL", "validate-schema", 0, 0.8, "tool", tools=("validate-schema",)),
        Node("GENERATION", "repair-json", 0, 0.18, "gen", model="cheap", tokens=(700, 200), req=4),
        Node("EVENT", "stored", 0, 0.6, "event"),
    ], (("extraction",), ("extraction", "invoices"), ("extraction", "contracts"))),
]

# --------------------------------------------------------------------------- texts
_ACTIONS = ["reset my password", "export my data", "upgrade my plan", "cancel my subscription",
            "add a team member", "rotate an API key", "change the billing address", "enable SSO",
            "restore a deleted project", "increase my rate limit"]
_THINGS = ["the dashboard", "the CLI", "the mobile app", "the REST API"]
QUESTIONS = [f"How do I {a} in {t}?" for a in _ACTIONS for t in _THINGS]  # 40
ANSWERS = [f"To {a} in {t}, open Settings, choose the matching section and follow the steps; "
           f"the change is applied within a few minutes." for a in _ACTIONS for t in _THINGS]
ERROR_MESSAGES = ["Rate limit exceeded (429): retry after 20s", "Request timed out after 30s",
                  "Upstream provider returned 503 Service Unavailable",
                  "Context length exceeded: 131072 tokens maximum", "Invalid JSON in model output"]
WARNING_MESSAGES = ["Response truncated: max_tokens reached", "Retried once after a transient error",
                    "Slow upstream response (>10s)", "Content filter triggered on part of the prompt"]
# Status messages of non-generation observations by (kind, level); generations use the lists above.
KIND_MESSAGES = {
    ("span", "ERROR"): "Unhandled exception in pipeline step: KeyError('documents')",
    ("span", "WARNING"): "Step exceeded its 2s latency budget",
    ("retr", "ERROR"): "Vector store query timed out after 5s",
    ("retr", "WARNING"): "Low retrieval score: answer may be ungrounded",
    ("embed", "ERROR"): "Embedding request failed: 429 rate limit",
    ("embed", "WARNING"): "Input truncated to 8191 tokens",
    ("tool", "ERROR"): "Tool call failed: upstream service returned 502",
    ("tool", "WARNING"): "Tool returned a partial result",
    ("guard", "ERROR"): "Moderation API unavailable",
    ("guard", "WARNING"): "Guardrail flagged the text: possible PII",
    ("eval", "ERROR"): "Evaluator timed out",
    ("eval", "WARNING"): "Evaluation failed: answer not grounded in the context",
    ("event", "ERROR"): "Event handler raised an exception",
    ("event", "WARNING"): "Event dropped: queue full",
}
LONG_NOTE = ("This request was routed through the fallback gateway because the primary region reported "
             "elevated latency; the full upstream diagnostic trail is kept here for support engineers: "
             "gateway=eu-central-2, hops=[edge-7, lb-3, pool-b], retries=1, cache=miss, shard=17, "
             "policy=latency-first, budget_ms=30000, note=kept-for-audit.")
assert len(LONG_NOTE) > 200
COMMENTS = ["Looks wrong, the answer cites the outdated pricing page.", "Great answer, add to golden set.",
            "User was frustrated here - check tone.", "Latency spike, see provider status.",
            "Hallucinated a setting that does not exist.", "Escalated to support team.",
            "Duplicate of an earlier conversation.", "Check the retrieved documents for this one."]


def dumps(value) -> str:
    """Compact JSON text, as stored in the JSON columns."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
