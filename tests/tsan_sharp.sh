#!/usr/bin/env bash
# ThreadSanitizer stays sharp under controlled scheduling: the scheduler's
# hand-offs add no happens-before of their own, so a data race planted in a
# remote free (remote_reads_used, which changes no outcome) is reported by
# TSan while `explore` switches threads inside allocator calls, and the
# unmodified allocator explored the same way gets no report.
# Usage: tsan_sharp.sh HAKFUZZ INPUT WORKDIR  (a clang-tsan build of hakfuzz)
set -uo pipefail
hakfuzz=$1
input=$2
work=$3
rm -rf "$work" && mkdir -p "$work"
export TSAN_OPTIONS="halt_on_error=0 exitcode=66 history_size=4"
explore() { "$hakfuzz" explore --preemptions 1 --out "$work/findings" "$@" "$input" >"$work/out" 2>&1; }

explore --plant remote_reads_used
status=$?
if [ $status -ne 66 ] || ! grep -q "WARNING: ThreadSanitizer: data race" "$work/out"; then
  echo "FAIL: the planted data race was not reported (exit $status):"; tail -30 "$work/out"; exit 1
fi
# Either access may come first in the report (the owner's write, or the
# remote free's read), each with a dozen frames. Not `grep -q`: it stops
# reading at the first match, and the writer's SIGPIPE fails the pipeline.
if ! grep -A40 "WARNING: ThreadSanitizer: data race" "$work/out" | grep "remote_free" >/dev/null; then
  echo "FAIL: TSan reported a race, but not the planted one in remote_free:"; grep -A30 "WARNING" "$work/out" | head -40
  exit 1
fi
echo "planted: $(grep -c "WARNING: ThreadSanitizer: data race" "$work/out") race report(s) in remote_free; $(grep "interleavings" "$work/out" | tail -1)"

explore
status=$?
if [ $status -ne 0 ] || grep -q "ThreadSanitizer" "$work/out"; then
  echo "FAIL: the unmodified allocator under the same exploration (exit $status):"; tail -30 "$work/out"; exit 1
fi
echo "unmodified: $(grep "interleavings" "$work/out" | tail -1)"
