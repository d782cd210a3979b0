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

// Where each v2 page is expected to be, by slab: list and owner.
struct Placement {
  PageList list = PageList::none;  // none: on no queue
  const ThreadCtx* owner = nullptr;
};

// Blocks in a thread's free cache, as (slab, block).
using CachedBlocks = std::vector<std::pair<std::uint32_t, std::uint32_t>>;

// The walk of one pool, in named parts that check() runs in order. Each
// records the first inconsistency in the report (later ones are dropped);
// the slab walk stops at the first slab found inconsistent.
class InvariantWalk {
 public:
  InvariantWalk(const Pool::Impl& pool, std::vector<Placement>& placed, CachedBlocks& cached)
      : pool_(pool),
        arena_(pool.arena),
        used_slabs_(pool.arena.slabs_used()),
        placed_(placed),
        cached_(cached) {
    placed_.assign(used_slabs_, Placement{});
    cached_.clear();
  }

  InvariantReport run() {
    walk_thread_contexts();
    walk_shared_queues();
    std::sort(cached_.begin(), cached_.end());
    cached_at_ = cached_.begin();
    for (std::uint32_t i = 0; i < used_slabs_ && r_.ok; ++i)
      if (!walk_slab(i)) break;
    pool_.large.count_live(r_);
    return r_;
  }

 private:
  // `where` leads the fault's text: empty, a page's name, or a block's.
  void fail(InvariantFault f, const std::string& where = {}) {
    static const char* const texts[] = {
        "",
#define HAKMEM_INVARIANT_FAULT(name, text) text,
#include "hakmem/invariant_faults.def"
#undef HAKMEM_INVARIANT_FAULT
    };
    if (!r_.ok) return;
    r_.ok = false;
    r_.fault = f;
    r_.first_error = where + texts[static_cast<int>(f)];
  }
  // The failure paths build text and are rare: out of line, so the parts
  // that call them stay small enough to be inlined into the slab walk.
  [[gnu::cold]] void fail_page(const PageDesc* d, InvariantFault f) { fail(f, page_name(d) + ": "); }
  [[gnu::cold]] void fail_block(const PageDesc* d, std::uint32_t b, InvariantFault f) {
    fail(f, page_name(d) + ": block " + std::to_string(b) + " ");
  }

  std::size_t slab_of_desc(const PageDesc* d) const { return static_cast<std::size_t>(d - arena_.desc(0)); }

  // ------------------------------------------------ thread contexts and free caches
  // Every thread's pages placed where its context holds them (current,
  // partial, full), and the blocks of its free caches noted for the slab
  // walk; an idle context owns nothing.
  void walk_thread_contexts() {
    pool_.contexts.for_each([&](const ThreadCtx& ctx) {
      if (ctx.slot == kNoThreadSlot) {
        for (const auto& pages : ctx.classes)
          if (pages.current || pages.partial.head || pages.full.head || pages.cached)
            fail(InvariantFault::idle_context_owns_pages);
        return;
      }
      for (int cls = 0; cls < kNumClasses; ++cls) note_cache(ctx.classes[cls], cls, &ctx);
      for (const auto& pages : ctx.classes) {
        if (pages.current) {
          const std::size_t slab = slab_of_desc(pages.current);
          if (slab < used_slabs_ && placed_[slab].list != PageList::none)
            fail_page(pages.current, InvariantFault::current_and_queued);
          else
            place_one(pages.current, PageList::current, &ctx);
        }
        place(pages.partial, PageList::partial, &ctx);
        place(pages.full, PageList::full, &ctx);
      }
    });
  }

  void note_cache(const ThreadCtx::ClassPages& pages, int cls, const ThreadCtx* ctx) {
    if (pages.cache_limit != kGeometry[cls].cache_limit || pages.cached > pages.cache_limit)
      return fail(InvariantFault::cache_over_limit);
    for (std::uint32_t i = 0; i < pages.cached; ++i) {
      const BlockHandle h = pages.cache[i];
      const PageDesc* d = handle_slab(h) < used_slabs_ ? arena_.desc(handle_slab(h)) : nullptr;
      if (!d || d->kind.load(std::memory_order_relaxed) != PageKind::v2 || d->cls != cls ||
          handle_block(h) >= d->capacity)
        return fail(InvariantFault::cache_foreign_block);
      if (d->owner.load(std::memory_order_relaxed) != ctx)
        return fail_page(d, InvariantFault::cache_of_non_owner);
      cached_.emplace_back(handle_slab(h), handle_block(h));
    }
  }

  // ------------------------------------------------ page-queue placement
  // The pages no thread owns: v2's orphans and cold pages, and Pool v1's.
  void walk_shared_queues() {
    auto place_unowned = [&](const PageQueue& q, PageList id) { place(q, id, nullptr); };
    for (int cls = 0; cls < kNumClasses; ++cls) {
      pool_.v2_shared.visit_queues(cls, place_unowned);
      pool_.v1.visit_queues(cls, place_unowned);
    }
  }

  void place(const PageQueue& q, PageList id, const ThreadCtx* owner) {
    for (const PageDesc* d = q.head; d && r_.ok; d = d->next) {
      place_one(d, id, owner);
    }
  }

  void place_one(const PageDesc* d, PageList id, const ThreadCtx* owner) {
    const std::size_t slab = slab_of_desc(d);
    if (slab >= used_slabs_) return fail(InvariantFault::queue_page_uncommitted);
    if (placed_[slab].list != PageList::none) return fail_page(d, InvariantFault::on_two_queues);
    placed_[slab] = {id, owner};
  }

  // A page on the queue its kind, owner and fill say, as the queue walks
  // above found it.
  void check_placement(const PageDesc* d, std::uint32_t i, PageKind kind, std::uint32_t remote_state) {
    const Placement& at = placed_[i];
    if (kind == PageKind::v1) {
      ++r_.v1_pages;
      if (remote_state) fail_page(d, InvariantFault::v1_remote_frees);
      PageList want = d->free_top ? PageList::v1_partial : PageList::v1_full;
      if (at.list != want || d->list != want) fail_page(d, InvariantFault::v1_wrong_queue);
      return;
    }
    ++r_.v2_pages;
    const ThreadCtx* owner = d->owner.load(std::memory_order_relaxed);
    if (at.list == PageList::none) return fail_page(d, InvariantFault::lost_page);
    const PageList list = at.list;
    if (d->list != list) fail_page(d, InvariantFault::queue_tag_wrong);
    if (owner != at.owner) fail_page(d, InvariantFault::owner_wrong);
    if (list == PageList::partial && d->free_top == 0) fail_page(d, InvariantFault::partial_without_free);
    if (list == PageList::full && d->free_top != 0) fail_page(d, InvariantFault::full_with_free);
    if (list == PageList::cold && d->used != 0) fail_page(d, InvariantFault::cold_with_live);
    if (list == PageList::orphan) ++r_.orphan_pages;
    if (list == PageList::cold) ++r_.cold_pages;
  }

  // ------------------------------------------------ per-slab block states
  // One committed slab; false when its descriptor is beyond reading (the
  // walk stops there).
  bool walk_slab(std::uint32_t i) {
    const PageDesc* d = arena_.desc(i);
    const PageKind kind = d->kind.load(std::memory_order_relaxed);
    if (kind != PageKind::v1 && kind != PageKind::v2) return fail_page(d, InvariantFault::bad_kind), false;
    if (d->cls >= kNumClasses || d->capacity != kGeometry[d->cls].capacity || d->index != i)
      return fail_page(d, InvariantFault::bad_geometry), false;
    check_header(d, i, kind);

    // One copy of the slab's per-block bytes (block states, then the free
    // stack): the loops below run over plain bytes, and the state counts
    // vectorise. The walk needs quiescence anyway.
    static_assert(sizeof(d->meta[0]) == 1);
    const std::uint32_t cap = d->capacity;
    std::uint8_t meta[2 * kMaxBlocksPerSlab];
    std::memcpy(meta, static_cast<const void*>(d->meta), 2 * cap);

    const std::uint32_t remote_bits = count_remote_bits(d, meta);
    bool seen[kMaxBlocksPerSlab] = {};
    const BlockBytes bytes = check_block_bytes(d, meta, seen);
    const std::uint32_t allocated = bytes.allocated, free_state = bytes.free,
                        remote_state = bytes.remote_freed;
    if (r_.ok && remote_state != remote_bits) fail_page(d, InvariantFault::remote_free_without_bit);
    const std::uint32_t in_cache = check_cached_blocks(d, i, meta, seen);
    if (free_state != d->free_top + in_cache) fail_page(d, InvariantFault::lost_blocks);
    if (d->used != allocated + remote_state + in_cache && pool_.options.plant != Plant::walk_ignores_used)
      fail_page(d, InvariantFault::used_count_wrong);

    check_placement(d, i, kind, remote_state);
    r_.live_blocks += allocated;
    r_.live_bytes += std::uint64_t{allocated} * kGeometry[d->cls].block_size;
    r_.remote_pending += remote_state;
    return true;
  }

  void check_header(const PageDesc* d, std::uint32_t i, PageKind kind) {
    const std::uint8_t* base = arena_.slab_base(i);
    detail::unpoison(base, sizeof(SlabHeader));
    SlabHeader header;
    std::memcpy(&header, base, sizeof header);
    detail::poison(base, sizeof(SlabHeader));
    if (header.magic != kSlabMagic || header.slab_index != i || header.kind != std::uint8_t(kind) ||
        header.cls != d->cls)
      fail_page(d, InvariantFault::header_corrupted);
  }

  // The remote bits set, each on a block in the remote-freed state.
  std::uint32_t count_remote_bits(const PageDesc* d, const std::uint8_t* meta) {
    const std::uint32_t cap = d->capacity;
    std::uint32_t remote_bits = 0;
    for (std::uint32_t w = 0; w < kRemoteWords && r_.ok; ++w) {
      for (std::uint64_t bits = d->remote_bits[w].load(std::memory_order_relaxed); bits; bits &= bits - 1) {
        const std::uint32_t b = w * 64 + static_cast<std::uint32_t>(__builtin_ctzll(bits));
        if (b >= cap) {
          fail_page(d, InvariantFault::remote_bit_past_end);
          break;
        }
        ++remote_bits;
        if (static_cast<BlockState>(meta[b]) != BlockState::remote_freed)
          fail_block(d, b, InvariantFault::stray_remote_bit);
      }
    }
    return remote_bits;
  }

  // Every block in a valid state, and the free stack within capacity,
  // without repeats, over free blocks only (marked in `seen`).
  BlockBytes check_block_bytes(const PageDesc* d, const std::uint8_t* meta, bool* seen) {
    const BlockBytes bytes = read_block_bytes(meta, d->capacity, d->free_top, seen);
    if (bytes.invalid != BlockBytes::kNone) fail_block(d, bytes.invalid, InvariantFault::invalid_block_state);
    if (d->free_top > d->capacity) fail_page(d, InvariantFault::free_stack_overflow);
    if (bytes.stack_fault == BlockBytes::StackFault::broken)
      fail_page(d, InvariantFault::free_stack_broken);
    else if (bytes.stack_fault == BlockBytes::StackFault::not_free)
      fail_block(d, bytes.stack_fault_block, InvariantFault::free_stack_not_free);
    return bytes;
  }

  // The slab's blocks in free caches: each free, in one cache once and not
  // on the free stack. Their count.
  std::uint32_t check_cached_blocks(const PageDesc* d, std::uint32_t i, const std::uint8_t* meta,
                                    bool* seen) {
    std::uint32_t in_cache = 0;
    for (; cached_at_ != cached_.end() && cached_at_->first == i; ++cached_at_, ++in_cache) {
      const std::uint32_t b = cached_at_->second;
      if (seen[b]) {
        fail_block(d, b, InvariantFault::cached_twice);
        break;
      }
      seen[b] = true;
      if (static_cast<BlockState>(meta[b]) != BlockState::free)
        fail_block(d, b, InvariantFault::cached_not_free);
    }
    return in_cache;
  }

  const Pool::Impl& pool_;
  const Arena& arena_;
  const std::uint32_t used_slabs_;
  std::vector<Placement>& placed_;
  CachedBlocks& cached_;
  CachedBlocks::const_iterator cached_at_;
  InvariantReport r_;
};

}  // namespace

InvariantReport Pool::Impl::check() const {
  // The walk runs at every check of a fuzz input: it allocates nothing but
  // text for a failure. Its arrays are the calling thread's, kept from one
  // walk to the next (under ASan a fresh allocation costs more than the
  // walk of a small pool).
  thread_local std::vector<Placement> placed;
  thread_local CachedBlocks cached;
  return InvariantWalk(*this, placed, cached).run();
}

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
