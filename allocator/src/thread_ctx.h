// A thread's v2 state in one pool: its pages per class (current, partial,
// full), its free cache, and the hints remote freers leave it; plus the
// per-thread cache that finds that context in one compare.
//
// A context lives as long as the pool (recycled when a new thread takes the
// slot, ctx_registry.h), so a remote freer holding a stale owner pointer only
// ever sets a harmless hint. Everything but remote_hint is touched by the
// owning thread only; the invariant walk reads it at quiescent points.
#pragma once

#include <atomic>
#include <cstdint>

#include "flavour.h"
#include "page.h"
#include "thread_registry.h"
#include "v2_stats.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

// A block in a thread's free cache: slab index << 8 | block. The address
// comes from the handle alone, so taking a cached block loads nothing from
// its descriptor.
using BlockHandle = std::uint32_t;
constexpr BlockHandle make_handle(std::uint32_t slab, std::uint32_t block) { return slab << 8 | block; }
constexpr std::uint32_t handle_slab(BlockHandle h) { return h >> 8; }
constexpr std::uint32_t handle_block(BlockHandle h) { return h & 0xFF; }

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
  std::uint32_t slot = kNoThreadSlot;
  ThreadCtx() {
    for (int c = 0; c < kNumClasses; ++c) classes[c].cache_limit = kGeometry[c].cache_limit;
  }
  alignas(64) std::atomic<std::uint8_t> remote_hint[kNumClasses] = {};
#if HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED
  // Written only by the thread holding this context (it passes to the next
  // thread under the registry's mutex), read by snapshots.
  alignas(64) V2Stats stats;
#endif
};

// The calling thread's context in the pool it used last: one compare on the
// hot path instead of the registry's slot lookup. Keyed by a pool id that is
// never reused, so a new pool at a recycled address never matches a stale
// entry; cleared when the thread exits.
struct CtxCache {
  std::uint64_t pool_uid = 0;
  ThreadCtx* ctx = nullptr;
};
inline thread_local CtxCache t_ctx_cache;

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
