// Storage for the 12 v2 counters (hakmem/v2_stats.def) and the macros that
// count into it. Compiled out, the macros are empty and V2Stats is never
// declared: no code, no storage (Pool::stats_storage_bytes() is 0).
//
// One table per pool (threads without a cached context count there) and one
// per thread context, written only by the thread holding it (plain adds, see
// Pool::Impl::count_v2); a snapshot sums them. Telemetry never steers: no
// branch reads a counter.
#pragma once

#include <atomic>
#include <cstdint>

#include "flavour.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

#if HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED
struct V2Stats {
  std::atomic<std::uint64_t> rows[kNumStatRows][kNumV2Stats] = {};
};
// Counts V2Stat `stat` (a value) in row `row` (a class, or kNoClassRow).
#define HAKMEM_V2_COUNT_STAT(impl, row, stat) (impl).count_v2(row, stat)
#else
#define HAKMEM_V2_COUNT_STAT(impl, row, stat) ((void)0)
#endif
// Counts the counter named `name` (a v2_stats.def name).
#define HAKMEM_V2_COUNT(impl, row, name) HAKMEM_V2_COUNT_STAT(impl, row, V2Stat::name)

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
