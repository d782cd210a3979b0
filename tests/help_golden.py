#!/usr/bin/python3
"""Every command's --help, and the top-level `hakfuzz --help`, must be the
text kept in tests/golden/help/ (<command>.txt, hakfuzz.txt): an option that
changes shows up in review as a change to its golden file. The commands are
the CLI's own table (`hakfuzz --markdown`).

Usage: tests/help_golden.py HAKFUZZ [--golden DIR] [--update]
  --update rewrites the golden files from the binary (and removes those of
  commands that are gone); review the diff and commit it.
The files are those of a build without libFuzzer (`fuzz --help` names the
engines a build has): regenerate them from build/gcc/hakfuzz.
Exit status: 0 all match (or were rewritten), 1 a difference, 2 usage or a
--help that failed.
"""

import argparse
import difflib
import os
import re
import subprocess
import sys


def run(hakfuzz, *args):
    r = subprocess.run([hakfuzz, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"help_golden: {' '.join(['hakfuzz', *args])} exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("hakfuzz")
    ap.add_argument("--golden", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "help"))
    ap.add_argument("--update", action="store_true")
    args = ap.parse_args()
    commands = re.findall(r"^\| `hakfuzz ([a-z_-]+)` \|", run(args.hakfuzz, "--markdown"), re.M)
    if not commands:
        sys.exit("help_golden: `hakfuzz --markdown` listed no commands")
    helps = {"hakfuzz": run(args.hakfuzz, "--help")}
    for c in commands:
        helps[c] = run(args.hakfuzz, c, "--help")
    if args.update:
        os.makedirs(args.golden, exist_ok=True)
        for stale in sorted(set(f[:-4] for f in os.listdir(args.golden) if f.endswith(".txt")) - set(helps)):
            os.remove(os.path.join(args.golden, stale + ".txt"))
            print(f"removed {stale}.txt (no such command)")
    bad = 0
    for name, text in helps.items():
        path = os.path.join(args.golden, name + ".txt")
        shown = "hakfuzz --help" if name == "hakfuzz" else f"hakfuzz {name} --help"
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old == text:
            print(f"ok   {shown}")
        elif args.update:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"{'updated' if old is not None else 'wrote'} {os.path.relpath(path)}")
        else:
            bad += 1
            print(f"FAIL {shown} differs from {path}:" if old is not None else f"FAIL {shown}: no {path}")
            sys.stdout.writelines(difflib.unified_diff((old or "").splitlines(True), text.splitlines(True), path, shown))
    if not args.update and os.path.isdir(args.golden):
        extra = set(f[:-4] for f in os.listdir(args.golden) if f.endswith(".txt")) - set(helps)
        for name in sorted(extra):
            bad += 1
            print(f"FAIL {name}.txt: no such command (remove it, or run with --update)")
    if bad:
        print(f"regenerate with: tests/help_golden.py {args.hakfuzz} --update")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
