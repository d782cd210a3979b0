// The bugs PoolOptions::plant plants into the tester's flavour: each one
// does what plants.def says, keeps the invariant walk clean, and shows in
// what a "nothing kept" checker reads (census, block_info). The intra-call
// races are driven by a controller that stops one thread at one schedule
// point while the others run. The production flavours ignore the option.
#include <thread>

#include "hakmem/sched.h"
#include "pause_at.h"
#include "pool_test_util.h"
#include "support/sanitizer.h"

namespace hakmem {
namespace {

using sched::Point;
constexpr std::size_t kSize = 4096;  // class 1: 63 blocks a page
constexpr std::uint32_t kCapacity = kGeometry[1].capacity;

PoolOptions planted(Plant plant, std::string classes = "0x7F", FaultPlan faults = {}) {
  PoolOptions o = testing::options_with(testing::v2_env(classes), faults);
  o.plant = plant;
  return o;
}

SlabCensus slab_of(const Census& c, const PoolTester& pool, const void* p) {
  return c.slabs[*pool.arena_offset(p) / kSlabSize];
}

void expect_clean(const PoolTester& pool) {
  InvariantReport r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
}

// ---------------------------------------------------------------- races

TEST(Plants, RemoteBitTornLosesARacingFreesBit) {
  for (Plant plant : {Plant::none, Plant::remote_bit_torn}) {
    PoolTester pool(planted(plant));
    void* a = pool.alloc(kSize);
    void* b = pool.alloc(kSize);  // the next block: the same bitmap word
    // Torn: stopped between its load and its store; intact: before its fetch_or.
    const Point stop = plant == Plant::none ? Point::remote_free_fetch_or : Point::remote_free_store;
    free_paused(pool, a, stop, [&] { std::thread([&] { pool.free(b); }).join(); });
    const Census c = pool.census();
    EXPECT_FALSE(pool.block_info(b).live);
    if (plant == Plant::none) {
      EXPECT_EQ(c.remote_pending, 2u);
      expect_clean(pool);
    } else {
      EXPECT_EQ(c.remote_pending, 1u) << "b's bit survived";
      // Once the race happened, the walk sees a remote-freed block no drain will take.
      const InvariantReport r = pool.check();
      EXPECT_FALSE(r.ok);
      EXPECT_EQ(r.fault, InvariantFault::remote_free_without_bit) << r.first_error;
    }
  }
}

TEST(Plants, HintBeforeBitStrandsARemoteFree) {
  for (Plant plant : {Plant::none, Plant::hint_before_bit}) {
    PoolTester pool(planted(plant));
    std::vector<void*> blocks;
    for (std::uint32_t i = 0; i < 2 * kCapacity; ++i)
      blocks.push_back(pool.alloc(kSize));  // A full, B current
    // Stopped before its bit: the owner refills meanwhile, taking the hint
    // (set early by the planted free) and walking its pages.
    free_paused(pool, blocks[0], Point::remote_free_fetch_or, [&] { pool.alloc(kSize); });
    const SlabCensus a = slab_of(pool.census(), pool, blocks[0]);
    EXPECT_EQ(a.queue, SlabQueue::full);
    EXPECT_EQ(a.remote_pending, 1u);
    EXPECT_EQ(a.owner_hinted, plant == Plant::none) << "a full page's remote free needs a hint";
    expect_clean(pool);
  }
}

TEST(Plants, NoOwnerRereadMissesTheAdopter) {
  for (Plant plant : {Plant::none, Plant::no_owner_reread}) {
    PoolTester pool(planted(plant));
    std::vector<void*> blocks;
    std::thread([&] {
      for (std::uint32_t i = 0; i < kCapacity; ++i) blocks.push_back(pool.alloc(kSize));
    }).join();  // one full page, orphaned
    // The freer read the owner (none) and stops; this thread adopts the page
    // meanwhile (its drain finds nothing yet) and puts it on its full list.
    free_paused(pool, blocks[0], Point::remote_free_claim, [&] { pool.alloc(kSize); });
    const SlabCensus page = slab_of(pool.census(), pool, blocks[0]);
    EXPECT_EQ(page.owner, SlabOwner::live_thread);
    EXPECT_EQ(page.queue, SlabQueue::full);
    EXPECT_EQ(page.remote_pending, 1u);
    EXPECT_EQ(page.owner_hinted, plant == Plant::none);
    expect_clean(pool);
  }
}

// ---------------------------------------------------------------- retention

TEST(Plants, EmptyPageKeptSurvivesCollect) {
  PoolTester pool(planted(Plant::empty_page_kept));
  std::vector<void*> blocks;
  for (std::uint32_t i = 0; i < 3 * kCapacity; ++i) blocks.push_back(pool.alloc(kSize));
  for (void* p : blocks) pool.free(p);
  pool.collect();
  std::uint32_t kept = 0;
  for (const SlabCensus& s : pool.census().slabs) {
    EXPECT_EQ(s.used, 0u);
    kept += s.owner == SlabOwner::live_thread;  // correct: every one cold
  }
  EXPECT_EQ(kept, 3u);
  expect_clean(pool);
}

TEST(Plants, DrainSkipsWordStrandsTheHighBlocks) {
  constexpr std::uint32_t kClass0 = kGeometry[0].capacity;  // 127: two words
  PoolTester pool(planted(Plant::drain_skips_word));
  std::vector<void*> blocks;
  for (std::uint32_t i = 0; i < kClass0; ++i) blocks.push_back(pool.alloc(kClassSizes[0]));
  std::thread([&] {
    for (void* p : blocks) pool.free(p);
  }).join();
  pool.collect();
  EXPECT_EQ(pool.census().remote_pending, kClass0 - 64);  // correct: 0
  expect_clean(pool);
}

TEST(Plants, ExitKeepsPagesOwnedByAThreadThatIsGone) {
  PoolTester pool(planted(Plant::exit_keeps_pages));
  std::thread([&] {
    for (int i = 0; i < 100; ++i) pool.free(pool.alloc(kSize));
    for (int i = 0; i < 100; ++i) pool.alloc(kSize);
  }).join();
  std::uint32_t exited = 0;
  for (const SlabCensus& s : pool.census().slabs) exited += s.owner == SlabOwner::exited_thread;
  EXPECT_GT(exited, 0u);  // correct: orphaned, owner none
  EXPECT_EQ(pool.census().cached_blocks, 0u);
  expect_clean(pool);
}

TEST(Plants, ColdPagesIgnoredMapsFreshOnes) {
  for (Plant plant : {Plant::none, Plant::cold_pages_ignored}) {
    PoolTester pool(planted(plant));
    pool.free(pool.alloc(kSize));
    pool.collect();  // the page goes cold
    std::thread([&] { pool.free(pool.alloc(kSize)); }).join();
    EXPECT_EQ(pool.census().v2_slabs[1], plant == Plant::none ? 1u : 2u);
    expect_clean(pool);
  }
}

TEST(Plants, AdoptWithoutDrainLeavesTheOrphansFreesPending) {
  PoolTester pool(planted(Plant::adopt_without_drain));
  std::vector<void*> blocks;
  std::thread([&] {
    for (std::uint32_t i = 0; i < kCapacity; ++i) blocks.push_back(pool.alloc(kSize));
  }).join();                                          // one full page, orphaned
  for (int i = 0; i < 10; ++i) pool.free(blocks[i]);  // remote frees onto the orphan
  pool.alloc(kSize);                                  // adopts it
  const SlabCensus page = slab_of(pool.census(), pool, blocks[0]);
  EXPECT_EQ(page.owner, SlabOwner::live_thread);
  EXPECT_EQ(page.queue, SlabQueue::full);  // correct: drained, current, 9 blocks free
  EXPECT_EQ(page.remote_pending, 10u);
  EXPECT_FALSE(page.owner_hinted);
  expect_clean(pool);
}

// ---------------------------------------------------------------- fault paths

TEST(Plants, RefillFailReturnsNullInsteadOfFallingBackToV1) {
  for (Plant plant : {Plant::none, Plant::refill_fail_returns_null}) {
    PoolTester pool(planted(plant, "0x7F", {.fail_nth = 1, .fail_count = 1}));
    void* p = pool.alloc(kSize);
    if (plant == Plant::none) {
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(pool.block_info(p).kind, BlockKind::v1);
    } else {
      EXPECT_EQ(p, nullptr);
    }
    expect_clean(pool);
  }
}

TEST(Plants, RefillRetriesTakesTheNextAcquisition) {
  for (Plant plant : {Plant::none, Plant::refill_retries}) {
    PoolTester pool(planted(plant, "0x7F", {.fail_nth = 1, .fail_count = 1}));
    void* p = pool.alloc(kSize);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(pool.block_info(p).kind, plant == Plant::none ? BlockKind::v1 : BlockKind::v2);
    expect_clean(pool);
  }
}

// ---------------------------------------------------------------- all

// Real threads, no controller: allocations, local and remote frees, exits,
// collects. Whatever each plant keeps or strands, the bookkeeping stays
// consistent (the torn remote bit aside: a drain between its load and its
// store can make a drained bit reappear, which the walk may catch).
TEST(Plants, TheInvariantWalkStaysCleanUnderThreads) {
  for (int i = 1; i < kNumPlants; ++i) {
    const auto plant = static_cast<Plant>(i);
    if (plant == Plant::remote_bit_torn) continue;
    // A data race and nothing else: its test is TSan's report (tsan_sharp.sh).
    if (plant == Plant::remote_reads_used && support::kTsanBuild) continue;
    PoolTester pool(planted(plant));
    constexpr int kSlots = 64;
    std::atomic<void*> slots[kSlots] = {};
    for (int round = 0; round < 3; ++round) {
      std::vector<std::thread> threads;
      for (int t = 0; t < 3; ++t)
        threads.emplace_back([&, t] {
          std::uint64_t x = 0x9E3779B97F4A7C15ull * (t + 1 + 7 * round);
          for (int k = 0; k < 5000; ++k) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            if (x % 211 == 0) pool.collect();
            if (void* old = slots[(x >> 8) % kSlots].exchange(pool.alloc(kClassSizes[x % 3]))) pool.free(old);
          }
        });
      for (auto& th : threads) th.join();
      InvariantReport r = pool.check();
      EXPECT_TRUE(r.ok) << "plant " << i << ": " << r.first_error;
    }
    for (auto& s : slots) pool.free(s.exchange(nullptr));
  }
}

TEST(Plants, TheProductionFlavoursIgnoreThePlant) {
  for (int i = 0; i < kNumPlants; ++i) {
    const auto plant = static_cast<Plant>(i);
    PoolStatsOn pool(planted(plant, "0x7F", {.fail_nth = 1, .fail_count = 1}));
    void* p = pool.alloc(kSize);  // refill fails: v1 serves it, whatever the plant
    ASSERT_NE(p, nullptr) << "plant " << i;
    EXPECT_EQ(pool.block_info(p).kind, BlockKind::v1) << "plant " << i;
  }
}

}  // namespace
}  // namespace hakmem
