#include <cstring>

#include "pool_test_util.h"

namespace hakmem {
namespace {

template <class P>
class V1Test : public ::testing::Test {};
TYPED_TEST_SUITE(V1Test, testing::AllFlavours);

TYPED_TEST(V1Test, AllocFreeAndContentsSurvive) {
  TypeParam pool(testing::options_with(testing::v1_env()));
  std::vector<std::pair<unsigned char*, std::size_t>> blocks;
  for (int i = 0; i < 300; ++i) {
    std::size_t size = 1 + (i * 7919) % kMaxClassSize;
    auto* p = static_cast<unsigned char*>(pool.alloc(size));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(pool.block_info(p).kind, BlockKind::v1);
    std::memset(p, i & 0xFF, size);
    blocks.emplace_back(p, size);
  }
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    auto [p, size] = blocks[i];
    for (std::size_t k = 0; k < size; k += 97) ASSERT_EQ(p[k], i & 0xFF);
    FreeOutcome out = pool.free(p);
    EXPECT_EQ(out.route, FreeRoute::v1);
    EXPECT_FALSE(out.entered_v2);
  }
  InvariantReport r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
  EXPECT_EQ(r.live_blocks, 0u);
  EXPECT_EQ(testing::total(pool.stats(), V2Stat::alloc_calls), 0u);
}

TYPED_TEST(V1Test, ForeignAndDoubleFreesAreRejectedWithoutCorruption) {
  TypeParam pool(testing::options_with(testing::v1_env()));
  char* a = static_cast<char*>(pool.alloc(8192));
  char* b = static_cast<char*>(pool.alloc(8192));
  int local = 0;
  auto heap = std::make_unique<int>(0);
  EXPECT_EQ(pool.free(&local).reason, Verdict::not_ours);
  EXPECT_EQ(pool.free(heap.get()).reason, Verdict::not_ours);
  EXPECT_EQ(pool.free(a + 8).reason, Verdict::misaligned);
  EXPECT_EQ(pool.free(a - 64 - 0).route, FreeRoute::rejected);  // the slab header
  EXPECT_EQ(pool.free(a).route, FreeRoute::v1);
  FreeOutcome twice = pool.free(a);
  EXPECT_EQ(twice.route, FreeRoute::rejected);
  EXPECT_EQ(twice.reason, Verdict::double_free);
  EXPECT_EQ(twice.cls, 2);
  // A never-committed slab inside the arena.
  EXPECT_EQ(pool.free(reinterpret_cast<void*>(pool.arena_base() + (100u << 20))).reason, Verdict::not_ours);
  InvariantReport r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
  EXPECT_EQ(r.live_blocks, 1u);
  // The freed block is reused, the live one untouched.
  EXPECT_EQ(pool.alloc(8192), a);
  EXPECT_EQ(pool.free(b).route, FreeRoute::v1);
}

TEST(V1Policy, ReportPolicyPrintsOneDiagnosticAndContinues) {
  char buf[4096] = {};
  std::FILE* sink = fmemopen(buf, sizeof buf, "w");
  PoolOptions o = testing::options_with({});
  o.report = sink;
  {
    PoolStatsOff pool(o);
    int local;
    EXPECT_EQ(pool.free(&local).route, FreeRoute::rejected);
    void* p = pool.alloc(100);
    EXPECT_NE(p, nullptr);
  }
  std::fclose(sink);
  EXPECT_NE(std::string(buf).find("invalid free"), std::string::npos) << buf;
  EXPECT_NE(std::string(buf).find("not_ours"), std::string::npos) << buf;
}

// A pool without a report stream makes no report (writing one would crash
// on the null stream), and its policies hold: a rejection is returned, the
// abort policy still aborts.
TEST(V1Policy, NoReportStreamRejectsQuietly) {
  PoolOptions o = testing::options_with({{"HAKMEM_POOL_V2_STATS", "1"}});
  o.report = nullptr;
  PoolStatsOn pool(o);
  int local;
  EXPECT_EQ(pool.free(&local).reason, Verdict::not_ours);
  EXPECT_NE(pool.alloc(100), nullptr);
}  // teardown with HAKMEM_POOL_V2_STATS=1 and no stream: no table

TEST(V1PolicyDeathTest, AbortPolicyAbortsWithoutAReportStream) {
  EXPECT_DEATH(
      {
        PoolOptions o = testing::options_with({{"HAKMEM_POOL_INVALID_FREE", "abort"}});
        o.report = nullptr;
        PoolStatsOff pool(o);
        int local;
        pool.free(&local);
      },
      "");
}

TEST(V1PolicyDeathTest, AbortPolicyAborts) {
  EXPECT_DEATH(
      {
        PoolStatsOff pool(testing::options_with({{"HAKMEM_POOL_INVALID_FREE", "abort"}}));
        int local;
        pool.free(&local);
      },
      "invalid free");
}

}  // namespace
}  // namespace hakmem
