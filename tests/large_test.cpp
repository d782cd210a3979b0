// The large path's tombstones: a freed large start is remembered (up to
// PoolOptions::large_tombstones) so that a double free of it is named as one,
// however often the OS hands the same range out again.
#include "pool_test_util.h"

namespace hakmem {
namespace {

template <class P>
class LargeTest : public ::testing::Test {};
TYPED_TEST_SUITE(LargeTest, testing::AllFlavours);

constexpr std::size_t kLarge = 200000;

PoolOptions with_tombstones(std::size_t n) {
  PoolOptions o = testing::options_with(testing::v1_env());
  o.large_tombstones = n;
  return o;
}

TYPED_TEST(LargeTest, TheOldestTombstoneIsForgotten) {
  TypeParam pool(with_tombstones(2));
  void* blocks[3];
  for (void*& p : blocks) p = pool.alloc(kLarge);  // live at once: three distinct starts
  for (void* p : blocks) ASSERT_EQ(pool.free(p).route, FreeRoute::large);
  EXPECT_EQ(pool.free(blocks[0]).reason, Verdict::not_ours);  // evicted
  EXPECT_EQ(pool.free(blocks[1]).reason, Verdict::double_free);
  EXPECT_EQ(pool.free(blocks[2]).reason, Verdict::double_free);
}

// The OS usually maps a freed range again at the same start. Each reuse must
// drop the start's old entry from the eviction order too; a stale one, once
// evicted, used to forget the start's current tombstone, and the double free
// of a block freed a moment earlier was reported not_ours.
TYPED_TEST(LargeTest, ReusedStartsKeepTheirLatestTombstone) {
  constexpr std::size_t kTombstones = 4;
  TypeParam pool(with_tombstones(kTombstones));
  std::map<void*, int> reuses;
  void* last = nullptr;
  int most = 0;
  for (int cycle = 0; cycle < 1000 && most <= static_cast<int>(2 * kTombstones); ++cycle) {
    last = pool.alloc(kLarge);
    ASSERT_NE(last, nullptr);
    most = std::max(most, ++reuses[last]);
    ASSERT_EQ(pool.free(last).route, FreeRoute::large);
    ASSERT_EQ(pool.free(last).reason, Verdict::double_free) << "cycle " << cycle;
  }
  if (most <= static_cast<int>(kTombstones))
    GTEST_SKIP() << "the OS never mapped one start more than " << kTombstones << " times";
}

TEST(LargeOptions, AtLeastOneTombstone) {
  EXPECT_THROW(PoolStatsOff pool(with_tombstones(0)), std::invalid_argument);
}

}  // namespace
}  // namespace hakmem
