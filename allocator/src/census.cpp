// Pool::census: what the pool holds, slab by slab, for "nothing kept"
// checks. The invariant walk (invariants.cpp) asks whether the bookkeeping
// is consistent; the census reports it as it is (queue, owner and whether
// that owner's thread still lives, the owner's hint, blocks live, cached and
// remote-freed) so that a checker knowing what should be held can tell a
// leak or a stranded remote free from a consistent pool. Quiescent points
// only, like the walk.
#include <unordered_map>
#include <vector>

#include "pool_impl.h"

namespace hakmem::HAKMEM_FLAVOR_NS {

namespace {

static_assert(static_cast<int>(SlabQueue::v1_full) == static_cast<int>(PageList::v1_full) &&
                  static_cast<int>(SlabQueue::cold) == static_cast<int>(PageList::cold),
              "SlabQueue names PageList's values");

struct OwnerInfo {
  std::uint32_t slot = kNoThreadSlot;
  bool hinted[kNumClasses] = {};
};

}  // namespace

Census Pool::Impl::census() const {
  Census c;
  const std::uint32_t used_slabs = arena.slabs_used();
  std::vector<std::uint32_t> cached(used_slabs, 0);
  std::unordered_map<const ThreadCtx*, OwnerInfo> owners;
  contexts.for_each([&](const ThreadCtx& ctx) {
    OwnerInfo& info = owners[&ctx];
    info.slot = ctx.slot;
    for (int cls = 0; cls < kNumClasses; ++cls) {
      info.hinted[cls] = ctx.remote_hint[cls].load(std::memory_order_relaxed) != 0;
      const ThreadCtx::ClassPages& pages = ctx.classes[cls];
      for (std::uint32_t i = 0; i < pages.cached; ++i)
        if (handle_slab(pages.cache[i]) < used_slabs) ++cached[handle_slab(pages.cache[i])];
    }
  });
  // Outside the contexts' lock: the registry's is taken before it on thread exit.
  std::unordered_map<std::uint32_t, bool> slot_live;
  for (const auto& [ctx, info] : owners)
    if (info.slot != kNoThreadSlot) slot_live.emplace(info.slot, thread_slot_live(info.slot));

  c.slabs.reserve(used_slabs);
  for (std::uint32_t i = 0; i < used_slabs; ++i) {
    const PageDesc* d = arena.desc(i);
    SlabCensus s;
    s.slab = i;
    const PageKind kind = d->kind.load(std::memory_order_relaxed);
    s.kind = kind == PageKind::v1 ? BlockKind::v1 : BlockKind::v2;
    s.cls = d->cls;
    s.queue = static_cast<SlabQueue>(d->list);
    s.capacity = d->capacity;
    s.used = d->used;
    s.free_stack = d->free_top;
    s.cached = cached[i];
    for (std::uint32_t b = 0; b < d->capacity; ++b) s.remote_pending += d->remote_freed(b);
    if (const ThreadCtx* owner = d->owner.load(std::memory_order_relaxed)) {
      const OwnerInfo& info = owners[owner];
      s.owner_hinted = info.hinted[d->cls];
      const bool bound = info.slot != kNoThreadSlot;
      s.owner = bound && slot_live[info.slot] ? SlabOwner::live_thread : SlabOwner::exited_thread;
      if (bound) s.owner_slot = info.slot;
    }
    (kind == PageKind::v1 ? c.v1_slabs : c.v2_slabs)[d->cls] += 1;
    c.cached_blocks += s.cached;
    c.remote_pending += s.remote_pending;
    c.slabs.push_back(s);
  }
  InvariantReport large_only;  // count_live adds the large blocks to an empty report's totals
  large.count_live(large_only);
  c.large_blocks = large_only.large_blocks;
  c.large_bytes = large_only.live_bytes;
  return c;
}

}  // namespace hakmem::HAKMEM_FLAVOR_NS
