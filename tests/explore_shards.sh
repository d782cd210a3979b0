#!/usr/bin/env bash
# explore's parts of one search add up to the whole: three --shard parts of
# a dfs over some corpus programs, merged, give the same interleavings and
# steps per input as the unsharded run; --jobs 2 the same again; parts that
# do not fit (one missing, one twice, another bound) are refused (exit 2).
# --point-coverage counts in one process: refused with --jobs and --merge,
# and its report names every schedule point.
# usage: explore_shards.sh HAKFUZZ SOURCE_DIR SCRATCH
set -uo pipefail
bin=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
inputs=("$src/corpus/remote/remote-free-and-exit" "$src/corpus/interleave")
totals() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print([(i['file'], i['interleavings'], i['steps']) for i in r['inputs']], r['totals']['interleavings'])" "$1"; }

"$bin" explore --json "$work/whole.json" "${inputs[@]}" >"$work/whole.log" 2>&1 || fail "whole run: exit $?"
for k in 1 2 3; do
  "$bin" explore --shard "$k/3" --json "$work/part$k.json" "${inputs[@]}" >"$work/part$k.log" 2>&1 ||
    fail "part $k/3: exit $?"
done
"$bin" explore --merge "$work"/part{1,2,3}.json --json "$work/merged.json" >"$work/merge.log" 2>&1 ||
  fail "merge: exit $?"
[ "$(totals "$work/whole.json")" = "$(totals "$work/merged.json")" ] ||
  fail "merged parts differ from the whole: $(totals "$work/merged.json") vs $(totals "$work/whole.json")"
"$bin" explore --jobs 2 --json "$work/jobs.json" "${inputs[@]}" >"$work/jobs.log" 2>&1 || fail "--jobs 2: exit $?"
[ "$(totals "$work/whole.json")" = "$(totals "$work/jobs.json")" ] || fail "--jobs 2 differs from the whole"

expect_refused() {
  "$bin" explore --merge "$@" >"$work/refused.log" 2>&1
  [ $? -eq 2 ] || fail "merge of $* was not refused"
}
expect_refused "$work/part1.json" "$work/part2.json"
expect_refused "$work/part1.json" "$work/part1.json" "$work/part2.json" "$work/part3.json"
"$bin" explore --preemptions 1 --shard 3/3 --json "$work/other.json" "${inputs[@]}" >/dev/null 2>&1
expect_refused "$work/part1.json" "$work/part2.json" "$work/other.json"
# The same part under another memory model is another search (a store
# history: TSan's build runs every model as sc, but keeps the history).
"$bin" explore --history 7 --shard 3/3 --json "$work/history.json" "${inputs[@]}" >/dev/null 2>&1
expect_refused "$work/part1.json" "$work/part2.json" "$work/history.json"
grep -q 'history: 4 vs 7' "$work/refused.log" || fail "the refusal does not name the history: $(cat "$work/refused.log")"
"$bin" explore --point-coverage --jobs 2 "${inputs[@]}" >"$work/refused.log" 2>&1
[ $? -eq 2 ] || fail "--point-coverage with --jobs 2 was not refused"
"$bin" explore --point-coverage --merge "$work"/part{1,2,3}.json >"$work/refused.log" 2>&1
[ $? -eq 2 ] || fail "--point-coverage with --merge was not refused"
"$bin" explore --preemptions 1 --point-coverage "${inputs[@]}" >"$work/points.log" 2>&1 || fail "--point-coverage: exit $?"
grep -q '^  remote_free.claim  *[1-9]' "$work/points.log" || fail "--point-coverage: remote_free.claim not counted"
grep -q '^unreached points: [0-9]' "$work/points.log" || fail "--point-coverage: no unreached line"
echo "explore shards: $(totals "$work/merged.json")"
