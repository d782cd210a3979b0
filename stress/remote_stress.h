// The sweep's short parallel stress: workers on a oneTBB arena trade blocks
// through a shared slot array, so most frees land on another thread's pages
// (remote pushes the owner must drain). Canaries catch corruption; exact
// accounting at a quiescent point and at the end catches lost blocks.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "hakmem/types.h"
#include "stress/tally.h"

namespace hakfuzz::stress {

struct StressSpec {
  int threads = 2;
  std::uint64_t ops = 4000;  // allocations, split among the workers
  std::uint64_t seed = 1;
  std::size_t slots = 64;
};

struct StressResult {
  Tally tally;
  std::uint64_t ops = 0;                          // allocs + frees
  bool concurrent = true;                         // no lockstep barrier timed out
  std::uint64_t remote_pending = 0, drained = 0;  // at the quiescent point
  hakmem::StatsSnapshot stats;
  std::vector<std::string> findings;
};

template <class P>
StressResult run_stress(P& pool, const StressSpec& spec);

}  // namespace hakfuzz::stress
