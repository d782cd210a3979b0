// The free path, from the top:
//   null                         -> no-op
//   a large block (or one freed recently) -> large path
//   v2 routed for the page's class (or for a pointer in no class's page):
//     count free_calls; page_of(ptr)
//       ok      -> owner push (v2_local) or lock-free remote push (v2_remote)
//       failure -> count page_of_fail_<reason> and free_fallback_v1
//   v1: frees its own blocks, returns v2 blocks of an old route to v2,
//       rejects the rest by name.
// Every rejection leaves all state untouched.
#include "pool_impl.h"

namespace hakmem::HAKMEM_FLAVOR_NS {

FreeOutcome Pool::Impl::free(void* ptr) {
  FreeOutcome out;
  if (!ptr) return out;
  Location loc = locate(ptr);
  if (loc.where == Location::Where::outside)
    if (std::optional<FreeOutcome> large_out = large_free(ptr)) return *large_out;

  std::uint8_t mask = v2_route_mask.load(std::memory_order_relaxed);
  bool enter_v2 = loc.cls < 0 ? mask != 0 : ((mask >> loc.cls) & 1) != 0;
  if (enter_v2) {
    [[maybe_unused]] int row = loc.cls < 0 ? kNoClassRow : loc.cls;
    HAKMEM_V2_COUNT(*this, row, free_calls);
    out.entered_v2 = true;
    out.page_of = loc.v2_verdict();
    switch (out.page_of) {
      case Verdict::ok:
        return v2_free_block(loc, out);
      case Verdict::header_missing:
        HAKMEM_V2_COUNT(*this, row, page_of_fail_header_missing);
        break;
      case Verdict::out_of_range:
        HAKMEM_V2_COUNT(*this, row, page_of_fail_out_of_range);
        break;
      case Verdict::misaligned:
        HAKMEM_V2_COUNT(*this, row, page_of_fail_misaligned);
        break;
      default:
        HAKMEM_V2_COUNT(*this, row, page_of_fail_unknown);
        break;
    }
    HAKMEM_V2_COUNT(*this, row, free_fallback_v1);
  }
  return v1_free(loc, out);
}

FreeOutcome Pool::Impl::v2_free_block(const Location& loc, FreeOutcome out) {
  PageDesc* d = loc.desc;
  const std::uint32_t block = loc.block;
  const int cls = loc.cls;
  out.cls = cls;
  ThreadCtx* owner = d->owner.load(std::memory_order_acquire);  // we may touch *owner below
  ThreadCtx* me = owner ? my_ctx(false) : nullptr;
  const bool local = owner != nullptr && owner == me;
  BlockState expected = BlockState::allocated;
  // Acquire pairs with the release in pop_block (see there).
  if (!d->state[block].compare_exchange_strong(expected, local ? BlockState::free : BlockState::remote,
                                               std::memory_order_acquire, std::memory_order_relaxed)) {
    out.route = FreeRoute::rejected;
    out.reason = Verdict::double_free;
    return out;
  }
  if (out.entered_v2) HAKMEM_V2_COUNT(*this, cls, free_fast);
  // Poison before the block becomes reusable: once pushed, another thread
  // may hand it out and unpoison it.
  detail::poison(block_address(d, block), kGeometry[cls].block_size);
  if (!local) {
    remote_push(d, block);
    if (owner) owner->remote_hint[cls].store(1, std::memory_order_release);
    out.route = FreeRoute::v2_remote;
    return out;
  }
  d->free_stack[d->free_top++] = static_cast<std::uint8_t>(block);
  --d->used;
  ThreadCtx::ClassPages& pages = me->classes[cls];
  if (d->list == PageList::full) {
    pages.full.remove(d);
    pages.partial.push(d, PageList::partial);
  }
  if (d->used == 0 && d != pages.current) {
    pages.partial.remove(d);
    release_to_cold(d);
  }
  out.route = FreeRoute::v2_local;
  return out;
}

}  // namespace hakmem::HAKMEM_FLAVOR_NS
