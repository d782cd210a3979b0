#!/bin/bash -eu
# OSS-Fuzz runs this as `bash build.sh`, which ignores the line above.
set -euo pipefail
# OSS-Fuzz / ClusterFuzzLite build: one <target>_fuzzer per hakfuzz fuzz
# target, linked with $LIB_FUZZING_ENGINE, plus its seed corpus zip (the kept
# corpus and its regressions) and an .options file. Follows their conventions:
# $CXX/$CXXFLAGS from the environment, intermediates in $WORK, output in $OUT.
# Only the allocator and fuzz/ are built: no oneTBB, Boost or GoogleTest.
src=${SRC}/hakfuzz
[ -d "$src" ] || src=$(cd "$(dirname "$0")/.." && pwd)
cmake -S "$src" -B "$WORK/hakfuzz-build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DHAKFUZZ_BUILD_TESTS=OFF -DHAKFUZZ_BUILD_BINARY=OFF \
  -DHAKFUZZ_LIB_FUZZING_ENGINE="$LIB_FUZZING_ENGINE"
cmake --build "$WORK/hakfuzz-build"
# The targets and their input kinds come from the table (fuzz/targets.def).
sed -n 's/^HAKFUZZ_TARGET(\([a-z_0-9]*\), *\([a-z_]*\),.*/\1 \2/p' "$src/fuzz/targets.def" |
while read -r target input; do
  cp "$WORK/hakfuzz-build/fuzz/${target}_fuzzer" "$OUT/"
  rm -f "$OUT/${target}_fuzzer_seed_corpus.zip"
  # A regression may share its name with the program it was minimized from,
  # and zip -j refuses repeated names, so regressions enter with a prefix.
  seeds="$WORK/seeds-$target"
  rm -rf "$seeds" && mkdir -p "$seeds"
  for dir in "$src/corpus/$target" "$src/corpus/regressions/$target"; do
    [ -d "$dir" ] || continue  # not every target has regressions
    prefix=""
    [ "$dir" = "$src/corpus/regressions/$target" ] && prefix="regression-"
    find "$dir" -maxdepth 1 -type f ! -name '*.*' -print0 |
      while IFS= read -r -d '' file; do
        cp "$file" "$seeds/$prefix$(basename "$file")"
      done
  done
  (cd "$seeds" && find . -type f | sort | xargs -r zip -q "$OUT/${target}_fuzzer_seed_corpus.zip")
  # A target's dictionary (fuzz/<target>.dict, generated from its table):
  # OSS-Fuzz and ClusterFuzzLite pass $OUT/<fuzzer>.dict to libFuzzer.
  rm -f "$OUT/${target}_fuzzer.dict"
  [ -f "$src/fuzz/$target.dict" ] && cp "$src/fuzz/$target.dict" "$OUT/${target}_fuzzer.dict"
  # Programs past 2048 ops are cut by the runner anyway; schedules spawn
  # threads, so they get a longer per-input timeout.
  timeout=25
  [ "$input" = schedule ] && timeout=60
  printf '[libfuzzer]\nmax_len = 8192\ntimeout = %s\n' "$timeout" >"$OUT/${target}_fuzzer.options"
done
