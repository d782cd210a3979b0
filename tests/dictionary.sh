#!/usr/bin/env bash
# The env target's dictionary: fuzz/env.dict is what the flag table
# generates; -dict files are checked (missing or malformed: exit 2); and
# with the dictionary the built-in engine finds the planted parser bug from
# the corpus without its dictionary-built seeds (seeded: the same runs each
# time), whose reproducer replays with the plant and is clean without it.
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

find "$src/corpus/env" -maxdepth 1 -type f ! -name 'dict-*' -exec cp {} "$scratch/seeds/" \;
rc=0
"$hakfuzz" fuzz env --engine=builtin --plant=mask_read_by_strtoul -seed=1 -runs=200000 \
  -artifact_prefix="$scratch/new/" "$scratch/new" "$scratch/seeds" >"$scratch/log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || { tail -5 "$scratch/log"; fail "fuzz env with the dictionary did not find mask_read_by_strtoul"; }
grep -q "INFO: dictionary" "$scratch/log" || fail "the dictionary was not passed by default"
crash=$(ls "$scratch"/new/crash-*)
"$hakfuzz" repro --target env --plant=mask_read_by_strtoul "$crash" >/dev/null 2>&1 && fail "the reproducer does not replay"
"$hakfuzz" repro --target env "$crash" >/dev/null || fail "the reproducer is not clean on the real allocator"
echo "ok   fuzz env with the dictionary finds mask_read_by_strtoul: $(grep -o '^#[0-9]*' "$scratch/log" | tail -1) runs reported"
