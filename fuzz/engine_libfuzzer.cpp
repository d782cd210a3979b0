// libFuzzer, embedded through LLVMFuzzerRunDriver (clang builds with
// HAKFUZZ_LIBFUZZER: compiled with -fsanitize=fuzzer-no-link, linked with
// the fuzzer_no_main archive so our own main stays). A finding prints its
// report and aborts: libFuzzer's deadly-signal handler then writes
// crash-<sha1> and prints `Test unit written to`.
#include <cstdlib>

#include "fuzz/engine.h"

#ifdef HAKFUZZ_LIBFUZZER
extern "C" int LLVMFuzzerRunDriver(int* argc, char*** argv, int (*cb)(const std::uint8_t*, std::size_t));
#endif

namespace hakfuzz {

namespace {
const Target* g_target = nullptr;

[[maybe_unused]] int one_input(const std::uint8_t* data, std::size_t size) {
  return run_one_input(*g_target, {data, size});
}
}  // namespace

bool have_libfuzzer() {
#ifdef HAKFUZZ_LIBFUZZER
  return true;
#else
  return false;
#endif
}

void run_libfuzzer_engine(const Target& target, int argc, char** argv) {
  g_target = &target;
#ifdef HAKFUZZ_LIBFUZZER
  std::exit(LLVMFuzzerRunDriver(&argc, &argv, one_input));
#else
  (void)argc, (void)argv;
  std::fputs("hakfuzz: this build has no libFuzzer (use the clang-asan preset)\n", stderr);
  std::exit(2);
#endif
}

}  // namespace hakfuzz
