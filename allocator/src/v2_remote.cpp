// Remote frees and page ownership.
//
// A free from any thread but the page's owner pushes the block index onto the
// page's lock-free remote stack (CAS, release) and sets a per-class hint on
// the owner. The owner drains a page's whole stack with one exchange
// (acquire) during refill. When a thread exits, its pages are orphaned
// (owner = null) onto the pool's per-class orphan queue, or onto the cold
// queue when empty; a refilling thread adopts them and drains what other
// threads freed meanwhile. No block is ever lost: it is either allocated, on
// a free stack, or on a remote stack that some later owner drains.
#include "pool_impl.h"

namespace hakmem::HAKMEM_FLAVOR_NS {

void Pool::Impl::remote_push(PageDesc* d, std::uint32_t block) {
  std::uint16_t head = d->remote_head.load(std::memory_order_relaxed);
  do {
    d->remote_next[block] = static_cast<std::uint8_t>(head);
  } while (!d->remote_head.compare_exchange_weak(head, static_cast<std::uint16_t>(block + 1),
                                                 std::memory_order_release, std::memory_order_relaxed));
}

std::uint32_t Pool::Impl::drain_remote(PageDesc* d) {
  std::uint16_t head = d->remote_head.exchange(0, std::memory_order_acquire);
  std::uint32_t n = 0;
  while (head != 0) {
    std::uint32_t block = head - 1u;
    head = d->remote_next[block];
    d->state[block].store(BlockState::free, std::memory_order_relaxed);
    d->free_stack[d->free_top++] = static_cast<std::uint8_t>(block);
    ++n;
  }
  d->used = static_cast<std::uint16_t>(d->used - n);
  return n;
}

PageDesc* Pool::Impl::drain_owned_pages(ThreadCtx* ctx, int cls) {
  ThreadCtx::ClassPages& pages = ctx->classes[cls];
  if (PageDesc* cur = pages.current)
    if (cur->remote_head.load(std::memory_order_relaxed) != 0) drain_remote(cur);
  for (PageDesc* d = pages.full.head; d;) {
    PageDesc* next = d->next;
    if (d->remote_head.load(std::memory_order_relaxed) != 0 && drain_remote(d) != 0) {
      pages.full.remove(d);
      pages.partial.push(d, PageList::partial);
    }
    d = next;
  }
  if (pages.current && pages.current->free_top) return pages.current;
  return pages.partial.head;
}

PageDesc* Pool::Impl::take_shared_page(ThreadCtx* ctx, int cls) {
  V2Shared& shared = v2_shared[cls];
  std::lock_guard lock(shared.mutex);
  while (PageDesc* d = shared.orphans.pop(PageList::none)) {
    d->owner.store(ctx, std::memory_order_release);  // publishes *ctx to remote freers
    drain_remote(d);
    if (d->free_top) return d;
    ctx->classes[cls].full.push(d, PageList::full);  // every block still out: keep it owned
  }
  if (PageDesc* d = shared.cold.pop(PageList::none)) {
    d->owner.store(ctx, std::memory_order_release);  // publishes *ctx to remote freers
    return d;
  }
  return nullptr;
}

void Pool::Impl::release_to_cold(PageDesc* d) {
  d->owner.store(nullptr, std::memory_order_relaxed);
  V2Shared& shared = v2_shared[d->cls];
  std::lock_guard lock(shared.mutex);
  shared.cold.push(d, PageList::cold);
}

void Pool::Impl::on_thread_exit(std::uint32_t slot) {
  ThreadCtx* ctx = ctx_by_slot[slot].load(std::memory_order_relaxed);
  if (!ctx) return;
  for (int cls = 0; cls < kNumClasses; ++cls) {
    ThreadCtx::ClassPages& pages = ctx->classes[cls];
    std::vector<PageDesc*> owned;
    if (pages.current) owned.push_back(pages.current);
    for (PageQueue* q : {&pages.partial, &pages.full})
      while (PageDesc* d = q->pop(PageList::none)) owned.push_back(d);
    pages.current = nullptr;
    for (PageDesc* d : owned) {
      drain_remote(d);  // still the owner here
      if (d->used == 0) {
        release_to_cold(d);
        continue;
      }
      d->owner.store(nullptr, std::memory_order_relaxed);
      V2Shared& shared = v2_shared[cls];
      std::lock_guard lock(shared.mutex);
      shared.orphans.push(d, PageList::orphan);
    }
    ctx->remote_hint[cls].store(0, std::memory_order_relaxed);
  }
  ctx_by_slot[slot].store(nullptr, std::memory_order_relaxed);
  std::lock_guard lock(ctx_mutex);
  ctx->slot = detail::kNoThreadSlot;
  idle_ctxs.push_back(ctx);
}

}  // namespace hakmem::HAKMEM_FLAVOR_NS
