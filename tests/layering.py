"""tests/layering.py - the layering check (see tests/layering.txt).

Includes: every #include "..." line of every .c and .h file under a module
directory of the source tree is checked against the table; the first path
component names the module a file belongs to and the module it includes.

Cycles: for each module marked acyclic, the objects of its libraries in the
build tree are read with nm; file A depends on file B when A uses a symbol
B defines. A strongly connected component of more than one file is a cycle.

Layout: doc/design.md's Layout block lists every .c file of the code
modules under its module (a line "  stem  what it does"), and nothing that
does not exist.

Locks: every function of storage/ named *_locked (the caller holds the
index lock) must say so first thing, with idx_assert_held (index.h).

Usage: layering.py SRCDIR BUILDDIR. Prints every violation; exit 1 if any.
"""
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
SKIP_DIRS = {"build", "build-asan", "build-faults", "build-fuzz", "build-aux",
             "autom4te.cache", "doc", "m4", "node_modules", ".git", "console"}


def load_table(path):
    allowed, acyclic, tables = {}, [], {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, _, rest = line.partition(":")
            if not _:
                sys.exit(f"{path}:{n}: expected 'MODULE: ...'")
            if name.strip() == "acyclic":
                acyclic = rest.split()
            elif name.strip() == "tables":
                for pair in rest.split():
                    t, _, owner = pair.partition("=")
                    tables[t] = owner
            else:
                allowed[name.strip()] = set(rest.split())
    return allowed, acyclic, tables


def rule_lines(path):
    """The table's rules as written, for the design.md check."""
    with open(path) as f:
        return [l.rstrip() for l in f if l.strip() and not l.lstrip().startswith("#")]


def check_includes(src, allowed):
    bad = []
    for top in sorted(os.listdir(src)):
        if top in SKIP_DIRS or top.startswith(".") or not os.path.isdir(os.path.join(src, top)):
            continue
        files = []
        for d, dirs, names in os.walk(os.path.join(src, top)):
            dirs[:] = [x for x in dirs if x not in SKIP_DIRS]
            files += [os.path.join(d, x) for x in names if x.endswith((".c", ".h"))]
        if not files:
            continue
        if top not in allowed:
            bad.append(f"{top}/: a module tests/layering.txt does not list")
            continue
        for path in sorted(files):
            rel = os.path.relpath(path, src)
            with open(path, errors="replace") as f:
                for n, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    target = m.group(1)
                    mod = target.split("/", 1)[0]
                    if "/" not in target or mod == top:
                        continue
                    if mod in allowed[top] or target in allowed[top]:
                        continue
                    bad.append(f"{rel}:{n}: {top}/ may not include \"{target}\" "
                               f"(tests/layering.txt)")
    return bad


LOCKED_DEF = re.compile(r"^(?:static\s+)?[A-Za-z_][\w \*]*?\b(\w+_locked)\s*\(")


def check_locked(src):
    """Every *_locked function of storage/ asserts the index lock."""
    bad = []
    sdir = os.path.join(src, "storage")
    for name in sorted(os.listdir(sdir)):
        if not name.endswith(".c"):
            continue
        with open(os.path.join(sdir, name)) as f:
            lines = f.read().split("\n")
        for i, line in enumerate(lines):
            m = LOCKED_DEF.match(line)
            if not m:
                continue
            j = i
            while j < len(lines) and lines[j] != "{" and not lines[j].rstrip().endswith(";"):
                j += 1
            if j >= len(lines) or lines[j] != "{":
                continue                 # a declaration, not a definition
            body = "\n".join(lines[j + 1:j + 4])
            if "idx_assert_held(" not in body:
                bad.append(f"storage/{name}:{i + 1}: {m.group(1)} does not begin with "
                           f"idx_assert_held (a *_locked function needs the index lock)")
    return bad


LAYOUT_MODULES = ("common", "auth", "client", "storage", "server", "cli")


def check_layout(src, design):
    """doc/design.md's Layout names exactly the files there are."""
    bad = []
    try:
        block = design.split("\n## Layout\n", 1)[1].split("```\n", 2)[1]
    except IndexError:
        return ["doc/design.md: no Layout section with a ``` block"]
    listed, module = {}, None
    for line in block.splitlines():
        m = re.match(r"^(\w+)/\s", line + " ")
        if m:
            module = m.group(1)
            listed.setdefault(module, set())
            continue
        m = re.match(r"^  (\w+)\s", line + " ")
        if m and module:
            listed[module].add(m.group(1))
    for mod in LAYOUT_MODULES:
        names = os.listdir(os.path.join(src, mod))
        stems = {n[:-2] for n in names if n.endswith(".c")}
        have = stems | {n[:-2] for n in names if n.endswith(".h")}
        for stem in sorted(stems - listed.get(mod, set())):
            bad.append(f"doc/design.md: the Layout does not list {mod}/{stem}.c")
        for stem in sorted(listed.get(mod, set()) - have):
            bad.append(f"doc/design.md: the Layout lists {mod}/{stem}, which does not exist")
    return bad


STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
RUN = re.compile(r'"(?:[^"\\\n]|\\.)*"(?:\s*(?:[A-Z][A-Z0-9_]*\s*)?"(?:[^"\\\n]|\\.)*")*')
# count(*) over every table for snapshot reports: index.c's one query on them
COUNTS_FILE = "index"


def check_tables(src, tables):
    """Every statement on a table is in its owner's file (tests/layering.txt)."""
    bad = []
    sdir = os.path.join(src, "storage")
    for name in sorted(os.listdir(sdir)):
        if not name.endswith(".c"):
            continue
        stem = name[:-2]
        with open(os.path.join(sdir, name)) as f:
            text = f.read()
        # one statement = a run of adjacent string literals
        for run in RUN.findall(text):
            stmt = " ".join(STRING.findall(run))
            m = re.match(r"\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)",
                         stmt)
            if m:
                if m.group(1) in tables and tables[m.group(1)] != stem:
                    bad.append(f"storage/{name}: writes {m.group(1)}, which is "
                               f"{tables[m.group(1)]}.c's (tests/layering.txt)")
                continue             # a write's own SELECT reads for its target
            if stem == COUNTS_FILE or not re.match(r"\s*SELECT\b", stmt):
                continue
            for t in re.findall(r"(?<!JOIN )\bFROM\s+(\w+)", stmt):
                if t in tables and tables[t] != stem:
                    bad.append(f"storage/{name}: reads {t}, which is {tables[t]}.c's "
                               f"(tests/layering.txt)")
    return sorted(set(bad))


def objects(build, module):
    """{object name: (defined, undefined)} over the module's libraries."""
    out = {}
    mdir = os.path.join(build, module)
    libs = sorted(x for x in os.listdir(mdir) if x.endswith(".a")) if os.path.isdir(mdir) else []
    for lib in libs:
        text = subprocess.run(["nm", "-A", os.path.join(mdir, lib)], capture_output=True,
                              text=True, check=True).stdout
        for line in text.splitlines():
            head, _, sym = line.rpartition(" ")
            parts = head.split(":")
            if len(parts) < 3:
                continue
            obj = parts[-2].split("-", 1)[-1].rsplit(".", 1)[0]
            kind = parts[-1].split()[-1] if parts[-1].split() else ""
            d, u = out.setdefault(f"{module}/{obj}.c", (set(), set()))
            if kind == "U":
                u.add(sym)
            elif kind in "TDRBC":
                d.add(sym)
    return out


def cycles(objs):
    owner = {s: o for o, (d, _) in objs.items() for s in d}
    graph = {o: {owner[s] for s in u if s in owner and owner[s] != o}
             for o, (_, u) in objs.items()}
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
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
                comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


def main():
    src, build = sys.argv[1], sys.argv[2]
    table = os.path.join(src, "tests", "layering.txt")
    allowed, acyclic, tables = load_table(table)
    bad = check_includes(src, allowed) + check_locked(src) + check_tables(src, tables)
    with open(os.path.join(src, "doc", "design.md")) as f:
        design = f.read()
    bad += check_layout(src, design)
    for rule in rule_lines(table):
        if rule not in design:
            bad.append(f"doc/design.md does not show the rule \"{rule}\" of tests/layering.txt")
    for module in acyclic:
        objs = objects(build, module)
        if not objs:
            bad.append(f"{module}/: no built library to read (acyclic in tests/layering.txt)")
        for comp in cycles(objs):
            bad.append(f"{module}/: these files call each other in a cycle: {' '.join(comp)}")
    for b in bad:
        print(b)
    print(f"layering: {len(bad)} violation(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
