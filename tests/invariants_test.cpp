// The invariant walk must fail when state is really broken, not only pass on
// clean pools: corruption is seeded through memory a buggy program could
// write (the slab header in front of the first block).
#include <cstring>

#include "pool_test_util.h"

namespace hakmem {
namespace {

template <class P>
class InvariantsTest : public ::testing::Test {};
TYPED_TEST_SUITE(InvariantsTest, testing::AllFlavours);

TYPED_TEST(InvariantsTest, CleanPoolsPassWithExactTotals) {
  TypeParam pool(testing::options_with(testing::v2_env("0x0F")));
  std::vector<void*> live;
  for (int i = 0; i < 500; ++i) live.push_back(pool.alloc(1 + (i * 7717) % 120000));
  for (std::size_t i = 0; i < live.size(); i += 2) pool.free(live[i]);
  InvariantReport r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
  EXPECT_EQ(r.live_blocks, 250u);
  EXPECT_GT(r.v1_pages, 0u);
  EXPECT_GT(r.v2_pages, 0u);
  EXPECT_GT(r.large_blocks, 0u);
}

TYPED_TEST(InvariantsTest, UnderflowIntoTheSlabHeaderIsReported) {
#ifdef HAKFUZZ_TEST_ASAN
  GTEST_SKIP() << "ASan reports the write itself (see sanitizer_test.cpp)";
#else
  for (auto env : {testing::v1_env(), testing::v2_env()}) {
    TypeParam pool(testing::options_with(env));
    char* first = static_cast<char*>(pool.alloc(4096));  // block 0 of a fresh slab
    ASSERT_TRUE(pool.check().ok);
    std::memset(first - 64, 0xAB, 16);  // a buggy program writes before its block
    InvariantReport r = pool.check();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.fault, InvariantFault::header_corrupted) << r.first_error;
  }
#endif
}

}  // namespace
}  // namespace hakmem
