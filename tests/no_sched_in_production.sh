#!/usr/bin/env bash
# usage: no_sched_in_production.sh TESTER_ARCHIVE PRODUCTION_ARCHIVE...
# Fails when a production archive defines or references any symbol of
# hakmem::sched (a schedule point, the controller slot, a SchedMutex), or
# when the tester's archive references none (then this check proves nothing).
set -euo pipefail
tester=$1
shift
# (grep -c, not -q: -q would stop reading and fail nm with SIGPIPE under pipefail)
if [ "$(nm -C "$tester" | grep -c 'sched::')" -eq 0 ]; then
  echo "no_sched_in_production: $tester names nothing of hakmem::sched; the check is broken" >&2
  exit 1
fi
status=0
for archive in "$@"; do
  hits=$(nm -C "$archive" | grep 'sched::' || true)
  if [ -n "$hits" ]; then
    echo "no_sched_in_production: $archive names hakmem::sched:" >&2
    echo "$hits" | head -20 >&2
    status=1
  else
    echo "ok: $(basename "$archive") names nothing of hakmem::sched"
  fi
done
exit $status
