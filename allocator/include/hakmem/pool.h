// The allocator's public header: the only file of allocator/ that fuzz/,
// stress/, cli/ and tests/ include (with types.h and variants.h).
//
// Pool is a HAKMEM-style mid-size pool: 7 size classes (2..52 KiB) served by
// Pool v1 (default) or, per class, by the opt-in Pool Hotbox v2 (thread-local
// pages, lock-free remote frees); requests above 52 KiB take a large path.
// Each Pool owns its arena and releases everything when destroyed.
//
// The same sources build three flavours, each in its own namespace so that
// all of them link into one binary (include hakmem/variants.h to see them):
//   hakmem::stats_off  HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED=0 (the default)
//   hakmem::stats_on   HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED=1
//   hakmem::tester     both switches 1: stats, schedule points (hakmem/sched.h)
//                      and the planted bugs of PoolOptions::plant, for the
//                      tester only; the other two hold no code for them.
//
// When a freed v2 block is reusable (the contract the tester checks):
//   freed by its owner thread   at once, by the owner (its free cache)
//   freed by another thread     by the owner, after its next drain point: a
//                               refill that finds its hint set (every remote
//                               free that may need a drain sets it), collect(),
//                               or its exit (which orphans what stays live)
//   on an orphaned page         by the thread that adopts it (its next refill
//                               of the class, or collect()), which drains it
//   a page's last block         the page goes cold, for any thread, when its
//                               owner's free or a refill's drain empties it;
//                               the owner's current page and the one page a
//                               refill is about to use stay with the owner
#ifndef HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED
#define HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED 0
#endif
#ifndef HAKMEM_POOL_SCHED_POINTS
#define HAKMEM_POOL_SCHED_POINTS 0
#endif

#if HAKMEM_POOL_SCHED_POINTS
#if !HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED
#error "the tester's flavour (HAKMEM_POOL_SCHED_POINTS=1) has the v2 stats compiled in"
#endif
#ifndef HAKMEM_POOL_H_TESTER
#define HAKMEM_POOL_H_TESTER
#define HAKMEM_POOL_H_FLAVOR tester
#endif
#elif HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED
#ifndef HAKMEM_POOL_H_STATS_ON
#define HAKMEM_POOL_H_STATS_ON
#define HAKMEM_POOL_H_FLAVOR stats_on
#endif
#else
#ifndef HAKMEM_POOL_H_STATS_OFF
#define HAKMEM_POOL_H_STATS_OFF
#define HAKMEM_POOL_H_FLAVOR stats_off
#endif
#endif

#ifdef HAKMEM_POOL_H_FLAVOR
#include <memory>

#include "hakmem/types.h"

namespace hakmem {
namespace HAKMEM_POOL_H_FLAVOR {

class Pool {
 public:
  static constexpr bool kStatsCompiled = HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED != 0;
  // Schedule points and planted bugs compiled in: the tester's flavour.
  static constexpr bool kSchedPoints = HAKMEM_POOL_SCHED_POINTS != 0;
  static constexpr const char* kFlavorName = kSchedPoints     ? "tester"
                                             : kStatsCompiled ? "stats_on"
                                                              : "stats_off";

  // Reads the flags from options.env; throws ConfigError on a malformed value.
  explicit Pool(PoolOptions options = {});
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Any size works: 0 gives a minimal block; above kMaxRequest, or when the
  // OS (or an injected fault) refuses memory, the result is nullptr.
  void* alloc(std::size_t size);
  // Never crashes on a bad pointer: returns how the free was routed, or why
  // it was rejected (state untouched; then HAKMEM_POOL_INVALID_FREE applies).
  FreeOutcome free(void* ptr);

  // v2's page lookup: ok for a v2 block start, else the failure class.
  Verdict page_of(const void* ptr) const;
  std::size_t usable_size(const void* ptr) const;  // 0 unless a live block
  BlockInfo block_info(const void* ptr) const;

  // Re-reads the flags. On error nothing changes and the error is returned.
  std::optional<ConfigError> refresh_from_env();
  // Replaces the flag source, e.g. for a later refresh_from_env().
  void set_env_source(EnvSource env);
  Config config() const;

  StatsSnapshot stats() const;  // all zero, compiled=false when compiled out
  // Bytes of one v2 telemetry table (a pool holds one, plus one per thread
  // context): 0 when compiled out.
  static std::size_t stats_storage_bytes();

  // Walks every page and block; call at quiescent points only.
  InvariantReport check() const;
#if HAKMEM_POOL_SCHED_POINTS
  // The tester's flavour: breaks the pool's bookkeeping at one place (the
  // pick-th, modulo their number) where `fault` then holds, walks, and puts
  // every byte back. nullopt when the pool holds no such place. A walk that
  // does not report `fault` cannot see that corruption.
  std::optional<InvariantReport> check_with_fault(InvariantFault fault, std::uint32_t pick);
#endif
  // What the pool holds, slab by slab: queue, owner, blocks live, cached and
  // remote-freed (types.h); call at quiescent points only, like check().
  Census census() const;
  // The same into `into`, whose storage it reuses (a fuzz input takes a
  // census at every check).
  void census(Census& into) const;
  // The calling thread gives back what it holds (mimalloc's mi_collect for
  // one thread): its free caches go back to their pages, the remote frees on
  // its pages are drained, and each of its pages now empty (its current
  // page included) goes cold. Safe at any time from any thread: it touches
  // only the caller's own pages and the shared queues, under their locks.
  void collect();

  // fork() in a process whose malloc is this pool (pthread_atfork):
  // prepare_fork() takes every lock of the pool and of its flavour's thread
  // registry, outermost first, so no other thread is inside one at the
  // fork; after_fork() releases them, in the parent and in the child. The
  // child keeps every block; the pages of threads that did not survive the
  // fork stay with their contexts, as those of threads that never exit.
  void prepare_fork();
  void after_fork();

  // What the calling thread's exit does to every pool of this flavour, the
  // thread going on: its pages become orphans other threads adopt, its slot
  // is freed, and its next call into a pool makes it a new thread. For
  // harnesses that keep OS threads from one test to the next (creating one
  // costs ASan a millisecond); the exit runs the same code.
  static void end_current_thread();

  void set_fault_plan(const FaultPlan& plan);
  OsCounters os_counters() const;

  std::uintptr_t arena_base() const;
  std::optional<std::uint64_t> arena_offset(const void* ptr) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace HAKMEM_POOL_H_FLAVOR

#ifndef HAKMEM_ALL_FLAVORS
using HAKMEM_POOL_H_FLAVOR::Pool;
#endif
}  // namespace hakmem

#undef HAKMEM_POOL_H_FLAVOR
#endif  // HAKMEM_POOL_H_FLAVOR
