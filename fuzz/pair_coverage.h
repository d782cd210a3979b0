// Interleaving coverage for the `interleave` target: code coverage is the
// same for almost every interleaving of one program, so the fuzzers had no
// signal that a schedule is new. Each pair of dependent steps of different
// threads, in the order a run took them (point A, then a point B of another
// thread that depends on it: the same object, not both loads), bumps one
// counter (KRACE's alias coverage, over schedule points). libFuzzer reads
// the counters as extra coverage (its __libfuzzer_extra_counters section)
// and keeps an input that reaches a new pair or count; the built-in engine
// reads the same bytes. HAKFUZZ_PAIR_COVERAGE=0 turns them off (the
// benchmark's "without"; `hakfuzz fuzz --no-pair-coverage` sets it).
#pragma once

#include <cstdint>
#include <span>

#include "exec/scheduler.h"

namespace hakfuzz {

inline constexpr const char* kPairCoverageEnv = "HAKFUZZ_PAIR_COVERAGE";

// The counters, one per (earlier point, later point); engines clear them
// before each input.
std::span<std::uint8_t> pair_counters();
bool pair_coverage_on();
// Counts a run's pairs (when on).
void count_pairs(std::span<const Step> steps);

}  // namespace hakfuzz
