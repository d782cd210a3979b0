// Pool Hotbox v2 allocation. Each thread owns pages per class:
//   current page -> partial pages            (alloc_fast)
//   -> refill: drain remote frees to owned pages, adopt an orphaned page or
//      take a cold (empty) one, drain everything owned, map a fresh slab
//                                            (alloc_refill)
//   -> a failed refill returns nullptr and the caller falls back to v1
//                                            (alloc_refill_fail, alloc_fallback_v1)
#include "pool_impl.h"

namespace hakmem::HAKMEM_FLAVOR_NS {

ThreadCtx* Pool::Impl::my_ctx(bool create) {
  std::uint32_t slot = create ? detail::current_thread_slot() : detail::current_thread_slot_if_registered();
  if (slot == detail::kNoThreadSlot) return nullptr;
  ThreadCtx* ctx = ctx_by_slot[slot].load(std::memory_order_relaxed);
  if (ctx || !create) return ctx;
  std::lock_guard lock(ctx_mutex);
  if (!idle_ctxs.empty()) {
    ctx = idle_ctxs.back();
    idle_ctxs.pop_back();
  } else {
    ctxs.push_back(std::make_unique<ThreadCtx>());
    ctx = ctxs.back().get();
  }
  ctx->slot = slot;
  ctx_by_slot[slot].store(ctx, std::memory_order_relaxed);
  return ctx;
}

void* Pool::Impl::pop_block(PageDesc* d) {
  std::uint32_t block = d->free_stack[--d->free_top];
  // Release, paired with the acquire in the free CAS: whichever thread frees
  // the block then sees every metadata access of this owner (its earlier
  // drain read remote_next[block]), even if the program handed the pointer
  // over without synchronising.
  d->state[block].store(BlockState::allocated, std::memory_order_release);
  ++d->used;
  void* p = block_address(d, block);
  detail::unpoison(p, kGeometry[d->cls].block_size);
  return p;
}

void* Pool::Impl::v2_alloc(int cls) {
  HAKMEM_V2_COUNT(*this, cls, alloc_calls);
  ThreadCtx* ctx = my_ctx(true);
  if (ctx) {
    ThreadCtx::ClassPages& pages = ctx->classes[cls];
    PageDesc* d = pages.current;
    if (d && d->free_top) {
      HAKMEM_V2_COUNT(*this, cls, alloc_fast);
      return pop_block(d);
    }
    if (pages.partial.head) {
      if (d) pages.full.push(d, PageList::full);
      pages.current = pages.partial.pop(PageList::current);
      HAKMEM_V2_COUNT(*this, cls, alloc_fast);
      return pop_block(pages.current);
    }
  }
  HAKMEM_V2_COUNT(*this, cls, alloc_refill);
  PageDesc* d = ctx ? v2_refill(ctx, cls) : nullptr;  // no ctx: thread slots exhausted
  if (!d) {
    HAKMEM_V2_COUNT(*this, cls, alloc_refill_fail);
    HAKMEM_V2_COUNT(*this, cls, alloc_fallback_v1);
    return nullptr;
  }
  return pop_block(d);
}

// Returns a page with a free block, made current; the old current (exhausted)
// moves to the full queue.
PageDesc* Pool::Impl::v2_refill(ThreadCtx* ctx, int cls) {
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
  if (ctx->remote_hint[cls].exchange(0, std::memory_order_acquire))
    if (PageDesc* d = drain_owned_pages(ctx, cls)) return make_current(d);
  if (PageDesc* d = take_shared_page(ctx, cls)) return make_current(d);
  // Hints can be lost when a page changed owner mid-push; before growing the
  // arena, look at every owned page.
  if (PageDesc* d = drain_owned_pages(ctx, cls)) return make_current(d);
  PageDesc* d = acquire_slab(PageKind::v2, cls);
  if (!d) return nullptr;
  d->owner.store(ctx, std::memory_order_release);  // publishes *ctx to remote freers
  return make_current(d);
}

}  // namespace hakmem::HAKMEM_FLAVOR_NS
