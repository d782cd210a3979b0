#!/usr/bin/env bash
# Programs under `hakfuzz run` (the LD_PRELOAD shim), judged by its output.
#   preload_run.sh HAKFUZZ clean [RUN OPTIONS] -- PROGRAM ARGS...
#     exit 0, checks clean, and every process that reached exit() ran its
#     invariant walk there, clean (a skipped walk fails the test)
#   preload_run.sh HAKFUZZ bad_free -- BAD_FREE_CLIENT
#     exit 1, the double free and the interior free each reported with the
#     pointer, the reason and a backtrace through main
set -uo pipefail
hakfuzz=$1 mode=$2
shift 2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$hakfuzz" run "$@" >"$out" 2>&1
code=$?
cat "$out"
fail() { echo "preload_run: $*" >&2; exit 1; }
case $mode in
  clean)
    [ $code -eq 0 ] || fail "expected exit 0, got $code"
    grep -q "checks clean" "$out" || fail "no 'checks clean'"
    grep -q "walk at exit clean" "$out" || fail "no clean walk at exit"
    ! grep -q "walk at exit skipped" "$out" || fail "a walk at exit was skipped"
    ;;
  bad_free)
    [ $code -eq 1 ] || fail "expected exit 1, got $code"
    grep -Eq "rejected free of 0x[0-9a-f]+: double_free" "$out" || fail "double free not reported"
    grep -Eq "rejected free of 0x[0-9a-f]+: misaligned" "$out" || fail "interior free not reported"
    [ "$(grep -c 'preload_bad_free' "$out")" -ge 2 ] || fail "no backtrace through the program"
    grep -q "2 check(s) FAILED" "$out" || fail "summary does not count 2 failed checks"
    ;;
  *) fail "unknown mode $mode" ;;
esac
echo "preload_run: ok ($mode)"
