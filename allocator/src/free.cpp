// The free path, from the top (free() takes v2 block starts, free_other()
// the rest):
//   null                         -> no-op
//   a large block (or one freed recently) -> large path
//   v2 routed for the page's class (or for a pointer in no class's page):
//     count free_calls; page_of(ptr)
//       ok      -> owner free (v2_local) or remote free (v2_remote, v2_remote.cpp)
//       failure -> count page_of_fail_<reason> and free_fallback_v1
//   a live v2 block whose class is no longer routed to v2 -> back to v2
//   v1: frees its own blocks, rejects the rest by name.
// Every rejection leaves all state untouched.
#include <cstring>

#include "pool_impl.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

// The slow paths below are called in tail position only: with a call that
// returns into the hot path, g++ saved and restored six registers on every
// free (now two).

// Each path that rejects a free reports it itself (report_rejection), so
// that this stays a tail call.
FreeOutcome Pool::free(void* ptr) { return unpacked(impl_->free(ptr)); }

HAKMEM_HOT PackedOutcome Pool::Impl::v2_free_block(PageDesc* d, std::uint32_t block, bool entered_v2) {
  ThreadCtx* owner = HAKMEM_LOAD(free_owner_load, &d->owner, sched_arg(d->index, block), d->owner,
                                 std::memory_order_acquire);  // we may touch *owner below
  HAKMEM_SCHED_RESULT(free_owner_load, owner_code(owner));
  if (owner && t_ctx_cache.pool_uid == uid && t_ctx_cache.ctx == owner)
    return owner_free(d, block, owner, entered_v2);
  return v2_free_uncached(d, block, owner, entered_v2);
}

// The page's owner is not the thread context this thread cached: a remote
// free, an orphaned page, or a thread that last used another pool.
HAKMEM_COLD PackedOutcome Pool::Impl::v2_free_uncached(PageDesc* d, std::uint32_t block, ThreadCtx* owner,
                                                       bool entered_v2) {
  if (owner && owner == my_ctx(false)) return owner_free(d, block, owner, entered_v2);
  return remote_free(d, block, owner, entered_v2);
}

// allocated -> free, or false for a double free (or the loser of a race).
HAKMEM_HOT bool Pool::Impl::owner_claim(PageDesc* d, std::uint32_t block) {
#if HAKMEM_POOL_SCHED_POINTS
  if (options.plant == Plant::owner_claim_torn) {
    // Planted owner_claim_torn: a check, then a store. A remote free that
    // claims the block in between is overwritten: both frees succeed.
    if (HAKMEM_LOAD(owner_free_claim, &d->meta[block], sched_arg(d->index, block), d->meta[block],
                    std::memory_order_relaxed) != kAllocatedByte)
      return false;
    HAKMEM_STORE(owner_free_store, &d->meta[block], sched_arg(d->index, block), d->meta[block],
                 BlockState::free, std::memory_order_relaxed);
    return true;
  }
#endif
  return HAKMEM_CAS(owner_free_claim, &d->meta[block], sched_arg(d->index, block), d->meta[block],
                    kAllocatedByte, static_cast<std::uint8_t>(BlockState::free), std::memory_order_relaxed,
                    std::memory_order_relaxed);
}

HAKMEM_HOT PackedOutcome Pool::Impl::owner_free(PageDesc* d, std::uint32_t block, ThreadCtx* me,
                                                bool entered_v2) {
  const int cls = d->cls;
  // A double free on another thread may be claiming this block right now:
  // a plain check-then-store would let both frees succeed, and the loser's
  // remote bit would later free the block's next life. Relaxed: only the
  // owner hands the block out again, so the claim publishes nothing.
  if (!owner_claim(d, block))
    return report_rejection(arena.block_address(d, block),
                            v2_outcome(FreeRoute::rejected, entered_v2, cls, Verdict::double_free));
  if (entered_v2) HAKMEM_V2_COUNT(*this, cls, free_fast);
  detail::poison(arena.block_address(d, block), kGeometry[cls].block_size);
  ThreadCtx::ClassPages& pages = me->classes[cls];
  const BlockHandle handle = make_handle(d->index, block);
  if (pages.cached == pages.cache_limit) [[unlikely]]
    return flush_then_cache(pages, handle, v2_outcome(FreeRoute::v2_local, entered_v2, cls));
  pages.cache[pages.cached++] = handle;
  return v2_outcome(FreeRoute::v2_local, entered_v2, cls);
}

void Pool::Impl::return_to_page(ThreadCtx::ClassPages& pages, PageDesc* d, std::uint32_t block) {
  d->push_free(block);
  --d->used;
  if (d->list == PageList::full) {
    pages.full.remove(d);
    pages.partial.push(d, PageList::partial);
  }
  if (d->used == 0 && d != pages.current) retire_empty(pages, d);
}

void Pool::Impl::flush_cache(ThreadCtx::ClassPages& pages, std::uint32_t n) {
  for (std::uint32_t i = 0; i < n; ++i)
    return_to_page(pages, arena.desc(handle_slab(pages.cache[i])), handle_block(pages.cache[i]));
  std::memmove(pages.cache, pages.cache + n, (pages.cached - n) * sizeof(BlockHandle));
  pages.cached -= n;
}

HAKMEM_COLD PackedOutcome Pool::Impl::flush_then_cache(ThreadCtx::ClassPages& pages, BlockHandle handle,
                                                       PackedOutcome out) {
  flush_cache(pages, pages.cached / 2);
  pages.cache[pages.cached++] = handle;
  return out;
}

// Only a v2 block start stays on the hot path; everything else is one call
// in tail position away.
HAKMEM_HOT PackedOutcome Pool::Impl::free(void* ptr) {
  Location loc = arena.locate(ptr);
  if (loc.kind == PageKind::v2 && loc.geometry == Verdict::ok) {
    // Not routed to v2 any more: the page still takes its block back.
    bool enter_v2 = (v2_route_mask.load(std::memory_order_relaxed) >> loc.cls) & 1;
    if (enter_v2) HAKMEM_V2_COUNT(*this, loc.cls, free_calls);
    return v2_free_block(loc.desc, loc.block, enter_v2);
  }
  return free_other(ptr);
}

HAKMEM_COLD PackedOutcome Pool::Impl::free_other(void* ptr) {
  FreeOutcome out;
  if (!ptr) return packed(out);
  Location loc = arena.locate(ptr);
  if (loc.where == Location::Where::outside)
    if (std::optional<FreeOutcome> large_out = large.free(ptr))
      return large_out->route == FreeRoute::rejected ? report_rejection(ptr, packed(*large_out))
                                                     : packed(*large_out);

  std::uint8_t mask = v2_route_mask.load(std::memory_order_relaxed);
  bool enter_v2 = loc.cls < 0 ? mask != 0 : ((mask >> loc.cls) & 1) != 0;
  if (enter_v2) {
    [[maybe_unused]] int row = loc.cls < 0 ? kNoClassRow : loc.cls;
    HAKMEM_V2_COUNT(*this, row, free_calls);
    out.entered_v2 = true;
    out.page_of = loc.v2_verdict();  // never ok: free() took every v2 block start
    // verdicts.def names the counter of each failure.
    if (std::optional<V2Stat> counter = page_of_fail_counter(out.page_of))
      HAKMEM_V2_COUNT_STAT(*this, row, *counter);
    HAKMEM_V2_COUNT(*this, row, free_fallback_v1);
  }
  out = v1.free(arena, loc, out);
  return out.route == FreeRoute::rejected ? report_rejection(ptr, packed(out)) : packed(out);
}

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
