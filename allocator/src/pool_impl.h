// Internal state of one Pool, shared by the per-concept source files:
// arena.cpp (slabs), alloc.cpp (the allocation path), free.cpp (the free
// path), v1_pool.cpp, v2_remote.cpp (remote frees, orphan/adopt), large.cpp,
// invariants.cpp and pool.cpp (the facade). page_of.h holds pointer
// classification, inline because every free runs it.
//
// Memory layout. The arena is one reserved range of 256 KiB slabs, committed
// one at a time. A slab belongs to v1 or v2 and to one size class for the
// pool's whole life, so a stale pointer always classifies the same way and a
// double free is always seen as one. A slab holds a 64-byte header, then
// `capacity` blocks; page metadata lives out of line in PageDesc, so user
// writes can never corrupt it and the allocator never reads a block.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
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

// The alloc and free paths are a few dozen instructions; a call per layer
// (facade, dispatch, v2) costs as much again, so their steps are forced
// inline and the slow paths kept out of the way.
#define HAKMEM_HOT [[gnu::always_inline]] inline
#define HAKMEM_COLD [[gnu::noinline, gnu::cold]]

namespace hakmem::HAKMEM_FLAVOR_NS {

inline constexpr std::uint64_t kSlabMagic = 0x48414B4D454D5632ull;  // "HAKMEMV2"

enum class PageKind : std::uint8_t { unused = 0, v1 = 1, v2 = 2 };
// Written by the page's owner only (v1: under the class mutex). A remote free
// leaves the block `allocated` and sets its bit in PageDesc::remote_bits.
enum class BlockState : std::uint8_t { free = 0, allocated = 1 };
// Which list a page is on; owner-only lists are touched by the owner thread,
// the others under the matching mutex.
enum class PageList : std::uint8_t { none, current, partial, full, orphan, cold, v1_partial, v1_full };

struct ThreadCtx;

struct SlabHeader {
  std::uint64_t magic;
  std::uint32_t slab_index;
  std::uint8_t kind, cls;
};

inline constexpr std::uint32_t kRemoteWords = (kMaxBlocksPerSlab + 63) / 64;

// Laid out for the cache: a free or an allocation touches the first line
// (everything but the per-block bytes) and, for the mid classes, one more.
struct alignas(64) PageDesc {
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
  // Remote frees: bit b = block b was freed by a thread that does not own the
  // page. One fetch_or claims and publishes the free (a set bit names a double
  // free); the owner takes a whole word with one exchange. A bitmap rather
  // than an intrusive stack, so even two racing double frees cannot make a
  // list cycle: the worst a race leaves behind is a bit the drain skips.
  std::atomic<std::uint64_t> remote_bits[kRemoteWords] = {};
  // Block b's state at meta[b], the free stack at meta[capacity + k]: with
  // capacity <= 31 (8 KiB and up) both fit one cache line. Atomic bytes
  // because remote freers read states; the owner's relaxed accesses are plain
  // moves.
  std::atomic<std::uint8_t> meta[2 * kMaxBlocksPerSlab];

  BlockState state(std::uint32_t block, std::memory_order order = std::memory_order_relaxed) const {
    return static_cast<BlockState>(meta[block].load(order));
  }
  void set_state(std::uint32_t block, BlockState s, std::memory_order order = std::memory_order_relaxed) {
    meta[block].store(static_cast<std::uint8_t>(s), order);
  }
  std::uint32_t free_stack_at(std::uint32_t k) const {
    return meta[capacity + k].load(std::memory_order_relaxed);
  }
  void push_free(std::uint32_t block) {
    meta[capacity + free_top++].store(static_cast<std::uint8_t>(block), std::memory_order_relaxed);
  }
  std::uint32_t pop_free() { return meta[capacity + --free_top].load(std::memory_order_relaxed); }

  // seq_cst so that a walk after taking a hint sees every bit set before the
  // hint was read (see remote_free); a plain load on x86.
  bool has_remote_frees() const {
    std::uint64_t any = 0;
    for (const auto& w : remote_bits) any |= w.load(std::memory_order_seq_cst);
    return any != 0;
  }
  bool remote_freed(std::uint32_t block) const {
    return (remote_bits[block / 64].load(std::memory_order_relaxed) >> (block % 64)) & 1;
  }
};

// One intrusive doubly linked list of pages.
struct PageQueue {
  PageDesc* head = nullptr;
  void push(PageDesc* p, PageList id) {
    p->prev = nullptr;
    p->next = head;
    if (head) head->prev = p;
    head = p;
    p->list = id;
  }
  void remove(PageDesc* p) {
    if (p->prev)
      p->prev->next = p->next;
    else
      head = p->next;
    if (p->next) p->next->prev = p->prev;
    p->prev = p->next = nullptr;
    p->list = PageList::none;
  }
  PageDesc* pop(PageList id_after) {
    PageDesc* p = head;
    if (p) {
      remove(p);
      p->list = id_after;
    }
    return p;
  }
};

#if HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED
// One table per pool (for threads without a cached context) and one per
// thread context; a snapshot sums them.
struct V2Stats {
  std::atomic<std::uint64_t> rows[kNumStatRows][kNumV2Stats] = {};
};
#define HAKMEM_V2_COUNT_STAT(impl, row, stat) (impl).count_v2(row, stat)
#else
#define HAKMEM_V2_COUNT_STAT(impl, row, stat) ((void)0)
#endif
#define HAKMEM_V2_COUNT(impl, row, name) HAKMEM_V2_COUNT_STAT(impl, row, V2Stat::name)

// A block in a thread's free cache: slab index << 8 | block.
using BlockHandle = std::uint32_t;
inline constexpr std::size_t kMaxArenaSlabs = std::size_t{1} << 24;

// A thread's v2 pages in one pool. Lives as long as the pool (recycled when a
// new thread takes the slot), so a remote freer holding a stale owner pointer
// only ever sets a harmless hint.
struct ThreadCtx {
  struct ClassPages {
    PageDesc* current = nullptr;
    PageQueue partial, full;
    // Blocks this thread freed, handed out again LIFO (still warm) before
    // any page is touched. They count as used on their page and are `free`
    // in its state bytes, so a double free of one is still named. Without
    // this cache every free and allocation updated page counters and moved
    // pages between the partial and full queues: twice the instructions of
    // the rest of the path.
    std::uint32_t cached = 0;
    std::uint32_t cache_limit = 0;  // kGeometry[cls].cache_limit, on the same line as `cached`
    BlockHandle cache[kFreeCacheMax];
  };
  static_assert(sizeof(ClassPages) == 256, "a shift indexes the classes");
  ClassPages classes[kNumClasses];
  std::uint32_t slot = detail::kNoThreadSlot;
  ThreadCtx() {
    for (int c = 0; c < kNumClasses; ++c) classes[c].cache_limit = kGeometry[c].cache_limit;
  }
  alignas(64) std::atomic<std::uint8_t> remote_hint[kNumClasses] = {};
#if HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED
  // Written only by the thread holding this context (it passes to the next
  // thread under ctx_mutex), read by snapshots.
  alignas(64) V2Stats stats;
#endif
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

struct LargeRegistry {
  static constexpr std::size_t kMaxTombstones = 4096;
  std::mutex mutex;
  std::unordered_map<std::uintptr_t, std::size_t> live;  // start -> mapped bytes
  // Recently freed starts, so a double free of a large block is named as one.
  std::set<std::uintptr_t> tombstones;
  std::deque<std::uintptr_t> tombstone_order;
};

// A FreeOutcome in one register, as every internal step of free() returns
// it: hakmem::pack()'s bits, typed so they never mix with other integers.
// g++ assembled a returned FreeOutcome field by field on the stack and read
// it back whole (a failed store-to-load forward that waited for every store
// in flight), and split it into halves at each merge point, which turned the
// slow paths' tail calls into calls.
enum class PackedOutcome : std::uint64_t {};
inline PackedOutcome packed(FreeOutcome o) { return PackedOutcome{pack(o)}; }
inline FreeOutcome unpacked(PackedOutcome p) { return unpack(static_cast<std::uint64_t>(p)); }

// The calling thread's context in the pool it used last: one compare on the
// hot path instead of the registry's slot lookup. Keyed by a pool id that is
// never reused, so a new pool at a recycled address never matches a stale
// entry; cleared when the thread exits.
struct CtxCache {
  std::uint64_t pool_uid = 0;
  ThreadCtx* ctx = nullptr;
};
inline thread_local CtxCache t_ctx_cache;

struct Pool::Impl final : detail::ThreadExitListener {
  explicit Impl(PoolOptions options);
  ~Impl();

  // pool.cpp
  void apply_config(const Config& cfg);
  StatsSnapshot snapshot() const;
#if HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED
  void count_v2(int row, V2Stat stat) {
    const int i = static_cast<int>(stat);
    if (t_ctx_cache.pool_uid == uid) {
      // Only this thread writes its context's table: a plain add, where a
      // locked add per count made compiled-in stats cost 20-50% of the
      // allocator's speed.
      std::atomic<std::uint64_t>& c = t_ctx_cache.ctx->stats.rows[row][i];
      c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    } else {
      stats.rows[row][i].fetch_add(1, std::memory_order_relaxed);
    }
  }
#endif
  // Applies HAKMEM_POOL_INVALID_FREE; returns `out`. By value: see v2_outcome.
  HAKMEM_COLD PackedOutcome report_rejection(const void* ptr, PackedOutcome out);

  // arena.cpp
  PageDesc* acquire_slab(PageKind kind, int cls);
  std::uint8_t* slab_base(const PageDesc* d) const { return arena + std::size_t{d->index} * kSlabSize; }
  void* block_address(const PageDesc* d, std::uint32_t block) const {
    return slab_base(d) + kSlabHeaderBytes + std::size_t{block} * kGeometry[d->cls].block_size;
  }

  // page_of.h
  Location locate(const void* ptr) const;

  // v1_pool.cpp
  void* v1_alloc(int cls);
  FreeOutcome v1_free(Location loc, FreeOutcome out);  // by value: keeps the hot caller's copy in registers

  // alloc.cpp
  void* v2_alloc(int cls);
  void* v2_alloc_uncached(int cls);
  void* v2_alloc_from_queues(ThreadCtx* ctx, int cls);
  void* take_cached(BlockHandle h, int cls) {
    const std::uint32_t slab = h >> 8, block = h & 0xFF;
    // See pop_block. Only a store into the descriptor: the address comes
    // from the handle, so no load waits for a descriptor line.
    descs[slab].set_state(block, BlockState::allocated, std::memory_order_release);
    void* p = arena + std::size_t{slab} * kSlabSize + kSlabHeaderBytes +
              std::size_t{block} * kGeometry[cls].block_size;
    detail::unpoison(p, kGeometry[cls].block_size);
    return p;
  }
  PageDesc* v2_refill(ThreadCtx* ctx, int cls);
  ThreadCtx* my_ctx_slow(bool create);
  // The calling thread's context; with create=false, nullptr for a thread
  // that never allocated here.
  ThreadCtx* my_ctx(bool create) {
    if (t_ctx_cache.pool_uid == uid) return t_ctx_cache.ctx;
    return my_ctx_slow(create);
  }
  void* pop_block(PageDesc* d) {
    std::uint32_t block = d->pop_free();
    // Release, paired with the acquire load in remote_free: a thread that
    // frees this block then sees every metadata write of this owner, even if
    // the program handed the pointer over without synchronising.
    d->set_state(block, BlockState::allocated, std::memory_order_release);
    ++d->used;
    void* p = block_address(d, block);
    detail::unpoison(p, kGeometry[d->cls].block_size);
    return p;
  }

  // free.cpp
  PackedOutcome free(void* ptr);
  PackedOutcome free_other(void* ptr);
  PackedOutcome v2_free_block(PageDesc* d, std::uint32_t block, bool entered_v2);
  PackedOutcome v2_free_uncached(PageDesc* d, std::uint32_t block, ThreadCtx* owner, bool entered_v2);
  PackedOutcome owner_free(PageDesc* d, std::uint32_t block, ThreadCtx* me, bool entered_v2);
  // Back onto its page's free stack; moves the page between queues.
  void return_to_page(ThreadCtx::ClassPages& pages, PageDesc* d, std::uint32_t block);
  // The oldest `n` cached blocks of a class back to their pages.
  void flush_cache(ThreadCtx::ClassPages& pages, std::uint32_t n);
  PackedOutcome flush_then_cache(ThreadCtx::ClassPages& pages, BlockHandle handle, PackedOutcome out);
  static PackedOutcome v2_outcome(FreeRoute route, bool entered_v2, int cls, Verdict reason = Verdict::ok) {
    return packed({.route = route, .entered_v2 = entered_v2, .reason = reason, .cls = cls});
  }

  // v2_remote.cpp
  PackedOutcome remote_free(PageDesc* d, std::uint32_t block, ThreadCtx* owner, bool entered_v2);
  // Owner only; returns the blocks reclaimed.
  std::uint32_t drain_remote(PageDesc* d, bool owner_changed = false);
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
  const std::uint64_t uid;  // never reused, unlike the Impl's address
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
  std::uintptr_t arena_begin = 0;
  std::uintptr_t arena_span = 0;  // bytes reserved

#if HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED
  V2Stats stats;
#endif
};

}  // namespace hakmem::HAKMEM_FLAVOR_NS

#include "page_of.h"
