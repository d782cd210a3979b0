// The OS layer: the only code that maps memory. Every page acquisition (slab
// commit, large mapping) goes through FaultPlan so tests can make refills fail
// deterministically. Maps go through libc mmap, which TSan intercepts.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>

#include "hakmem/types.h"
#include "support/rng.h"

namespace hakmem::detail {

class OsLayer {
 public:
  // Large mappings come from and go back to `cache` when one is given.
  explicit OsLayer(const FaultPlan& plan, ArenaCache* cache = nullptr) : cache_(cache) { set_plan(plan); }
  void set_plan(const FaultPlan& plan);

  // Address space only (PROT_NONE); no fault injection: a pool that cannot
  // reserve its arena fails at construction.
  void* reserve(std::size_t bytes, std::size_t alignment);
  void release(void* p, std::size_t bytes);
  // Read/write metadata memory (descriptor tables); no fault injection.
  void* map_metadata(std::size_t bytes);
  // A page acquisition: may fail by plan. Memory a cached arena left
  // accessible is counted and planned like any other, but not mprotected.
  bool commit(void* p, std::size_t bytes, bool already_accessible = false);
  // A page acquisition like commit; a mapping taken from the cache is not
  // counted in maps, nor one given back in unmaps.
  void* map_large(std::size_t bytes);
  void unmap_large(void* p, std::size_t bytes);

  OsCounters counters() const;
  // fork(): the layer's lock, taken and released (Pool::prepare_fork).
  void lock_for_fork() { mutex_.lock(); }
  void unlock_after_fork() { mutex_.unlock(); }

 private:
  bool acquisition_allowed();          // consults the plan; counts
  void* map_fresh(std::size_t bytes);  // read/write, counted in maps; nullptr when the OS refuses

  ArenaCache* const cache_;
  mutable std::mutex mutex_;
  FaultPlan plan_;
  support::SplitMix64 rng_;  // fail_ppm draws, seeded by the plan
  OsCounters counters_;
};

extern std::atomic<std::uint64_t> g_maps, g_unmaps;  // process_os_counters()

}  // namespace hakmem::detail
