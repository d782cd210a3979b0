#!/usr/bin/python3
"""The manual's generated tables must be exactly what the binary prints from
the tables they document (a flag documented by hand drifts): each lies
between <!-- NAME:begin --> and <!-- NAME:end --> on its page and is
`hakfuzz --markdown=NAME`.

Usage: tests/docs_tables.py HAKFUZZ [--root DIR] [--update]
  --update rewrites every table in place from the binary (then commit it).
Exit status: 0 every table matches (or was rewritten), 1 a table differs or
is missing, 2 usage or the binary failed.
"""

import argparse
import difflib
import os
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
    if bad:
        print(f"regenerate with: tests/docs_tables.py {args.hakfuzz} --update")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
