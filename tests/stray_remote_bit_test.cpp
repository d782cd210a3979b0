// A double free racing the owner's own free of the same block: the remote
// free read the block allocated and claims its bit after the owner freed it.
// The bit is then stray (the drain skips blocks that are not allocated), and
// if the page goes cold before any drain, the bit must not survive into the
// page's next life, where the block is handed out again and a drain would
// take it back while live.
#include <thread>
#include <vector>

#include "pause_at.h"
#include "pool_test_util.h"

namespace hakmem {
namespace {

constexpr std::size_t kSize = 4096;  // class 1
constexpr std::uint32_t kCapacity = kGeometry[1].capacity;

TEST(StrayRemoteBit, DoesNotOutliveAColdPage) {
  PoolTester pool(testing::options_with(testing::v2_env("0x7F"), {}));
  std::vector<void*> page;  // every block of one page, allocated by this thread
  for (std::uint32_t i = 0; i < kCapacity; ++i) page.push_back(pool.alloc(kSize));
  void* next = pool.alloc(kSize);  // a second page becomes current: the first can go cold
  void* victim = page[5];
  // The double free stops right before it claims the bit; meanwhile the
  // owner frees the whole page and gives it back (collect): the page is cold.
  free_paused(pool, victim, sched::Point::remote_free_fetch_or, [&] {
    for (void* p : page) EXPECT_EQ(pool.free(p).route, FreeRoute::v2_local);
    pool.collect();
    EXPECT_EQ(pool.census().slabs[*pool.arena_offset(victim) / kSlabSize].queue, SlabQueue::cold);
  });
  // Another thread takes the cold page and gets every block of it back,
  // the victim included, then refills: its drain must not free the victim.
  std::thread([&] {
    std::vector<void*> again;
    for (std::uint32_t i = 0; i < kCapacity; ++i) again.push_back(pool.alloc(kSize));
    EXPECT_NE(std::find(again.begin(), again.end(), victim), again.end()) << "the cold page was not reused";
    for (int i = 0; i < 3; ++i) again.push_back(pool.alloc(kSize));  // refills drain
    EXPECT_TRUE(pool.block_info(victim).live) << "a stray remote bit freed a live block";
    for (void* p : again) EXPECT_EQ(pool.free(p).reason, Verdict::ok);
  }).join();
  pool.free(next);
  const InvariantReport r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
}

}  // namespace
}  // namespace hakmem
