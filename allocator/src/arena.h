// The arena: one reserved range carved into kSlabSize slabs, bump-allocated,
// and the descriptor table beside it (one PageDesc per slab, mapped
// read/write up front; the OS backs only the entries of committed slabs).
//
// Invariants: descs[0, slabs_used) are constructed and published (slabs_used
// is stored with release after the descriptor and slab header are written);
// a slab's kind and class never change; the reservation, the table and every
// committed slab stay mapped until the arena is destroyed.
//
// Outline: acquire_slab (commit, describe, publish; arena.cpp) - locate
// (page_of.h) - block addresses and pop_block for the alloc paths - offset
// (introspection and traces; offsets never depend on where the OS mapped us).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>

#include "flavour.h"
#include "hakmem/arena_cache.h"
#include "os.h"
#include "page.h"
#include "sanitizers.h"
#include "sched_point.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

inline constexpr std::size_t kMaxArenaSlabs = std::size_t{1} << 24;

class Arena {
 public:
  // Reserves `bytes` (whole slabs) of address space through `os`, which must
  // outlive the arena, or takes a released arena of that size from `cache`.
  // Throws std::invalid_argument for a size below one slab or above 4 TiB,
  // std::bad_alloc when the OS refuses.
  Arena(detail::OsLayer& os, std::size_t bytes, ArenaCache* cache = nullptr);
  // Destroys the descriptors and releases the table and the reservation, or
  // gives them back to the cache.
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // A freshly committed slab of `kind` and `cls`, every block on its free
  // stack; nullptr when the arena is full or the OS refuses (a fault plan).
  PageDesc* acquire_slab(PageKind kind, int cls);

  // Where ptr lies; reads only the descriptor table (page_of.h).
  Location locate(const void* ptr) const;

  std::uintptr_t begin() const { return begin_; }
  std::size_t slab_count() const { return slab_count_; }
  std::uint32_t slabs_used() const { return slabs_used_.load(std::memory_order_acquire); }
  // Offset from the arena base; nullopt outside the reservation.
  std::optional<std::uint64_t> offset(const void* ptr) const {
    const std::uintptr_t off = reinterpret_cast<std::uintptr_t>(ptr) - begin_;  // below wraps around
    if (off >= span_) return std::nullopt;
    return off;
  }

  PageDesc* desc(std::uint32_t slab) const { return &descs_[slab]; }
  std::uint8_t* slab_base(std::uint32_t slab) const {
    return reinterpret_cast<std::uint8_t*>(begin_) + std::size_t{slab} * kSlabSize;
  }
  void* block_address(std::uint32_t slab, std::uint32_t block, int cls) const {
    return slab_base(slab) + kSlabHeaderBytes + std::size_t{block} * kGeometry[cls].block_size;
  }
  void* block_address(const PageDesc* d, std::uint32_t block) const {
    return block_address(d->index, block, d->cls);
  }

  // The top of d's free stack, handed out (d has a free block).
  void* pop_block(PageDesc* d) const {
    std::uint32_t block = d->pop_free();
    // Release, paired with the acquire load in remote_free: a thread that
    // frees this block then sees every metadata write of this owner, even if
    // the program handed the pointer over without synchronising.
    HAKMEM_STORE(pop_block_state_store, &d->meta[block], sched_arg(d->index, block), d->meta[block],
                 BlockState::allocated, std::memory_order_release);
    ++d->used;
    void* p = block_address(d, block);
    detail::unpoison(p, kGeometry[d->cls].block_size);
    return p;
  }

  // fork(): the slab lock, taken and released (Pool::prepare_fork).
  void lock_for_fork() { mutex_.lock(); }
  void unlock_after_fork() { mutex_.unlock(); }

 private:
  // locate() reads these four on every free: kept together.
  std::uintptr_t begin_ = 0;
  std::uintptr_t span_ = 0;  // bytes reserved
  PageDesc* descs_ = nullptr;
  std::atomic<std::uint32_t> slabs_used_{0};  // descs_[0, slabs_used_) are constructed

  std::size_t slab_count_;
  std::size_t descs_bytes_ = 0;
  std::size_t accessible_bytes_ = 0;  // of a cached arena: committed by an earlier pool
  detail::OsLayer& os_;
  ArenaCache* cache_;
  HAKMEM_POOL_MUTEX(slab_lock) mutex_;  // serialises acquire_slab
};

}  // namespace hakmem::HAKMEM_FLAVOUR_NS

#include "page_of.h"
