#!/bin/sh
# The stress failure path end to end: a planted broken canary must exit 1
# and leave a JSON report and a `remote` replay input that the binary reads
# back; a malformed environment value must exit 2.
# usage: stress_failure.sh HAKFUZZ SCRATCH_DIR [MODES]
set -u
hakfuzz=$1
dir=$2
modes=${3:-exchange handoff churn}
rm -rf "$dir" && mkdir -p "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

for mode in $modes; do
  "$hakfuzz" stress --mode "$mode" --threads 3 --ops 4000 --env HAKMEM_POOL_V2_ENABLED=1 --plant canary \
    --report "$dir/$mode/report.json" >"$dir/$mode.out" 2>&1
  rc=$?
  [ "$rc" -eq 1 ] || { cat "$dir/$mode.out"; fail "$mode: planted canary exited $rc, want 1"; }
  grep -q "broken canary" "$dir/$mode.out" || fail "$mode: no canary finding printed"
  grep -q "last ops of worker 0" "$dir/$mode.out" || fail "$mode: no per-worker op log printed"
  [ -s "$dir/$mode/report.json" ] || fail "$mode: no JSON report"
  [ -s "$dir/$mode/report.remote" ] || fail "$mode: no replay input"
  grep -q '"reproduced"' "$dir/$mode/report.json" || fail "$mode: report does not say whether the replay reproduced"
  "$hakfuzz" decode --target remote "$dir/$mode/report.remote" | grep -q "alloc sel=" ||
    fail "$mode: replay input does not decode as a remote schedule"
done

"$hakfuzz" stress --env HAKMEM_POOL_V2_ENABLED=2 >/dev/null 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "a malformed --env value exited $rc, want 2"
"$hakfuzz" stress --env NOT_A_FLAG=1 >/dev/null 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "an unknown --env name exited $rc, want 2"
echo "stress failure path: ok"
