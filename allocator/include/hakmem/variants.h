// Every allocator flavour side by side: hakmem::stats_off::Pool (telemetry
// compiled out), hakmem::stats_on::Pool (compiled in) and hakmem::tester::Pool
// (telemetry, schedule points and planted bugs), for harnesses that run the
// same ops on each.
#pragma once

#define HAKMEM_ALL_FLAVORS 1
#pragma push_macro("HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED")
#pragma push_macro("HAKMEM_POOL_SCHED_POINTS")
#undef HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED
#undef HAKMEM_POOL_SCHED_POINTS
#define HAKMEM_POOL_SCHED_POINTS 0
#define HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED 0
#include "hakmem/pool.h"
#undef HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED
#define HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED 1
#include "hakmem/pool.h"
#undef HAKMEM_POOL_SCHED_POINTS
#define HAKMEM_POOL_SCHED_POINTS 1
#include "hakmem/pool.h"
#pragma pop_macro("HAKMEM_POOL_SCHED_POINTS")
#pragma pop_macro("HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED")

namespace hakmem {
using PoolStatsOff = stats_off::Pool;
using PoolStatsOn = stats_on::Pool;
using PoolTester = tester::Pool;
}  // namespace hakmem
