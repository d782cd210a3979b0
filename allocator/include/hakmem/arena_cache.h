// Arenas kept mapped from one pool to the next. A pool given a cache
// (PoolOptions::arena_cache) takes a released arena of its size from it
// instead of reserving one, and at teardown gives its arena back instead of
// unmapping it, reset to what a fresh reservation is: every slab
// inaccessible again (committed anew by the next pool's acquisitions, which
// fault plans count and fail as ever), the descriptor table zeroed, no
// sanitizer poison. The pages of once-committed slabs stay resident, so a
// harness that builds one pool per input (the fuzz targets) pays no
// reservation, no unmap and no page fault per input.
//
// What survives is the old contents of once-committed slabs' blocks: block
// memory is the user's, the pool keeps its metadata out of line and never
// reads a block it did not hand out and get back (the slab header it does
// read is written when the slab is committed), so what a pool does is the
// same over a cached arena and a fresh one. Thread-safe.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

namespace hakmem {

class ArenaCache {
 public:
  // Keeps at most `max_arenas` arenas; of each, the first `resident_bytes`
  // of slabs stay resident (the rest is given back to the OS).
  explicit ArenaCache(std::size_t max_arenas = 4, std::size_t resident_bytes = std::size_t{64} << 20);
  ~ArenaCache();  // unmaps every arena it holds
  ArenaCache(const ArenaCache&) = delete;
  ArenaCache& operator=(const ArenaCache&) = delete;

  // A reserved range of slabs and its read/write descriptor table.
  struct Arena {
    void* slabs = nullptr;
    std::size_t slab_bytes = 0;
    void* table = nullptr;
    std::size_t table_bytes = 0;
  };
  // An arena of exactly these sizes, or one with null pointers.
  Arena take(std::size_t slab_bytes, std::size_t table_bytes);
  // Resets the arena (the first `committed_bytes` of slabs were committed,
  // the first `table_used` bytes of the table written) and keeps it, or
  // unmaps it when the cache is full or the reset failed.
  void give(const Arena& a, std::size_t committed_bytes, std::size_t table_used);
  std::size_t held() const;

 private:
  mutable std::mutex mutex_;
  std::vector<Arena> arenas_;
  std::size_t max_arenas_, resident_bytes_;
};

}  // namespace hakmem
