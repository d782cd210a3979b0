// Adoption and release of v2 pages (v2_shared.h). Why the owner stores are
// seq_cst: see remote_free in v2_remote.cpp.
#include "v2_shared.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

PageDesc* V2SharedQueues::take(ThreadCtx* ctx, int cls) {
  PerClass& shared = classes_[cls];
  std::lock_guard lock(shared.mutex);
  while (PageDesc* d = shared.orphans.pop(PageList::none)) {
    adopt(ctx, d);
    if (d->free_top) return d;
    ctx->classes[cls].full.push(d, PageList::full);  // every block still out: keep it owned
  }
#if HAKMEM_POOL_SCHED_POINTS
  if (plant == Plant::cold_pages_ignored) return nullptr;  // planted: fresh pages instead
#endif
  if (PageDesc* d = shared.cold.pop(PageList::none)) {
    // Publishes *ctx to remote freers.
    HAKMEM_STORE(owner_store, &d->owner, d->index, d->owner, ctx, std::memory_order_seq_cst);
    return d;
  }
  return nullptr;
}

void V2SharedQueues::adopt_all(ThreadCtx* ctx, int cls) {
  PerClass& shared = classes_[cls];
  std::lock_guard lock(shared.mutex);
  ThreadCtx::ClassPages& pages = ctx->classes[cls];
  while (PageDesc* d = shared.orphans.pop(PageList::none)) {
    adopt(ctx, d);
    if (d->free_top)
      pages.partial.push(d, PageList::partial);
    else
      pages.full.push(d, PageList::full);
  }
}

void V2SharedQueues::adopt(ThreadCtx* ctx, PageDesc* d) {
  // Publishes *ctx to remote freers; see remote_free.
  HAKMEM_STORE(owner_store, &d->owner, d->index, d->owner, ctx, std::memory_order_seq_cst);
#if HAKMEM_POOL_SCHED_POINTS
  // Planted adopt_without_drain: the remote frees made while the page was
  // orphaned stay pending (nobody hinted the adopter of them).
  const bool drain = plant != Plant::adopt_without_drain;
#else
  constexpr bool drain = true;
#endif
  if (drain) d->drain_remote(/*owner_changed=*/true);
}

void V2SharedQueues::release_to_cold(PageDesc* d) { disown(d, &PerClass::cold, PageList::cold); }
void V2SharedQueues::orphan(PageDesc* d) { disown(d, &PerClass::orphans, PageList::orphan); }

void V2SharedQueues::disown(PageDesc* d, PageQueue PerClass::*queue, PageList id) {
  HAKMEM_STORE(owner_store, &d->owner, d->index, d->owner, nullptr, std::memory_order_relaxed);
  PerClass& shared = classes_[d->cls];
  std::lock_guard lock(shared.mutex);
  (shared.*queue).push(d, id);
}

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
