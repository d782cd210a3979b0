// The per-thread free cache of v2: a freed block is reused first, yet a
// double free of a cached block is still named, a full cache gives half its
// blocks back to their pages, and an exiting thread leaves nothing cached.
#include <thread>

#include "pool_test_util.h"

namespace hakmem {
namespace {

template <class P>
class V2FreeCacheTest : public ::testing::Test {};
TYPED_TEST_SUITE(V2FreeCacheTest, testing::AllFlavours);

TYPED_TEST(V2FreeCacheTest, ACachedBlockIsReusedFirstAndItsDoubleFreeIsNamed) {
  TypeParam pool(testing::options_with(testing::v2_env()));
  void* a = pool.alloc(8192);
  void* b = pool.alloc(8192);
  ASSERT_EQ(pool.free(a).route, FreeRoute::v2_local);
  EXPECT_FALSE(pool.block_info(a).live);
  FreeOutcome again = pool.free(a);
  EXPECT_EQ(again.route, FreeRoute::rejected);
  EXPECT_EQ(again.reason, Verdict::double_free);
  InvariantReport r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
  EXPECT_EQ(r.live_blocks, 1u);

  void* c = pool.alloc(8192);
  EXPECT_EQ(c, a);  // LIFO: the block freed last comes back first
  EXPECT_TRUE(pool.block_info(c).live);
  EXPECT_EQ(pool.free(b).route, FreeRoute::v2_local);
  EXPECT_EQ(pool.free(c).route, FreeRoute::v2_local);
  r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
  EXPECT_EQ(r.live_blocks, 0u);
}

TYPED_TEST(V2FreeCacheTest, ARemoteFreeOfACachedBlockIsADoubleFree) {
  TypeParam pool(testing::options_with(testing::v2_env()));
  void* p = pool.alloc(4096);
  ASSERT_EQ(pool.free(p).route, FreeRoute::v2_local);
  std::thread([&] {
    FreeOutcome out = pool.free(p);
    EXPECT_EQ(out.route, FreeRoute::rejected);
    EXPECT_EQ(out.reason, Verdict::double_free);
  }).join();
  InvariantReport r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
  EXPECT_EQ(r.remote_pending, 0u);
}

TYPED_TEST(V2FreeCacheTest, AFullCacheGivesHalfBackAndEmptiedPagesGoCold) {
  TypeParam pool(testing::options_with(testing::v2_env()));
  // 52 KiB: 4 blocks a page, a cache of 16 blocks.
  std::vector<void*> blocks;
  for (int i = 0; i < 64; ++i) blocks.push_back(pool.alloc(53248));
  for (void* p : blocks) ASSERT_EQ(pool.free(p).route, FreeRoute::v2_local);
  InvariantReport r = pool.check();
  ASSERT_TRUE(r.ok) << r.first_error;
  EXPECT_EQ(r.live_blocks, 0u);
  EXPECT_GE(r.cold_pages, 8u);          // flushed pages emptied and went back
  EXPECT_LT(r.cold_pages, r.v2_pages);  // the cached blocks keep some owned
  // Everything freed is reachable again without growing the arena.
  std::uint64_t acquisitions = pool.os_counters().acquisitions;
  for (void*& p : blocks) p = pool.alloc(53248);
  EXPECT_EQ(pool.os_counters().acquisitions, acquisitions);
  for (void* p : blocks) EXPECT_EQ(pool.free(p).route, FreeRoute::v2_local);
}

TYPED_TEST(V2FreeCacheTest, AnExitingThreadLeavesNothingCached) {
  TypeParam pool(testing::options_with(testing::v2_env()));
  std::thread([&] {
    std::vector<void*> blocks;
    for (int i = 0; i < 100; ++i) blocks.push_back(pool.alloc(kClassSizes[i % kNumClasses]));
    for (void* p : blocks) ASSERT_EQ(pool.free(p).route, FreeRoute::v2_local);
  }).join();
  InvariantReport r = pool.check();  // also fails if an idle context still caches blocks
  ASSERT_TRUE(r.ok) << r.first_error;
  EXPECT_EQ(r.live_blocks, 0u);
  EXPECT_EQ(r.cold_pages, r.v2_pages);  // every page emptied, none left owned
  std::uint64_t acquisitions = pool.os_counters().acquisitions;
  for (int i = 0; i < 100; ++i) pool.alloc(kClassSizes[i % kNumClasses]);
  EXPECT_EQ(pool.os_counters().acquisitions, acquisitions);
}

}  // namespace
}  // namespace hakmem
