#!/usr/bin/env bash
# Every target replays identically in separate processes: a few hundred
# random inputs per target, replayed by two `hakfuzz repro` processes
# (different address-space layouts); every verdict and digest must match.
# The inputs stay in WORKDIR, so a failure leaves its reproducers on disk.
# Usage: determinism.sh HAKFUZZ WORKDIR [INPUTS_PER_TARGET (200)]
set -euo pipefail
hakfuzz=$1
work=$2
inputs=${3:-200}
rm -rf "$work" && mkdir -p "$work"
for target in $("$hakfuzz" fuzz --list); do
  mkdir -p "$work/$target"
  for i in $(seq 1 "$inputs"); do head -c $((RANDOM % 2500)) /dev/urandom > "$work/$target/in$i"; done
  # Digests only: paths and timings are the same in both runs by construction.
  "$hakfuzz" repro --target "$target" --runs 2 "$work/$target" > "$work/$target.a" 2>/dev/null || true
  "$hakfuzz" repro --target "$target" --runs 2 "$work/$target" > "$work/$target.b" 2>/dev/null || true
  if ! diff -q "$work/$target.a" "$work/$target.b" >/dev/null; then
    echo "FAIL: $target: two processes disagree:"; diff "$work/$target.a" "$work/$target.b" | head -20; exit 1
  fi
  if grep -q "not deterministic" "$work/$target.a"; then
    echo "FAIL: $target: a replay differs within one process:"; grep "not deterministic" "$work/$target.a" | head; exit 1
  fi
  echo "$target: $(tail -1 "$work/$target.a") (identical in two processes)"
done
