#!/usr/bin/env bash
# `hakfuzz fuzz interleave`, started from generic seeds (the remote corpus's
# programs, unscheduled: none written for a race inside a call), finds each
# planted intra-call race that changes an outcome: the built-in engine,
# seeded, so the same runs every time. A race a program must name (two
# frees of one block, owner_claim_torn) is not in these seeds: explore and
# its corpus program find that one (tests/plant_hunt_test.cpp).
# usage: interleave_plants.sh HAKFUZZ SOURCE_DIR SCRATCH
set -uo pipefail
bin=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
"$src/tests/generic_interleave_seeds.sh" "$bin" "$work/seeds" >/dev/null 2>&1 || { echo "FAIL: seeds"; exit 1; }
status=0
for plant in remote_bit_torn hint_before_bit no_owner_reread; do
  rm -rf "$work/new" && mkdir -p "$work/new"
  "$bin" fuzz interleave --engine=builtin --plant "$plant" -seed=1 -runs=20000 -artifact_prefix="$work/new/" \
    "$work/new" "$work/seeds" >"$work/$plant.log" 2>&1
  rc=$?
  if [ $rc -eq 1 ] && ls "$work/new"/crash-* >/dev/null 2>&1; then
    echo "found $plant: $(grep -m1 'FINDING in' "$work/$plant.log")"
  else
    echo "FAIL: $plant not found in 20000 runs (exit $rc)"; tail -5 "$work/$plant.log"; status=1
  fi
done
exit $status
