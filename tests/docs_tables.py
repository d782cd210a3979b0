#!/usr/bin/python3
"""The manual's generated tables must be exactly what the binary prints from
the tables they document (a flag documented by hand drifts): each lies
between <!-- NAME:begin --> and <!-- NAME:end --> on its page and is
`hakfuzz --markdown=NAME`. And every variable hakfuzz hands to the
processes it starts (a `k...Env = "HAKFUZZ_..."` constant in the sources)
has its row in docs/fuzzing.md.

Usage: tests/docs_tables.py HAKFUZZ [--root DIR] [--update]
  --update rewrites every table in place from the binary (then commit it).
Exit status: 0 every table matches (or was rewritten), 1 a table differs or
is missing, 2 usage or the binary failed.
"""

import argparse
import difflib
import os
import re
import subprocess
import sys

# page, table name (`hakfuzz --markdown=NAME`): from cli/commands.cpp's
# command table, allocator/include/hakmem/env_flags.def, fuzz/targets.def and
# oracle/plants.def.
TABLES = [
    ("README.md", "commands"),
    ("docs/allocator.md", "flags"),
    ("docs/fuzzing.md", "targets"),
    ("docs/plants.md", "plants"),
]


def generated(hakfuzz, name):
    r = subprocess.run([hakfuzz, f"--markdown={name}"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"docs_tables: {hakfuzz} --markdown={name} exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout


HANDOVER_PAGE = "docs/fuzzing.md"
HANDOVER = re.compile(r'inline constexpr const char\* k\w+Env = "(HAKFUZZ_\w+)"')


def undocumented_handovers(root):
    """Names of the hand-over variables with no `| `NAME` |` row on the page."""
    names = set()
    for top in ("cli", "exec", "explore", "fuzz", "oracle", "program", "stress", "support", "sweep"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in files:
                if name.endswith((".h", ".cpp")):
                    with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                        names.update(HANDOVER.findall(f.read()))
    with open(os.path.join(root, HANDOVER_PAGE), encoding="utf-8") as f:
        page = f.read()
    return sorted(n for n in names if f"| `{n}` |" not in page), len(names)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("hakfuzz")
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--update", action="store_true")
    args = ap.parse_args()
    bad = 0
    for page, name in TABLES:
        path = os.path.join(args.root, page)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        begin, end = f"<!-- {name}:begin -->\n", f"<!-- {name}:end -->"
        b, e = text.find(begin), text.find(end)
        if b < 0 or e < b:
            print(f"{page}: no {begin.strip()} ... {end} section for the {name} table")
            bad += 1
            continue
        have, want = text[b + len(begin) : e], generated(args.hakfuzz, name)
        if have == want:
            print(f"ok   {page}: the {name} table")
            continue
        if args.update:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text[: b + len(begin)] + want + text[e:])
            print(f"updated {page}: the {name} table")
            continue
        bad += 1
        print(f"FAIL {page}: the {name} table is not `hakfuzz --markdown={name}`:")
        sys.stdout.writelines(
            difflib.unified_diff(have.splitlines(True), want.splitlines(True), f"{page} ({name})", "hakfuzz")
        )
    missing, found = undocumented_handovers(args.root)
    if found == 0:
        print("FAIL no hand-over variable found in the sources: the pattern is stale")
        bad += 1
    for name in missing:
        print(f"FAIL {HANDOVER_PAGE}: no row for {name}, which hakfuzz hands to the processes it starts")
        bad += 1
    if not missing and found:
        print(f"ok   {HANDOVER_PAGE}: the {found} hand-over variables")
    if bad:
        print(f"regenerate with: tests/docs_tables.py {args.hakfuzz} --update")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
