// Requests above the largest class: one OS mapping each, recorded in a
// registry so that free recognises them. Recently freed starts are kept as
// tombstones (up to PoolOptions::large_tombstones) so a double free of a
// large block is named as one.
//
// Invariants: `live` holds exactly the mappings this registry made and has
// not released; a start is never live and a tombstone at once; each
// tombstone has exactly one entry in the eviction order (the OS hands freed
// ranges out again, so a start can be freed, reused and freed many times).
// Everything is under one mutex: the large path pays an mmap per call anyway
// (or, over an arena cache, the cache's lock).
//
// Outline: alloc (map, record) - free (release, or name a double free, or
// nullopt: not ours) - usable - count_live (invariant walk) - the destructor
// releases whatever is still live.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "flavour.h"
#include "os.h"
#include "sched_point.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

class LargeRegistry {
 public:
  // Maps through `os`, which must outlive the registry; remembers the last
  // `max_tombstones` (at least 1) freed starts.
  LargeRegistry(detail::OsLayer& os, std::size_t max_tombstones);
  ~LargeRegistry();  // unmaps every block still live
  LargeRegistry(const LargeRegistry&) = delete;
  LargeRegistry& operator=(const LargeRegistry&) = delete;

  // A mapping of at least `size` bytes; nullptr when the OS refuses.
  void* alloc(std::size_t size);
  // FreeRoute::large, or rejected as a double free of a recent tombstone;
  // nullopt: not a large block, nor a recently freed one.
  std::optional<FreeOutcome> free(void* ptr);
  // Mapped bytes of the live block starting at ptr, else 0.
  std::size_t usable(const void* ptr) const;
  // Adds the live blocks to the walk's totals (large_blocks, live_*).
  void count_live(InvariantReport& r) const;

  // fork(): the registry's lock, taken and released (Pool::prepare_fork).
  void lock_for_fork() { mutex_.lock(); }
  void unlock_after_fork() { mutex_.unlock(); }

 private:
  // Forgets the tombstone at `it`.
  void forget(std::map<std::uintptr_t, std::uint64_t>::iterator it);

  detail::OsLayer& os_;
  const std::size_t max_tombstones_;
  mutable HAKMEM_POOL_MUTEX(large_lock) mutex_;
  std::unordered_map<std::uintptr_t, std::size_t> live_;  // start -> mapped bytes
  // Recently freed starts, each with the number of its free, and the same
  // pairs by number (oldest first), so reusing a start forgets its one entry.
  std::map<std::uintptr_t, std::uint64_t> tombstones_;
  std::map<std::uint64_t, std::uintptr_t> tombstone_order_;
  std::uint64_t frees_ = 0;
};

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
