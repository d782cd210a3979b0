// Pool::census (what the pool holds, slab by slab) and Pool::collect (the
// calling thread gives back what it holds): after a thread frees everything
// and collects, nothing of its stays owned, cached or pending.
#include <atomic>
#include <thread>

#include "pool_test_util.h"

namespace hakmem {
namespace {

template <class P>
class CensusTest : public ::testing::Test {};
TYPED_TEST_SUITE(CensusTest, testing::AllFlavours);

constexpr std::size_t kSize = 4096;  // class 1
constexpr int kCls = 1;

template <class P>
std::uint32_t owned_by_live_threads(const P& pool) {
  std::uint32_t n = 0;
  for (const SlabCensus& s : pool.census().slabs) n += s.owner == SlabOwner::live_thread;
  return n;
}

// What a thread's end leaves: every page orphaned (other threads adopt it)
// or cold (empty), none owned.
template <class P>
void expect_every_page_unowned(const P& pool) {
  for (const SlabCensus& s : pool.census().slabs) {
    EXPECT_EQ(s.owner, SlabOwner::none) << "slab " << s.slab;
    EXPECT_TRUE(s.queue == SlabQueue::orphan || s.queue == SlabQueue::cold) << static_cast<int>(s.queue);
  }
}

TYPED_TEST(CensusTest, OneEntryPerCommittedSlab) {
  TypeParam pool(testing::options_with(testing::v2_env("0x02")));  // class 1 by v2, the rest by v1
  EXPECT_TRUE(pool.census().slabs.empty());
  std::vector<void*> v2_blocks;
  for (std::uint32_t i = 0; i < kGeometry[kCls].capacity + 1; ++i) v2_blocks.push_back(pool.alloc(kSize));
  void* v1_block = pool.alloc(kClassSizes[0]);
  void* large = pool.alloc(200000);
  const Census c = pool.census();
  ASSERT_EQ(c.slabs.size(), 3u);
  EXPECT_EQ(c.v2_slabs[kCls], 2u);
  EXPECT_EQ(c.v1_slabs[0], 1u);
  EXPECT_EQ(c.large_blocks, 1u);
  EXPECT_GE(c.large_bytes, 200000u);
  std::uint32_t live = 0;
  for (std::uint32_t i = 0; i < c.slabs.size(); ++i) {
    const SlabCensus& s = c.slabs[i];
    EXPECT_EQ(s.slab, i);
    EXPECT_EQ(s.capacity, kGeometry[s.cls].capacity);
    EXPECT_EQ(s.used + s.free_stack, s.capacity);
    live += testing::live(s);
    if (s.kind == BlockKind::v1) {
      EXPECT_EQ(s.queue, SlabQueue::v1_partial);
      EXPECT_EQ(s.owner, SlabOwner::none);
    } else {
      EXPECT_TRUE(s.queue == SlabQueue::current || s.queue == SlabQueue::full) << static_cast<int>(s.queue);
      EXPECT_EQ(s.owner, SlabOwner::live_thread);
      EXPECT_NE(s.owner_slot, kNoOwnerSlot);
    }
  }
  EXPECT_EQ(live, kGeometry[kCls].capacity + 2);
  for (void* p : v2_blocks) pool.free(p);
  pool.free(v1_block);
  pool.free(large);
  EXPECT_EQ(pool.census().large_blocks, 0u);
}

TYPED_TEST(CensusTest, CollectGivesBackTheCacheAndEveryEmptyPage) {
  TypeParam pool(testing::options_with(testing::v2_env()));
  std::vector<void*> blocks;
  for (int i = 0; i < 200; ++i) blocks.push_back(pool.alloc(kSize));
  for (void* p : blocks) pool.free(p);
  Census before = pool.census();
  EXPECT_GT(before.cached_blocks, 0u);  // the free cache still holds some
  EXPECT_GT(owned_by_live_threads(pool), 0u);
  pool.collect();
  Census after = pool.census();
  EXPECT_EQ(after.cached_blocks, 0u);
  for (const SlabCensus& s : after.slabs) {
    EXPECT_EQ(s.queue, SlabQueue::cold) << "slab " << s.slab;
    EXPECT_EQ(s.owner, SlabOwner::none);
    EXPECT_EQ(s.used, 0u);
  }
  InvariantReport r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
  // The pool still works: the next allocation takes a cold page back.
  const std::uint64_t acquisitions = pool.os_counters().acquisitions;
  void* p = pool.alloc(kSize);
  EXPECT_NE(p, nullptr);
  EXPECT_EQ(pool.os_counters().acquisitions, acquisitions);
  pool.free(p);
}

TYPED_TEST(CensusTest, CollectDrainsRemoteFreesAndKeepsLiveBlocks) {
  TypeParam pool(testing::options_with(testing::v2_env()));
  std::vector<void*> blocks;
  for (int i = 0; i < 200; ++i) blocks.push_back(pool.alloc(kSize));
  std::thread([&] {
    for (int i = 0; i < 150; ++i) pool.free(blocks[i]);
    pool.collect();  // holds nothing here: a no-op
  }).join();
  Census pending = pool.census();
  EXPECT_EQ(pending.remote_pending, 150u);
  bool hinted = false;
  for (const SlabCensus& s : pending.slabs) hinted |= s.remote_pending && s.owner_hinted;
  EXPECT_TRUE(hinted);
  pool.collect();
  Census after = pool.census();
  EXPECT_EQ(after.remote_pending, 0u);
  std::uint32_t live = 0;
  for (const SlabCensus& s : after.slabs) {
    live += testing::live(s);
    if (s.used == 0) {
      EXPECT_EQ(s.queue, SlabQueue::cold) << "slab " << s.slab;
    } else {
      EXPECT_EQ(s.owner, SlabOwner::live_thread) << "slab " << s.slab;
    }
  }
  EXPECT_EQ(live, 50u);
  InvariantReport r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
  for (int i = 150; i < 200; ++i) EXPECT_EQ(pool.free(blocks[i]).route, FreeRoute::v2_local);
}

TYPED_TEST(CensusTest, AnExitedThreadsPagesAreOrphanedOrCold) {
  TypeParam pool(testing::options_with(testing::v2_env()));
  std::vector<void*> kept;
  std::thread([&] {
    for (int i = 0; i < 100; ++i) kept.push_back(pool.alloc(kSize));
    for (int i = 0; i < 50; ++i) pool.free(kept[i]);
  }).join();
  expect_every_page_unowned(pool);
  for (int i = 50; i < 100; ++i) pool.free(kept[i]);
}

// end_current_thread() is the exit without the exit: the same census while
// the thread still runs, and its next call makes it a new owner.
TYPED_TEST(CensusTest, AnEndedThreadLeavesWhatAnExitLeaves) {
  TypeParam pool(testing::options_with(testing::v2_env()));
  std::vector<void*> kept;
  std::thread([&] {
    for (int i = 0; i < 100; ++i) kept.push_back(pool.alloc(kSize));
    for (int i = 0; i < 50; ++i) pool.free(kept[i]);
    TypeParam::end_current_thread();
    expect_every_page_unowned(pool);
    void* again = pool.alloc(kSize);
    ASSERT_NE(again, nullptr);
    EXPECT_EQ(owned_by_live_threads(pool), 1u) << "the thread owns the page it took again";
    EXPECT_EQ(pool.free(again).route, FreeRoute::v2_local);
    TypeParam::end_current_thread();
    TypeParam::end_current_thread();  // a second end is a no-op
  }).join();
  EXPECT_TRUE(pool.check().ok);
  for (int i = 50; i < 100; ++i) pool.free(kept[i]);
}

// Any thread may collect at any time: four threads allocate, free their own
// and each other's blocks and collect now and then; nothing is lost.
TYPED_TEST(CensusTest, CollectRacesWithEverything) {
  TypeParam pool(testing::options_with(testing::v2_env()));
  constexpr int kThreads = 4, kSlots = 64;
  std::atomic<void*> slots[kSlots] = {};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      std::uint64_t x = 0x9E3779B97F4A7C15ull * (t + 1);
      for (int i = 0; i < 20000; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (x % 97 == 0) {
          pool.collect();
          continue;
        }
        void* mine = pool.alloc(kClassSizes[x % 3]);
        if (void* old = slots[(x >> 8) % kSlots].exchange(mine)) pool.free(old);
      }
      pool.collect();
    });
  for (auto& th : threads) th.join();
  for (auto& s : slots)
    if (void* p = s.exchange(nullptr)) pool.free(p);
  pool.collect();
  InvariantReport r = pool.check();
  EXPECT_TRUE(r.ok) << r.first_error;
  EXPECT_EQ(r.live_blocks, 0u);
  const Census c = pool.census();
  for (const SlabCensus& s : c.slabs) EXPECT_EQ(testing::live(s), 0u) << "slab " << s.slab;
}

}  // namespace
}  // namespace hakmem
