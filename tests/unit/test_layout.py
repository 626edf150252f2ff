"""The package layout keeps its promises: no import cycles, a small top level, each Langfuse fact defined once."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import lfnb

ROOT = Path(lfnb.__file__).parent


def _modules() -> dict[str, Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = ["lfnb", *path.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def import_graph() -> dict[str, set[str]]:
    """Module → modules it imports, counting every import statement (module- and function-level)."""
    mods = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                assert node.level == 0, f"{mod}: relative import (use absolute lfnb.… imports)"
                targets = [f"{node.module}.{a.name}" for a in node.names]
            for target in targets:
                found = resolve(target)
                if found and found != mod:
                    graph[mod].add(found)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles_counting_function_level_imports():
    assert cycles(import_graph()) == []


def test_top_level_holds_at_most_eight_modules():
    modules = sorted(p.name for p in ROOT.glob("*.py"))
    assert len(modules) <= 8, modules


def test_langfuse_facts_import_nothing_but_errors_and_each_other():
    graph = import_graph()
    for mod, deps in graph.items():
        if mod.startswith("lfnb.langfuse"):
            assert all(d == "lfnb.errors" or d.startswith("lfnb.langfuse") for d in deps), (mod, deps)


def test_each_fact_is_defined_once():
    names = Counter()
    watched = {"PLANS", "OPERATIONS", "auto_granularity", "resource_of", "to_utc", "to_iso", "to_timestamp",
               "parse_timestamp", "SEED_OPERATIONS", "resource_for", "rate_limit_resource", "DTYPES"}
    for path in ROOT.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name in watched:
                names[node.name] += 1
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                    if isinstance(t, ast.Name) and t.id in watched:
                        names[t.id] += 1
    assert {k: v for k, v in names.items() if v != 1} == {}
    assert not {"SEED_OPERATIONS", "resource_for", "rate_limit_resource"} & set(names)
