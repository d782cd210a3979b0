#!/bin/bash
# `sweep --merge` end to end: the quick sweep run in 4 shards and merged must
# equal the unsharded run (summary table and every cell's status and digest);
# the --cell replay must reproduce a cell's digest; CI progress must be one
# line per tenth plus a final line; and reports that do not fit together must
# be refused naming what is wrong: a missing cell, a duplicated shard, a
# passing cell without its digest, a run field that differs, bad JSON (exit 2),
# and an equivalence partner whose digest differs (exit 1, a finding).
# usage: sweep_merge.sh HAKFUZZ SCRATCH_DIR
set -u
hakfuzz=$1
dir=$2
# Enough ops that every cell's path proof holds (at 2000 a class-0-only cell
# may never see a remote free drained); the run's settings, shared by all.
run=(--quick --seed 7 --ops 4000)
rm -rf "$dir" && mkdir -p "$dir" || exit 1
cd "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
command -v jq >/dev/null || fail "jq is needed (apt-get install jq; ci/deps.sh installs it)"

# The summary table without its timing column.
summary() { sed -n '/^flag /,/^statuses:/p' "$1" | awk '{ $NF = ""; print }'; }
# index, status and digest of every cell.
cells() { jq -c '[.cells[] | [.index, .status, .digest]]' "$1"; }

"$hakfuzz" sweep "${run[@]}" --json whole.json >whole.out 2>whole.err || { cat whole.out; fail "the unsharded run failed"; }
for k in 1 2 3 4; do
  "$hakfuzz" sweep "${run[@]}" --shard $k/4 --json shard$k.json >shard$k.out 2>shard$k.err ||
    { cat shard$k.out; fail "shard $k/4 failed"; }
  # stderr is a file: plain progress, a line per tenth at most and a final line.
  lines=$(grep -c 'configs done' shard$k.err)
  [ "$lines" -ge 1 ] && [ "$lines" -le 10 ] || { cat shard$k.err; fail "shard $k: $lines progress lines, want 1..10"; }
  tail -n 1 shard$k.err | grep -qE '^\[([0-9]+)/\1\] configs done' || { cat shard$k.err; fail "shard $k: no final progress line"; }
done

"$hakfuzz" sweep --merge shard1.json shard2.json shard3.json shard4.json \
  --json merged.json --junit merged.xml --html merged.html >merged.out 2>&1 || { cat merged.out; fail "merge exited $?"; }
[ "$(summary merged.out)" = "$(summary whole.out)" ] ||
  { diff <(summary whole.out) <(summary merged.out); fail "the merged summary differs from the unsharded run's"; }
[ "$(cells merged.json)" = "$(cells whole.json)" ] || fail "merged cells (index, status, digest) differ from the unsharded run's"
[ "$(jq '.cells | length' merged.json)" -eq 128 ] || fail "merged.json does not hold the 128 quick cells"
[ "$(jq -r .shard merged.json)" = "1/4 2/4 3/4 4/4" ] || fail "merged.json does not name its shards"
[ "$(grep -c '<testcase ' merged.xml)" -eq 128 ] || fail "merged.xml does not hold 128 test cases"
grep -q 'class="cell" data-status="pass"' merged.html || fail "merged.html draws no passing cell"
! grep -q 'class="cell" data-status="not-run"' merged.html || fail "merged.html draws a cell as not run"
# A merged report merges again, alone, to the same verdict.
"$hakfuzz" sweep --merge merged.json >remerged.out 2>&1 || { cat remerged.out; fail "a merged report does not merge again"; }

# The replay command the reports print runs one cell to the same digest.
cell=$(jq -r '.cells[5].index' shard3.json)
digest=$(jq -r ".cells[] | select(.index == $cell) | .digest" merged.json)
"$hakfuzz" sweep --cell "$cell" --seed 7 --ops 4000 >replay.out 2>&1 || { cat replay.out; fail "--cell $cell failed"; }
grep -qE "^cell 0*$cell pass .* digest $digest\$" replay.out || { cat replay.out; fail "--cell $cell: not digest $digest"; }

# expect CODE WHAT PATTERN -- ARGS...: the merge exits CODE and prints PATTERN.
expect() {
  code=$1 what=$2 pattern=$3
  shift 4
  "$hakfuzz" sweep --merge "$@" >bad.out 2>&1
  rc=$?
  [ "$rc" -eq "$code" ] || { cat bad.out; fail "$what: exited $rc, want $code"; }
  grep -qE -- "$pattern" bad.out || { cat bad.out; fail "$what: output does not match '$pattern'"; }
  echo "ok: $what (exit $rc)"
}
edit() { jq "$2" "$1"; }

# One cell removed from shard 2: named with its config.
gone=$(jq -r '.cells[3].index' shard2.json)
gone_config=$(jq -r '.cells[3].config' shard2.json)
edit shard2.json "del(.cells[3])" >shard2-missing.json
expect 2 "a missing cell" "cell 0*$gone \[$gone_config\]" -- shard1.json shard2-missing.json shard3.json shard4.json
grep -q "missing" bad.out || fail "the missing cell is not called missing"
expect 2 "a duplicated shard" "cell .* in shard1.json and in shard1.json" -- shard1.json shard1.json shard2.json shard3.json shard4.json
expect 2 "a shard missing" "[0-9]+ cells missing" -- shard1.json shard2.json shard3.json

# An equivalence partner's digest changed: the class spans shards (v2
# disabled: every class mask is equivalent), so only the merge can see it.
partner=$(jq -r '[.cells[] | select(.equivalence_key == "v2_enabled=0")][0].index' shard1.json)
jq -e '[.cells[] | select(.equivalence_key == "v2_enabled=0")] | length > 0' shard2.json >/dev/null ||
  fail "the v2-disabled class does not span shards 1 and 2"
edit shard1.json "(.cells[] | select(.index == $partner) | .digest) = \"0x0000000000000bad\"" >shard1-partner.json
expect 1 "an equivalence partner's digest" "digest 0x0000000000000bad differs from .* \(key 'v2_enabled=0'" \
  -- shard1-partner.json shard2.json shard3.json shard4.json
grep -qE "^  cell 0*$partner finding " bad.out || fail "the cell with the changed digest is not listed as a finding"
grep -q "1 equivalence classes disagree" bad.out || fail "the broken class is not counted"

# The same partner with its digest removed: a passing cell without one is unusable.
edit shard1.json "(.cells[] | select(.index == $partner)) |= (.digest = null | .has_digest = false)" >shard1-nodigest.json
expect 2 "a passing cell without a digest" "cell $partner: passed without a digest" \
  -- shard1-nodigest.json shard2.json shard3.json shard4.json
edit shard1.json "(.cells[] | select(.index == $partner)) |= del(.digest)" >shard1-nodigestfield.json
expect 2 "a digest field removed" "cell $partner: has_digest is true but the digest is missing" \
  -- shard1-nodigestfield.json shard2.json shard3.json shard4.json

# Shards of different runs.
edit shard3.json '.seed = 8' >shard3-seed.json
expect 2 "another seed" "disagree on seed: shard1.json has 7, shard3-seed.json has 8" \
  -- shard1.json shard2.json shard3-seed.json shard4.json
edit shard4.json '.ops = 5000' >shard4-ops.json
expect 2 "other ops" "disagree on ops: shard1.json has 4000, shard4-ops.json has 5000" \
  -- shard1.json shard2.json shard3.json shard4-ops.json
edit shard2.json '.build = "clang 14"' >shard2-build.json
expect 2 "another build" "disagree on build: .* has g\+\+.*, shard2-build.json has clang 14" \
  -- shard1.json shard2-build.json shard3.json shard4.json
edit shard2.json '.selection = "full"' >shard2-full.json
expect 2 "another selection" "disagree on selection: shard1.json has quick, shard2-full.json has full" \
  -- shard1.json shard2-full.json shard3.json shard4.json

# Unreadable input.
head -c 300 shard1.json >truncated.json
expect 2 "truncated JSON" "truncated.json: not JSON" -- truncated.json shard2.json shard3.json shard4.json
expect 2 "a missing file" "no-such.json: cannot read" -- no-such.json shard2.json
echo '{"tool": "something else"}' >other.json
expect 2 "no hakfuzz report" "other.json: not a hakfuzz sweep report" -- other.json
"$hakfuzz" sweep --merge shard1.json --seed 3 >bad.out 2>&1
[ $? -eq 2 ] && grep -q -- "--seed belongs to a run" bad.out || { cat bad.out; fail "--merge took --seed"; }
echo "sweep merge: all checks passed"
