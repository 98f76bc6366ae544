#!/usr/bin/env python3
"""The import graph of src/, by module unit, and the rules README's architecture section states.

A unit is a top-level module (`config`, `registry`, ...) or, one level down, a module of it
(`exporter::otlp`, `pipeline::graph`, `component::factory`); a module's own `mod.rs`/`<name>.rs`
is the unit of its name. An edge is any `crate::a::b` path in code (comments are skipped) or a
`super::` path that leaves a unit. Concrete components are the units `src/registry.rs` imports.

Rules (exit 1 when one is broken, listing each offending file and line):
  1. no circle between units;
  2. only `registry` (and `main.rs`, and `fuzzing`: the fuzz entry points drive concrete
     translators as the tests do) names a concrete component; a component may use its own
     kind's shared modules (`exporter::helper`, `processor::attraction`, ...); the one
     composite, `exporter::loadbalancing`, builds `exporter::otlp` exporters (one per backend,
     as Go's builds otlpexporter's) and may name it;
  3. `config` imports nothing but `config` and `component` (ids);
  4. `pipeline` imports no concrete component;
  5. no exporter imports from `receiver`.
Usage: scripts/check_imports.py [src-dir]   (`--graph` prints the edges)
"""
import os
import re
import sys
from collections import defaultdict

SRC = next((a for a in sys.argv[1:] if not a.startswith("--")), os.path.join(os.path.dirname(__file__), "..", "src"))
SRC = os.path.normpath(SRC)
KINDS = ("receiver", "processor", "exporter", "extension", "connector")


def module_path(path):
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    if rel in (["lib"], ["main"]):
        return []
    return rel


def exists(parts):
    base = os.path.join(SRC, *parts)
    return os.path.isfile(base + ".rs") or os.path.isfile(os.path.join(base, "mod.rs"))


def unit(parts):
    """The unit of a module path: its first two segments that are modules."""
    if not parts:
        return None
    if len(parts) >= 2 and exists(parts[:2]):
        return "::".join(parts[:2])
    return parts[0]


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = []
    for line in text.split("\n"):
        # Drop // comments, keeping string literals' contents out of the way.
        cleaned = re.sub(r'"(\\.|[^"\\])*"', '""', line)
        i = cleaned.find("//")
        out.append(cleaned if i < 0 else cleaned[:i])
    return out


USE_BLOCK = re.compile(r"\buse\s+(crate|super)((?:::[^;]*));", re.S)


def edges_of(path):
    mod = module_path(path)
    me = unit(mod) if mod else os.path.basename(path)[:-3]
    raw = open(path, encoding="utf-8").read()
    # Test code is not part of the shape: skip test files and the inline test module at the end.
    if re.search(r"(^|_)tests?\.rs$", os.path.basename(path)):
        return me, []
    m = re.search(r"#\[cfg\(test\)\]\s*(pub(\(crate\))?\s+)?mod\s+\w+\s*\{", raw)
    if m:
        raw = raw[: m.start()]
    lines = strip_comments(raw)
    text = "\n".join(lines)
    found = []

    def add(parts, lineno):
        parts = [p for p in parts if p and p not in ("self", "*")]
        if parts and parts[0] in ("crate",):
            parts = parts[1:]
        u = unit(parts)
        if u and u != me:
            found.append((u, lineno))

    # `use crate::a::{b, c::d}` and `use super::...` blocks, expanded one level of braces.
    for m in USE_BLOCK.finditer(text):
        lineno = text.count("\n", 0, m.start()) + 1
        root = m.group(1)
        body = re.sub(r"\s+", "", m.group(2))[2:]
        base = mod[:] if root == "super" else []
        if root == "super":
            # `super` of a file module is its parent; a mod.rs's super is the grandparent.
            is_modrs = os.path.basename(path) == "mod.rs"
            base = mod[:-1] if mod else []
            if is_modrs and False:
                base = mod[:-1]
            while body.startswith("super::"):
                base, body = base[:-1], body[7:]
        def expand(prefix, s):
            if "{" not in s:
                return [prefix + s.split("::")]
            head, rest = s.split("{", 1)
            inner = rest.rsplit("}", 1)[0]
            items, depth, cur = [], 0, ""
            for ch in inner:
                if ch == "," and depth == 0:
                    items.append(cur); cur = ""; continue
                depth += ch == "{"; depth -= ch == "}"; cur += ch
            items.append(cur)
            hp = [p for p in head.split("::") if p]
            out = []
            for it in items:
                if it:
                    out += expand(prefix + hp, it)
            return out
        for parts in expand(base, body):
            parts = [p.split(" as ")[0] for p in parts]
            add(parts, lineno)
    # Paths in code: `crate::a::b::...`.
    for i, line in enumerate(lines, 1):
        if re.match(r"\s*(pub(\(crate\))?\s+)?use\s", line):
            continue
        for m in re.finditer(r"\bcrate((?:::[A-Za-z_][A-Za-z0-9_]*)+)", line):
            add(m.group(1).split("::")[1:], i)
    return me, found


def main():
    graph = defaultdict(lambda: defaultdict(list))
    for root, _, files in os.walk(SRC):
        for f in files:
            if f.endswith(".rs"):
                p = os.path.join(root, f)
                me, found = edges_of(p)
                for u, line in found:
                    graph[me][u].append(f"{os.path.relpath(p, os.path.dirname(SRC))}:{line}")
    concrete = {u for u in graph.get("registry", {}) if u.split("::")[0] in KINDS and "::" in u}
    problems = []

    # 1. circles (Tarjan's strongly connected components)
    index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]
    def strong(v):
        index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                strong(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            sccs.append(comp)
    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            strong(v)
    for comp in sccs:
        if len(comp) > 1:
            members = set(comp)
            where = [f"{a} -> {b} ({graph[a][b][0]})" for a in sorted(comp) for b in sorted(graph[a]) if b in members]
            problems.append("circle: " + ", ".join(sorted(comp)) + "\n      " + "\n      ".join(where))

    for a, outs in sorted(graph.items()):
        kind_a = a.split("::")[0]
        for b, where in sorted(outs.items()):
            composite = (a, b) == ("exporter::loadbalancing", "exporter::otlp")
            if b in concrete and a not in ("registry", "main", "fuzzing") and a != b and not composite:
                problems.append(f"{a} names the component {b} ({where[0]}): only the registry may")
            if kind_a == "config" and b.split("::")[0] not in ("config", "component") or (
                kind_a == "config" and b.startswith("component::")
            ):
                problems.append(f"config imports {b} ({where[0]}): config is a leaf")
            if kind_a == "exporter" and b.split("::")[0] == "receiver":
                problems.append(f"{a} imports from the receiver {b} ({where[0]})")

    if "--graph" in sys.argv:
        for a, outs in sorted(graph.items()):
            print(f"{a} -> {', '.join(sorted(outs))}")
    for p in problems:
        print(p)
    print(f"{len(graph)} units, {sum(len(v) for v in graph.values())} edges, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
