#!/usr/bin/env bash
# oneTBB built with ThreadSanitizer, for the clang-tsan preset. Debian's
# libtbb is not instrumented: TSan cannot see its synchronisation and reports
# false races in TBB headers and in user code after a join (measured). This
# fetches Debian's own oneTBB source package, builds it with
# -fsanitize=thread and installs it under build/tsan-tbb/install, where
# CMakePresets.json's clang-tsan finds it.
# Idempotent: a finished install is reused. Called by ci/test; run it by hand
# before `cmake --preset clang-tsan` on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD/build/tsan-tbb
install=$root/install
# A clang-tsan build configured before this install found Debian's libtbb:
# drop its build.ninja so the next build reconfigures with the preset's TBB_DIR.
forget_stale_tsan_build() {
  local cache=build/clang-tsan/CMakeCache.txt
  if [ -f "$cache" ] && ! grep -q "^TBB_DIR:.*=$install/" "$cache"; then rm -f build/clang-tsan/build.ninja; fi
}
if [ -f "$install/.complete" ]; then forget_stale_tsan_build; exit 0; fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo

# A deb-src entry in a file of our own (bookworm on Debian, the release's
# own suite on Ubuntu runners); the system's sources stay untouched.
srcfile=/etc/apt/sources.list.d/hakfuzz-deb-src.sources
if ! apt-get source --print-uris onetbb >/dev/null 2>&1; then
  . /etc/os-release
  if [ "${ID:-}" = ubuntu ]; then
    uris=http://archive.ubuntu.com/ubuntu suite=${VERSION_CODENAME} components=universe
    keyring=/usr/share/keyrings/ubuntu-archive-keyring.gpg
  else
    uris=http://deb.debian.org/debian suite=bookworm components=main
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  fi
  echo "tsan-tbb: adding deb-src for $suite ($srcfile)" >&2
  printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: %s\nSigned-By: %s\n' \
    "$uris" "$suite" "$components" "$keyring" | $sudo tee "$srcfile" >/dev/null
  $sudo apt-get update -qq
fi

mkdir -p "$root/src"
(cd "$root/src" && ls onetbb_*.dsc >/dev/null 2>&1 || apt-get source --download-only onetbb >/dev/null)
dsc=$(ls "$root"/src/onetbb_*.dsc | head -1)
srcdir=$root/src/onetbb
if [ ! -f "$srcdir/CMakeLists.txt" ]; then
  rm -rf "$srcdir"
  # Unpacked without patches: upstream sources are what the TSan build needs.
  (cd "$root/src" && dpkg-source --skip-patches -x "$dsc" onetbb >/dev/null)
fi

echo "tsan-tbb: building oneTBB with -fsanitize=thread" >&2
cmake -S "$srcdir" -B "$root/obj" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DTBB_SANITIZE=thread -DTBB_TEST=OFF -DTBBMALLOC_BUILD=OFF -DTBB_STRICT=OFF \
  -DCMAKE_INSTALL_PREFIX="$install" >/dev/null
cmake --build "$root/obj" -j"${HAKFUZZ_JOBS:-1}"
cmake --install "$root/obj" >/dev/null
touch "$install/.complete"
forget_stale_tsan_build
echo "tsan-tbb: installed in $install" >&2
