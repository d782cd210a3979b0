// Arenas kept mapped from one pool to the next. A pool given a cache
// (PoolOptions::arena_cache) takes a released arena of its size from it
// instead of reserving one, and at teardown gives its arena back instead of
// unmapping it: the descriptor table zeroed, every once-committed slab's
// header cleared and the whole slab poisoned for ASan. The next pool commits
// its slabs anew (fault plans count and fail each acquisition as ever), so a
// harness that builds one pool per input (the fuzz targets) pays no
// reservation, no unmap, no page fault and no TLB flush per input.
//
// Once-committed slabs stay readable and writable rather than going back to
// PROT_NONE: on this machine's virtualised MMU every protection change is a
// TLB flush that costs more than the rest of a fuzz input, and the memory it
// would guard is still guarded. ASan reports any touch of a slab the current
// pool has not committed (it is poisoned whole), a stale slab reads as one
// without a header, and the slabs no pool has committed stay PROT_NONE (the
// fuzz runner's unused-slab probes aim at its arena's last slab, which no
// input reaches).
// What survives is the old contents of blocks: block memory is the user's,
// and the pool keeps its metadata out of line and never reads a block it
// did not hand out, so what a pool does is the same over a cached arena and
// a fresh one.
//
// The cache serves the large path too: a large block's mapping, freed, is
// poisoned whole and kept (by exact length, up to a byte budget), and a
// later large allocation of that length takes it instead of mapping, as the
// OS would hand back a recently freed range. Fault plans count and fail each
// such allocation as ever. A munmap is a TLB shootdown here, and the
// mappings' first touches are page faults: together a third of a fuzz
// input. Without ASan, a stray write to a freed large block lands in kept
// memory where an unmapped one would fault; the fuzz runner never makes one.
// Thread-safe.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

namespace hakmem {

class ArenaCache {
 public:
  // Keeps at most `max_arenas` arenas; of each, the first `resident_bytes`
  // of slabs stay resident (the rest is given back to the OS). Keeps freed
  // large mappings up to `large_bytes` in all, the oldest unmapped first.
  explicit ArenaCache(std::size_t max_arenas = 4, std::size_t resident_bytes = std::size_t{64} << 20,
                      std::size_t large_bytes = std::size_t{64} << 20);
  ~ArenaCache();  // unmaps every arena and large mapping it holds
  ArenaCache(const ArenaCache&) = delete;
  ArenaCache& operator=(const ArenaCache&) = delete;

  // A reserved range of slabs and its read/write descriptor table. The first
  // `accessible_bytes` of slabs are read/write (an earlier pool committed
  // them), the rest PROT_NONE.
  struct Arena {
    void* slabs = nullptr;
    std::size_t slab_bytes = 0;
    void* table = nullptr;
    std::size_t table_bytes = 0;
    std::size_t accessible_bytes = 0;
  };
  // An arena of exactly these sizes, or one with null pointers.
  Arena take(std::size_t slab_bytes, std::size_t table_bytes);
  // Keeps the arena (the first `committed_bytes` of slabs were committed,
  // their headers already cleared and poisoned; the first `table_used` bytes
  // of the table written), or unmaps it when the cache is full.
  void give(const Arena& a, std::size_t committed_bytes, std::size_t table_used);
  std::size_t held() const;

  // The most recently kept large mapping of exactly `bytes`, unpoisoned and
  // read/write, or nullptr.
  void* take_large(std::size_t bytes);
  // Keeps a freed large block's mapping (poisoned), or unmaps it.
  void give_large(void* p, std::size_t bytes);
  std::size_t large_held() const;  // mappings kept

 private:
  struct Mapping {
    void* p;
    std::size_t bytes;
  };
  mutable std::mutex mutex_;
  std::vector<Arena> arenas_;
  std::vector<Mapping> large_;  // oldest first
  std::size_t max_arenas_, resident_bytes_, large_budget_, large_total_ = 0;
};

}  // namespace hakmem
