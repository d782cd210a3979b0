// One case per page_of failure class, counted (stats on) and routed to v1,
// which rejects the pointer by name without touching pool state.
#include "pool_test_util.h"

namespace hakmem {
namespace {

template <class P>
class PageOfTest : public ::testing::Test {};
TYPED_TEST_SUITE(PageOfTest, testing::AllFlavours);

TYPED_TEST(PageOfTest, EachFailureClassIsCountedAndRoutedToV1) {
  TypeParam pool(testing::options_with(testing::v2_env()));
  char* b = static_cast<char*>(pool.alloc(4096));  // class 1, v2 page
  ASSERT_EQ(pool.page_of(b), Verdict::ok);
  void* v1block = nullptr;
  {
    // A v1 page of class 1: route class 1 to v1 for one allocation.
    pool.set_env_source(map_env(testing::v2_env("0x7D")));
    ASSERT_FALSE(pool.refresh_from_env());
    v1block = pool.alloc(4096);
    pool.set_env_source(map_env(testing::v2_env()));
    ASSERT_FALSE(pool.refresh_from_env());
  }
  ASSERT_EQ(pool.block_info(v1block).kind, BlockKind::v1);
  int stack_var = 0;
  struct Case {
    void* ptr;
    Verdict page_of;
    Verdict reason;
    int row;
  };
  const std::uintptr_t slab = reinterpret_cast<std::uintptr_t>(b) & ~std::uintptr_t{(256 << 10) - 1};
  const Case cases[] = {
      {v1block, Verdict::header_missing, Verdict::ok, 1},  // v1's own block: freed by v1
      {reinterpret_cast<void*>(slab + 8), Verdict::out_of_range, Verdict::out_of_range, 1},
      {reinterpret_cast<void*>(slab + (256 << 10) - 8), Verdict::out_of_range, Verdict::out_of_range, 1},
      {b + 1, Verdict::misaligned, Verdict::misaligned, 1},
      {b + 2048, Verdict::misaligned, Verdict::misaligned, 1},
      {&stack_var, Verdict::unknown, Verdict::not_ours, kNoClassRow},
      {reinterpret_cast<void*>(pool.arena_base() + (200u << 20)), Verdict::header_missing, Verdict::not_ours,
       kNoClassRow},
  };
  int expected[kNumStatRows][4] = {};
  for (const Case& c : cases) {
    SCOPED_TRACE(verdict_name(c.page_of));
    EXPECT_EQ(pool.page_of(c.ptr), c.page_of);
    FreeOutcome out = pool.free(c.ptr);
    EXPECT_TRUE(out.entered_v2);
    EXPECT_EQ(out.page_of, c.page_of);
    if (c.reason == Verdict::ok) {
      EXPECT_EQ(out.route, FreeRoute::v1);
    } else {
      EXPECT_EQ(out.route, FreeRoute::rejected);
      EXPECT_EQ(out.reason, c.reason);
    }
    expected[c.row][static_cast<int>(c.page_of) - 1]++;
  }
  if constexpr (TypeParam::kStatsCompiled) {
    for (int row = 0; row < kNumStatRows; ++row) {
      EXPECT_EQ(testing::count(pool, row, V2Stat::page_of_fail_header_missing), expected[row][0]);
      EXPECT_EQ(testing::count(pool, row, V2Stat::page_of_fail_out_of_range), expected[row][1]);
      EXPECT_EQ(testing::count(pool, row, V2Stat::page_of_fail_misaligned), expected[row][2]);
      EXPECT_EQ(testing::count(pool, row, V2Stat::page_of_fail_unknown), expected[row][3]);
      EXPECT_EQ(testing::count(pool, row, V2Stat::free_fallback_v1),
                std::uint64_t(expected[row][0] + expected[row][1] + expected[row][2] + expected[row][3]));
    }
  } else {
    EXPECT_FALSE(pool.stats().compiled);
    EXPECT_EQ(pool.stats(), StatsSnapshot{});
  }
  // Nothing was corrupted: the v2 block is still live and frees normally.
  EXPECT_EQ(pool.usable_size(b), 4096u);
  EXPECT_EQ(pool.free(b).route, FreeRoute::v2_local);
  InvariantReport r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
  EXPECT_EQ(r.live_blocks, 0u);
}

TYPED_TEST(PageOfTest, EveryOffsetOfEveryClassClassifiesExactly) {
  // Exhaustive over each class's slab: the reciprocal division must agree
  // with plain arithmetic at every byte.
  TypeParam pool(testing::options_with(testing::v2_env()));
  for (int cls = 0; cls < kNumClasses; ++cls) {
    char* p = static_cast<char*>(pool.alloc(kClassSizes[cls]));
    ASSERT_EQ(pool.page_of(p), Verdict::ok);
    std::uintptr_t slab = reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{(256 << 10) - 1};
    std::size_t bs = kClassSizes[cls];
    std::size_t cap = ((256 << 10) - 64) / bs;
    for (std::size_t off = 0; off < (256 << 10); ++off) {
      Verdict want = off < 64 || off >= 64 + cap * bs ? Verdict::out_of_range
                     : (off - 64) % bs == 0           ? Verdict::ok
                                                      : Verdict::misaligned;
      Verdict got = pool.page_of(reinterpret_cast<void*>(slab + off));
      if (got != want) FAIL() << "class " << cls << " offset " << off << ": " << verdict_name(got);
    }
    pool.free(p);
  }
}

}  // namespace
}  // namespace hakmem
