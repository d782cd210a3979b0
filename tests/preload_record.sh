#!/usr/bin/env bash
# `hakfuzz record` end to end on a real client:
#   preload_record.sh HAKFUZZ CLIENT
# records the client (v2 on) into a recording and a `remote` input, which
# must replay 3/3 identical and clean, round-trip decode/encode, equal the
# conversion of the recording by --from; the cap truncates and the program
# runs on; bad input, to the command or to the shim, exits 2.
set -uo pipefail
hakfuzz=$1 client=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "preload_record: $*" >&2; exit 1; }
run() { "$hakfuzz" "$@" >"$T/out" 2>&1; local rc=$?; cat "$T/out"; return $rc; }

# About 1,100 events: the whole recording fits in the runner's 2048 ops.
run record --env HAKMEM_POOL_V2_ENABLED=1 -o "$T/x.rec" --remote "$T/x.remote" --threads 4 -- "$client" 2 150 ||
  fail "record: exit $?"
grep -Eq "pid [0-9]+: [0-9]+ events .*; complete" "$T/out" || fail "the recording is not complete"
grep -q "from 4 OS threads (0 sharing one);.* 0 events past the 2048-op cap" "$T/out" ||
  fail "not every event of the four client threads converted"
run repro --target remote --runs 3 "$T/x.remote" || fail "repro: exit $?"
grep -Eq "clean \(3/3 identical, digest [0-9a-f]{16}\)" "$T/out" || fail "the replay is not clean and deterministic"
"$hakfuzz" decode --target remote "$T/x.remote" >"$T/x.txt" || fail "decode"
grep -q "^t1 free" "$T/x.txt" || fail "no free on a second thread"
"$hakfuzz" encode --target remote "$T/x.txt" -o "$T/x2" 2>/dev/null && cmp -s "$T/x.remote" "$T/x2" ||
  fail "decode/encode round trip"
run record --from "$T/x.rec" --remote "$T/x3" --threads 4 || fail "record --from: exit $?"
cmp -s "$T/x.remote" "$T/x3" || fail "--from converts differently"

run record --max-events 500 --env HAKMEM_POOL_V2_ENABLED=1 -o "$T/c.rec" -- "$client" 1 2000 || fail "capped: exit $?"
grep -q "truncated at the cap of 500 events" "$T/out" || fail "the cap did not truncate"
grep -q "2000 blocks handed over, 0 corrupted" "$T/out" || fail "the program did not run on past the cap"
# 500 events, the truncation mark and the end mark after the 256-byte header
[ "$(stat -c %s "$T/c.rec")" -eq $((256 + 502 * 32)) ] || fail "capped recording of $(stat -c %s "$T/c.rec") bytes"

for bad in "record" "record --max-events 0 -- true" "record --max-events x -- true" "record --threads 9 -- true" \
  "record --from $T/nonexistent --remote $T/y" "record --from $T/x.txt --remote $T/y" "record -- $T/nonexistent"; do
  # shellcheck disable=SC2086
  "$hakfuzz" $bad >"$T/out" 2>&1
  rc=$?
  [ $rc -eq 2 ] || { cat "$T/out"; fail "'$bad': exit $rc, want 2"; }
  grep -q "error" "$T/out" || fail "'$bad': no error message"
done
# The shim's own environment, set by hand: a bad value stops the program
# at start-up with exit 2 and the variable named.
shim=$(dirname "$hakfuzz")/libhakmem_preload.so
for bad in HAKFUZZ_PRELOAD_RECORD_MAX=x HAKFUZZ_PRELOAD_RECORD_MAX=0 HAKFUZZ_PRELOAD_RECORD_MAX=-1 \
  HAKFUZZ_PRELOAD_RECORD_MAX=18446744073709551616 HAKFUZZ_PRELOAD_RECORD_MAX=100000001 \
  HAKFUZZ_PRELOAD_WALK_SIGNAL=x HAKFUZZ_PRELOAD_WALK_SIGNAL=9 HAKFUZZ_PRELOAD_WALK_SIGNAL=99999; do
  env LD_PRELOAD="$shim" HAKFUZZ_PRELOAD_RECORD="$T" "$bad" "$client" 1 10 >"$T/out" 2>&1
  rc=$?
  [ $rc -eq 2 ] || { cat "$T/out"; fail "$bad: exit $rc, want 2"; }
  grep -q "hakmem preload: ${bad%%=*}: expected" "$T/out" || { cat "$T/out"; fail "$bad: not named"; }
done
echo "preload_record: ok"
