#include "fuzz/pair_coverage.h"

#include <cstdlib>
#include <cstring>

#include "explore/reduction.h"

namespace hakfuzz {

namespace {

constexpr int kPoints = hakmem::sched::kNumPoints;

// In libFuzzer builds the section libFuzzer scans for extra counters
// (FuzzerExtraCounters.cpp: __start/__stop___libfuzzer_extra_counters).
#if HAKFUZZ_LIBFUZZER
__attribute__((section("__libfuzzer_extra_counters")))
#endif
std::uint8_t g_pairs[kPoints * kPoints];

}  // namespace

std::span<std::uint8_t> pair_counters() { return g_pairs; }

bool pair_coverage_on() {
  static const bool on = [] {
    const char* v = std::getenv(kPairCoverageEnv);
    return !v || std::strcmp(v, "0") != 0;
  }();
  return on;
}

void count_pairs(std::span<const Step> steps) {
  if (!pair_coverage_on()) return;
  for_each_conflict(steps, [](int earlier, int later) {
    if (earlier >= kPoints || later >= kPoints) return;
    std::uint8_t& c = g_pairs[earlier * kPoints + later];
    if (c != 0xFF) ++c;
  });
}

}  // namespace hakfuzz
