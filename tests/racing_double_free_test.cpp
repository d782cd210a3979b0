// A double free on another thread racing the owner's own free of the same
// block. The pool promises linearizable frees: of two frees of one life of
// a block exactly one succeeds, and a block is handed out again only after
// a free that succeeded. The remote free below is stopped right before it
// claims the block, after it read the block allocated.
#include <algorithm>
#include <thread>
#include <vector>

#include "pause_at.h"
#include "pool_test_util.h"

namespace hakmem {
namespace {

constexpr std::size_t kSize = 4096;  // class 1
constexpr std::uint32_t kCapacity = kGeometry[1].capacity;
// Where a remote free decides that the block is its to free.
constexpr sched::Point kRemoteClaim = sched::Point::remote_free_claim;

bool succeeded(FreeOutcome o) { return o.route != FreeRoute::rejected && o.route != FreeRoute::null; }

// Every block of one page, allocated by this thread: the page is full and current.
std::vector<void*> fill_one_page(PoolTester& pool) {
  std::vector<void*> page;
  for (std::uint32_t i = 0; i < kCapacity; ++i) page.push_back(pool.alloc(kSize));
  return page;
}

// The owner frees the victim while the double free waits to claim it; the
// double free ends before the owner allocates again, so both frees are of
// the victim's first life and one must fail. Then the owner gets the victim
// back from its free cache and refills: no drain may free it again.
TEST(RacingDoubleFree, OneOfTwoFreesOfOneLifeSucceeds) {
  PoolTester pool(testing::options_with(testing::v2_env("0x7F"), {}));
  std::vector<void*> live = fill_one_page(pool);
  void* victim = live[5];
  live.erase(live.begin() + 5);
  FreeOutcome owners{};
  const FreeOutcome racing = free_paused(pool, victim, kRemoteClaim, [&] { owners = pool.free(victim); });
  EXPECT_NE(succeeded(owners), succeeded(racing)) << "owner's free: " << free_route_name(owners.route)
                                                  << ", racing free: " << free_route_name(racing.route);
  if (!succeeded(owners)) {
    // The racing free won: the victim's free is its, pending for the owner.
    EXPECT_FALSE(pool.block_info(victim).live);
  } else {
    void* again = pool.alloc(kSize);
    EXPECT_EQ(again, victim) << "the owner's free cache did not hand the victim back";
    live.push_back(again);
    for (int i = 0; i < 4; ++i) {  // the page is full: these refill and drain
      void* p = pool.alloc(kSize);
      EXPECT_NE(p, victim) << "a live block was handed out twice";
      live.push_back(p);
    }
    EXPECT_TRUE(pool.block_info(victim).live) << "a drain freed a live block";
  }
  const InvariantReport mid = pool.check();
  EXPECT_TRUE(mid.ok) << mid.first_error;
  for (void* p : live) EXPECT_EQ(pool.free(p).reason, Verdict::ok);
  const InvariantReport end = pool.check();
  EXPECT_TRUE(end.ok) << end.first_error;
  EXPECT_EQ(end.live_blocks, 0u);
}

// The double free waits to claim the victim while the owner frees it and
// allocates it again: the racing free then ends during the victim's second
// life, and freeing that life is what a free of a live pointer does.
TEST(RacingDoubleFree, AFreeThatEndsAfterTheReuseFreesTheNewLife) {
  PoolTester pool(testing::options_with(testing::v2_env("0x7F"), {}));
  std::vector<void*> live = fill_one_page(pool);
  void* victim = live[5];
  live.erase(live.begin() + 5);
  const FreeOutcome racing = free_paused(pool, victim, kRemoteClaim, [&] {
    EXPECT_EQ(pool.free(victim).route, FreeRoute::v2_local);
    EXPECT_EQ(pool.alloc(kSize), victim);
  });
  EXPECT_EQ(racing.route, FreeRoute::v2_remote);
  EXPECT_FALSE(pool.block_info(victim).live);
  // The refill drains the victim and may hand it out: it is free.
  for (int i = 0; i < 4; ++i) live.push_back(pool.alloc(kSize));
  for (void* p : live) EXPECT_EQ(pool.free(p).reason, Verdict::ok);
  const InvariantReport end = pool.check();
  EXPECT_TRUE(end.ok) << end.first_error;
  EXPECT_EQ(end.live_blocks, 0u);
}

// The owner frees the whole page and gives it back (collect) while the
// double free waits: the page is cold. The next thread to take the page gets
// every block back, the victim included, and refills: the double free must
// leave nothing on the page that frees the victim again.
TEST(RacingDoubleFree, LeavesNothingOnAColdPage) {
  PoolTester pool(testing::options_with(testing::v2_env("0x7F"), {}));
  std::vector<void*> page = fill_one_page(pool);
  void* next = pool.alloc(kSize);  // a second page becomes current: the first can go cold
  void* victim = page[5];
  const FreeOutcome racing = free_paused(pool, victim, kRemoteClaim, [&] {
    for (void* p : page) EXPECT_EQ(pool.free(p).route, FreeRoute::v2_local);
    pool.collect();
    EXPECT_EQ(pool.census().slabs[*pool.arena_offset(victim) / kSlabSize].queue, SlabQueue::cold);
  });
  EXPECT_EQ(racing.reason, Verdict::double_free);
  std::thread([&] {
    std::vector<void*> again;
    for (std::uint32_t i = 0; i < kCapacity; ++i) again.push_back(pool.alloc(kSize));
    EXPECT_NE(std::find(again.begin(), again.end(), victim), again.end()) << "the cold page was not reused";
    for (int i = 0; i < 3; ++i) again.push_back(pool.alloc(kSize));  // refills drain
    EXPECT_TRUE(pool.block_info(victim).live) << "a double free freed a live block";
    for (void* p : again) EXPECT_EQ(pool.free(p).reason, Verdict::ok);
  }).join();
  pool.free(next);
  const InvariantReport r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
}

}  // namespace
}  // namespace hakmem
