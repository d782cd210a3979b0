// Under ASan the pool's arena is poisoned where no live block is: a
// use-after-free or an overflow into a never-handed-out block inside the
// arena must be reported, not silently absorbed by the pool.
#include <thread>

#include "pool_test_util.h"

namespace hakmem {
namespace {

#ifdef HAKFUZZ_TEST_ASAN
template <class P>
class AsanPoisonDeathTest : public ::testing::Test {};
TYPED_TEST_SUITE(AsanPoisonDeathTest, testing::AllFlavours);

TYPED_TEST(AsanPoisonDeathTest, UseAfterFreeInsideTheArenaIsReported) {
  for (auto env : {testing::v1_env(), testing::v2_env()}) {
    EXPECT_DEATH(
        {
          TypeParam pool(testing::options_with(env));
          auto* p = static_cast<volatile char*>(pool.alloc(4096));
          pool.free(const_cast<char*>(p));
          p[10] = 1;
        },
        "use-after-poison");
  }
}

TYPED_TEST(AsanPoisonDeathTest, OverflowIntoAnUnusedBlockIsReported) {
  EXPECT_DEATH(
      {
        TypeParam pool(testing::options_with(testing::v2_env()));
        auto* p = static_cast<volatile char*>(pool.alloc(2048));
        p[2048 + 100] = 1;  // the next block was never handed out
      },
      "use-after-poison");
}

TYPED_TEST(AsanPoisonDeathTest, RemotelyFreedBlockIsPoisoned) {
  EXPECT_DEATH(
      {
        TypeParam pool(testing::options_with(testing::v2_env()));
        auto* p = static_cast<volatile char*>(pool.alloc(8192));
        std::thread([&] { pool.free(const_cast<char*>(p)); }).join();
        p[0] = 1;
      },
      "use-after-poison");
}
#else
TEST(AsanPoison, OnlyMeaningfulUnderAsan) { GTEST_SKIP() << "not an ASan build (see the clang-asan preset)"; }
#endif

}  // namespace
}  // namespace hakmem
