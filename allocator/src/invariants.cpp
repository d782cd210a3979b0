// The invariant walk. For every committed slab: the header is intact; every
// block is in exactly one state (allocated, on the free stack, in its owner's
// free cache, remote-freed with its remote bit set) and the counts agree
// with used/free_top; v2 pages sit on exactly the
// queue their owner field implies. Reports the first inconsistency found.
// Needs quiescence: no concurrent alloc/free on this pool.
#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "pool_impl.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

namespace {

std::string page_name(const PageDesc* d) {
  return "slab " + std::to_string(d->index) + " (" + (d->kind == PageKind::v1 ? "v1" : "v2") + ", class " +
         std::to_string(d->cls) + ")";
}

// What one slab's block bytes say: the copy's first `cap` bytes are block
// states, the next free_top are the free stack. Marks in `seen` each block
// on the free stack.
struct BlockBytes {
  static constexpr std::uint32_t kNone = ~0u;
  std::uint32_t allocated = 0, free = 0, remote_freed = 0;
  std::uint32_t invalid = kNone;  // the first block in no state
  // The free stack's first fault: an entry repeated or out of range, or a
  // block on it that is not free.
  enum class StackFault : std::uint8_t { none, broken, not_free } stack_fault = StackFault::none;
  std::uint32_t stack_fault_block = kNone;
};
// Left out of ASan's instrumentation: it reads only the walk's own stack
// copy and array, at indices checked against the capacity first, and
// ASan's check of every byte made these loops half of the walk's time, the
// walk a fifth of a fuzz input's.
__attribute__((no_sanitize("address"))) BlockBytes read_block_bytes(const std::uint8_t* meta,
                                                                    std::uint32_t cap, std::uint32_t free_top,
                                                                    bool* seen) {
  BlockBytes r;
  for (std::uint32_t b = 0; b < cap; ++b) {
    r.allocated += meta[b] == static_cast<std::uint8_t>(BlockState::allocated);
    r.free += meta[b] == static_cast<std::uint8_t>(BlockState::free);
    r.remote_freed += meta[b] == static_cast<std::uint8_t>(BlockState::remote_freed);
  }
  if (r.allocated + r.free + r.remote_freed != cap)
    for (std::uint32_t b = 0; b < cap && r.invalid == BlockBytes::kNone; ++b)
      if (meta[b] > static_cast<std::uint8_t>(BlockState::remote_freed)) r.invalid = b;
  auto fault = [&r](BlockBytes::StackFault f, std::uint32_t b) {
    if (r.stack_fault != BlockBytes::StackFault::none) return;
    r.stack_fault = f;
    r.stack_fault_block = b;
  };
  for (std::uint32_t k = 0; k < free_top && k < cap; ++k) {
    const std::uint32_t b = meta[cap + k];
    if (b >= cap || seen[b]) {
      fault(BlockBytes::StackFault::broken, b);
      break;
    }
    seen[b] = true;
    if (meta[b] != static_cast<std::uint8_t>(BlockState::free)) fault(BlockBytes::StackFault::not_free, b);
  }
  return r;
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

  // The walk runs at every check of a fuzz input: it allocates nothing but
  // text for a failure. Its arrays are the calling thread's, kept from one
  // walk to the next (under ASan a fresh allocation costs more than the
  // walk of a small pool).
  const std::uint32_t used_slabs = arena.slabs_used();
  // Where each v2 page is expected to be, by slab: list and owner.
  struct Placement {
    PageList list = PageList::none;  // none: on no queue
    const ThreadCtx* owner = nullptr;
  };
  thread_local std::vector<Placement> placed;
  placed.assign(used_slabs, Placement{});
  // Blocks in a thread's free cache, as (slab, block), sorted before the slab walk.
  thread_local std::vector<std::pair<std::uint32_t, std::uint32_t>> cached;
  cached.clear();
  auto slab_of_desc = [&](const PageDesc* d) { return static_cast<std::size_t>(d - arena.desc(0)); };
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
      cached.emplace_back(handle_slab(h), handle_block(h));
    }
  };
  auto place_one = [&](const PageDesc* d, PageList id, const ThreadCtx* owner) {
    const std::size_t slab = slab_of_desc(d);
    if (slab >= used_slabs) return fail("a page queue holds a page that was never committed");
    if (placed[slab].list != PageList::none) return fail(page_name(d) + " is on two page queues");
    placed[slab] = {id, owner};
  };
  auto place = [&](const PageQueue& q, PageList id, const ThreadCtx* owner) {
    std::size_t guard = 0;
    for (const PageDesc* d = q.head; d && r.ok; d = d->next) {
      if (++guard > arena.slab_count()) return fail("page queue cycle");
      place_one(d, id, owner);
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
      if (pages.current) {
        const std::size_t slab = slab_of_desc(pages.current);
        if (slab < used_slabs && placed[slab].list != PageList::none)
          fail(page_name(pages.current) + " is current and on a queue");
        else
          place_one(pages.current, PageList::current, &ctx);
      }
      place(pages.partial, PageList::partial, &ctx);
      place(pages.full, PageList::full, &ctx);
    }
  });
  auto place_unowned = [&](const PageQueue& q, PageList id) { place(q, id, nullptr); };
  for (int cls = 0; cls < kNumClasses; ++cls) {
    v2_shared.visit_queues(cls, place_unowned);
    v1.visit_queues(cls, place_unowned);
  }
  std::sort(cached.begin(), cached.end());
  auto cached_at = cached.begin();

  for (std::uint32_t i = 0; i < used_slabs && r.ok; ++i) {
    const PageDesc* d = arena.desc(i);
    const PageKind kind = d->kind.load(std::memory_order_relaxed);
    auto name = [d] { return page_name(d); };
    if (kind != PageKind::v1 && kind != PageKind::v2) {
      fail(name() + ": bad kind");
      break;
    }
    if (d->cls >= kNumClasses || d->capacity != kGeometry[d->cls].capacity || d->index != i) {
      fail(name() + ": bad class geometry");
      break;
    }
    const std::uint8_t* base = arena.slab_base(i);
    detail::unpoison(base, sizeof(SlabHeader));
    SlabHeader header;
    std::memcpy(&header, base, sizeof header);
    detail::poison(base, sizeof(SlabHeader));
    if (header.magic != kSlabMagic || header.slab_index != i || header.kind != std::uint8_t(kind) ||
        header.cls != d->cls)
      fail(name() + ": slab header corrupted (memory written before the first block)");

    // One copy of the slab's per-block bytes (block states, then the free
    // stack): the loops below run over plain bytes, and the state counts
    // vectorise. The walk needs quiescence anyway.
    static_assert(sizeof(d->meta[0]) == 1);
    const std::uint32_t cap = d->capacity;
    std::uint8_t meta[2 * kMaxBlocksPerSlab];
    std::memcpy(meta, static_cast<const void*>(d->meta), 2 * cap);
    auto state = [&](std::uint32_t b) { return static_cast<BlockState>(meta[b]); };

    std::uint32_t remote_bits = 0;
    for (std::uint32_t w = 0; w < kRemoteWords && r.ok; ++w) {
      for (std::uint64_t bits = d->remote_bits[w].load(std::memory_order_relaxed); bits; bits &= bits - 1) {
        const std::uint32_t b = w * 64 + static_cast<std::uint32_t>(__builtin_ctzll(bits));
        if (b >= cap) {
          fail(name() + ": remote bit set past the last block");
          break;
        }
        ++remote_bits;
        if (state(b) != BlockState::remote_freed)
          fail(name() + ": block " + std::to_string(b) +
               " has a remote bit but was not remote-freed (a stray bit: a drain would free it)");
      }
    }
    bool seen[kMaxBlocksPerSlab] = {};
    const BlockBytes bytes = read_block_bytes(meta, cap, d->free_top, seen);
    if (bytes.invalid != BlockBytes::kNone)
      fail(name() + ": block " + std::to_string(bytes.invalid) + " has an invalid state");
    if (d->free_top > cap) fail(name() + ": free stack overflows capacity");
    if (bytes.stack_fault == BlockBytes::StackFault::broken)
      fail(name() + ": free stack entry repeated or out of range");
    else if (bytes.stack_fault == BlockBytes::StackFault::not_free)
      fail(name() + ": block " + std::to_string(bytes.stack_fault_block) + " on the free stack is not free");
    const std::uint32_t allocated = bytes.allocated, free_state = bytes.free,
                        remote_state = bytes.remote_freed;
    if (r.ok && remote_state != remote_bits)
      fail(name() + ": a remote-freed block has no remote bit (a lost remote free: no drain will take it)");
    std::uint32_t in_cache = 0;
    for (; cached_at != cached.end() && cached_at->first == i; ++cached_at, ++in_cache) {
      const std::uint32_t b = cached_at->second;
      if (seen[b]) {
        fail(name() + ": block " + std::to_string(b) + " is cached twice, or cached and on the free stack");
        break;
      }
      seen[b] = true;
      if (state(b) != BlockState::free)
        fail(name() + ": block " + std::to_string(b) + " in a free cache is not free");
    }
    if (free_state != d->free_top + in_cache)
      fail(name() + ": free blocks missing from the free stack and caches (lost blocks)");
    if (d->used != allocated + remote_state + in_cache)
      fail(name() + ": used count disagrees with block states");

    const Placement& at = placed[i];
    if (kind == PageKind::v1) {
      ++r.v1_pages;
      if (remote_state) fail(name() + ": v1 page has remote frees");
      PageList want = d->free_top ? PageList::v1_partial : PageList::v1_full;
      if (at.list != want || d->list != want) fail(name() + ": v1 page on the wrong queue");
    } else {
      ++r.v2_pages;
      const ThreadCtx* owner = d->owner.load(std::memory_order_relaxed);
      if (at.list == PageList::none) {
        fail(name() + ": v2 page on no queue (lost page)");
      } else {
        const PageList list = at.list;
        if (d->list != list) fail(name() + ": queue tag disagrees with the queue it is on");
        if (owner != at.owner) fail(name() + ": owner disagrees with the queue it is on");
        if (list == PageList::partial && d->free_top == 0)
          fail(name() + ": partial page without free blocks");
        if (list == PageList::full && d->free_top != 0) fail(name() + ": full page with free blocks");
        if (list == PageList::cold && d->used != 0) fail(name() + ": cold page with live blocks");
        if (list == PageList::orphan) ++r.orphan_pages;
        if (list == PageList::cold) ++r.cold_pages;
      }
    }
    r.live_blocks += allocated;
    r.live_bytes += std::uint64_t{allocated} * kGeometry[d->cls].block_size;
    r.remote_pending += remote_state;
  }
  large.count_live(r);
  return r;
}

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
