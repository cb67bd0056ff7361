#!/usr/bin/env python3
"""The crate's module graph from its `use` lines and paths, and the house rules it must keep.

Nodes are source files (`src/jobs/events.rs` is `jobs::events`, `src/jobs/mod.rs` is `jobs`).
An edge A -> B means A names an item of B (`use crate::jobs::columns::strings`,
`super::votes::evidence(...)`, ...). Code under `#[cfg(test)]` is left out: tests may reach
anywhere. The rules:

* no arrow up: a file never imports from a module that contains it (a child of `jobs` does not
  import from `jobs/mod.rs`, which orchestrates it) and never from a higher layer
  (`LAYERS`, lowest first);
* no circle between files;
* no source file over `MAX_LINES` lines before its inline tests.

Exit status 0 when the rules hold, 1 with the offending edges, circles and files listed.
Usage: scripts/module_graph.py [src] [--dot]
"""
import os
import re
import sys

MAX_LINES = 900
# Top-level modules, lowest first: a file may import from lower layers, and within its own
# layer from files that do not contain it (without circles). The parsers and their document
# and error types are the ground floor (the archive layer splits members into typed documents
# with them); `util` holds what the analysis side (jobs, report) shares.
LAYERS = ["descriptor", "archive", "warehouse", "import", "synth", "util", "jobs", "report", "pipeline", "main"]

PATH_RE = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+|::\{)")


def module_of(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    if rel in (["lib"],):
        return ()
    return tuple(rel)


def strip_tests_and_comments(text):
    lines = text.split("\n")
    out = []
    skip_depth = None
    pending_cfg_test = False
    depth = 0
    code_lines = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if skip_depth is None and stripped.startswith("#[cfg(test)]"):
            pending_cfg_test = True
            if code_lines is None:
                code_lines = i
            continue
        opens = line.count("{")
        closes = line.count("}")
        if pending_cfg_test:
            pending_cfg_test = False
            if opens > closes:
                skip_depth = depth
                depth += opens - closes
                continue
            else:
                # a one-line item under cfg(test)
                continue
        if skip_depth is not None:
            depth += opens - closes
            if depth <= skip_depth:
                skip_depth = None
            continue
        depth += opens - closes
        code = line.split("//", 1)[0]
        out.append(code)
    if code_lines is None:
        code_lines = len(lines)
    return "\n".join(out), code_lines


def expand_use(stmt):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e] (glob and self kept as the prefix)."""
    stmt = re.sub(r"\s+", "", stmt)
    results = []

    def go(prefix, rest):
        if rest.startswith("{"):
            depth, start, parts = 0, 1, []
            for i, ch in enumerate(rest):
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                    if depth == 0:
                        parts.append(rest[start:i])
                        break
                elif ch == "," and depth == 1:
                    parts.append(rest[start:i])
                    start = i + 1
            for p in parts:
                if p:
                    go(prefix, p)
            return
        m = re.match(r"([A-Za-z_][A-Za-z0-9_]*|\*)(::)?(.*)", rest)
        if not m:
            return
        head, sep, tail = m.group(1), m.group(2), m.group(3)
        if head in ("self", "*"):
            results.append(prefix)
            return
        if sep:
            go(prefix + [head], tail)
        else:
            results.append(prefix + [head.split("as")[0] if False else head])

    go([], stmt)
    return results


def resolve(modules, current, path):
    """A path (list of segments starting with crate/super/self) -> the deepest module file."""
    if not path:
        return None
    if path[0] == "crate":
        base = []
        rest = path[1:]
    elif path[0] in ("super", "self"):
        base = list(current)
        rest = path
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
    else:
        return None
    mod = tuple(base)
    for seg in rest:
        if mod + (seg,) in modules:
            mod = mod + (seg,)
        else:
            break
    return mod


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    src = args[0] if args else "src"
    files = {}
    for root, _, names in os.walk(src):
        for n in names:
            if n.endswith(".rs"):
                p = os.path.join(root, n)
                files[module_of(src, p)] = p
    modules = set(files)
    # `main.rs` is the binary: it sits on top of everything
    edges = {}
    too_long = []
    for mod, path in sorted(files.items()):
        text = open(path, encoding="utf-8").read()
        code, code_lines = strip_tests_and_comments(text)
        if code_lines > MAX_LINES:
            too_long.append((path, code_lines))
        targets = set()
        for m in re.finditer(r"\buse\s+([^;]+);", code):
            stmt = m.group(1)
            if not re.match(r"\s*(crate|super|self)\b", stmt):
                continue
            for p in expand_use(stmt):
                t = resolve(modules, mod, p)
                if t is not None:
                    targets.add(t)
        for m in PATH_RE.finditer(code):
            p = [m.group(1)] + [s for s in m.group(2).split("::") if s and s != "{"]
            t = resolve(modules, mod, p)
            if t is not None:
                targets.add(t)
        targets.discard(mod)
        edges[mod] = targets

    name = lambda m: "::".join(m) or "lib"
    problems = []
    for a, ts in sorted(edges.items()):
        for b in sorted(ts):
            if a == ():
                continue
            if len(b) < len(a) and a[: len(b)] == b:
                problems.append(f"arrow up: {name(a)} imports from {name(b)}, a module that contains it")
            la = LAYERS.index(a[0]) if a[0] in LAYERS else None
            lb = LAYERS.index(b[0]) if b and b[0] in LAYERS else None
            if la is not None and lb is not None and lb > la:
                problems.append(f"arrow up: {name(a)} imports from {name(b)}, a higher layer")
    # circles (Tarjan's strongly connected components)
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w == ():
                continue
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v != () and v not in index:
            strong(v)
    for comp in sccs:
        problems.append("circle: " + " <-> ".join(sorted(name(m) for m in comp)))
    for path, n in too_long:
        problems.append(f"too long: {path} has {n} lines before its tests (at most {MAX_LINES})")
    if "--dot" in sys.argv:
        print("digraph modules {")
        for a, ts in sorted(edges.items()):
            for b in sorted(ts):
                print(f'  "{name(a)}" -> "{name(b)}";')
        print("}")
    for p in problems:
        print(p)
    print(f"module graph: {len(edges)} files, {sum(len(t) for t in edges.values())} imports, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
