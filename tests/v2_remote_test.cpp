// Remote frees across real threads, thread exit leaving pages adoptable, and
// exact accounting afterwards: no block is ever lost.
#include <atomic>
#include <thread>

#include "pool_test_util.h"

namespace hakmem {
namespace {

template <class P>
class V2RemoteTest : public ::testing::Test {};
TYPED_TEST_SUITE(V2RemoteTest, testing::AllFlavours);

TYPED_TEST(V2RemoteTest, FreesFromAnotherThreadArePushedAndDrainedByTheOwner) {
  TypeParam pool(testing::options_with(testing::v2_env()));
  std::vector<void*> blocks;
  for (int i = 0; i < 254; ++i) blocks.push_back(pool.alloc(2048));  // exactly two full pages
  std::thread([&] {
    for (void* p : blocks) {
      FreeOutcome out = pool.free(p);
      EXPECT_EQ(out.route, FreeRoute::v2_remote);
      EXPECT_TRUE(out.entered_v2);
    }
    int x;
    EXPECT_EQ(pool.free(blocks[0]).reason, Verdict::double_free);  // remote double free
    EXPECT_EQ(pool.free(&x).reason, Verdict::not_ours);
  }).join();
  InvariantReport r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
  EXPECT_EQ(r.remote_pending, 254u);
  EXPECT_EQ(r.live_blocks, 0u);
  // The owner's next refill drains instead of mapping a new slab.
  std::uint64_t maps_before = pool.os_counters().acquisitions;
  for (int i = 0; i < 254; ++i) ASSERT_NE(pool.alloc(2048), nullptr);
  EXPECT_EQ(pool.os_counters().acquisitions, maps_before);
  r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
  EXPECT_EQ(r.remote_pending, 0u);
  EXPECT_EQ(r.live_blocks, 254u);
}

TYPED_TEST(V2RemoteTest, ExitedThreadsPagesAreAdoptedAndNoBlockIsLost) {
  TypeParam pool(testing::options_with(testing::v2_env()));
  std::vector<void*> from_dead;
  std::thread([&] {
    for (int i = 0; i < 300; ++i) from_dead.push_back(pool.alloc(kClassSizes[i % kNumClasses]));
    for (int i = 0; i < 300; i += 3) pool.free(from_dead[i]);  // local frees before exit
  }).join();
  InvariantReport r = pool.check();
  ASSERT_TRUE(r.ok) << r.first_error;
  EXPECT_GT(r.orphan_pages, 0u);
  EXPECT_EQ(r.live_blocks, 200u);
  // Free the dead thread's blocks from here: remote pushes onto orphans.
  std::uint64_t freed = 0;
  for (int i = 0; i < 300; ++i) {
    if (i % 3 == 0) continue;
    ASSERT_EQ(pool.free(from_dead[i]).route, FreeRoute::v2_remote);
    ++freed;
  }
  r = pool.check();
  ASSERT_TRUE(r.ok) << r.first_error;
  EXPECT_EQ(r.remote_pending, freed);
  // A new thread adopts the orphans (no new slab needed) and drains them.
  std::uint64_t acq = pool.os_counters().acquisitions;
  std::thread([&] {
    std::vector<void*> mine;
    for (int i = 0; i < 300; ++i) mine.push_back(pool.alloc(kClassSizes[i % kNumClasses]));
    for (void* p : mine) EXPECT_EQ(pool.free(p).route, FreeRoute::v2_local);
  }).join();
  EXPECT_EQ(pool.os_counters().acquisitions, acq);
  r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
  EXPECT_EQ(r.live_blocks, 0u);
  EXPECT_EQ(r.remote_pending, 0u);
}

TYPED_TEST(V2RemoteTest, ParallelHandOffWithChurnKeepsExactAccounting) {
  TypeParam pool(testing::options_with(testing::v2_env()));
  constexpr int kSlots = 256;
  std::atomic<void*> slots[kSlots] = {};
  std::atomic<std::uint64_t> allocs{0}, frees{0};
  for (int round = 0; round < 4; ++round) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t, round] {
        std::uint64_t x = 0x9E3779B97F4A7C15ull * (t + 1 + round * 8);
        for (int i = 0; i < 4000; ++i) {
          x ^= x << 13, x ^= x >> 7, x ^= x << 17;
          std::size_t size = 1 + x % kMaxClassSize;
          auto* p = static_cast<unsigned char*>(pool.alloc(size));
          ASSERT_NE(p, nullptr);
          allocs.fetch_add(1);
          p[0] = static_cast<unsigned char>(size);
          void* old = slots[(x >> 32) % kSlots].exchange(p);  // most frees become remote
          if (old) {
            ASSERT_NE(pool.free(old).route, FreeRoute::rejected);
            frees.fetch_add(1);
          }
        }
      });
    for (auto& th : threads) th.join();  // every round's threads exit with pages out
    InvariantReport r = pool.check();
    ASSERT_TRUE(r.ok) << r.first_error;
    ASSERT_EQ(r.live_blocks, allocs.load() - frees.load());
  }
  for (auto& s : slots)
    if (void* p = s.exchange(nullptr)) pool.free(p);
  InvariantReport r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
  EXPECT_EQ(r.live_blocks, 0u);
  if constexpr (TypeParam::kStatsCompiled) {
    StatsSnapshot s = pool.stats();
    EXPECT_EQ(testing::total(s, V2Stat::free_fast), testing::total(s, V2Stat::free_calls));
    EXPECT_EQ(testing::total(s, V2Stat::alloc_calls), allocs.load());
  }
}

}  // namespace
}  // namespace hakmem
