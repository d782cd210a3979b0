#!/usr/bin/env bash
# Output paths that cannot be written are the user's error: exit 2 with the
# path named, before any work where the work takes long; and the check
# leaves nothing behind where nothing was found.
# usage: output_paths.sh HAKFUZZ SOURCE_DIR CASE
set -uo pipefail
bin=$1
src=$2
case_name=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
out=$T/out
fail() { echo "FAIL ($case_name): $*"; cat "$out"; exit 1; }
# /proc refuses every mkdir, root's too.
bad=/proc/forbidden
expect_bad() {  # expect_bad NAMED_PATH CMD...: exit 2, the path named
  local named=$1
  shift
  "$@" >"$out" 2>&1
  local rc=$?
  [ $rc -eq 2 ] || fail "expected exit 2, got $rc"
  grep -q "error: .*$named" "$out" || fail "the error does not name $named"
  grep -q "internal error" "$out" && fail "reported as an internal error"
  return 0
}
seed=$src/corpus/interleave/owner-and-remote-free-one-page

case $case_name in
  run_reports) expect_bad "--reports $bad" "$bin" run --reports "$bad" -- true ;;
  record_output) expect_bad "-o $bad/x.rec" "$bin" record -o "$bad/x.rec" -- true ;;
  explore_out)
    expect_bad "--out $bad" "$bin" explore --out "$bad" "$seed"
    "$bin" explore --out "$T/new/findings" "$seed" >"$out" 2>&1 || fail "clean explore: exit $?"
    [ ! -e "$T/new" ] || fail "a clean run left its --out directory behind"
    ;;
  fuzz_artifacts) expect_bad "-artifact_prefix=$bad/" "$bin" fuzz ops -runs=1 "-artifact_prefix=$bad/" ;;
  stress_report) expect_bad "--report $bad/x.json" "$bin" stress --ops 100 --report "$bad/x.json" ;;
  encode_output)
    "$bin" decode "$seed" >"$T/trace.txt" || fail "decode"
    expect_bad "-o $bad/x" "$bin" encode --target interleave -o "$bad/x" "$T/trace.txt"
    ;;
  ab_json) expect_bad "--json $bad/x.json" "$bin" ab --steps 200 --runs 2 --json "$bad/x.json" ;;
  *) fail "unknown case" ;;
esac
echo "ok $case_name"
