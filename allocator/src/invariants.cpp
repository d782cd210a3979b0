// The invariant walk. For every committed slab: the header is intact; every
// block is in exactly one state (allocated, on the free stack, in its owner's
// free cache, remote-freed: allocated with its remote bit set) and the counts
// agree with used/free_top; v2 pages sit on exactly the
// queue their owner field implies. Reports the first inconsistency found.
// Needs quiescence: no concurrent alloc/free on this pool.
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pool_impl.h"

namespace hakmem::HAKMEM_FLAVOR_NS {

namespace {

std::string page_name(const PageDesc* d) {
  return "slab " + std::to_string(d->index) + " (" + (d->kind == PageKind::v1 ? "v1" : "v2") + ", class " +
         std::to_string(d->cls) + ")";
}

}  // namespace

InvariantReport Pool::Impl::check() const {
  InvariantReport r;
  auto fail = [&](const std::string& what) {
    if (r.ok) {
      r.ok = false;
      r.first_error = what;
    }
  };

  // Where each v2 page is expected to be: list id and owner.
  std::unordered_map<const PageDesc*, std::pair<PageList, const ThreadCtx*>> placed;
  // Blocks in a thread's free cache, per page.
  std::unordered_map<const PageDesc*, std::vector<std::uint32_t>> cached;
  const std::uint32_t used_slabs = arena.slabs_used();
  auto note_cache = [&](const ThreadCtx::ClassPages& pages, int cls, const ThreadCtx* ctx) {
    if (pages.cache_limit != kGeometry[cls].cache_limit || pages.cached > pages.cache_limit)
      return fail("a free cache overflows its limit");
    for (std::uint32_t i = 0; i < pages.cached; ++i) {
      const BlockHandle h = pages.cache[i];
      const PageDesc* d = handle_slab(h) < used_slabs ? arena.desc(handle_slab(h)) : nullptr;
      if (!d || d->kind.load(std::memory_order_relaxed) != PageKind::v2 || d->cls != cls ||
          handle_block(h) >= d->capacity)
        return fail("a free cache holds a block of no v2 page of its class");
      if (d->owner.load(std::memory_order_relaxed) != ctx)
        return fail(page_name(d) + " has a block in the free cache of a thread that does not own it");
      cached[d].push_back(handle_block(h));
    }
  };
  auto place = [&](const PageQueue& q, PageList id, const ThreadCtx* owner) {
    std::size_t guard = 0;
    for (const PageDesc* d = q.head; d; d = d->next) {
      if (++guard > arena.slab_count()) return fail("page queue cycle");
      if (!placed.emplace(d, std::make_pair(id, owner)).second)
        return fail(page_name(d) + " is on two page queues");
    }
  };
  contexts.for_each([&](const ThreadCtx& ctx) {
    if (ctx.slot == kNoThreadSlot) {
      for (const auto& pages : ctx.classes)
        if (pages.current || pages.partial.head || pages.full.head || pages.cached)
          fail("an idle thread context still owns pages");
      return;
    }
    for (int cls = 0; cls < kNumClasses; ++cls) note_cache(ctx.classes[cls], cls, &ctx);
    for (const auto& pages : ctx.classes) {
      if (pages.current && !placed.emplace(pages.current, std::make_pair(PageList::current, &ctx)).second)
        fail(page_name(pages.current) + " is current and on a queue");
      place(pages.partial, PageList::partial, &ctx);
      place(pages.full, PageList::full, &ctx);
    }
  });
  auto place_unowned = [&](const PageQueue& q, PageList id) { place(q, id, nullptr); };
  for (int cls = 0; cls < kNumClasses; ++cls) {
    v2_shared.visit_queues(cls, place_unowned);
    v1.visit_queues(cls, place_unowned);
  }

  for (std::uint32_t i = 0; i < used_slabs && r.ok; ++i) {
    const PageDesc* d = arena.desc(i);
    const PageKind kind = d->kind.load(std::memory_order_relaxed);
    const std::string name = page_name(d);
    if (kind != PageKind::v1 && kind != PageKind::v2) {
      fail(name + ": bad kind");
      break;
    }
    if (d->cls >= kNumClasses || d->capacity != kGeometry[d->cls].capacity || d->index != i) {
      fail(name + ": bad class geometry");
      break;
    }
    const std::uint8_t* base = arena.slab_base(i);
    detail::unpoison(base, sizeof(SlabHeader));
    SlabHeader header;
    std::memcpy(&header, base, sizeof header);
    detail::poison(base, sizeof(SlabHeader));
    if (header.magic != kSlabMagic || header.slab_index != i || header.kind != std::uint8_t(kind) ||
        header.cls != d->cls)
      fail(name + ": slab header corrupted (memory written before the first block)");

    std::uint32_t allocated = 0, free_state = 0, remote_state = 0;
    for (std::uint32_t b = 0; b < kMaxBlocksPerSlab; ++b) {
      if (!d->remote_freed(b)) continue;
      if (b >= d->capacity) {
        fail(name + ": remote bit set past the last block");
        break;
      }
      ++remote_state;
      if (d->state(b) != BlockState::allocated)
        fail(name + ": block " + std::to_string(b) + " is remote-freed and free (a double free raced)");
    }
    for (std::uint32_t b = 0; b < d->capacity; ++b) {
      switch (d->state(b)) {
        case BlockState::allocated:
          if (!d->remote_freed(b)) ++allocated;
          break;
        case BlockState::free:
          ++free_state;
          break;
        default:
          fail(name + ": block " + std::to_string(b) + " has an invalid state");
      }
    }
    std::vector<bool> seen(d->capacity, false);
    if (d->free_top > d->capacity) fail(name + ": free stack overflows capacity");
    for (std::uint32_t k = 0; k < d->free_top && k < d->capacity; ++k) {
      std::uint32_t b = d->free_stack_at(k);
      if (b >= d->capacity || seen[b]) {
        fail(name + ": free stack entry repeated or out of range");
        break;
      }
      seen[b] = true;
      if (d->state(b) != BlockState::free)
        fail(name + ": block " + std::to_string(b) + " on the free stack is not free");
    }
    std::uint32_t in_cache = 0;
    if (auto c = cached.find(d); c != cached.end()) {
      for (std::uint32_t b : c->second) {
        if (seen[b]) {
          fail(name + ": block " + std::to_string(b) + " is cached twice, or cached and on the free stack");
          break;
        }
        seen[b] = true;
        if (d->state(b) != BlockState::free)
          fail(name + ": block " + std::to_string(b) + " in a free cache is not free");
      }
      in_cache = static_cast<std::uint32_t>(c->second.size());
    }
    if (free_state != d->free_top + in_cache)
      fail(name + ": free blocks missing from the free stack and caches (lost blocks)");
    if (d->used != allocated + remote_state + in_cache)
      fail(name + ": used count disagrees with block states");

    auto it = placed.find(d);
    if (kind == PageKind::v1) {
      ++r.v1_pages;
      if (remote_state) fail(name + ": v1 page has remote frees");
      PageList want = d->free_top ? PageList::v1_partial : PageList::v1_full;
      if (it == placed.end() || it->second.first != want || d->list != want)
        fail(name + ": v1 page on the wrong queue");
    } else {
      ++r.v2_pages;
      const ThreadCtx* owner = d->owner.load(std::memory_order_relaxed);
      if (it == placed.end()) {
        fail(name + ": v2 page on no queue (lost page)");
      } else {
        auto [list, want_owner] = it->second;
        if (d->list != list) fail(name + ": queue tag disagrees with the queue it is on");
        if (owner != want_owner) fail(name + ": owner disagrees with the queue it is on");
        if (list == PageList::partial && d->free_top == 0) fail(name + ": partial page without free blocks");
        if (list == PageList::full && d->free_top != 0) fail(name + ": full page with free blocks");
        if (list == PageList::cold && d->used != 0) fail(name + ": cold page with live blocks");
        if (list == PageList::orphan) ++r.orphan_pages;
        if (list == PageList::cold) ++r.cold_pages;
      }
    }
    r.live_blocks += allocated;
    r.live_bytes += std::uint64_t{allocated} * kGeometry[d->cls].block_size;
    r.remote_pending += remote_state;
  }
  if (placed.size() > used_slabs) fail("a page queue holds a page that was never committed");

  large.count_live(r);
  return r;
}

}  // namespace hakmem::HAKMEM_FLAVOR_NS
