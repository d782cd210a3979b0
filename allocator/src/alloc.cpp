// The allocation path, from the top:
//   size above kMaxRequest       -> nullptr
//   above the largest class      -> large path
//   class routed to v2           -> v2 (below), which falls back to v1
//   otherwise                    -> v1
//
// Pool Hotbox v2 allocation. Each thread owns pages per class:
//   its free cache -> current page -> partial pages   (alloc_fast)
//   -> refill: drain the current page's remote frees; when hinted, every
//      owned page's; adopt an orphaned page or take a cold (empty) one; map
//      a fresh slab
//                                            (alloc_refill)
//   -> a failed refill falls back to v1
//                                            (alloc_refill_fail, alloc_fallback_v1)
#include "pool_impl.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

// Slow paths are called in tail position only (see free.cpp).
void* Pool::alloc(std::size_t size) {
  int cls = size_class_of(size);
  if (cls < 0) [[unlikely]]
    return size > kMaxRequest ? nullptr : impl_->large.alloc(size);
  if ((impl_->v2_route_mask.load(std::memory_order_relaxed) >> cls) & 1) return impl_->v2_alloc(cls);
  return impl_->v1.alloc(impl_->arena, cls);
}

ThreadCtx* Pool::Impl::my_ctx_slow(bool create) {
  std::uint32_t slot = create ? current_thread_slot() : current_thread_slot_if_registered();
  if (slot == kNoThreadSlot) return nullptr;
  ThreadCtx* ctx = contexts.find(slot);
  if (!ctx && create) ctx = contexts.acquire(slot);
  if (ctx) t_ctx_cache = {uid, ctx};
  return ctx;
}

HAKMEM_HOT void* Pool::Impl::v2_alloc(int cls) {
  if (t_ctx_cache.pool_uid != uid) [[unlikely]]
    return v2_alloc_uncached(cls);
  HAKMEM_V2_COUNT(*this, cls, alloc_calls);
  ThreadCtx* ctx = t_ctx_cache.ctx;
  ThreadCtx::ClassPages& pages = ctx->classes[cls];
  if (pages.cached) {
    HAKMEM_V2_COUNT(*this, cls, alloc_fast);
    return take_cached(pages.cache[--pages.cached], cls);
  }
  if (PageDesc* d = pages.current; d && d->free_top) {
    HAKMEM_V2_COUNT(*this, cls, alloc_fast);
    return arena.pop_block(d);
  }
  return v2_alloc_from_queues(ctx, cls);
}

// This thread has not cached its context in this pool (its first allocation
// here, or it last used another pool).
HAKMEM_COLD void* Pool::Impl::v2_alloc_uncached(int cls) {
  if (my_ctx_slow(true)) return v2_alloc(cls);  // cached now
  HAKMEM_V2_COUNT(*this, cls, alloc_calls);
  return v2_alloc_from_queues(nullptr, cls);  // thread slots exhausted
}

// The current page is exhausted (or there is no context: thread slots ran
// out): a partial page, else a refill, else v1.
HAKMEM_COLD void* Pool::Impl::v2_alloc_from_queues(ThreadCtx* ctx, int cls) {
  if (ctx) {
    ThreadCtx::ClassPages& pages = ctx->classes[cls];
    if (pages.partial.head) {
      if (PageDesc* cur = pages.current) {
        pages.full.push(cur, PageList::full);
        // Its remote frees would otherwise wait on the full list for the
        // next remote free to leave a hint.
        if (cur->has_remote_frees()) {
          HAKMEM_STORE(refill_hint_store, &ctx->remote_hint[cls], cls, ctx->remote_hint[cls], 1,
                       std::memory_order_relaxed);
        }
      }
      pages.current = pages.partial.pop(PageList::current);
      HAKMEM_V2_COUNT(*this, cls, alloc_fast);
      return arena.pop_block(pages.current);
    }
  }
  HAKMEM_V2_COUNT(*this, cls, alloc_refill);
  if (PageDesc* d = ctx ? v2_refill(ctx, cls) : nullptr) return arena.pop_block(d);
  HAKMEM_V2_COUNT(*this, cls, alloc_refill_fail);
#if HAKMEM_POOL_SCHED_POINTS
  // Planted refill_fail_returns_null: no fallback, though v1 could serve it.
  if (options.plant == Plant::refill_fail_returns_null) return nullptr;
#endif
  HAKMEM_V2_COUNT(*this, cls, alloc_fallback_v1);
  return v1.alloc(arena, cls);
}

// Returns a page with a free block, made current; the old current (exhausted)
// moves to the full queue.
HAKMEM_COLD PageDesc* Pool::Impl::v2_refill(ThreadCtx* ctx, int cls) {
  ThreadCtx::ClassPages& pages = ctx->classes[cls];
  auto make_current = [&](PageDesc* d) {
    if (d->list == PageList::partial)
      pages.partial.remove(d);
    else if (d->list == PageList::full)
      pages.full.remove(d);
    if (pages.current && pages.current != d) pages.full.push(pages.current, PageList::full);
    pages.current = d;
    d->list = PageList::current;
    return d;
  };
  if (PageDesc* cur = pages.current; cur && cur->has_remote_frees() && cur->drain_remote()) return cur;
  // Load first: the exchange is a locked instruction, and the hint is
  // usually clear. remote_free() makes sure no hint is lost when a page
  // changes owner, so owned pages are walked only when hinted: walking them
  // on every refill made a growing heap quadratic.
  std::atomic<std::uint8_t>& hint = ctx->remote_hint[cls];
  bool hinted = HAKMEM_LOAD(refill_hint_load, &hint, cls, hint, std::memory_order_relaxed);
#if HAKMEM_POOL_SCHED_POINTS
  // Planted hint_cleared_by_store: "it was just read set, so a store
  // clears it", and a release store at that. Nothing orders it before the
  // walk's loads: a store buffer holds it while they run.
  if (hinted && options.plant == Plant::hint_cleared_by_store)
    HAKMEM_STORE(refill_hint_clear, &hint, cls, hint, 0, std::memory_order_release);
  else
#endif
    hinted =
        hinted && HAKMEM_RMW(refill_hint_exchange, &hint, cls, hint, exchange, 0, std::memory_order_seq_cst);
  if (hinted)
    if (PageDesc* d = drain_owned_pages(ctx, cls)) return make_current(d);
  if (PageDesc* d = v2_shared.take(ctx, cls)) return make_current(d);
  PageDesc* d = arena.acquire_slab(PageKind::v2, cls);
#if HAKMEM_POOL_SCHED_POINTS
  // Planted refill_retries: a failed acquisition is retried at once, which
  // takes the next one too; an allocation a fault plan should push to v1
  // lands in v2.
  if (!d && options.plant == Plant::refill_retries) d = arena.acquire_slab(PageKind::v2, cls);
  if (d) d->plant = options.plant;
#endif
  if (!d) return nullptr;
  HAKMEM_STORE(owner_store, &d->owner, d->index, d->owner, ctx,
               std::memory_order_seq_cst);  // see remote_free
  return make_current(d);
}

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
