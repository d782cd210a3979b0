// What a run did, by route and class, and the v2 counters that implies.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "hakmem/types.h"
#include "oracle/model.h"

namespace hakfuzz::model {

using CounterTable = std::array<std::array<std::uint64_t, hakmem::kNumV2Stats>, hakmem::kNumStatRows>;

// What the pool did, by route and class (the evidence that a path ran, Phase
// 29's lesson) and the exact v2 counters it implies. Counted from outcomes
// the model checked, so it is also what the pool's telemetry must say.
struct Tally {
  PerClass v2_allocs{}, v1_allocs{};             // where each block landed
  PerClass v2_local{}, v2_remote{}, v1_frees{};  // routes of accepted frees
  std::uint64_t allocs = 0, frees = 0, large_allocs = 0, large_frees = 0, rejected = 0, null_allocs = 0;
  CounterTable counters{};  // the counters the model can count exactly (see check_counters)

  // An allocation of class `cls` (-1: large) that entered v2 when `routed`,
  // landing as `landed` (none: null); `refill_failed`: its v2 refill found
  // no page (known exactly from the fault plan).
  void alloc(int cls, bool routed, BlockKind landed, bool refill_failed = false);
  void free(const FreeOutcome& o);
  std::uint64_t remote_frees() const;
  std::uint64_t expected(int row, hakmem::V2Stat s) const { return counters[row][static_cast<int>(s)]; }
  Tally& operator+=(const Tally& o);

  // The pool's counters against the tally: alloc_calls, alloc_refill_fail,
  // alloc_fallback_v1, free_calls, free_fast, free_fallback_v1 and every
  // page_of_fail_* exactly; alloc_fast and alloc_refill by their relation
  // (fast + refill = calls).
  // The first mismatch, or nullopt. Nothing to check when compiled out.
  std::optional<std::string> check_counters(const hakmem::StatsSnapshot& s) const;
};

}  // namespace hakfuzz::model
