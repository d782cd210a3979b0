#!/bin/sh
# The stress failure path end to end: each planted bug must be caught in
# every mode (exit 1, a finding of the kind that plant leads to) and leave a
# JSON report and a `remote` replay input that the binary reads back; a plant
# stress cannot reach, a malformed environment value, an unknown flag name
# and a negative seed must exit 2; the process environment must reach the
# pool.
# usage: stress_failure.sh HAKFUZZ SCRATCH_DIR [MODES] [PLANTS]
set -u
hakfuzz=$1
dir=$2
modes=${3:-exchange handoff churn}
plants=${4:-live_block_twice drifting_counter}
rm -rf "$dir" && mkdir -p "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

for plant in $plants; do
  # What catches each plant: a block handed out twice breaks canaries, is
  # freed twice (rejected) or unbalances the accounting; a drifting counter
  # is seen by the counter check, where stats are compiled in.
  case $plant in
    live_block_twice) kinds="contents|free_outcome|accounting|lost_block" ;;
    drifting_counter) kinds="counter" ;;
    *) fail "no expectation for plant $plant" ;;
  esac
  for mode in $modes; do
    out=$dir/$plant/$mode
    mkdir -p "$out" || exit 1
    "$hakfuzz" stress --mode "$mode" --threads 3 --ops 4000 --env HAKMEM_POOL_V2_ENABLED=1 --stats-compiled 1 \
      --plant "$plant" --report "$out/report.json" >"$out.out" 2>&1
    rc=$?
    [ "$rc" -eq 1 ] || { cat "$out.out"; fail "$plant/$mode: exited $rc, want 1"; }
    grep -qE "^  ($kinds) at op [0-9]+: " "$out.out" || { cat "$out.out"; fail "$plant/$mode: no $kinds finding printed"; }
    grep -q "last ops of worker 0" "$out.out" || fail "$plant/$mode: no per-worker op log printed"
    [ -s "$out/report.json" ] || fail "$plant/$mode: no JSON report"
    [ -s "$out/report.remote" ] || fail "$plant/$mode: no replay input"
    grep -q '"reproduced"' "$out/report.json" || fail "$plant/$mode: report does not say whether the replay reproduced"
    grep -q "\"plant\": \"$plant\"" "$out/report.json" || fail "$plant/$mode: report does not name the plant"
    grep -q '"kind": ' "$out/report.json" || fail "$plant/$mode: report findings carry no kind"
    "$hakfuzz" decode --target remote "$out/report.remote" | grep -q "alloc sel=" ||
      fail "$plant/$mode: replay input does not decode as a remote schedule"
  done
done

expect_usage() {
  what=$1
  shift
  "$@" >"$dir/usage.out" 2>&1
  rc=$?
  [ "$rc" -eq 2 ] || { cat "$dir/usage.out"; fail "$what exited $rc, want 2"; }
}
expect_usage "a malformed --env value" "$hakfuzz" stress --env HAKMEM_POOL_V2_ENABLED=2
expect_usage "an unknown --env name" "$hakfuzz" stress --env NOT_A_FLAG=1
expect_usage "a plant stress cannot reach" "$hakfuzz" stress --plant page_of_interior
expect_usage "an unknown plant" "$hakfuzz" stress --plant no_such_bug
expect_usage "--seed -1" "$hakfuzz" stress --seed -1
grep -q -- "--seed" "$dir/usage.out" || fail "--seed -1: the message does not name the option"
expect_usage "an exported malformed value" env HAKMEM_POOL_V2_ENABLED=2 "$hakfuzz" stress

HAKMEM_POOL_V2_ENABLED=1 "$hakfuzz" stress --ops 2000 --threads 2 >"$dir/env.out" 2>&1 ||
  { cat "$dir/env.out"; fail "stress with HAKMEM_POOL_V2_ENABLED=1 exported did not run clean"; }
grep -q "config: HAKMEM_POOL_V2_ENABLED=1 " "$dir/env.out" || fail "the exported HAKMEM_POOL_V2_ENABLED=1 did not reach the pool"
echo "stress failure path: ok"
