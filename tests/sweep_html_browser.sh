#!/bin/bash
# The HTML report in a real headless browser: a tiny shard of the quick sweep
# over a planted bug (drifting_counter: cells with stats compiled in and v2
# routed see their counter drift) writes --html; Chromium runs the page's
# script and dumps the DOM, whose title must count every failing cell as
# drawn in its status colour, and takes a screenshot, which must hold the
# finding colour over more than the legend's swatch. Skipped (exit 77) when
# no Chromium was found: apt-get install chromium, then re-run cmake.
# usage: sweep_html_browser.sh HAKFUZZ SCRATCH_DIR CHROMIUM
set -u
hakfuzz=$1
dir=$2
chromium=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
  echo "skipped: Chromium not installed (apt-get install chromium, then re-run cmake --preset <preset>)"
  exit 77
fi
rm -rf "$dir" && mkdir -p "$dir" || exit 1
cd "$dir" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

# Shard 9 of 16 holds one class mask's 8 cells; two of them have stats
# compiled in with v2 routed, where the planted counter drift is seen.
"$hakfuzz" sweep --quick --shard 9/16 --ops 4000 --plant drifting_counter --json report.json --html report.html \
  >sweep.out 2>&1
rc=$?
[ "$rc" -eq 1 ] || { cat sweep.out; fail "the planted sweep exited $rc, want 1"; }
failing=$(jq '[.cells[] | select(.status != "pass")] | length' report.json) || fail "report.json unreadable"
[ "$failing" -ge 1 ] || fail "the planted bug made no cell fail"

# Chromium as root in a container: no sandbox, no GPU, nothing fetched, a
# fresh profile per run.
browse() {
  profile=$(mktemp -d "$dir/profile.XXXXXX")
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$profile" \
    --window-size=1600,1200 "$@" "file://$dir/report.html" 2>>chromium.err
}
browse --dump-dom >dom.html || { tail chromium.err; fail "chromium --dump-dom failed"; }
title=$(grep -o '<title>[^<]*</title>' dom.html)
[ "$title" = "<title>hakfuzz sweep: $failing not passed, $failing drawn</title>" ] ||
  fail "the page's script drew '$title', want $failing not passed, $failing drawn"
for cell in $(jq '.cells[] | select(.status == "finding") | .index' report.json); do
  grep -q "data-status=\"finding\" data-cell=\"$cell\"" dom.html || fail "cell $cell is not drawn as a finding"
  grep -q "id=\"cell-$(printf %04d "$cell")\"" dom.html || fail "cell $cell is not listed"
done

browse --screenshot="$dir/report.png" >/dev/null || { tail chromium.err; fail "chromium --screenshot failed"; }
[ -s report.png ] || fail "no screenshot"
if command -v python3 >/dev/null; then
  # The legend swatch is 14 px square; each heatmap cell is larger.
  pixels=$(python3 "$here/png_colour_count.py" report.png d7263d) || fail "cannot read report.png"
  [ "$pixels" -gt $((196 + failing * 150)) ] ||
    fail "report.png holds $pixels pixels of the finding colour, too few for $failing failing cells"
  echo "screenshot: $pixels pixels of the finding colour"
fi
echo "sweep html in $($chromium --version 2>/dev/null): $failing failing cells drawn"
