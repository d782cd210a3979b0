// Pool::census: what the pool holds, slab by slab, for "nothing kept"
// checks. The invariant walk (invariants.cpp) asks whether the bookkeeping
// is consistent; the census reports it as it is (queue, owner and whether
// that owner's thread still lives, the owner's hint, blocks live, cached and
// remote-freed) so that a checker knowing what should be held can tell a
// leak or a stranded remote free from a consistent pool. Quiescent points
// only, like the walk.
#include <algorithm>
#include <vector>

#include "pool_impl.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

namespace {

static_assert(static_cast<int>(SlabQueue::v1_full) == static_cast<int>(PageList::v1_full) &&
                  static_cast<int>(SlabQueue::cold) == static_cast<int>(PageList::cold),
              "SlabQueue names PageList's values");

struct OwnerInfo {
  const ThreadCtx* ctx = nullptr;
  std::uint32_t slot = kNoThreadSlot;
  bool live = false;  // the slot's thread has not exited
  bool hinted[kNumClasses] = {};
};
bool by_ctx(const OwnerInfo& a, const OwnerInfo& b) { return a.ctx < b.ctx; }

}  // namespace

void Pool::Impl::census(Census& c) const {
  std::vector<SlabCensus> slabs = std::move(c.slabs);
  c = Census{};
  c.slabs = std::move(slabs);
  const std::uint32_t used_slabs = arena.slabs_used();
  c.slabs.assign(used_slabs, SlabCensus{});  // each slab's cached blocks are counted in place first
  // By context address, sorted: a vector, the calling thread's from one
  // census to the next, as a fuzz input takes a census at every check.
  thread_local std::vector<OwnerInfo> owners;
  owners.clear();
  contexts.for_each([&](const ThreadCtx& ctx) {
    OwnerInfo& info = owners.emplace_back();
    info.ctx = &ctx;
    info.slot = ctx.slot;
    for (int cls = 0; cls < kNumClasses; ++cls) {
      info.hinted[cls] = ctx.remote_hint[cls].load(std::memory_order_relaxed) != 0;
      const ThreadCtx::ClassPages& pages = ctx.classes[cls];
      for (std::uint32_t i = 0; i < pages.cached; ++i)
        if (handle_slab(pages.cache[i]) < used_slabs) ++c.slabs[handle_slab(pages.cache[i])].cached;
    }
  });
  // Outside the contexts' lock: the registry's is taken before it on thread exit.
  for (OwnerInfo& info : owners) info.live = info.slot != kNoThreadSlot && thread_slot_live(info.slot);
  std::sort(owners.begin(), owners.end(), by_ctx);

  for (std::uint32_t i = 0; i < used_slabs; ++i) {
    const PageDesc* d = arena.desc(i);
    SlabCensus& s = c.slabs[i];
    s.slab = i;
    const PageKind kind = d->kind.load(std::memory_order_relaxed);
    s.kind = kind == PageKind::v1 ? BlockKind::v1 : BlockKind::v2;
    s.cls = d->cls;
    s.queue = static_cast<SlabQueue>(d->list);
    s.capacity = d->capacity;
    s.used = d->used;
    s.free_stack = d->free_top;
    for (std::uint32_t w = 0; w < kRemoteWords && w * 64 < d->capacity; ++w) {
      const std::uint32_t past_last = d->capacity - w * 64;  // bits at or past capacity are not blocks
      const std::uint64_t mask = past_last >= 64 ? ~0ull : (1ull << past_last) - 1;
      s.remote_pending += static_cast<std::uint32_t>(
          __builtin_popcountll(d->remote_bits[w].load(std::memory_order_relaxed) & mask));
    }
    if (const ThreadCtx* owner = d->owner.load(std::memory_order_relaxed)) {
      const auto it = std::lower_bound(owners.begin(), owners.end(), owner,
                                       [](const OwnerInfo& o, const ThreadCtx* c) { return o.ctx < c; });
      const OwnerInfo info = it != owners.end() && it->ctx == owner ? *it : OwnerInfo{};
      s.owner_hinted = info.hinted[d->cls];
      const bool bound = info.slot != kNoThreadSlot;
      s.owner = info.live ? SlabOwner::live_thread : SlabOwner::exited_thread;
      if (bound) s.owner_slot = info.slot;
    }
    (kind == PageKind::v1 ? c.v1_slabs : c.v2_slabs)[d->cls] += 1;
    c.cached_blocks += s.cached;
    c.remote_pending += s.remote_pending;
  }
  InvariantReport large_only;  // count_live adds the large blocks to an empty report's totals
  large.count_live(large_only);
  c.large_blocks = large_only.large_blocks;
  c.large_bytes = large_only.live_bytes;
}

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
