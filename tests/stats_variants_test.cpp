// Every flavour in one executable: the same fixed workload gives identical
// results op for op (outcomes, offsets, usable sizes), whether telemetry is
// compiled out or in, whether HAKMEM_POOL_V2_STATS is 0 or 1, and whether
// the schedule points are compiled in (the tester's flavour, no controller
// installed).
#include "pool_test_util.h"

namespace hakmem {
namespace {

// A deterministic workload touching every route: v2 and v1 classes, large
// blocks, refills, bad frees of every kind, a refresh mid-run, faults.
template <class P>
std::vector<std::string> run_workload(testing::Env env) {
  env.emplace_back("HAKMEM_POOL_INVALID_FREE", "quiet");
  P pool(testing::options_with(env));
  std::vector<std::string> trace;
  auto where = [&](const void* p) -> std::string {
    if (!p) return "null";
    if (auto off = pool.arena_offset(p)) return "@" + std::to_string(*off);
    return "large";
  };
  auto note_free = [&](void* p) {
    FreeOutcome o = pool.free(p);
    trace.push_back(std::string("free ") + free_route_name(o.route) + " " + verdict_name(o.page_of) + " " +
                    verdict_name(o.reason) + " " + std::to_string(o.cls));
  };
  std::vector<void*> live;
  std::uint64_t x = 12345;
  for (int i = 0; i < 3000; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    unsigned op = (x >> 33) % 10;
    if (i == 1500) {
      pool.set_env_source(map_env({{"HAKMEM_POOL_V2_ENABLED", "1"},
                                   {"HAKMEM_POOL_V2_CLASSES", "0x2A"},
                                   {"HAKMEM_POOL_INVALID_FREE", "quiet"}}));
      trace.push_back(pool.refresh_from_env() ? "refresh error" : "refresh");
    }
    if (i == 2000) pool.set_fault_plan({.fail_nth = 1, .fail_count = 3});
    if (op < 5 || live.empty()) {
      std::size_t size = (x >> 40) % (op == 0 ? 200000 : kMaxClassSize + 1);
      void* p = pool.alloc(size);
      trace.push_back("alloc " + std::to_string(size) + " " + where(p) + " " +
                      std::to_string(pool.usable_size(p)));
      if (p) live.push_back(p);
    } else if (op < 9) {
      std::size_t k = (x >> 20) % live.size();
      note_free(live[k]);
      live[k] = live.back();
      live.pop_back();
    } else if (!live.empty()) {
      char* p = static_cast<char*>(live[(x >> 20) % live.size()]);
      note_free(p + 1 + (x >> 50) % 64);  // misaligned / interior
    }
  }
  for (void* p : live) note_free(p);
  InvariantReport r = pool.check();
  trace.push_back("check " + std::to_string(r.ok) + " " + std::to_string(r.live_blocks));
  return trace;
}

TEST(StatsVariants, EveryFlavourLinksIntoOneBinary) {
  EXPECT_FALSE(PoolStatsOff::kStatsCompiled);
  EXPECT_TRUE(PoolStatsOn::kStatsCompiled);
  EXPECT_TRUE(PoolTester::kStatsCompiled);
  EXPECT_FALSE(PoolStatsOff::kSchedPoints);
  EXPECT_FALSE(PoolStatsOn::kSchedPoints);
  EXPECT_TRUE(PoolTester::kSchedPoints);
  EXPECT_STREQ(PoolStatsOff::kFlavorName, "stats_off");
  EXPECT_STREQ(PoolStatsOn::kFlavorName, "stats_on");
  EXPECT_STREQ(PoolTester::kFlavorName, "tester");
  EXPECT_EQ(PoolStatsOff::stats_storage_bytes(), 0u);  // compiled out: no storage
  EXPECT_EQ(PoolStatsOn::stats_storage_bytes(), sizeof(std::uint64_t) * kNumV2Stats * kNumStatRows);
  EXPECT_EQ(PoolTester::stats_storage_bytes(), PoolStatsOn::stats_storage_bytes());
}

TEST(StatsVariants, IdenticalResultsOpForOp) {
  for (const char* enabled : {"0", "1"}) {
    testing::Env base = {{"HAKMEM_POOL_V2_ENABLED", enabled}, {"HAKMEM_POOL_V2_CLASSES", "0x5B"}};
    testing::Env with_stats = base;
    with_stats.emplace_back("HAKMEM_POOL_V2_STATS", "1");
    auto reference = run_workload<PoolStatsOff>(base);
    ASSERT_EQ(reference.back(), "check 1 0");
    for (auto trace : {run_workload<PoolStatsOn>(base), run_workload<PoolStatsOff>(with_stats),
                       run_workload<PoolStatsOn>(with_stats), run_workload<PoolTester>(base),
                       run_workload<PoolTester>(with_stats)}) {
      ASSERT_EQ(trace.size(), reference.size());
      for (std::size_t i = 0; i < trace.size(); ++i) ASSERT_EQ(trace[i], reference[i]) << "op " << i;
    }
  }
}

}  // namespace
}  // namespace hakmem
