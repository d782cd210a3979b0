#!/usr/bin/python3
"""Coverage of allocator/ twice over: every line, and every line outside the
tester-only code, which the production flavours do not hold and the corpus
is not meant to reach (planted bugs are reached by the plant hunts, not by
clean replays).

Tester-only code is recognised from the sources themselves:
  - lines inside `#if HAKMEM_POOL_SCHED_POINTS` (up to its `#else` or
    `#endif`, nested conditionals followed);
  - the sched-point machinery: files named sched*, and statements that are
    a bare HAKMEM_SCHED(...) or HAKMEM_SCHED_RESULT(...);
  - the statement a plant comparison (`plant == Plant::x`) guards, and
    branches on a plant comparison or on a name assigned from one
    (`const bool drain = plant != Plant::x;` ... `if (drain)`).

Reads `llvm-cov export -format=text` JSON. Lines are counted as llvm-cov
report counts them (its segment rule); a branch is one per source location,
merged over the three flavours that compile each file; a function one per
source location, covered when any flavour ran it.

Each never-executed line outside it is listed; one whose file and function
have no row in the table of docs/coverage.md (its reason) is marked.

usage: ci/coverage-filter.py EXPORT.json ROOT [--floor FILE] [--check | --update-floor]
  --check         exit 1 when lines or branches outside tester-only code are
                  below the figures in FILE, or a line is marked
  --update-floor  write the figures to FILE
"""
import json
import math
import os
import re
import subprocess
import sys

SCHED_FILE = re.compile(r"(^|/)sched[^/]*$")
SCHED_STMT = re.compile(r"^\s*HAKMEM_SCHED(_RESULT)?\(.*\);\s*$")
PLANT_CMP = re.compile(r"\bplant\s*[!=]=\s*Plant::\w+")
PLANT_NAME = re.compile(r"\b(\w+)\s*=\s*[^;=]*\bplant\s*[!=]=\s*Plant::")


def usage(msg):
    print(f"coverage-filter: {msg}\n{__doc__.split('usage: ')[1]}", file=sys.stderr)
    sys.exit(2)


def tester_only_lines(lines):
    """1-based numbers of the lines of one source that are tester-only, and
    the names assigned from plant comparisons."""
    out, names = set(), set()
    stack = []  # per open conditional: whether its current part is tester-only
    for i, text in enumerate(lines, 1):
        s = text.strip()
        if s.startswith("#if"):
            stack.append(bool(re.match(r"#if\s+HAKMEM_POOL_SCHED_POINTS\s*$", s)))
            out.add(i)
            continue
        if s.startswith(("#else", "#elif")) and stack:
            stack[-1] = False
            out.add(i)
            continue
        if s.startswith("#endif") and stack:
            stack.pop()
            out.add(i)
            continue
        if any(stack):
            out.add(i)
            names.update(PLANT_NAME.findall(text))
        elif SCHED_STMT.match(text):
            out.add(i)
    # A plant comparison's if: its condition line and the statement it guards.
    for i, text in enumerate(lines, 1):
        if re.search(r"\bif\s*\(.*" + PLANT_CMP.pattern, text):
            out.add(i)
            if text.rstrip().endswith(")") or text.rstrip().endswith("]]"):
                out.add(i + 1)
    return out, names


def line_counts(segments):
    """{line: count} for every line llvm-cov counts (LineCoverageStats)."""
    counts, wrapped, k = {}, None, 0
    last = max((s[0] for s in segments), default=0)
    for line in range(1, last + 1):
        on_line = []
        while k < len(segments) and segments[k][0] == line:
            on_line.append(segments[k])
            k += 1
        starts = [s for s in on_line if s[3] and s[4] and not s[5]]
        skipped = bool(on_line) and not on_line[0][3] and on_line[0][4]
        if not skipped and ((wrapped and wrapped[3]) or starts):
            count = wrapped[2] if wrapped else 0
            for s in starts:
                count = max(count, s[2])
            counts[line] = count
        if on_line:
            wrapped = on_line[-1]
    return counts


def demangle(names):
    if not names:
        return {}
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True).stdout
    return dict(zip(names, out.splitlines()))


def short_name(name):
    name = name.replace("(anonymous namespace)::", "").replace("[abi:cxx11]", "")
    name = re.sub(r"\(.*$", "", name)  # the parameters
    name = re.sub(r"^.*?\b(hakmem::)(stats_off::|stats_on::|tester::)?", "", name)
    return name


class Tally:
    def __init__(self):
        self.n = {k: [0, 0] for k in ("lines", "branches", "functions")}

    def add(self, kind, covered, sides=1):
        self.n[kind][0] += covered
        self.n[kind][1] += sides

    def pct(self, kind):
        c, t = self.n[kind]
        return 100.0 * c / t if t else 100.0

    def row(self, label):
        cells = [f"{self.n[k][0]:>5}/{self.n[k][1]:<5} {self.pct(k):6.2f}%" for k in self.n]
        return f"  {label:<26}" + "  ".join(cells)


def analyse(export, root):
    data = export["data"][0]
    sources = {f["filename"]: f for f in data["files"]}
    texts, tester, plant_names = {}, {}, {}
    for path in sources:
        with open(path, encoding="utf-8") as fh:
            texts[path] = fh.read().splitlines()
        tester[path], plant_names[path] = tester_only_lines(texts[path])
        if SCHED_FILE.search(path):
            tester[path] = set(range(1, len(texts[path]) + 1))
    return data, sources, texts, tester, plant_names


def functions_by_line(data, sources):
    """{(file, line): name} of the innermost function holding each line, and
    the function groups {(file, line, col): (name, executed)}."""
    names = demangle(sorted({f["name"] for f in data["functions"]}))
    where, groups = {}, {}
    for f in data["functions"]:
        path = f["filenames"][0]
        if path not in sources or not f["regions"]:
            continue
        r0 = f["regions"][0]
        name = short_name(names.get(f["name"], f["name"]))
        key = (path, r0[0], r0[1])
        groups[key] = (name, groups.get(key, (name, False))[1] or f["count"] > 0)
        for line in range(r0[0], r0[2] + 1):
            held = where.get((path, line))
            if held is None or held[1] <= r0[0]:
                where[(path, line)] = (name, r0[0])
    return {k: v[0] for k, v in where.items()}, groups


def branch_is_tester(path, b, texts, tester, plant_names):
    if b[0] in tester[path]:
        return True
    line = texts[path][b[0] - 1]
    cond = line[b[1] - 1 : b[3] - 1] if b[2] == b[0] else line[b[1] - 1 :]
    if PLANT_CMP.search(cond):
        return True
    return cond.strip().lstrip("!") in plant_names[path]


def tally(export, root):
    data, sources, texts, tester, plant_names = analyse(export, root)
    where, groups = functions_by_line(data, sources)
    every, outside, missed = Tally(), Tally(), []
    for path, f in sorted(sources.items()):
        rel = os.path.relpath(path, root)
        for line, count in sorted(line_counts(f["segments"]).items()):
            every.add("lines", count > 0)
            if line in tester[path]:
                continue
            outside.add("lines", count > 0)
            if count == 0:
                missed.append(f"{rel}:{line} {where.get((path, line), '?')}")
        # One branch per start (line, column): the flavours may give one
        # branch regions of different extents (a macro that expands to a
        # call in one flavour and a bare expression in another).
        merged, region = {}, {}
        for b in f["branches"]:
            start = tuple(b[:2])
            region.setdefault(start, tuple(b[:4]))
            t, fl = merged.get(start, (False, False))
            merged[start] = (t or b[4] > 0, fl or b[5] > 0)
        for start, (t, fl) in merged.items():
            key = region[start]
            every.add("branches", t + fl, 2)
            if not branch_is_tester(path, key, texts, tester, plant_names):
                outside.add("branches", t + fl, 2)
    for (path, line, _), (name, run) in groups.items():
        every.add("functions", run)
        if line not in tester[path]:
            outside.add("functions", run)
    return every, outside, missed


def explained(root):
    """{file: [function names]} of the rows of docs/coverage.md's tables."""
    rows = {}
    with open(os.path.join(root, "docs/coverage.md"), encoding="utf-8") as fh:
        for text in fh:
            cells = [c.strip() for c in text.strip().strip("|").split("|")]
            if len(cells) < 4 or not cells[0].startswith("`allocator/"):
                continue
            names = [n.replace("()", "") for n in re.findall(r"`([^`]+)`", cells[1])]
            rows.setdefault(cells[0].strip("`"), []).extend(names)
    return rows


def has_reason(rows, rel, function):
    return any(function == n or function.endswith("::" + n) for n in rows.get(rel, []))


def read_floor(path):
    floor = {}
    with open(path, encoding="utf-8") as fh:
        for text in fh:
            text = text.split("#")[0].strip()
            if text:
                key, value = text.split()
                floor[key] = float(value)
    return floor


def main(argv):
    if len(argv) < 2:
        usage("give the export JSON and the repository root")
    export_path, root, rest = argv[0], argv[1], argv[2:]
    floor_path, mode = None, None
    while rest:
        arg = rest.pop(0)
        if arg == "--floor" and rest:
            floor_path = rest.pop(0)
        elif arg in ("--check", "--update-floor") and mode is None:
            mode = arg
        else:
            usage(f"unexpected argument '{arg}'")
    if mode and not floor_path:
        usage(f"{mode} needs --floor FILE")
    with open(export_path, encoding="utf-8") as fh:
        every, outside, missed = tally(json.load(fh), root)
    print(f"  {'allocator/':<26}{'lines':<20}{'branches':<20}functions")
    print(every.row("all code"))
    print(outside.row("outside tester-only code"))
    rows = explained(root)
    unexplained = 0
    print(f"\nnever-executed lines outside tester-only code ({len(missed)}):")
    for m in missed:
        loc, function = m.split(" ", 1)
        ok = has_reason(rows, loc.rsplit(":", 1)[0], function)
        unexplained += not ok
        print("  " + m + ("" if ok else "   <- no reason in docs/coverage.md"))
    print(f"  ({unexplained} without a reason in docs/coverage.md)")
    figures = {"lines": outside.pct("lines"), "branches": outside.pct("branches")}
    if mode == "--update-floor":
        with open(floor_path, "w", encoding="utf-8") as fh:
            fh.write("# Coverage of allocator/ outside tester-only code by the kept corpus\n")
            fh.write("# (ci/coverage --check fails below these; ci/coverage --update-floor writes them).\n")
            for key, value in figures.items():
                fh.write(f"{key} {math.floor(value * 100) / 100:.2f}\n")  # never above the figure
        print(f"\nwrote {floor_path}")
    elif mode == "--check":
        floor = read_floor(floor_path)
        low = [f"{k} {figures[k]:.2f}% < {floor[k]:.2f}%" for k in figures if figures[k] + 1e-9 < floor.get(k, 0)]
        if unexplained:
            low.append(f"{unexplained} never-executed line(s) without a reason in docs/coverage.md")
        if low:
            print(f"\ncoverage below the floor ({floor_path}): " + ", ".join(low))
            return 1
        print(f"\ncoverage at or above the floor ({floor_path})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
