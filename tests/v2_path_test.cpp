// Pool Hotbox v2: routing per class, refill, fault-injected refill failure
// falling back to v1, and refresh_from_env() while blocks of the old route
// are live.
#include "hakmem/arena_cache.h"
#include "pool_test_util.h"
#include "support/sanitizer.h"

#ifdef SUPPORT_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace hakmem {
namespace {

template <class P>
class V2PathTest : public ::testing::Test {};
TYPED_TEST_SUITE(V2PathTest, testing::AllFlavours);

TYPED_TEST(V2PathTest, ClassMaskRoutesEachClass) {
  TypeParam pool(testing::options_with(testing::v2_env("0x15")));  // classes 0, 2, 4
  for (int cls = 0; cls < kNumClasses; ++cls) {
    void* p = pool.alloc(kClassSizes[cls]);
    bool v2 = (0x15 >> cls) & 1;
    EXPECT_EQ(pool.block_info(p).kind, v2 ? BlockKind::v2 : BlockKind::v1) << cls;
    FreeOutcome out = pool.free(p);
    EXPECT_EQ(out.route, v2 ? FreeRoute::v2_local : FreeRoute::v1) << cls;
    EXPECT_EQ(out.entered_v2, v2);
  }
}

TYPED_TEST(V2PathTest, CurrentPartialRefillAndCounters) {
  TypeParam pool(testing::options_with(testing::v2_env()));
  const int n = 1000;  // 2 KiB class: 127 blocks a page, so several refills
  std::vector<void*> blocks;
  for (int i = 0; i < n; ++i) blocks.push_back(pool.alloc(2048));
  for (int i = 0; i < n; i += 2) EXPECT_EQ(pool.free(blocks[i]).route, FreeRoute::v2_local);
  for (int i = 0; i < n; i += 2) blocks[i] = pool.alloc(2048);  // served from partial pages
  InvariantReport r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
  EXPECT_EQ(r.live_blocks, std::uint64_t(n));
  for (void* p : blocks) EXPECT_EQ(pool.free(p).route, FreeRoute::v2_local);
  r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
  EXPECT_EQ(r.live_blocks, 0u);
  EXPECT_GE(r.cold_pages, 1u);  // emptied pages went back to the cold side
  if constexpr (TypeParam::kStatsCompiled) {
    StatsSnapshot s = pool.stats();
    EXPECT_EQ(s.get(0, V2Stat::alloc_calls), std::uint64_t(n + n / 2));
    EXPECT_EQ(s.get(0, V2Stat::alloc_fast) + s.get(0, V2Stat::alloc_refill), s.get(0, V2Stat::alloc_calls));
    EXPECT_GE(s.get(0, V2Stat::alloc_refill), std::uint64_t(n / 127));
    EXPECT_EQ(s.get(0, V2Stat::alloc_refill_fail), 0u);
    EXPECT_EQ(s.get(0, V2Stat::free_calls), std::uint64_t(n + n / 2));
    EXPECT_EQ(s.get(0, V2Stat::free_fast), std::uint64_t(n + n / 2));
    EXPECT_EQ(s.get(0, V2Stat::free_fallback_v1), 0u);
  }
}

TYPED_TEST(V2PathTest, FailedRefillFallsBackToV1) {
  FaultPlan plan;
  plan.fail_nth = 1;  // the first page acquisition (v2's refill) fails
  TypeParam pool(testing::options_with(testing::v2_env(), plan));
  void* p = pool.alloc(16384);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(pool.block_info(p).kind, BlockKind::v1);  // acquisition 2 (v1) succeeded
  EXPECT_EQ(pool.os_counters().injected_failures, 1u);
  void* q = pool.alloc(16384);  // refill now succeeds
  EXPECT_EQ(pool.block_info(q).kind, BlockKind::v2);
  if constexpr (TypeParam::kStatsCompiled) {
    StatsSnapshot s = pool.stats();
    EXPECT_EQ(s.get(3, V2Stat::alloc_refill_fail), 1u);
    EXPECT_EQ(s.get(3, V2Stat::alloc_fallback_v1), 1u);
    EXPECT_EQ(s.get(3, V2Stat::alloc_refill), 2u);
  }
  // Freeing the fallback block: page_of says header_missing, v1 takes it.
  FreeOutcome out = pool.free(p);
  EXPECT_EQ(out.page_of, Verdict::header_missing);
  EXPECT_EQ(out.route, FreeRoute::v1);
  EXPECT_EQ(pool.free(q).route, FreeRoute::v2_local);
}

TYPED_TEST(V2PathTest, WhenEveryAcquisitionFailsAllocReturnsNull) {
  FaultPlan plan;
  plan.fail_nth = 1;
  plan.fail_count = UINT64_MAX;
  TypeParam pool(testing::options_with(testing::v2_env(), plan));
  EXPECT_EQ(pool.alloc(4096), nullptr);
  EXPECT_EQ(pool.alloc(1 << 20), nullptr);
  pool.set_fault_plan({});
  EXPECT_NE(pool.alloc(4096), nullptr);
  EXPECT_TRUE(pool.check().ok);
}

TYPED_TEST(V2PathTest, SeededRandomFaultsAreDeterministic) {
  auto run = [] {
    FaultPlan plan;
    plan.fail_ppm = 300000;
    plan.seed = 42;
    TypeParam pool(testing::options_with(testing::v2_env(), plan));
    std::vector<std::string> trace;
    for (int i = 0; i < 400; ++i) {
      void* p = pool.alloc(kClassSizes[i % kNumClasses]);
      trace.push_back(p ? std::to_string(*pool.arena_offset(p)) : "null");
    }
    EXPECT_GT(pool.os_counters().injected_failures, 0u);
    EXPECT_TRUE(pool.check().ok);
    return trace;
  };
  EXPECT_EQ(run(), run());
}

TYPED_TEST(V2PathTest, RefreshMidRunKeepsEveryFreeOnItsWay) {
  TypeParam pool(testing::options_with(testing::v1_env()));
  std::vector<void*> v1_blocks, v2_blocks;
  for (int i = 0; i < 50; ++i) v1_blocks.push_back(pool.alloc(kClassSizes[i % kNumClasses]));
  pool.set_env_source(map_env(testing::v2_env()));
  ASSERT_FALSE(pool.refresh_from_env());
  for (int i = 0; i < 50; ++i) v2_blocks.push_back(pool.alloc(kClassSizes[i % kNumClasses]));
  for (void* p : v2_blocks) ASSERT_EQ(pool.block_info(p).kind, BlockKind::v2);
  // v2 on: v1 blocks go through page_of (header_missing) to v1.
  for (int i = 0; i < 25; ++i) {
    FreeOutcome out = pool.free(v1_blocks[i]);
    EXPECT_EQ(out.page_of, Verdict::header_missing);
    EXPECT_EQ(out.route, FreeRoute::v1);
  }
  pool.set_env_source(map_env(testing::v1_env()));
  ASSERT_FALSE(pool.refresh_from_env());
  // v2 off: v2 blocks still reach their pages, through v1.
  for (void* p : v2_blocks) {
    FreeOutcome out = pool.free(p);
    EXPECT_FALSE(out.entered_v2);
    EXPECT_EQ(out.route, FreeRoute::v2_local);
  }
  for (int i = 25; i < 50; ++i) EXPECT_EQ(pool.free(v1_blocks[i]).route, FreeRoute::v1);
  InvariantReport r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
  EXPECT_EQ(r.live_blocks, 0u);
  // A v2 double free after the route changed is still named.
  EXPECT_EQ(pool.free(v2_blocks[0]).reason, Verdict::double_free);
}

TEST(V2Teardown, StatsEnvPrintsTheTableOrSaysCompiledOut) {
  for (bool on : {false, true}) {
    char buf[8192] = {};
    std::FILE* sink = fmemopen(buf, sizeof buf, "w");
    testing::Env env = testing::v2_env();
    env.emplace_back("HAKMEM_POOL_V2_STATS", "1");
    PoolOptions o = testing::options_with(env);
    o.report = sink;
    if (on) {
      PoolStatsOn pool(o);
      pool.free(pool.alloc(2048));
    } else {
      PoolStatsOff pool(o);
      pool.free(pool.alloc(2048));
    }
    std::fclose(sink);
    std::string text = buf;
    if (on) {
      EXPECT_NE(text.find("alloc_calls"), std::string::npos) << text;
      EXPECT_NE(text.find("2K 1 0 1 0 0 1 1 0 0 0 0 0"), std::string::npos) << text;
    } else {
      EXPECT_NE(text.find("compiled out"), std::string::npos) << text;
    }
  }
}

// A pool over an arena its predecessor gave back to a cache starts as a
// fresh one: nothing committed, same offsets, same acquisitions, and the
// cache's mappings are all released with it.
TYPED_TEST(V2PathTest, AReusedArenaIsAsFreshAsANewOne) {
  const OsCounters before = process_os_counters();
  auto offsets = [](TypeParam& pool) {
    std::vector<std::uint64_t> out;
    std::vector<void*> live;
    for (int i = 0; i < 600; ++i) live.push_back(pool.alloc(kClassSizes[i % kNumClasses] - i % 7));
    for (std::size_t i = 0; i < live.size(); i += 3) pool.free(live[i]);
    for (int i = 0; i < 50; ++i) live.push_back(pool.alloc(3000));
    for (void* p : live) out.push_back(pool.arena_offset(p).value_or(~0ull));
    out.push_back(pool.os_counters().acquisitions);
    return out;
  };
  std::vector<std::uint64_t> fresh;
  {
    TypeParam pool(testing::options_with(testing::v2_env()));
    fresh = offsets(pool);
  }
  {
    ArenaCache cache;
    PoolOptions o = testing::options_with(testing::v2_env());
    o.arena_cache = &cache;
    std::uintptr_t base = 0;
    for (int round = 0; round < 3; ++round) {
      TypeParam pool(o);
      if (round == 0) base = pool.arena_base();
      EXPECT_EQ(pool.arena_base(), base) << "round " << round << ": the arena is reused";
      EXPECT_EQ(cache.held(), 0u);
      const Census c = pool.census();
      EXPECT_TRUE(c.slabs.empty()) << "round " << round;
      EXPECT_EQ(pool.page_of(reinterpret_cast<void*>(base + kSlabHeaderBytes)), Verdict::header_missing);
      EXPECT_EQ(pool.os_counters().maps, 0u + (round == 0 ? 2u : 0u));
      EXPECT_EQ(offsets(pool), fresh) << "round " << round;
      EXPECT_TRUE(pool.check().ok);
    }
    EXPECT_EQ(cache.held(), 1u);
  }
  const OsCounters after = process_os_counters();
  EXPECT_EQ(after.maps - before.maps, after.unmaps - before.unmaps);
}

// A cached arena keeps the slabs an earlier pool committed mapped read/write,
// yet the next pool meets them as never committed: each commit is an
// acquisition a fault plan fails, and until committed a slab is poisoned
// whole for ASan.
TYPED_TEST(V2PathTest, ACachedArenasSlabsAreCommittedAnew) {
  ArenaCache cache;
  PoolOptions o = testing::options_with(testing::v2_env());
  o.arena_cache = &cache;
  {
    TypeParam pool(o);
    for (int i = 0; i < 500; ++i) ASSERT_NE(pool.alloc(3000), nullptr);  // several slabs, left live
    ASSERT_GE(pool.census().slabs.size(), 3u);
  }
  o.faults = {.fail_nth = 1, .fail_count = 1000};
  TypeParam pool(o);
  EXPECT_EQ(pool.alloc(3000), nullptr) << "a failing plan fails the commit of a once-committed slab";
  EXPECT_GE(pool.os_counters().injected_failures, 1u);
  pool.set_fault_plan({});
  void* p = pool.alloc(3000);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(pool.census().slabs.size(), 1u);
  EXPECT_EQ(pool.page_of(reinterpret_cast<void*>(pool.arena_base() + kSlabSize + kSlabHeaderBytes)),
            Verdict::header_missing);
#ifdef SUPPORT_ASAN
  EXPECT_TRUE(__asan_address_is_poisoned(reinterpret_cast<void*>(pool.arena_base() + kSlabSize)));
  EXPECT_TRUE(__asan_address_is_poisoned(reinterpret_cast<void*>(pool.arena_base() + 2 * kSlabSize + 4096)));
#endif
  pool.free(p);
  EXPECT_TRUE(pool.check().ok);
}

// A freed large block's mapping waits in the cache, poisoned, for the next
// large block of its length, in this pool or the next: that allocation is
// still an acquisition a plan fails, and a double free of the old start is
// still named. The cache unmaps what it holds when it goes.
TYPED_TEST(V2PathTest, ALargeMappingIsKeptForTheNextBlockOfItsLength) {
  const OsCounters before = process_os_counters();
  {
    ArenaCache cache;
    PoolOptions o = testing::options_with(testing::v2_env());
    o.arena_cache = &cache;
    void* first = nullptr;
    {
      TypeParam pool(o);
      first = pool.alloc(100000);
      ASSERT_NE(first, nullptr);
      static_cast<char*>(first)[99999] = 1;
      EXPECT_EQ(pool.free(first).route, FreeRoute::large);
      EXPECT_EQ(cache.large_held(), 1u);
#ifdef SUPPORT_ASAN
      EXPECT_TRUE(__asan_address_is_poisoned(first));
      EXPECT_TRUE(__asan_address_is_poisoned(static_cast<char*>(first) + 99999));
#endif
      EXPECT_EQ(pool.free(first).reason, Verdict::double_free) << "a kept mapping's start is a tombstone";
      void* other_length = pool.alloc(300000);
      EXPECT_NE(other_length, first);
      EXPECT_EQ(cache.large_held(), 1u);
      pool.set_fault_plan({.fail_nth = 1, .fail_count = 1});
      EXPECT_EQ(pool.alloc(100000), nullptr) << "a plan fails an allocation the cache could serve";
      EXPECT_EQ(cache.large_held(), 1u);
      void* again = pool.alloc(100000);
      EXPECT_EQ(again, first) << "the kept mapping of that length";
      EXPECT_EQ(cache.large_held(), 0u);
#ifdef SUPPORT_ASAN
      EXPECT_FALSE(__asan_region_is_poisoned(again, 100000));
#endif
      EXPECT_EQ(pool.block_info(again).usable, 100000u + 4096u - 100000u % 4096u);
      const std::uint64_t maps = pool.os_counters().maps;
      pool.free(again);
      EXPECT_EQ(pool.alloc(100000), first);
      EXPECT_EQ(pool.os_counters().maps, maps) << "a kept mapping is no new map";
      EXPECT_TRUE(pool.check().ok);
    }
    EXPECT_EQ(cache.large_held(), 2u) << "teardown keeps the live blocks' mappings too";
    TypeParam next(o);
    EXPECT_EQ(next.alloc(100000), first);
  }
  const OsCounters after = process_os_counters();
  EXPECT_EQ(after.maps - before.maps, after.unmaps - before.unmaps);
}

// Past its budget the cache unmaps the oldest mappings.
TEST(LargeMappingCache, KeepsNoMoreThanItsBudget) {
  const OsCounters before = process_os_counters();
  {
    ArenaCache cache(1, 0, 3 * 65536);
    PoolOptions o = testing::options_with(testing::v2_env());
    o.arena_cache = &cache;
    PoolStatsOn pool(o);
    std::vector<void*> blocks;
    for (int i = 0; i < 5; ++i) blocks.push_back(pool.alloc(65536));
    for (void* p : blocks) pool.free(p);
    EXPECT_EQ(cache.large_held(), 3u);
    EXPECT_EQ(pool.alloc(65536), blocks[4]) << "the most recently freed first";
    void* huge = pool.alloc(4 * 65536);
    pool.free(huge);
    EXPECT_EQ(cache.large_held(), 2u) << "a mapping above the budget is unmapped at once";
  }
  const OsCounters after = process_os_counters();
  EXPECT_EQ(after.maps - before.maps, after.unmaps - before.unmaps);
}

TEST(V2Teardown, EveryMappingIsReleased) {
  OsCounters before = process_os_counters();
  for (int round = 0; round < 3; ++round) {
    PoolStatsOn pool(testing::options_with(testing::v2_env()));
    for (int i = 0; i < 200; ++i)
      ASSERT_NE(pool.alloc(i % 2 ? 60000 : 3000), nullptr);  // left live on purpose
    EXPECT_GE(pool.os_counters().maps, 2u + 100u);
  }
  OsCounters after = process_os_counters();
  EXPECT_GT(after.maps, before.maps);
  EXPECT_EQ(after.maps - before.maps, after.unmaps - before.unmaps);
}

}  // namespace
}  // namespace hakmem
