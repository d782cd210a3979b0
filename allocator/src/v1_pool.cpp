// Pool v1's allocation and free (v1_pool.h).
#include "v1_pool.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

void* V1Class::alloc(Arena& arena, int cls) {
  std::lock_guard lock(mutex);
  PageDesc* d = partial.head;
  if (!d) {
    d = arena.acquire_slab(PageKind::v1, cls);
    if (!d) return nullptr;
    partial.push(d, PageList::v1_partial);
  }
  void* p = arena.pop_block(d);
  if (d->free_top == 0) {
    partial.remove(d);
    full.push(d, PageList::v1_full);
  }
  return p;
}

FreeOutcome V1Class::free(Arena& arena, const Location& loc, FreeOutcome out) {
  PageDesc* d = loc.desc;
  std::lock_guard lock(mutex);
  if (d->state(loc.block) != BlockState::allocated) {
    out.route = FreeRoute::rejected;
    out.reason = Verdict::double_free;
    return out;
  }
  d->set_state(loc.block, BlockState::free);
  detail::poison(arena.block_address(d, loc.block), kGeometry[loc.cls].block_size);
  d->push_free(loc.block);
  --d->used;
  if (d->list == PageList::v1_full) {
    full.remove(d);
    partial.push(d, PageList::v1_partial);
  }
  out.route = FreeRoute::v1;
  return out;
}

FreeOutcome V1Pool::free(Arena& arena, Location loc, FreeOutcome out) {
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
  return classes_[loc.cls].free(arena, loc, out);
}

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
