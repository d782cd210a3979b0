// Remote frees and page ownership.
//
// A free from any thread but the page's owner claims the block (allocated ->
// remote_freed, the same compare-exchange the owner's free races), then sets
// the block's bit in the page's remote bitmap (one fetch_or) and a per-class
// hint on the owner. The owner drains a page's bitmap a word at a time with one exchange
// (acquire) during refill. When a thread exits, its pages are orphaned
// (owner = null) onto the pool's per-class orphan queue, or onto the cold
// queue when empty; a refilling thread adopts them and drains what other
// threads freed meanwhile. No block is ever lost: it is either allocated, on
// a free stack, or has its remote bit set for some later owner to drain.
//
// Outline: remote_free (claim the bit, hint the owner) -
// PageDesc::drain_remote (owner: bits back onto the free stack) -
// drain_owned_pages (refill, when hinted) - on_thread_exit (flush the free
// cache, then every page cold or orphaned, the context back to the registry).
// Adoption is V2SharedQueues::take (v2_shared.cpp).
#include <vector>

#include "pool_impl.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

// Sets block's remote bit (the free already won the block's claim). Release
// publishes the program's last writes to the block to the owner that drains
// it; seq_cst, with the owner re-read in remote_free, for the hint (see
// there).
HAKMEM_HOT void Pool::Impl::publish_remote_bit(PageDesc* d, std::uint32_t block) {
  const std::uint64_t bit = std::uint64_t{1} << (block % 64);
#if HAKMEM_POOL_SCHED_POINTS
  if (options.plant == Plant::remote_bit_torn) {
    // Planted remote_bit_torn: a load, then a store of what it read with the
    // bit set. A racing remote free in the same word can come between the
    // two; one of the bits is lost (its block is neither free nor pending).
    std::atomic<std::uint64_t>& word = d->remote_bits[block / 64];
    const std::uint64_t seen = HAKMEM_LOAD(remote_free_bit_load, d->remote_bits, sched_arg(d->index, block),
                                           word, std::memory_order_seq_cst);
    HAKMEM_STORE(remote_free_store, d->remote_bits, sched_arg(d->index, block), word, seen | bit,
                 std::memory_order_seq_cst);
    return;
  }
#endif
  HAKMEM_RMW(remote_free_fetch_or, d->remote_bits, sched_arg(d->index, block), d->remote_bits[block / 64],
             fetch_or, bit,
             HAKMEM_ORDER(std::memory_order_seq_cst, options.plant, remote_free_without_release,
                          std::memory_order_relaxed));
}

PackedOutcome Pool::Impl::remote_free(PageDesc* d, std::uint32_t block, ThreadCtx* owner, bool entered_v2) {
  const int cls = d->cls;
  // The owner walks its pages for remote frees only when hinted, so a hint
  // must not be lost when the page changes owner meanwhile. An adopter
  // stores owner, then drains with an exchange (both seq_cst); this free
  // sets the bit, then re-reads owner (both seq_cst). Either the adopter's
  // drain sees the bit, or the re-read sees the adopter and hints it.
  // The hint is read and written seq_cst as well: a free that finds the hint
  // already set stores nothing, so the owner's walk after its exchange must
  // see this bit through the total order, not through a release.
  auto hint = [&](ThreadCtx* c) {
    // Load first so that a run of remote frees does not bounce the owner's line.
    if (c && !HAKMEM_LOAD(remote_free_hint, &c->remote_hint[cls], cls, c->remote_hint[cls],
                          HAKMEM_ORDER(std::memory_order_seq_cst, options.plant, hint_load_acquire,
                                       std::memory_order_acquire))) {
      HAKMEM_STORE(remote_free_hint_store, &c->remote_hint[cls], cls, c->remote_hint[cls], 1,
                   HAKMEM_ORDER(std::memory_order_seq_cst, options.plant, remote_free_without_release,
                                std::memory_order_relaxed));
    }
  };
  // Of this free and any racing free of the block (the owner's or another
  // remote one) exactly one wins the claim. Acquire pairs with the release
  // in pop_block: the owner's metadata writes for this block happen before
  // this free, even if the program handed the pointer over without
  // synchronising.
  if (!HAKMEM_CAS(remote_free_claim, &d->meta[block], sched_arg(d->index, block), d->meta[block],
                  kAllocatedByte, static_cast<std::uint8_t>(BlockState::remote_freed),
                  std::memory_order_acquire, std::memory_order_relaxed))
    return report_rejection(arena.block_address(d, block),
                            v2_outcome(FreeRoute::rejected, entered_v2, cls, Verdict::double_free));
  // Poison before the bit is set: from then on the owner may hand the block
  // out again and unpoison it.
  detail::poison(arena.block_address(d, block), kGeometry[cls].block_size);
#if HAKMEM_POOL_SCHED_POINTS
  // Planted remote_reads_used: a plain read of an owner-only field. Volatile
  // so the compiler keeps a read whose value nothing uses; no schedule point,
  // since ThreadSanitizer needs no overlap in time, only no happens-before.
  if (options.plant == Plant::remote_reads_used) [[maybe_unused]]
    const std::uint16_t used_now = *static_cast<const volatile std::uint16_t*>(&d->used);
#endif
#if HAKMEM_POOL_SCHED_POINTS
  // Planted hint_before_bit: the owner is hinted before the bit is set; an
  // owner that takes the hint and walks its pages in between misses the bit.
  const bool hinted_early = options.plant == Plant::hint_before_bit;
  if (hinted_early) hint(owner);
#else
  constexpr bool hinted_early = false;
#endif
  publish_remote_bit(d, block);
  if (entered_v2) HAKMEM_V2_COUNT(*this, cls, free_fast);
  if (!hinted_early) hint(owner);
#if HAKMEM_POOL_SCHED_POINTS
  // Planted no_owner_reread: an adopter that took the page after this free
  // read its owner, and drained before the bit was set, is never hinted.
  if (options.plant == Plant::no_owner_reread) return v2_outcome(FreeRoute::v2_remote, entered_v2, cls);
#endif
  ThreadCtx* now = HAKMEM_LOAD(remote_free_owner_reread, &d->owner, sched_arg(d->index, block), d->owner,
                               std::memory_order_seq_cst);
  HAKMEM_SCHED_RESULT(remote_free_owner_reread, owner_code(now));
  if (now != owner) hint(now);
  return v2_outcome(FreeRoute::v2_remote, entered_v2, cls);
}

std::uint32_t PageDesc::drain_remote(bool owner_changed) {
  std::uint32_t n = 0;
  for (std::uint32_t w = 0; w < kRemoteWords; ++w) {
#if HAKMEM_POOL_SCHED_POINTS
    // Planted drain_skips_word: only the first word is taken, so remote
    // frees of blocks 64 and up (class 0) stay pending for good.
    if (w > 0 && plant == Plant::drain_skips_word) break;
#endif
    // A new owner must not skip a word on a stale zero (see remote_free).
    if (!owner_changed &&
        HAKMEM_LOAD(drain_load, remote_bits, sched_arg(index, w), remote_bits[w],
                    HAKMEM_ORDER(HAKMEM_ORDER(std::memory_order_seq_cst, plant, drain_without_acquire,
                                              std::memory_order_relaxed),
                                 plant, remote_check_relaxed, std::memory_order_relaxed)) == 0)
      continue;
    std::uint64_t bits = HAKMEM_RMW(
        drain_exchange, remote_bits, sched_arg(index, w), remote_bits[w], exchange, 0,
        HAKMEM_ORDER(std::memory_order_seq_cst, plant, drain_without_acquire, std::memory_order_release));
    while (bits) {
      std::uint32_t block = w * 64 + static_cast<std::uint32_t>(__builtin_ctzll(bits));
      bits &= bits - 1;
      HAKMEM_STORE(drain_state_store, &meta[block], sched_arg(index, block), meta[block], BlockState::free,
                   std::memory_order_relaxed);
      push_free(block);
      ++n;
    }
  }
  used = static_cast<std::uint16_t>(used - n);
  return n;
}

PageDesc* Pool::Impl::drain_owned_pages(ThreadCtx* ctx, int cls) {
  ThreadCtx::ClassPages& pages = ctx->classes[cls];
  if (PageDesc* cur = pages.current)
    if (cur->has_remote_frees()) cur->drain_remote();
  PageDesc* emptied = nullptr;  // the first page the drain emptied: kept for this refill
  for (PageDesc* d = pages.full.head; d;) {
    PageDesc* next = d->next;
    if (d->has_remote_frees() && d->drain_remote() != 0) {
      pages.full.remove(d);
      pages.partial.push(d, PageList::partial);
      // Any further page the drain emptied goes cold, where every thread can
      // take it: kept, only this thread could reuse it, and only if it
      // allocates this class again.
      if (d->used == 0 && emptied)
        retire_empty(pages, d);
      else if (d->used == 0)
        emptied = d;
    }
    d = next;
  }
  if (pages.current && pages.current->free_top) {
    if (emptied) retire_empty(pages, emptied);
    return pages.current;
  }
  return emptied ? emptied : pages.partial.head;
}

void Pool::Impl::on_thread_exit(std::uint32_t slot) {
  HAKMEM_SCHED(thread_exit, this, 0);
  ThreadCtx* ctx = contexts.find(slot);
  if (!ctx) return;
#if HAKMEM_POOL_SCHED_POINTS
  if (options.plant == Plant::exit_keeps_pages) {
    // Planted exit_keeps_pages: the free caches are flushed, but the pages
    // stay with the context, which stays bound to the slot of a thread that
    // is gone: never orphaned, never adopted (until a new thread happens to
    // take the slot), their remote frees never drained.
    for (ThreadCtx::ClassPages& pages : ctx->classes) flush_cache(pages, pages.cached);
    if (t_ctx_cache.pool_uid == uid) t_ctx_cache = {};
    return;
  }
#endif
  for (int cls = 0; cls < kNumClasses; ++cls) {
    ThreadCtx::ClassPages& pages = ctx->classes[cls];
    flush_cache(pages, pages.cached);
    std::vector<PageDesc*> owned;
    if (pages.current) owned.push_back(pages.current);
    for (PageQueue* q : {&pages.partial, &pages.full})
      while (PageDesc* d = q->pop(PageList::none)) owned.push_back(d);
    pages.current = nullptr;
    for (PageDesc* d : owned) {
      d->drain_remote();  // still the owner here
      if (d->used == 0)
        v2_shared.release_to_cold(d);
      else
        v2_shared.orphan(d);
    }
    HAKMEM_STORE(exit_hint_clear, &ctx->remote_hint[cls], cls, ctx->remote_hint[cls], 0,
                 std::memory_order_relaxed);
  }
  if (t_ctx_cache.pool_uid == uid) t_ctx_cache = {};  // runs on the exiting thread
  contexts.release(slot);
}

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
