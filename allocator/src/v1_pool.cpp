// Pool v1: the default route. One mutex per class guards a queue of slabs
// with free blocks. v1 is also where every free lands that v2 did not take:
// it frees its own blocks, hands v2 blocks of an old route back to v2, and
// rejects everything else by name (state untouched).
#include "pool_impl.h"

namespace hakmem::HAKMEM_FLAVOR_NS {

void* Pool::Impl::v1_alloc(int cls) {
  V1Class& c = v1[cls];
  std::lock_guard lock(c.mutex);
  PageDesc* d = c.partial.head;
  if (!d) {
    d = acquire_slab(PageKind::v1, cls);
    if (!d) return nullptr;
    c.partial.push(d, PageList::v1_partial);
  }
  void* p = pop_block(d);
  if (d->free_top == 0) {
    c.partial.remove(d);
    c.full.push(d, PageList::v1_full);
  }
  return p;
}

FreeOutcome Pool::Impl::v1_free(const Location& loc, FreeOutcome out) {
  out.cls = loc.cls;
  auto reject = [&](Verdict why) {
    out.route = FreeRoute::rejected;
    out.reason = why;
    return out;
  };
  if (loc.where != Location::Where::slab) return reject(Verdict::not_ours);
  if (loc.geometry != Verdict::ok) return reject(loc.geometry);
  // A v2 block whose class is no longer routed to v2: its page still knows
  // how to take it back.
  if (loc.kind == PageKind::v2) return v2_free_block(loc, out);

  PageDesc* d = loc.desc;
  V1Class& c = v1[loc.cls];
  std::lock_guard lock(c.mutex);
  BlockState expected = BlockState::allocated;
  if (!d->state[loc.block].compare_exchange_strong(expected, BlockState::free, std::memory_order_acquire,
                                                   std::memory_order_relaxed))
    return reject(Verdict::double_free);
  detail::poison(block_address(d, loc.block), kGeometry[loc.cls].block_size);
  d->free_stack[d->free_top++] = static_cast<std::uint8_t>(loc.block);
  --d->used;
  if (d->list == PageList::v1_full) {
    c.full.remove(d);
    c.partial.push(d, PageList::v1_partial);
  }
  out.route = FreeRoute::v1;
  return out;
}

}  // namespace hakmem::HAKMEM_FLAVOR_NS
