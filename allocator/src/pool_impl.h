// Internal state of one Pool, shared by the per-concept source files:
// page_of.cpp (pointer classification), arena.cpp (slabs), v1_pool.cpp,
// v2_alloc.cpp, v2_free.cpp, v2_remote.cpp (remote frees, orphan/adopt),
// large.cpp, invariants.cpp and pool.cpp (the facade).
//
// Memory layout. The arena is one reserved range of 256 KiB slabs, committed
// one at a time. A slab belongs to v1 or v2 and to one size class for the
// pool's whole life, so a stale pointer always classifies the same way and a
// double free is always seen as one. A slab holds a 64-byte header, then
// `capacity` blocks; page metadata lives out of line in PageDesc, so user
// writes can never corrupt it and the allocator never reads a block.
#pragma once

#include <atomic>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>
#include <vector>

#include "hakmem/pool.h"
#include "os.h"
#include "sanitizers.h"
#include "thread_registry.h"

#if HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED
#define HAKMEM_FLAVOR_NS stats_on
#else
#define HAKMEM_FLAVOR_NS stats_off
#endif

namespace hakmem::HAKMEM_FLAVOR_NS {

// ---------------------------------------------------------------- geometry
inline constexpr std::size_t kSlabShift = 18;
inline constexpr std::size_t kSlabSize = std::size_t{1} << kSlabShift;  // 256 KiB
inline constexpr std::uint32_t kSlabHeaderBytes = 64;
inline constexpr std::uint32_t kMaxBlocksPerSlab = (kSlabSize - kSlabHeaderBytes) / kClassSizes[0];
static_assert(kMaxBlocksPerSlab < 255, "block indices are bytes");
inline constexpr std::uint64_t kSlabMagic = 0x48414B4D454D5632ull;  // "HAKMEMV2"

struct ClassGeometry {
  std::uint32_t block_size;
  std::uint32_t capacity;
  std::uint32_t area_end;    // slab offset one past the last block
  std::uint64_t reciprocal;  // ceil(2^40 / block_size): exact division for offsets < 2^18
};
constexpr ClassGeometry make_geometry(int cls) {
  std::uint32_t bs = static_cast<std::uint32_t>(kClassSizes[cls]);
  std::uint32_t cap = static_cast<std::uint32_t>((kSlabSize - kSlabHeaderBytes) / bs);
  return {bs, cap, kSlabHeaderBytes + cap * bs, ((std::uint64_t{1} << 40) + bs - 1) / bs};
}
inline constexpr std::array<ClassGeometry, kNumClasses> kGeometry = {
    make_geometry(0), make_geometry(1), make_geometry(2), make_geometry(3),
    make_geometry(4), make_geometry(5), make_geometry(6)};

enum class PageKind : std::uint8_t { unused = 0, v1 = 1, v2 = 2 };
enum class BlockState : std::uint8_t { free = 0, allocated = 1, remote = 2 };
// Which list a page is on; owner-only lists are touched by the owner thread,
// the others under the matching mutex.
enum class PageList : std::uint8_t { none, current, partial, full, orphan, cold, v1_partial, v1_full };

struct ThreadCtx;

struct SlabHeader {
  std::uint64_t magic;
  std::uint32_t slab_index;
  std::uint8_t kind, cls;
};

struct PageDesc {
  std::atomic<PageKind> kind{PageKind::unused};  // fixed once the slab is published
  std::uint8_t cls = 0;
  PageList list = PageList::none;
  std::uint16_t capacity = 0;
  std::uint16_t used = 0;                  // handed out, not back on the free stack
  std::uint16_t free_top = 0;              // entries in free_stack
  std::uint32_t index = 0;                 // slab index in the arena
  std::atomic<ThreadCtx*> owner{nullptr};  // v2 only; null = orphaned or cold
  PageDesc* prev = nullptr;
  PageDesc* next = nullptr;
  // Remote frees: a push-only lock-free stack of block indices (+1, 0 = empty)
  // that the owner takes whole with one exchange, so there is no ABA.
  std::atomic<std::uint16_t> remote_head{0};
  std::atomic<BlockState> state[kMaxBlocksPerSlab];
  std::uint8_t free_stack[kMaxBlocksPerSlab];
  std::uint8_t remote_next[kMaxBlocksPerSlab];  // written by the pusher before its release CAS
};

// One intrusive doubly linked list of pages.
struct PageQueue {
  PageDesc* head = nullptr;
  void push(PageDesc* p, PageList id);
  void remove(PageDesc* p);
  PageDesc* pop(PageList id_after);
};

// A thread's v2 pages in one pool. Lives as long as the pool (recycled when a
// new thread takes the slot), so a remote freer holding a stale owner pointer
// only ever sets a harmless hint.
struct ThreadCtx {
  struct ClassPages {
    PageDesc* current = nullptr;
    PageQueue partial, full;
  };
  ClassPages classes[kNumClasses];
  std::uint32_t slot = detail::kNoThreadSlot;
  alignas(64) std::atomic<std::uint8_t> remote_hint[kNumClasses] = {};
};

// Where a pointer lies, computed without touching any slab memory.
struct Location {
  enum class Where : std::uint8_t { outside, unused_slab, slab } where = Where::outside;
  PageDesc* desc = nullptr;
  PageKind kind = PageKind::unused;
  int cls = -1;
  std::uint32_t block = 0;
  Verdict geometry = Verdict::unknown;  // ok / out_of_range / misaligned within the slab
  // The v2 view (page_of): header_missing unless a live v2 page.
  Verdict v2_verdict() const {
    if (where == Where::outside) return Verdict::unknown;
    if (kind != PageKind::v2) return Verdict::header_missing;
    return geometry;
  }
};

#if HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED
struct V2Stats {
  std::atomic<std::uint64_t> rows[kNumStatRows][kNumV2Stats] = {};
};
#define HAKMEM_V2_COUNT(impl, row, name) \
  (impl).stats.rows[row][static_cast<int>(V2Stat::name)].fetch_add(1, std::memory_order_relaxed)
#else
#define HAKMEM_V2_COUNT(impl, row, name) ((void)0)
#endif

struct LargeRegistry {
  static constexpr std::size_t kMaxTombstones = 4096;
  std::mutex mutex;
  std::unordered_map<std::uintptr_t, std::size_t> live;  // start -> mapped bytes
  // Recently freed starts, so a double free of a large block is named as one.
  std::set<std::uintptr_t> tombstones;
  std::deque<std::uintptr_t> tombstone_order;
};

struct Pool::Impl final : detail::ThreadExitListener {
  explicit Impl(PoolOptions options);
  ~Impl();

  // pool.cpp
  void apply_config(const Config& cfg);
  StatsSnapshot snapshot() const;
  void report_rejection(const void* ptr, const FreeOutcome& out);

  // arena.cpp
  PageDesc* acquire_slab(PageKind kind, int cls);
  std::uint8_t* slab_base(const PageDesc* d) const { return arena + std::size_t{d->index} * kSlabSize; }
  void* block_address(const PageDesc* d, std::uint32_t block) const {
    return slab_base(d) + kSlabHeaderBytes + std::size_t{block} * kGeometry[d->cls].block_size;
  }

  // page_of.cpp
  Location locate(const void* ptr) const;

  // v1_pool.cpp
  void* v1_alloc(int cls);
  FreeOutcome v1_free(const Location& loc, FreeOutcome out);

  // v2_alloc.cpp
  void* v2_alloc(int cls);
  PageDesc* v2_refill(ThreadCtx* ctx, int cls);
  void* pop_block(PageDesc* d);
  ThreadCtx* my_ctx(bool create);

  // v2_free.cpp
  FreeOutcome free(void* ptr);
  FreeOutcome v2_free_block(const Location& loc, FreeOutcome out);

  // v2_remote.cpp
  void remote_push(PageDesc* d, std::uint32_t block);
  std::uint32_t drain_remote(PageDesc* d);  // owner only; returns blocks reclaimed
  PageDesc* drain_owned_pages(ThreadCtx* ctx, int cls);
  PageDesc* take_shared_page(ThreadCtx* ctx, int cls);
  void release_to_cold(PageDesc* d);
  void on_thread_exit(std::uint32_t slot) override;

  // large.cpp
  void* large_alloc(std::size_t size);
  // nullopt: not a large block, nor a recently freed one
  std::optional<FreeOutcome> large_free(void* ptr);
  std::size_t large_usable(const void* ptr) const;

  // invariants.cpp
  InvariantReport check() const;

  // ---------------------------------------------------------------- state
  PoolOptions options;
  mutable std::mutex config_mutex;
  Config cfg;  // under config_mutex
  // The hot-path view of cfg: bit c = class c allocates through v2.
  std::atomic<std::uint8_t> v2_route_mask{0};
  std::atomic<InvalidFreePolicy> invalid_free{InvalidFreePolicy::report};

  detail::OsLayer os;
  std::uint8_t* arena = nullptr;
  std::size_t arena_slabs = 0;
  PageDesc* descs = nullptr;  // arena_slabs entries, mapped lazily by the OS
  std::size_t descs_bytes = 0;
  mutable std::mutex slab_mutex;
  std::atomic<std::uint32_t> slabs_used{0};  // descs[0, slabs_used) are constructed

  struct V1Class {
    mutable std::mutex mutex;
    PageQueue partial, full;
  } v1[kNumClasses];

  struct V2Shared {
    mutable std::mutex mutex;
    PageQueue orphans, cold;
  } v2_shared[kNumClasses];

  std::atomic<ThreadCtx*> ctx_by_slot[detail::kMaxThreadSlots] = {};
  mutable std::mutex ctx_mutex;
  std::vector<std::unique_ptr<ThreadCtx>> ctxs;  // all ever made, under ctx_mutex
  std::vector<ThreadCtx*> idle_ctxs;             // reusable after their thread exited

  mutable LargeRegistry large;
  std::uintptr_t arena_begin = 0, arena_end = 0;

#if HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED
  V2Stats stats;
#endif
};

}  // namespace hakmem::HAKMEM_FLAVOR_NS
