# Sourced by ci/test and ci/hakfuzz: installs what a fresh Debian machine
# lacks (idempotent, silent when nothing is missing) and builds stale presets.
HAKFUZZ_PACKAGES=(g++ clang-14 libclang-rt-14-dev cmake ninja-build ccache jq
  libtbb-dev libboost-program-options-dev nlohmann-json3-dev libfmt-dev
  libgtest-dev googletest clang-format
  libjemalloc-dev libmimalloc-dev libgoogle-perftools-dev
  python3 python3-markdown-it sqlite3)

hakfuzz_install_deps() {
  local missing=()
  for p in "${HAKFUZZ_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "ci: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# hakfuzz_build PRESET [TARGET...]: configure once, then let ninja rebuild what is stale.
hakfuzz_build() {
  local preset=$1; shift
  [ -f "build/$preset/build.ninja" ] || cmake --preset "$preset" >/dev/null
  local targets=()
  for t in "$@"; do targets+=(--target "$t"); done
  cmake --build --preset "$preset" "${targets[@]}"
}
