// Page layout: what a slab looks like and the out-of-line descriptor that
// describes it. Layout only; the code that moves pages around lives with the
// component that owns the queue (thread_ctx.h, v1_pool, v2_shared).
//
// Memory layout. The arena is one reserved range of 256 KiB slabs, committed
// one at a time. A slab belongs to v1 or v2 and to one size class for the
// pool's whole life, so a stale pointer always classifies the same way and a
// double free is always seen as one. A slab holds a 64-byte header, then
// `capacity` blocks (hakmem/geometry.h); page metadata lives out of line in
// PageDesc, so user writes can never corrupt it and the allocator never reads
// a block.
//
// Invariants: a block is allocated, on its page's free stack or in its
// owner's free cache (state free), or remote-freed (state remote_freed, its
// remote bit set or about to be); a page is on exactly one list, named by
// PageDesc::list.
#pragma once

#include <atomic>
#include <cstdint>

#include "flavour.h"
#include "sched_point.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

inline constexpr std::uint64_t kSlabMagic = 0x48414B4D454D5632ull;  // "HAKMEMV2"

enum class PageKind : std::uint8_t { unused = 0, v1 = 1, v2 = 2 };
// Every free of a v2 block, the owner's or a remote one, claims it with one
// compare-exchange from `allocated` (owner_claim, remote_free): of two racing frees
// of one life of a block exactly one wins, and the loser is a double free.
// Only the owner moves a block out of `free` or `remote_freed` (v1: every
// change under the class mutex).
enum class BlockState : std::uint8_t { free = 0, allocated = 1, remote_freed = 2 };
inline constexpr std::uint8_t kAllocatedByte =
    static_cast<std::uint8_t>(BlockState::allocated);  // a claim's expected
// Which list a page is on; owner-only lists are touched by the owner thread,
// the others under the matching mutex.
enum class PageList : std::uint8_t { none, current, partial, full, orphan, cold, v1_partial, v1_full };

struct ThreadCtx;

// The first bytes of every committed slab, checked by the invariant walk: a
// program writing before its block's start overwrites it.
struct SlabHeader {
  std::uint64_t magic;
  std::uint32_t slab_index;
  std::uint8_t kind, cls;
};

inline constexpr std::uint32_t kRemoteWords = (kMaxBlocksPerSlab + 63) / 64;

// Laid out for the cache: a free or an allocation touches the first line
// (everything but the per-block bytes) and, for the mid classes, one more.
struct alignas(64) PageDesc {
  std::atomic<PageKind> kind{PageKind::unused};  // fixed once the slab is published
  std::uint8_t cls = 0;
  PageList list = PageList::none;
#if HAKMEM_POOL_SCHED_POINTS
  Plant plant = Plant::none;  // the pool's (PoolOptions::plant), for drain_remote; in padding
#endif
  std::uint16_t capacity = 0;
  std::uint16_t used = 0;                  // handed out, not back on the free stack
  std::uint16_t free_top = 0;              // entries in free_stack
  std::uint32_t index = 0;                 // slab index in the arena
  std::atomic<ThreadCtx*> owner{nullptr};  // v2 only; null = orphaned or cold
  PageDesc* prev = nullptr;
  PageDesc* next = nullptr;
  // Remote frees waiting for the owner: bit b = block b was claimed by a
  // thread that does not own the page (its state is remote_freed). One
  // fetch_or publishes the free; the owner takes a whole word with one
  // exchange. A bit is set only by the free that won the block's claim, so
  // none can outlive the life of the block it names.
  std::atomic<std::uint64_t> remote_bits[kRemoteWords] = {};
  // Block b's state at meta[b], the free stack at meta[capacity + k]: with
  // capacity <= 31 (8 KiB and up) both fit one cache line. Atomic bytes
  // because remote freers read states; the owner's relaxed accesses are plain
  // moves.
  std::atomic<std::uint8_t> meta[2 * kMaxBlocksPerSlab];

  BlockState state(std::uint32_t block, std::memory_order order = std::memory_order_relaxed) const {
    return static_cast<BlockState>(meta[block].load(order));
  }
  void set_state(std::uint32_t block, BlockState s, std::memory_order order = std::memory_order_relaxed) {
    meta[block].store(static_cast<std::uint8_t>(s), order);
  }

  void push_free(std::uint32_t block) {
    meta[capacity + free_top++].store(static_cast<std::uint8_t>(block), std::memory_order_relaxed);
  }
  std::uint32_t pop_free() { return meta[capacity + --free_top].load(std::memory_order_relaxed); }

  // seq_cst so that a walk after taking a hint sees every bit set before the
  // hint was read (see remote_free); a plain load on x86.
  bool has_remote_frees() const {
    HAKMEM_SCHED(refill_remote_check, remote_bits, index);
    std::uint64_t any = 0;
    for (const auto& w : remote_bits)
      any |= HAKMEM_LOAD_IN_STEP(
          w, HAKMEM_ORDER(std::memory_order_seq_cst, plant, remote_check_relaxed, std::memory_order_relaxed));
    HAKMEM_SCHED_RESULT(refill_remote_check, any != 0);
    return any != 0;
  }
  // Owner only: every remote-freed block back onto the free stack; returns
  // how many. A new owner passes owner_changed (v2_remote.cpp).
  std::uint32_t drain_remote(bool owner_changed = false);
};

// One intrusive doubly linked list of pages.
struct PageQueue {
  PageDesc* head = nullptr;
  void push(PageDesc* p, PageList id) {
    p->prev = nullptr;
    p->next = head;
    if (head) head->prev = p;
    head = p;
    p->list = id;
  }
  void remove(PageDesc* p) {
    if (p->prev)
      p->prev->next = p->next;
    else
      head = p->next;
    if (p->next) p->next->prev = p->prev;
    p->prev = p->next = nullptr;
    p->list = PageList::none;
  }
  PageDesc* pop(PageList id_after) {
    PageDesc* p = head;
    if (p) {
      remove(p);
      p->list = id_after;
    }
    return p;
  }
};

// Where a pointer lies, computed without touching any slab memory
// (Arena::locate, page_of.h).
struct Location {
  enum class Where : std::uint8_t { outside, unused_slab, slab } where = Where::outside;
  PageDesc* desc = nullptr;
  PageKind kind = PageKind::unused;
  int cls = -1;
  std::uint32_t block = 0;
  Verdict geometry = Verdict::unknown;  // ok / out_of_range / misaligned within the slab
  // The v2 view (page_of): header_missing unless a live v2 page.
  Verdict v2_verdict() const {
    if (where == Where::outside) return Verdict::unknown;
    if (kind != PageKind::v2) return Verdict::header_missing;
    return geometry;
  }
};

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
