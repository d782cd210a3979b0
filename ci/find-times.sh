# Sourced by the time-to-find benchmarks (ci/pair-coverage-times,
# ci/dictionary-times): how long `hakfuzz fuzz` takes to find a planted bug.
# The caller sets: hakfuzz (the binary), seconds (the time box per run),
# seeds (engine seeds per figure), work (a scratch dir).

# Seconds to the finding of one run, or "-" when there was none in time:
#   one_run TARGET SEED_DIR [hakfuzz fuzz options and engine flags...]
one_run() {
  local target=$1 seed_dir=$2
  shift 2
  rm -rf "$work/new" && mkdir -p "$work/new"
  local t0 t1 rc
  t0=$(date +%s.%N)
  "$hakfuzz" fuzz "$target" "$@" -max_total_time="$seconds" -artifact_prefix="$work/new/" \
    "$work/new" "$seed_dir" >"$work/log" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  if [ $rc -eq 1 ] && grep -q "FINDING\|Test unit written" "$work/log"; then
    echo "$t1 - $t0" | bc
  else
    echo "-"
  fi
}

# "median s (k/N found)" over engine seeds 1..$seeds:
#   median TARGET SEED_DIR [options...]
median() {
  local target=$1 seed_dir=$2
  shift 2
  local times=() s
  for s in $(seq 1 "$seeds"); do times+=("$(one_run "$target" "$seed_dir" -seed="$s" "$@")"); done
  local found n
  found=$(printf '%s\n' "${times[@]}" | grep -v '^-$' | sort -g)
  n=$(grep -c . <<<"$found")
  [ "$n" -gt 0 ] || { echo "not found in ${seconds} s (0/$seeds)"; return; }
  printf '%.1f s (%d/%d found)' "$(sed -n "$(((n + 1) / 2))p" <<<"$found")" "$n" "$seeds"
}

# The line under each table: which build, on what.
machine_line() {
  echo "$("$hakfuzz" --version 2>/dev/null || basename "$(dirname "$hakfuzz")"); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
}
