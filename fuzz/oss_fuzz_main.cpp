// One fuzz target as a standalone libFuzzer binary, <target>_fuzzer, for
// OSS-Fuzz and ClusterFuzzLite: they find targets by that name suffix and link
// $LIB_FUZZING_ENGINE (which brings its own main). HAKFUZZ_OSS_TARGET names
// the target at compile time.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "fuzz/engine.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const hakfuzz::Target* target = [] {
    const hakfuzz::Target* t = hakfuzz::find_target(HAKFUZZ_OSS_TARGET);
    if (!t) {
      std::fprintf(stderr, "no fuzz target '%s'\n", HAKFUZZ_OSS_TARGET);
      std::abort();
    }
    return t;
  }();
  return hakfuzz::run_one_input(*target, {data, size});
}
