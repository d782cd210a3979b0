#!/usr/bin/env bash
# Each command once, briefly, on the kept corpus: exit 0 and the line that
# says what it did. The fast tier's check that every command still runs
# (ci/test --fast); the e2e and slow tests judge what the commands find.
# usage: smoke.sh HAKFUZZ SOURCE_DIR SCRATCH COMMAND
set -uo pipefail
bin=$1 src=$2 scratch=$3 command=$4
rm -rf "$scratch" && mkdir -p "$scratch"
out=$scratch/out
fail() { echo "FAIL (smoke $command): $*"; cat "$out"; exit 1; }
expect() { grep -Eq "$1" "$out" || fail "no line matching '$1'"; }

smoked="flags fuzz explore audit-atomics repro decode encode stress sweep run record bench ab"
case $command in
  every-command)  # each command of `hakfuzz --help` has a smoke run here
    "$bin" --help >"$out" 2>&1 || fail "exit $?"
    listed=$(sed -n '/^commands:/,/^$/{s/^  \([a-z-]*\) .*/\1/p}' "$out")
    [ -n "$listed" ] || fail "no command list in --help"
    for c in $listed; do
      case " $smoked " in *" $c "*) ;; *) fail "command '$c' has no smoke run" ;; esac
    done ;;
  flags) "$bin" flags >"$out" 2>&1 || fail "exit $?"; expect 'HAKMEM_POOL_V2_ENABLED' ;;
  fuzz)
    "$bin" fuzz ops -runs=200 -seed=1 "$scratch" "$src/corpus/ops" >"$out" 2>&1 || fail "exit $?"
    expect 'hakfuzz fuzz: target ops' ;;
  explore)
    "$bin" explore --preemptions 1 --out "$scratch/findings" "$src/corpus/interleave/owner-and-remote-free-one-page" \
      >"$out" 2>&1 || fail "exit $?"
    expect 'all clean' ;;
  audit-atomics)
    program=$src/corpus/interleave/owner-and-remote-free-one-page
    "$bin" audit-atomics --preemptions 0 --out "$scratch/findings" "$program" >"$out" 2>&1 || fail "exit $?"
    expect 'atomic point\(s\) reached'
    expect '^TELEMETRY +v2 counters \(12\) +no schedule point'
    # A counter read on a branch is not telemetry: the row says so, exit 1.
    "$bin" audit-atomics --preemptions 0 --plant counter_steers --out "$scratch/findings" "$program" >"$out" 2>&1
    [ $? -eq 1 ] || fail "--plant counter_steers: exit $? (expected 1)"
    expect '^CORRECTNESS +v2 counters \(12\) +not telemetry, they steer: stats_diverge' ;;
  repro) "$bin" repro --runs 1 "$src/corpus/ops" >"$out" 2>&1 || fail "exit $?"; expect '[0-9]+ passed, 0 failed' ;;
  decode)
    "$bin" decode "$src/corpus/remote/remote-free-and-exit" >"$out" 2>&1 || fail "exit $?"
    expect '^config ' ;;
  encode)
    "$bin" decode "$src/corpus/ops/every-route" >"$scratch/trace.txt" 2>"$out" || fail "decode exit $?"
    "$bin" encode --target ops "$scratch/trace.txt" -o "$scratch/bytes" >"$out" 2>&1 || fail "exit $?"
    cmp -s "$scratch/bytes" "$src/corpus/ops/every-route" || fail "encode(decode(x)) != x" ;;
  stress)
    "$bin" stress --seconds 1 --threads 2 --env HAKMEM_POOL_V2_ENABLED=1 >"$out" 2>&1 || fail "exit $?"
    expect 'clean' ;;
  sweep) "$bin" sweep --quick --shard 1/64 >"$out" 2>&1 || fail "exit $?"; expect 'passed' ;;
  run) "$bin" run -- true >"$out" 2>&1 || fail "exit $?" ;;
  record)
    "$bin" record -o "$scratch/rec" --remote "$scratch/remote" -- true >"$out" 2>&1 || fail "exit $?"
    [ -s "$scratch/remote" ] || fail "no remote input written" ;;
  bench)
    "$bin" bench --steps 2000 --reps 1 --workloads W1 --allocators glibc,pool-v2 >"$out" 2>&1 || fail "exit $?"
    expect '^W1 ' ;;
  ab) HAKMEM_POOL_V2_ENABLED=1 "$bin" ab --steps 2000 --runs 2 >"$out" 2>&1 || fail "exit $?"; expect 'ACTIVE' ;;
  *) echo "smoke.sh: no smoke run for command '$command'"; exit 2 ;;
esac
echo "smoke $command: ok"
