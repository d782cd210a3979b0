#!/usr/bin/env bash
# The env target's dictionary: fuzz/env.dict is what the flag table
# generates; -dict files are checked (missing or malformed: exit 2); fuzz
# env gets it by default; and a token of it finds the planted parser bug
# that the same seeded run without a dictionary misses, with a reproducer
# that replays with the plant and is clean without it.
# Usage: tests/dictionary.sh HAKFUZZ SOURCE_DIR SCRATCH
set -euo pipefail
hakfuzz=$1 src=$2 scratch=$3
rm -rf "$scratch" && mkdir -p "$scratch/seeds" "$scratch/new"
fail() { echo "FAIL: $*"; exit 1; }

"$hakfuzz" fuzz env --dictionary >"$scratch/env.dict"
cmp -s "$scratch/env.dict" "$src/fuzz/env.dict" ||
  fail "fuzz/env.dict differs from the flag table's; regenerate: hakfuzz fuzz env --dictionary >fuzz/env.dict"
echo "ok   fuzz/env.dict is the table's ($(grep -c '^"' "$src/fuzz/env.dict") entries)"

expect_exit() {  # CODE WHAT COMMAND...
  local want=$1 what=$2 rc=0
  shift 2
  "$@" >"$scratch/out" 2>&1 || rc=$?
  [ "$rc" -eq "$want" ] || { cat "$scratch/out"; fail "$what: exit $rc, want $want"; }
  echo "ok   $what: exit $rc"
}
expect_exit 2 "a target without a dictionary" "$hakfuzz" fuzz ops --dictionary
expect_exit 2 "a missing -dict file" "$hakfuzz" fuzz env --engine=builtin -runs=1 -dict="$scratch/none.dict"
printf '"ok"\nnot an entry\n' >"$scratch/bad.dict"
expect_exit 2 "a malformed -dict file" "$hakfuzz" fuzz env --engine=builtin -runs=1 -dict="$scratch/bad.dict"
grep -q "line 2" "$scratch/out" || fail "the malformed dictionary's error does not name its line"

# The engine splices dictionary entries: from one seed whose INVALID_FREE
# field is "quiet", the entry of that field in capitals finds the planted
# parser bug, and the same seeded run without a dictionary does not.
cp "$src/corpus/env/good-and-bad" "$scratch/seeds/"
printf '# one token of fuzz/env.dict\n"\\x05QUIET"\n' >"$scratch/one.dict"
grep -qF '"\x05QUIET"' "$src/fuzz/env.dict" || fail "fuzz/env.dict lacks the token"
hunt() {  # exit code of a seeded built-in run with the plant
  local rc=0
  rm -rf "$scratch/new" && mkdir -p "$scratch/new"
  "$hakfuzz" fuzz env --engine=builtin --plant=choice_takes_capitals -seed=1 -runs=100000 \
    -artifact_prefix="$scratch/new/" "$@" "$scratch/new" "$scratch/seeds" >"$scratch/log" 2>&1 || rc=$?
  echo "$rc"
}
[ "$(hunt --no-dictionary)" -eq 0 ] || fail "without a dictionary the seeded run was expected to stay clean"
echo "ok   without a dictionary: 100000 runs, no finding"
[ "$(hunt -dict="$scratch/one.dict")" -eq 1 ] || { tail -5 "$scratch/log"; fail "the dictionary's token did not find choice_takes_capitals"; }
crash=$(ls "$scratch"/new/crash-*)
"$hakfuzz" repro --target env --plant=choice_takes_capitals "$crash" >/dev/null 2>&1 && fail "the reproducer does not replay"
"$hakfuzz" repro --target env "$crash" >/dev/null || fail "the reproducer is not clean on the real allocator"
echo "ok   with the dictionary's token: choice_takes_capitals found, replayed, clean without the plant"
rm -rf "$scratch/new" && mkdir -p "$scratch/new"
"$hakfuzz" fuzz env --engine=builtin -seed=1 -runs=10 "$scratch/new" "$scratch/seeds" >"$scratch/log" 2>&1
grep -q "INFO: dictionary .*: $(grep -c '^"' "$src/fuzz/env.dict") entries" "$scratch/log" ||
  fail "fuzz env did not get its dictionary by default"
echo "ok   fuzz env gets its dictionary by default"
