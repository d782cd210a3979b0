// The sweep's deterministic single-thread workload. Same seed and same
// effective config give the same digest, which is how the sweep proves that
// telemetry (compiled in or out, printed or not) never changes behaviour.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "hakmem/types.h"

#include "stress/tally.h"

namespace hakfuzz::stress {

struct WorkloadSpec {
  std::uint64_t seed = 1;
  std::uint64_t ops = 10000;
  std::vector<std::pair<std::string, std::string>> env;  // re-applied by the refresh_from_env() mid-run
  std::size_t arena_bytes = std::size_t{1} << 30;        // the pool's, to aim at a never-used slab
};

struct WorkloadResult {
  std::uint64_t digest = 0;
  std::uint64_t ops = 0;
  Tally tally;
  hakmem::StatsSnapshot stats;  // at the end, before teardown
  hakmem::InvariantReport final_check;
  std::vector<std::string> findings;  // oracle failures, first few only
};

// Digest inputs, in op order: each alloc's request, arena offset (large
// blocks by their sequence number, never their address) and usable size;
// each free's route, page_of verdict, reason, class and v2 entry; the
// refresh result; the invariant walk's totals mid-run and at the end.
template <class P>
WorkloadResult run_workload(P& pool, const WorkloadSpec& spec);

}  // namespace hakfuzz::stress
