// Pool::Impl: one pool, composed of its parts, and the paths that run across
// them. Where each concept lives:
//   hakmem/geometry.h   size classes and slab geometry (public)
//   page.h              slab header, page descriptor, page queue, Location
//   arena.h/.cpp        reservation, descriptor table, acquire_slab, block
//                       addresses; page_of.h: locate (pointer classification)
//   thread_ctx.h        a thread's v2 pages and free cache, the context cache
//   ctx_registry.h/.cpp the pool's thread contexts by slot
//   v1_pool.h/.cpp      Pool v1
//   v2_shared.h/.cpp    v2 pages no thread owns: orphans and cold pages
//   large.h/.cpp        blocks above the largest class
//   v2_stats.h          compiled-in counters
//   os.h, os_posix.cpp  the only code that maps memory
//   thread_registry.h/.cpp  the flavour's thread slots and exit notices
//   flavour.h, sanitizers.h  the flavour namespace, HAKMEM_HOT/COLD; poisoning
//   sched_point.h       schedule points and the pool mutex type (the
//                       tester's flavour; nothing in the others)
// and the paths: alloc.cpp (allocation), free.cpp (free), v2_remote.cpp
// (remote frees, thread exit), collect.cpp (a thread gives back what it
// holds), invariants.cpp (the walk), walk_faults.cpp (faults planted for
// it, the tester's flavour only), census.cpp (what the pool holds),
// pool.cpp (the facade: construction, configuration, stats, rejection
// reports).
//
// The v2 hot paths (v2_alloc, take_cached, free, owner_free, with the arena's
// locate and pop_block) are Impl members, forced inline: the arena is held by
// value, so each reads its fields straight off `this`, where a component
// reached through a pointer would add a dependent load per call.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "arena.h"
#include "ctx_registry.h"
#include "flavour.h"
#include "large.h"
#include "os.h"
#include "page.h"
#include "sanitizers.h"
#include "sched_point.h"
#include "thread_ctx.h"
#include "thread_registry.h"
#include "v1_pool.h"
#include "v2_shared.h"
#include "v2_stats.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

// A FreeOutcome in one register, as every internal step of free() returns
// it: hakmem::pack()'s bits, typed so they never mix with other integers.
// g++ assembled a returned FreeOutcome field by field on the stack and read
// it back whole (a failed store-to-load forward that waited for every store
// in flight), and split it into halves at each merge point, which turned the
// slow paths' tail calls into calls.
enum class PackedOutcome : std::uint64_t {};
inline PackedOutcome packed(FreeOutcome o) { return PackedOutcome{pack(o)}; }
inline FreeOutcome unpacked(PackedOutcome p) { return unpack(static_cast<std::uint64_t>(p)); }

struct Pool::Impl final : ThreadExitListener {
  explicit Impl(PoolOptions options);
  ~Impl();

  // ------------------------------------------------------------ pool.cpp
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
  // Applies HAKMEM_POOL_INVALID_FREE; returns `out`. By value: see PackedOutcome.
  HAKMEM_COLD PackedOutcome report_rejection(const void* ptr, PackedOutcome out);

  // ------------------------------------------------------------ alloc.cpp
  void* v2_alloc(int cls);
  void* v2_alloc_uncached(int cls);
  void* v2_alloc_from_queues(ThreadCtx* ctx, int cls);
  void* take_cached(BlockHandle h, int cls) {
    const std::uint32_t slab = handle_slab(h), block = handle_block(h);
    // See Arena::pop_block. Only a store into the descriptor: the address
    // comes from the handle, so no load waits for a descriptor line.
    std::atomic<std::uint8_t>& state = arena.desc(slab)->meta[block];
    HAKMEM_STORE(take_cached_state_store, &state, h, state, BlockState::allocated, std::memory_order_release);
    void* p = arena.block_address(slab, block, cls);
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
#if HAKMEM_POOL_SCHED_POINTS
  // What a trace shows of a page's owner: 0 none, 1 the calling thread's
  // context, 2 another thread's.
  std::uint64_t owner_code(const ThreadCtx* owner) const {
    if (!owner) return 0;
    return t_ctx_cache.pool_uid == uid && t_ctx_cache.ctx == owner ? 1 : 2;
  }
#endif

  // ------------------------------------------------------------ free.cpp
  PackedOutcome free(void* ptr);
  PackedOutcome free_other(void* ptr);
  PackedOutcome v2_free_block(PageDesc* d, std::uint32_t block, bool entered_v2);
  PackedOutcome v2_free_uncached(PageDesc* d, std::uint32_t block, ThreadCtx* owner, bool entered_v2);
  PackedOutcome owner_free(PageDesc* d, std::uint32_t block, ThreadCtx* me, bool entered_v2);
  // Back onto its page's free stack; moves the page between queues.
  void return_to_page(ThreadCtx::ClassPages& pages, PageDesc* d, std::uint32_t block);
  // d, on the caller's partial list with no block out, goes cold.
  HAKMEM_HOT void retire_empty(ThreadCtx::ClassPages& pages, PageDesc* d) {
#if HAKMEM_POOL_SCHED_POINTS
    if (options.plant == Plant::empty_page_kept) return;  // planted: kept, owned and empty
#endif
    pages.partial.remove(d);
    v2_shared.release_to_cold(d);
  }
  // The oldest `n` cached blocks of a class back to their pages.
  void flush_cache(ThreadCtx::ClassPages& pages, std::uint32_t n);
  PackedOutcome flush_then_cache(ThreadCtx::ClassPages& pages, BlockHandle handle, PackedOutcome out);
  static PackedOutcome v2_outcome(FreeRoute route, bool entered_v2, int cls, Verdict reason = Verdict::ok) {
    return packed({.route = route, .entered_v2 = entered_v2, .reason = reason, .cls = cls});
  }

  // ------------------------------------------------------------ v2_remote.cpp
  PackedOutcome remote_free(PageDesc* d, std::uint32_t block, ThreadCtx* owner, bool entered_v2);
  void publish_remote_bit(PageDesc* d, std::uint32_t block);
  bool owner_claim(PageDesc* d, std::uint32_t block);
  PageDesc* drain_owned_pages(ThreadCtx* ctx, int cls);
  void on_thread_exit(std::uint32_t slot) override;

  // ------------------------------------------------------------ collect.cpp
  void collect();

  // ------------------------------------------------------------ invariants.cpp, census.cpp
  InvariantReport check() const;
  void census(Census& into) const;
#if HAKMEM_POOL_SCHED_POINTS
  // ------------------------------------------------------------ walk_faults.cpp
  std::optional<InvariantReport> check_with_fault(InvariantFault fault, std::uint32_t pick);
#endif

  // ------------------------------------------------------------ state
  // In construction order: the flags are parsed before anything is mapped,
  // and the OS layer outlives the arena and the large registry.
  const std::uint64_t uid;  // never reused, unlike the Impl's address
  PoolOptions options;
  mutable HAKMEM_POOL_MUTEX(config_lock) config_mutex;
  Config cfg;  // under config_mutex
  // The hot-path view of cfg: bit c = class c allocates through v2.
  std::atomic<std::uint8_t> v2_route_mask;
  std::atomic<InvalidFreePolicy> invalid_free;

  detail::OsLayer os;
  Arena arena;
  LargeRegistry large;
  V1Pool v1;
  V2SharedQueues v2_shared;
  CtxRegistry contexts;

#if HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED
  V2Stats stats;  // counts of threads without a cached context
#endif
};

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
