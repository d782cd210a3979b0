#!/usr/bin/env bash
# Generic seeds for the `interleave` target: every `remote` corpus program
# (none written for a race inside a call) with an empty schedule, the
# non-preemptive one. What the fuzzer starts from when it must find a race
# by itself (ci/pair-coverage-times, the interleave_plants test).
# Usage: generic_interleave_seeds.sh HAKFUZZ OUT_DIR
set -euo pipefail
hakfuzz=$1 out=$2
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
for f in "$src"/corpus/remote/*; do
  name=$(basename "$f")
  { "$hakfuzz" decode "$f" | grep -v '^#'; echo "schedule choices"; } >"$out/$name.txt"
  "$hakfuzz" encode --target interleave "$out/$name.txt" -o "$out/$name"
  rm "$out/$name.txt"
done
