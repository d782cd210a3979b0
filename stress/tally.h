// What a workload saw, per route and size class: the evidence that a path
// ran (the seed's lesson) and the expected value of each v2 counter.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "hakmem/types.h"

namespace hakfuzz::stress {

struct Tally {
  using PerClass = std::array<std::uint64_t, hakmem::kNumClasses>;
  PerClass v2_allocs{}, v1_allocs{};             // where each block landed
  PerClass v2_local{}, v2_remote{}, v1_frees{};  // routes of accepted frees
  PerClass v2_free_fast{};                       // accepted after entering the v2 free path
  std::uint64_t allocs = 0, frees = 0, large_allocs = 0, large_frees = 0, rejected = 0, null_allocs = 0;
  // Frees that entered the v2 free path and what page_of said.
  std::uint64_t v2_free_calls = 0, v2_fallback = 0;
  std::array<std::uint64_t, hakmem::kNumVerdicts> page_of_fail{};

  void note_alloc(const hakmem::BlockInfo& info);
  void note_free(const hakmem::FreeOutcome& out);
  std::uint64_t remote_total() const;
  Tally& operator+=(const Tally& o);
};

// Each v2 counter against the count the tally implies. Without fault
// injection no refill may fail, so every v2 allocation is a v2 block.
// Returns one line per mismatch; empty when the counters agree.
std::vector<std::string> compare_counters(const Tally& t, const hakmem::StatsSnapshot& s);

}  // namespace hakfuzz::stress
