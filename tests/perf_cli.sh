#!/usr/bin/env bash
# `hakfuzz bench` and `hakfuzz ab` end to end with tiny workloads: output
# shape and exit codes only, never speed (a shared 2-core machine).
# usage: perf_cli.sh HAKFUZZ CASE
set -uo pipefail
bin=$1
case_name=$2
out=$(mktemp)
trap 'rm -f "$out" "$out.json"' EXIT
fail() { echo "FAIL ($case_name): $*"; cat "$out"; exit 1; }

case $case_name in
  bench_table)
    "$bin" bench --steps 2000 --reps 1 --workloads W1,W3 --allocators glibc,pool-v1,pool-v2,mimalloc \
      --json "$out.json" >"$out" 2>&1 || fail "exit $?"
    head -1 "$out" | grep -q '^hakfuzz bench: seed=1 steps=2000 reps=1 .*build ' || fail "first line"
    for a in glibc pool-v1 pool-v2; do
      grep -Eq "^W1 .* $a +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+x" "$out" || fail "no W1 row for $a"
      grep -Eq "^W3 .* $a " "$out" || fail "no W3 row for $a"
    done
    grep -Eq '^W1 .* glibc .* 1\.00x' "$out" || fail "glibc is not the 1.00x baseline"
    grep -q '"ratio_vs_glibc"' "$out.json" || fail "json summary"
    ;;
  bench_usage)
    "$bin" bench --workloads W9 >"$out" 2>&1
    [ $? -eq 2 ] || fail "unknown workload must exit 2"
    ;;
  ab_refuses_v2_disabled)
    HAKMEM_POOL_V2_ENABLED=0 "$bin" ab --steps 2000 --runs 2 --json "$out.json" >"$out" 2>&1
    rc=$?
    [ $rc -eq 1 ] || fail "expected exit 1, got $rc"
    grep -q 'NOT ACTIVE' "$out" || fail "no path verdict"
    grep -q '^refused: .*HAKMEM_POOL_V2_ENABLED=0' "$out" || fail "refusal does not name the cause"
    grep -q '"refused"' "$out.json" || fail "json lacks the refusal"
    ;;
  ab_reports_v2_enabled)
    HAKMEM_POOL_V2_ENABLED=1 "$bin" ab --steps 2000 --runs 3 --json "$out.json" >"$out" 2>&1 || fail "exit $?"
    grep -q 'ACTIVE$' "$out" || fail "path not proven active"
    grep -Eq '^A stats compiled out .* \+- ' "$out" || fail "no A line"
    grep -Eq '^B stats compiled in .* \+- ' "$out" || fail "no B line"
    grep -Eq '^delta B vs A: .*95% CI \[' "$out" || fail "no interval"
    grep -Eq '^verdict: (GO|NEUTRAL|NO-GO) ' "$out" || fail "no verdict"
    grep -q '"verdict"' "$out.json" || fail "json lacks the verdict"
    ;;
  ab_bad_env)
    "$bin" ab --env HAKMEM_POOL_V2_ENABLED=yes >"$out" 2>&1
    rc=$?
    [ $rc -eq 2 ] || fail "expected exit 2, got $rc"
    grep -q "HAKMEM_POOL_V2_ENABLED='yes'" "$out" || fail "ConfigError text missing"
    HAKMEM_POOL_V2_CLASSES=0x80 "$bin" ab >"$out" 2>&1
    [ $? -eq 2 ] || fail "bad process env must exit 2"
    ;;
  *) fail "unknown case" ;;
esac
echo "ok $case_name"
