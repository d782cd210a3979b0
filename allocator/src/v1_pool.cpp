// Pool v1: the default route. One mutex per class guards a queue of slabs
// with free blocks. v1 is also where every free lands that v2 did not take
// (free.cpp hands v2 blocks of an old route back to v2 first): it frees its
// own blocks and rejects everything else by name (state untouched).
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

FreeOutcome Pool::Impl::v1_free(Location loc, FreeOutcome out) {
  out.cls = loc.cls;
  auto reject = [&](Verdict why) {
    out.route = FreeRoute::rejected;
    out.reason = why;
    return out;
  };
  if (loc.where != Location::Where::slab) return reject(Verdict::not_ours);
  if (loc.geometry != Verdict::ok) return reject(loc.geometry);
  // Unreachable: free() hands every v2 block start to v2. Kept so that v1
  // can never take a v2 page's block onto its own queues.
  if (loc.kind == PageKind::v2) return reject(Verdict::header_missing);

  PageDesc* d = loc.desc;
  V1Class& c = v1[loc.cls];
  std::lock_guard lock(c.mutex);
  if (d->state(loc.block) != BlockState::allocated) return reject(Verdict::double_free);
  d->set_state(loc.block, BlockState::free);
  detail::poison(block_address(d, loc.block), kGeometry[loc.cls].block_size);
  d->push_free(loc.block);
  --d->used;
  if (d->list == PageList::v1_full) {
    c.full.remove(d);
    c.partial.push(d, PageList::v1_partial);
  }
  out.route = FreeRoute::v1;
  return out;
}

}  // namespace hakmem::HAKMEM_FLAVOR_NS
