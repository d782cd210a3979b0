// Pool::collect: the calling thread gives back what it holds, as mimalloc's
// mi_collect does for one thread. Per class:
//   every orphan          -> adopted and drained (what exited threads left
//                            would otherwise wait for the class's next refill)
//   its free cache        -> back onto the pages (return_to_page retires the
//                            pages that empties, but the current one)
//   its hint, then every owned page's remote frees drained (the refill's
//                            protocol: a remote free after the hint is taken
//                            hints again; see remote_free)
//   every owned page now empty, the current one included -> cold
// It touches only the caller's own context and, under their locks, the
// shared queues, so any thread may call it at any time; a thread that never
// used this pool gets a context only when there are orphans to adopt.
#include <vector>

#include "pool_impl.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

void Pool::Impl::collect() {
  ThreadCtx* ctx = my_ctx(false);
  for (int cls = 0; cls < kNumClasses; ++cls) {
    if (!v2_shared.has_orphans(cls)) continue;
    if (!ctx) ctx = my_ctx(true);
    if (!ctx) return;
    v2_shared.adopt_all(ctx, cls);
  }
  if (!ctx) return;
  std::vector<PageDesc*> owned;  // one array for every class
  for (int cls = 0; cls < kNumClasses; ++cls) {
    ThreadCtx::ClassPages& pages = ctx->classes[cls];
    flush_cache(pages, pages.cached);
    HAKMEM_RMW(collect_hint_exchange, &ctx->remote_hint[cls], cls, ctx->remote_hint[cls], exchange, 0,
               std::memory_order_seq_cst);
    owned.clear();
    if (pages.current) owned.push_back(pages.current);
    for (const PageQueue* q : {&pages.partial, &pages.full})
      for (PageDesc* d = q->head; d; d = d->next) owned.push_back(d);
    for (PageDesc* d : owned) {
      if (d->has_remote_frees()) d->drain_remote();
      // Every page that has a free block, the emptied ones included, onto
      // the partial list, which is where retire_empty takes them from.
      if (d->list == PageList::full && d->free_top) {
        pages.full.remove(d);
        pages.partial.push(d, PageList::partial);
      }
      if (d->used != 0) continue;
      if (d == pages.current) {
        pages.current = nullptr;
        pages.partial.push(d, PageList::partial);
      }
      retire_empty(pages, d);
    }
  }
}

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
