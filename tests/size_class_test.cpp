#include "pool_test_util.h"

namespace hakmem {
namespace {

TEST(SizeClass, EdgesMapToTheBriefsSevenClasses) {
  EXPECT_EQ(kNumClasses, 7);
  EXPECT_EQ(size_class_of(0), 0);
  EXPECT_EQ(size_class_of(1), 0);
  EXPECT_EQ(size_class_of(2048), 0);
  EXPECT_EQ(size_class_of(2049), 1);
  EXPECT_EQ(size_class_of(4096), 1);
  EXPECT_EQ(size_class_of(8192), 2);
  EXPECT_EQ(size_class_of(16384), 3);
  EXPECT_EQ(size_class_of(32768), 4);
  EXPECT_EQ(size_class_of(32769), 5);
  EXPECT_EQ(size_class_of(40960), 5);
  EXPECT_EQ(size_class_of(40961), 6);
  EXPECT_EQ(size_class_of(53248), 6);
  EXPECT_EQ(size_class_of(53249), -1);
}

TEST(SizeClass, TheLookupTableAgreesWithTheSmallestFittingClassForEverySize) {
  for (std::size_t size = 0; size <= kMaxClassSize + 4096; ++size) {
    int want = -1;
    for (int c = kNumClasses - 1; c >= 0; --c)
      if (std::max<std::size_t>(size, 1) <= kClassSizes[c]) want = c;
    ASSERT_EQ(size_class_of(size), want) << size;
  }
  EXPECT_EQ(size_class_of(std::size_t{1} << 63), -1);
  EXPECT_EQ(size_class_of(SIZE_MAX), -1);
}

template <class P>
class SizesTest : public ::testing::Test {};
TYPED_TEST_SUITE(SizesTest, testing::AllFlavours);

TYPED_TEST(SizesTest, EverySizeTheApiAcceptsWorksAndAbsurdOnesFailCleanly) {
  for (auto env : {testing::v1_env(), testing::v2_env()}) {
    TypeParam pool(testing::options_with(env));
    std::vector<std::size_t> sizes = {0, 1, 15, 2047, 2048, 2049, 40960, 53248, 53249, 65536, 1 << 20};
    for (std::size_t s : sizes) {
      void* p = pool.alloc(s);
      ASSERT_NE(p, nullptr) << s;
      EXPECT_GE(pool.usable_size(p), std::max<std::size_t>(s, 1)) << s;
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 16, 0u);
      static_cast<char*>(p)[0] = 1;
      static_cast<char*>(p)[std::max<std::size_t>(s, 1) - 1] = 2;
      EXPECT_NE(pool.free(p).route, FreeRoute::rejected) << s;
    }
    for (std::size_t s : {std::size_t{1} << 63, SIZE_MAX, kMaxRequest + 1}) EXPECT_EQ(pool.alloc(s), nullptr);
    InvariantReport r = pool.check();
    EXPECT_TRUE(r.ok) << r.first_error;
    EXPECT_EQ(r.live_blocks, 0u);
  }
}

TYPED_TEST(SizesTest, LargeBlocksAreRecognisedAndDoubleFreesNamed) {
  TypeParam pool(testing::options_with(testing::v2_env()));
  void* p = pool.alloc(100000);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(pool.block_info(p).kind, BlockKind::large);
  EXPECT_EQ(pool.page_of(p), Verdict::unknown);
  EXPECT_EQ(pool.free(static_cast<char*>(p) + 16).reason, Verdict::not_ours);
  EXPECT_EQ(pool.free(p).route, FreeRoute::large);
  FreeOutcome again = pool.free(p);
  EXPECT_EQ(again.route, FreeRoute::rejected);
  EXPECT_EQ(again.reason, Verdict::double_free);
}

}  // namespace
}  // namespace hakmem
