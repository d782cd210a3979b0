#!/usr/bin/env bash
# End-to-end checks of `hakfuzz fuzz/repro/decode/encode` as CI uses them.
# usage: fuzz_e2e.sh HAKFUZZ SOURCE_DIR   (engine: libFuzzer if the build has it)
set -uo pipefail
H=$(realpath "$1")
SRC=$(realpath "$2")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
fails=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
expect_rc() {  # expect_rc WANT LOG DESCRIPTION -- CMD...
  local want=$1 log=$2 what=$3
  shift 4
  "$@" >"$log" 2>&1
  local rc=$?
  if [ "$rc" -eq "$want" ]; then pass "$what (exit $rc)"; else fail "$what: exit $rc, want $want"; tail -20 "$log"; fi
}
libfuzzer=no
"$H" fuzz --help | grep -q "libfuzzer (default" && libfuzzer=yes
echo "engine: libFuzzer=$libfuzzer"

# Corpus binaries are exactly `encode` of their readable traces, and decode round-trips.
while read -r trace; do
  rel=${trace#"$SRC"/corpus/traces/}
  bin=$SRC/corpus/${rel%.txt}
  target=$(basename "$(dirname "$bin")")
  "$H" encode --target "$target" "$trace" -o "$T/enc" 2>/dev/null && cmp -s "$T/enc" "$bin" ||
    fail "corpus/${rel%.txt} is stale: run corpus/encode-traces"
  "$H" decode --target "$target" "$bin" >"$T/dec" && "$H" encode --target "$target" "$T/dec" -o "$T/enc2" 2>/dev/null &&
    cmp -s "$T/enc2" "$bin" || fail "decode/encode round trip of corpus/${rel%.txt}"
done < <(find "$SRC/corpus/traces" -name '*.txt' | sort)
pass "corpus binaries match their traces; decode/encode round-trips"

# Nothing below may write into the kept corpus (checked at the end).
before=$(cd "$SRC" && find corpus -type f | sort | sha1sum)

# Every corpus and regression input replays clean and deterministically.
expect_rc 0 repro.log "repro of corpus and regressions" -- "$H" repro --runs 2 "$SRC/corpus"

# Bad input: exit 2 with a clear message.
expect_rc 2 bad1.log "unknown target" -- "$H" fuzz nosuch -runs=1
expect_rc 2 bad2.log "unknown hakfuzz option" -- "$H" fuzz ops --nosuch
expect_rc 2 bad3.log "missing repro file" -- "$H" repro "$T/missing"
expect_rc 2 bad4.log "repro target not inferable" -- "$H" repro "$SRC/corpus/encode-traces"
printf 'config HAKMEM_POOL_V2_ENABLED=1 HAKMEM_POOL_V2_STATS=0 HAKMEM_POOL_V2_CLASSES=999\n' >bad.txt
expect_rc 2 bad5.log "malformed trace" -- "$H" encode --target ops bad.txt -o bad.bin
grep -q "HAKMEM_POOL_V2_CLASSES='999': out of range" bad5.log || fail "malformed trace error names the problem"
expect_rc 2 bad6.log "unknown planted bug" -- "$H" repro --plant nosuch --target ops "$SRC/corpus/ops/every-route"
# libFuzzer's own flags pass through untouched (Boost must not read -help=1 as -h).
expect_rc 0 help.log "-help=1 reaches the engine" -- "$H" fuzz ops -help=1
expect_rc 0 h.log "-h is our help" -- "$H" fuzz -h
grep -q "^usage: hakfuzz fuzz TARGET" h.log || fail "-h prints the usage"
expect_rc 2 guess.log "a prefix of one of our options is not guessed" -- "$H" fuzz ops --plan=page_of_interior -runs=1
expect_rc 2 plant_next.log "--plant NAME takes the next word" -- "$H" fuzz ops --plant nosuch -runs=1
grep -q "nosuch: no such planted bug" plant_next.log || fail "--plant NAME names the bad plant"

# A planted bug: found, reproducer written before exit, replayed 3/3; clean on the real pool.
mkdir corpus_ops && cp "$SRC"/corpus/ops/* corpus_ops/
expect_rc 1 plant.log "planted page_of bug is a finding" -- "$H" fuzz ops --plant=page_of_interior -seed=5 \
  -max_total_time=60 -artifact_prefix="$T/art/" corpus_ops
crash=$(ls "$T"/art/crash-* 2>/dev/null | head -1)
[ -n "$crash" ] && pass "reproducer written: ${crash##*/}" || fail "no crash-<sha1> reproducer"
grep -q "Test unit written to $T/art/crash-" plant.log && pass "'Test unit written to' line" ||
  fail "no 'Test unit written to' line"
expect_rc 1 repro1.log "repro of the planted finding" -- "$H" repro --target ops --plant=page_of_interior "$crash"
grep -q "reproduced 3/3" repro1.log || fail "finding reproduced 3/3"
expect_rc 0 repro2.log "same input on the real pool is clean" -- "$H" repro --target ops "$crash"

if [ "$libfuzzer" = yes ]; then
  expect_rc 0 min.log "-minimize_crash=1" -- "$H" fuzz ops --plant=page_of_interior -minimize_crash=1 -runs=200 \
    -artifact_prefix="$T/min-" "$crash"
  grep -q "CRASH_MIN" min.log || fail "-minimize_crash ran its re-executed steps"
  mkdir merged
  expect_rc 0 merge.log "-merge=1" -- "$H" fuzz ops -merge=1 merged corpus_ops
  [ -n "$(ls merged)" ] && pass "merge kept inputs" || fail "merge produced nothing"
  mkdir fork_new  # libFuzzer writes new units into the first dir: never the kept corpus
  expect_rc 0 fork.log "-fork=1" -- "$H" fuzz remote -fork=1 -max_total_time=4 -seed=3 fork_new "$SRC/corpus/remote"
  expect_rc 0 jobs.log "-jobs=2" -- "$H" fuzz ops -jobs=2 -runs=100 -seed=4 corpus_ops
  ls fuzz-0.log >/dev/null 2>&1 && pass "-jobs wrote fuzz-0.log" || fail "-jobs wrote no fuzz-0.log"
fi

after=$(cd "$SRC" && find corpus -type f | sort | sha1sum)
[ "$before" = "$after" ] && pass "the kept corpus is untouched" || fail "a run wrote into the kept corpus"

echo "fuzz e2e: $fails failure(s)"
[ "$fails" -eq 0 ]
