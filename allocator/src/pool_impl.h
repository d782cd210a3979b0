// Internal state of one Pool, shared by the per-concept source files:
// arena.cpp (slabs), alloc.cpp (the allocation path), free.cpp (the free
// path), v1_pool.cpp, v2_remote.cpp (remote frees, orphan/adopt), large.cpp,
// invariants.cpp and pool.cpp (the facade). page_of.h holds pointer
// classification, inline because every free runs it. The layouts it works
// on: page.h (slabs, descriptors, queues), thread_ctx.h (a thread's pages),
// v2_stats.h (counter storage); flavor.h names the namespace.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>
#include <vector>

#include "flavor.h"
#include "large.h"
#include "os.h"
#include "page.h"
#include "sanitizers.h"
#include "thread_ctx.h"
#include "thread_registry.h"
#include "v2_stats.h"

namespace hakmem::HAKMEM_FLAVOR_NS {

inline constexpr std::size_t kMaxArenaSlabs = std::size_t{1} << 24;

// A FreeOutcome in one register, as every internal step of free() returns
// it: hakmem::pack()'s bits, typed so they never mix with other integers.
// g++ assembled a returned FreeOutcome field by field on the stack and read
// it back whole (a failed store-to-load forward that waited for every store
// in flight), and split it into halves at each merge point, which turned the
// slow paths' tail calls into calls.
enum class PackedOutcome : std::uint64_t {};
inline PackedOutcome packed(FreeOutcome o) { return PackedOutcome{pack(o)}; }
inline FreeOutcome unpacked(PackedOutcome p) { return unpack(static_cast<std::uint64_t>(p)); }

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

  LargeRegistry large;  // after os, which it maps through
  std::uintptr_t arena_begin = 0;
  std::uintptr_t arena_span = 0;  // bytes reserved

#if HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED
  V2Stats stats;
#endif
};

}  // namespace hakmem::HAKMEM_FLAVOR_NS

#include "page_of.h"
