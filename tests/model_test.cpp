// The reference model on its own, no pool involved: what it predicts for
// routes, frees, crafted bad pointers, page_of verdicts and counters, and
// how it tracks live and freed blocks.
#include "oracle/judge.h"
#include "pool_test_util.h"

namespace hakfuzz::model {
namespace {

using hakmem::V2Stat;

hakmem::Config v2_config(std::uint32_t classes) {
  hakmem::Config c;
  c.v2_enabled = 1;
  c.v2_classes = classes;
  return c;
}

// A block at the first block start of a slab-aligned fake address (never
// dereferenced: the model computes addresses only).
Block block_at(BlockKind kind, int cls, std::uintptr_t slab = std::uintptr_t{1} << 40, int owner = 0) {
  Block b;
  b.ptr = reinterpret_cast<char*>(slab + 64);
  b.kind = kind;
  b.cls = cls;
  b.size = b.usable = hakmem::kClassSizes[cls];
  b.id = 7;
  b.owner = owner;
  return b;
}

TEST(ModelRouting, FollowsEnabledAndTheClassMask) {
  Routing off(hakmem::Config{});
  EXPECT_FALSE(off.routed(0));
  EXPECT_FALSE(off.enters_v2(-1));
  EXPECT_EQ(off.kind_for(3000), BlockKind::v1);
  EXPECT_EQ(off.kind_for(hakmem::kMaxClassSize + 1), BlockKind::large);
  Routing some(v2_config(0x05));
  EXPECT_TRUE(some.routed(0));
  EXPECT_FALSE(some.routed(1));
  EXPECT_TRUE(some.routed(2));
  EXPECT_EQ(some.kind_for(0), BlockKind::v2);
  EXPECT_EQ(some.kind_for(4096), BlockKind::v1);
  EXPECT_TRUE(some.enters_v2(-1));  // a pointer in no class's page, while v2 routes anything
  hakmem::Config disabled = v2_config(0x7F);
  disabled.v2_enabled = 0;
  EXPECT_EQ(Routing(disabled).mask(), 0);
}

TEST(ModelFree, RouteFollowsBlockKindOwnerAndOrphanhood) {
  const Routing r(v2_config(0x7F));
  Block v2 = block_at(BlockKind::v2, 1, std::uintptr_t{1} << 40, /*owner=*/2);
  EXPECT_EQ(expect_free(v2, 2, r).route, FreeRoute::v2_local);
  EXPECT_EQ(expect_free(v2, 3, r).route, FreeRoute::v2_remote);
  EXPECT_FALSE(expect_free(v2, 3, r).either_v2_route);
  v2.orphaned = true;
  EXPECT_TRUE(expect_free(v2, 3, r).either_v2_route);
  // A v1 block of a class now routed to v2: v2's page_of misses, v1 frees it.
  const Expected v1 = expect_free(block_at(BlockKind::v1, 1), 0, r);
  EXPECT_EQ(v1.route, FreeRoute::v1);
  EXPECT_TRUE(v1.entered);
  EXPECT_EQ(v1.page_of, Verdict::header_missing);
  Block large = block_at(BlockKind::large, 0);
  large.cls = -1;
  EXPECT_EQ(expect_free(large, 0, r).route, FreeRoute::large);
  EXPECT_FALSE(expect_free(large, 0, r).entered);
}

TEST(ModelFree, MatchesChecksEveryField) {
  const Expected want =
      expect_free(block_at(BlockKind::v2, 3, std::uintptr_t{1} << 40, 1), 0, Routing(v2_config(0x7F)));
  FreeOutcome got{FreeRoute::v2_remote, Verdict::ok, true, Verdict::ok, 3};
  EXPECT_TRUE(want.matches(got));
  got.cls = 2;
  EXPECT_FALSE(want.matches(got));
  got.cls = 3;
  got.route = FreeRoute::v2_local;
  EXPECT_FALSE(want.matches(got));
}

TEST(ModelBadFree, EachKindHasItsVerdictAndReason) {
  const Routing r(v2_config(0x7F));
  const Block v2 = block_at(BlockKind::v2, 2);
  const std::uintptr_t arena_end = std::uintptr_t{1} << 41;
  int stack = 0;
  BadPointer interior = craft_bad_free(BadKind::interior, &v2, 16, arena_end, &stack, r);
  EXPECT_EQ(interior.ptr, v2.ptr + 17);
  EXPECT_EQ(interior.want.page_of, Verdict::misaligned);
  EXPECT_EQ(interior.want.reason, Verdict::misaligned);
  BadPointer header = craft_bad_free(BadKind::slab_header, &v2, 70, arena_end, &stack, r);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(header.ptr), (std::uintptr_t{1} << 40) + 6);
  EXPECT_EQ(header.want.page_of, Verdict::out_of_range);
  BadPointer twice = craft_bad_free(BadKind::double_free, &v2, 0, arena_end, &stack, r);
  EXPECT_EQ(twice.want.page_of, Verdict::ok);
  EXPECT_EQ(twice.want.reason, Verdict::double_free);
  BadPointer outside = craft_bad_free(BadKind::stack, nullptr, 0, arena_end, &stack, r);
  EXPECT_EQ(outside.want.page_of, Verdict::unknown);
  EXPECT_EQ(outside.want.reason, Verdict::not_ours);
  EXPECT_TRUE(outside.want.entered);
  BadPointer unused = craft_bad_free(BadKind::unused_slab, nullptr, 5, arena_end, &stack, r);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(unused.ptr), arena_end - (256 << 10) + 5);
  EXPECT_EQ(unused.want.page_of, Verdict::header_missing);
  // The same pointers with v2 disabled never enter v2.
  EXPECT_FALSE(
      craft_bad_free(BadKind::stack, nullptr, 0, arena_end, &stack, Routing(hakmem::Config{})).want.entered);
}

TEST(ModelGeometry, VerdictsFollowTheSlabLayout) {
  const Block b = block_at(BlockKind::v2, 3);  // 16 KiB blocks
  const auto slab = std::uintptr_t{1} << 40;
  EXPECT_EQ(geometric_verdict(b, slab), Verdict::out_of_range);
  EXPECT_EQ(geometric_verdict(b, slab + 64), Verdict::ok);
  EXPECT_EQ(geometric_verdict(b, slab + 65), Verdict::misaligned);
  EXPECT_EQ(geometric_verdict(b, slab + 64 + 16384), Verdict::ok);
  EXPECT_EQ(geometric_verdict(b, slab + (256 << 10) - 1), Verdict::out_of_range);  // tail past the last block
  EXPECT_EQ(geometric_verdict(b, slab + (256 << 10)), Verdict::unknown);           // the next slab
  EXPECT_EQ(geometric_verdict(block_at(BlockKind::v1, 3), slab + 64), Verdict::header_missing);
  for (std::uintptr_t a : probe_addresses(b)) EXPECT_NE(a, 0u);
}

TEST(ModelTally, CountsWhatEachOutcomeImplies) {
  Tally t;
  t.alloc(2, /*routed=*/true, BlockKind::v2);
  t.alloc(2, true, BlockKind::v1);  // a refill that fell back
  t.alloc(-1, false, BlockKind::large);
  EXPECT_EQ(t.expected(2, V2Stat::alloc_calls), 2u);
  EXPECT_EQ(t.v2_allocs[2], 1u);
  EXPECT_EQ(t.v1_allocs[2], 1u);
  t.free({FreeRoute::v2_remote, Verdict::ok, true, Verdict::ok, 2});
  t.free({FreeRoute::rejected, Verdict::misaligned, true, Verdict::misaligned, 2});
  t.free({FreeRoute::rejected, Verdict::unknown, true, Verdict::not_ours, -1});
  EXPECT_EQ(t.expected(2, V2Stat::free_calls), 2u);
  EXPECT_EQ(t.expected(2, V2Stat::free_fast), 1u);
  EXPECT_EQ(t.expected(2, V2Stat::page_of_fail_misaligned), 1u);
  EXPECT_EQ(t.expected(2, V2Stat::free_fallback_v1), 1u);
  EXPECT_EQ(t.expected(hakmem::kNoClassRow, V2Stat::page_of_fail_unknown), 1u);
  EXPECT_EQ(t.remote_frees(), 1u);
  EXPECT_EQ(t.rejected, 2u);
}

TEST(ModelTally, ChecksCountersExactlyAndByRelation) {
  Tally t;
  t.alloc(0, true, BlockKind::v2);
  hakmem::StatsSnapshot s;
  s.compiled = true;
  auto set = [&](int row, V2Stat st, std::uint64_t v) { s.rows[row][static_cast<int>(st)] = v; };
  set(0, V2Stat::alloc_calls, 1);
  set(0, V2Stat::alloc_refill, 1);
  EXPECT_FALSE(t.check_counters(s));
  set(0, V2Stat::alloc_refill, 0);
  EXPECT_NE(t.check_counters(s).value_or("").find("alloc_fast + alloc_refill"), std::string::npos);
  set(0, V2Stat::alloc_refill, 1);
  set(0, V2Stat::alloc_refill_fail, 1);
  EXPECT_NE(t.check_counters(s).value_or("").find("counter alloc_refill_fail of row 0 is 1, model expects 0"),
            std::string::npos);
  t.alloc(0, true, BlockKind::v1, /*refill_failed=*/true);
  set(0, V2Stat::alloc_calls, 2);
  set(0, V2Stat::alloc_refill, 2);
  set(0, V2Stat::alloc_fallback_v1, 1);
  EXPECT_FALSE(t.check_counters(s));
  set(0, V2Stat::alloc_calls, 3);
  EXPECT_NE(t.check_counters(s).value_or("").find("counter alloc_calls of row 0 is 3"), std::string::npos);
  EXPECT_FALSE(t.check_counters(hakmem::StatsSnapshot{}));  // compiled out: nothing to check
}

TEST(ModelFaults, EachAllocationReturnsExactlyWhatTheFailedAcquisitionsImply) {
  const FaultWindow w{3, 2};  // acquisitions 3 and 4 fail
  EXPECT_TRUE(w.fails(3) && w.fails(4) && !w.fails(2) && !w.fails(5));
  EXPECT_FALSE(FaultWindow{}.fails(1));
  // v2: a fresh slab, a failed refill then v1 from a page it has or from a new one.
  EXPECT_FALSE(check_acquisitions(BlockKind::v2, BlockKind::v2, 1, 0, w));
  EXPECT_FALSE(check_acquisitions(BlockKind::v2, BlockKind::v2, 2, 1, w));
  EXPECT_FALSE(check_acquisitions(BlockKind::v2, BlockKind::v1, 3, 1, w));
  EXPECT_FALSE(check_acquisitions(BlockKind::v2, BlockKind::none, 3, 2, w));
  EXPECT_FALSE(check_acquisitions(BlockKind::v2, BlockKind::v1, 4, 2, w));
  EXPECT_TRUE(check_acquisitions(BlockKind::v2, BlockKind::none, 3, 1, w));  // null though v1 was never asked
  EXPECT_TRUE(check_acquisitions(BlockKind::v2, BlockKind::v2, 3, 2, w));    // a failed refill retried
  EXPECT_TRUE(check_acquisitions(BlockKind::v2, BlockKind::v1, 2, 1, w));    // v1 though the refill succeeded
  EXPECT_TRUE(check_acquisitions(BlockKind::v2, BlockKind::none, 1, 0, w));
  // v1 and large.
  EXPECT_FALSE(check_acquisitions(BlockKind::v1, BlockKind::none, 3, 1, w));
  EXPECT_TRUE(check_acquisitions(BlockKind::v1, BlockKind::v1, 3, 1, w));
  EXPECT_FALSE(check_acquisitions(BlockKind::large, BlockKind::large, 5, 1, w));
  EXPECT_TRUE(check_acquisitions(BlockKind::large, BlockKind::large, 4, 1, w));
  EXPECT_TRUE(check_acquisitions(BlockKind::large, BlockKind::large, 5, 0, w));
  EXPECT_TRUE(v2_refill_failed(BlockKind::v2, 3, 1, w));
  EXPECT_FALSE(v2_refill_failed(BlockKind::v2, 2, 1, w));
  EXPECT_FALSE(v2_refill_failed(BlockKind::v1, 3, 1, w));
}

TEST(ModelLiveSet, OverlapsAreRefusedAndFreedRangesExpireWhenReused) {
  static char arena[4 * 4096];
  LiveSet live;
  Block a{arena, 100, 4096, BlockKind::v1, 1};
  EXPECT_FALSE(live.add(a));
  EXPECT_EQ(live.blocks().back().id, 1u);
  Block inside{arena + 100, 10, 4096, BlockKind::v1, 1};
  EXPECT_TRUE(live.add(inside));
  Block b{arena + 4096, 100, 4096, BlockKind::v1, 1};
  EXPECT_FALSE(live.add(b));
  EXPECT_EQ(live.take(0).id, 1u);
  EXPECT_EQ(live.freed().size(), 1u);
  EXPECT_EQ(live.live_bytes(), 4096u);
  EXPECT_FALSE(live.add(a));  // handed out again: no longer a double-free candidate
  EXPECT_TRUE(live.freed().empty());
  live.orphan_blocks_of(0);
  EXPECT_TRUE(live.blocks()[0].orphaned);
}

TEST(ModelRouteFits, EachKindHasItsRoutes) {
  EXPECT_TRUE(route_fits(BlockKind::v2, FreeRoute::v2_local));
  EXPECT_TRUE(route_fits(BlockKind::v2, FreeRoute::v2_remote));
  EXPECT_FALSE(route_fits(BlockKind::v2, FreeRoute::v1));
  EXPECT_TRUE(route_fits(BlockKind::v1, FreeRoute::v1));
  EXPECT_FALSE(route_fits(BlockKind::v1, FreeRoute::v2_remote));
  EXPECT_TRUE(route_fits(BlockKind::large, FreeRoute::large));
  EXPECT_FALSE(route_fits(BlockKind::large, FreeRoute::v1));
  for (BlockKind k : {BlockKind::v1, BlockKind::v2, BlockKind::large, BlockKind::none}) {
    EXPECT_FALSE(route_fits(k, FreeRoute::rejected));
    EXPECT_FALSE(route_fits(k, FreeRoute::null));
  }
}

}  // namespace
}  // namespace hakfuzz::model
