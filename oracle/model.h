// The reference model of the pool: what a config makes of each allocation
// and free, what each crafted bad pointer must be told, which telemetry
// counters must move, and which blocks are live. It knows the pool only
// through the public header (the flag table, the slab geometry, the verdict
// table) and is tested on its own (tests/model_test.cpp). The fuzz runner,
// the sweep and the stress engine all judge the pool with it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory_resource>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "hakmem/types.h"
#include "program/program.h"
#include "support/scratch.h"

namespace hakfuzz::model {

using hakmem::BlockKind;
using hakmem::FreeOutcome;
using hakmem::FreeRoute;
using hakmem::Verdict;

// ---------------------------------------------------------------- routing
// What a config decides: which classes allocate through v2, and whether a
// free enters v2's free path.
class Routing {
 public:
  explicit Routing(const hakmem::Config& c) : mask_(c.v2_route_mask()) {}
  bool routed(int cls) const { return cls >= 0 && ((mask_ >> cls) & 1); }
  // A free of a pointer in a class's page (cls >= 0) or in no class's page
  // (cls < 0: outside the arena or in a never-used slab) enters v2's free
  // path when its class is routed, or when v2 routes anything at all.
  bool enters_v2(int cls) const { return cls < 0 ? mask_ != 0 : routed(cls); }
  // Where an allocation of `size` lands when nothing fails.
  BlockKind kind_for(std::size_t size) const;
  std::uint8_t mask() const { return mask_; }

 private:
  std::uint8_t mask_;
};

// ---------------------------------------------------------------- blocks
struct Block {
  char* ptr = nullptr;
  std::size_t size = 0, usable = 0;
  BlockKind kind = BlockKind::none;
  int cls = -1;
  std::uint64_t id = 0;   // allocation order, from 1
  int owner = 0;          // logical thread that allocated it
  bool orphaned = false;  // its owner exited: any thread may have adopted the page
};

// The pattern each block is filled with (its first and last kFillBytes).
inline constexpr std::size_t kFillBytes = 256;
std::uint8_t fill_byte(std::uint64_t id, std::size_t i);
void fill(const Block& b);
bool contents_intact(const Block& b);

// ---------------------------------------------------------------- frees
// A free's outcome as the model predicts it.
struct Expected {
  FreeRoute route = FreeRoute::null;
  bool entered = false;  // the v2 free path runs (and counts)
  Verdict page_of = Verdict::ok;
  Verdict reason = Verdict::ok;
  int cls = -1;
  // The page may have changed hands (its owner exited, or is exiting while
  // this free runs): v2_local and v2_remote are both right.
  bool either_v2_route = false;
  bool matches(const FreeOutcome& got) const;
  std::string describe() const;
};
std::string describe(const FreeOutcome& got);

// The free of live block `b` by logical thread `thread`.
Expected expect_free(const Block& b, int thread, const Routing& r);

// A crafted bad pointer and what the pool must say of it.
struct BadPointer {
  void* ptr = nullptr;
  Expected want;
  BadKind kind = BadKind::stack;
  std::uint64_t block_id = 0;  // the target's, for the kinds that aim at one
  std::string what() const;    // made for traces and findings only
};
// `target` is the block the kind aims at (nullptr for stack/unused_slab);
// `arena_end` bounds the pool's arena; `stack` is any address outside it.
BadPointer craft_bad_free(BadKind kind, const Block* target, std::uint16_t offset, std::uintptr_t arena_end,
                          void* stack, const Routing& r);

// page_of is geometric: a slab's kind and class fix the verdict of every
// address in it, live block or not. Verdict::unknown when `addr` is not in
// b's slab.
Verdict geometric_verdict(const Block& b, std::uintptr_t addr);
// The addresses around a block the page_of probes visit.
std::vector<std::uintptr_t> probe_addresses(const Block& b);

// ---------------------------------------------------------------- faults
// A fault plan fails page acquisitions nth .. nth+count-1, counted from the
// moment it is set; the pool's OsCounters::acquisitions counts the same way.
// So the model knows which acquisition of an allocation failed, and what the
// allocation must then have returned:
//   large  one acquisition: null if it failed, else a large block
//   v1     none (a free block on a v1 page) or one: null if it failed
//   v2     none (cache, current, partial, orphan or cold page) or a fresh
//          slab: if that acquisition failed the allocation falls back to v1,
//          which serves from a page it has or acquires once more (null only
//          if that fails too)
struct FaultWindow {
  std::uint64_t nth = 0, count = 0;  // nth 0: nothing fails
  bool fails(std::uint64_t acquisition) const {
    return nth != 0 && acquisition >= nth && acquisition - nth < count;
  }
};
// `wanted`: the route the config gives the size; `got`: where the block
// landed (none: null); the allocation made acquisitions first .. first+made-1.
// The divergence as text, or nullopt.
std::optional<std::string> check_acquisitions(BlockKind wanted, BlockKind got, std::uint64_t first,
                                              std::uint64_t made, const FaultWindow& w);
// Did this allocation's v2 refill fail (alloc_refill_fail, alloc_fallback_v1)?
bool v2_refill_failed(BlockKind wanted, std::uint64_t first, std::uint64_t made, const FaultWindow& w);

// ---------------------------------------------------------------- nothing kept
// The reuse contract (allocator/README): a block its owner frees is
// reusable at once (the owner's free cache); a block another thread frees
// is reusable after the owner's next drain point (a refill, which walks its
// pages whenever a remote free has hinted it, or its exit); a page emptied
// by its owner goes cold at once, unless it is the owner's current page.
// These checks read a census (quiescent points only).
std::string describe(const hakmem::SlabCensus& s);
// At any quiescent point: no empty page is kept off the cold list but as its
// owner's current page; a page with remote frees pending has its owner
// hinted, or is orphaned (else nobody ever drains it); no page belongs to a
// thread that exited.
std::optional<std::string> check_retention(const hakmem::Census& c);
// Every block freed, every thread but the checker gone, the checker
// collected: nothing used, pending or cached anywhere, every v2 page cold, no
// large block left.
std::optional<std::string> check_empty(const hakmem::Census& c);
// Right after an allocation made `slab` (a fresh acquisition): nothing its
// thread could have reused was left. v2: no cold or orphaned page of the
// class, and none of the thread's other pages of the class with a free,
// cached or pending block; v1: no v1 page of the class with a free block.
std::optional<std::string> check_commit(const hakmem::Census& c, std::uint32_t slab);

// ---------------------------------------------------------------- telemetry
using PerClass = std::array<std::uint64_t, hakmem::kNumClasses>;
using CounterTable = std::array<std::array<std::uint64_t, hakmem::kNumV2Stats>, hakmem::kNumStatRows>;

// What the pool did, by route and class (the evidence that a path ran, the
// seed's lesson) and the exact v2 counters it implies. Counted from outcomes
// the model checked, so it is also what the pool's telemetry must say.
struct Tally {
  PerClass v2_allocs{}, v1_allocs{};             // where each block landed
  PerClass v2_local{}, v2_remote{}, v1_frees{};  // routes of accepted frees
  std::uint64_t allocs = 0, frees = 0, large_allocs = 0, large_frees = 0, rejected = 0, null_allocs = 0;
  CounterTable counters{};  // the counters the model can count exactly (see check_counters)

  // An allocation of class `cls` (-1: large) that entered v2 when `routed`,
  // landing as `landed` (none: null); `refill_failed`: its v2 refill found
  // no page (known exactly from the fault plan).
  void alloc(int cls, bool routed, BlockKind landed, bool refill_failed = false);
  void free(const FreeOutcome& o);
  std::uint64_t remote_frees() const;
  std::uint64_t expected(int row, hakmem::V2Stat s) const { return counters[row][static_cast<int>(s)]; }
  Tally& operator+=(const Tally& o);

  // The pool's counters against the tally: alloc_calls, alloc_refill_fail,
  // alloc_fallback_v1, free_calls, free_fast, free_fallback_v1 and every
  // page_of_fail_* exactly; alloc_fast and alloc_refill by their relation
  // (fast + refill = calls).
  // The first mismatch, or nullopt. Nothing to check when compiled out.
  std::optional<std::string> check_counters(const hakmem::StatsSnapshot& s) const;
};

// ---------------------------------------------------------------- live set
// The blocks a run holds, in allocation order (a free op picks the k-th),
// and the freed ones a double free may aim at.
class LiveSet {
 public:
  // Records a fresh block; an error text if it overlaps a live one. A freed
  // block stops being a double-free candidate once its range may have been
  // handed out again: a pool block when a new block starts in its range, a
  // large block at the next large allocation (see model.cpp).
  std::optional<std::string> add(Block b);
  std::span<const Block> blocks() const { return std::span<const Block>(live_).subspan(first_); }
  bool empty() const { return size() == 0; }
  std::size_t size() const { return live_.size() - first_; }
  Block& at(std::size_t k) { return live_[first_ + k]; }
  // Removes live block k (about to be freed) and keeps it as freed.
  Block take(std::size_t k);
  std::uint64_t live_bytes() const;
  // The most blocks of one kind (v1 or v2) and class ever live at once: with
  // every commit justified (check_commit), one thread's pages of that kind
  // and class never exceed ceil(peak / capacity).
  std::uint64_t peak(BlockKind kind, int cls) const { return peak_[kind == BlockKind::v2][cls]; }
  // Freed and not handed out since, in id order: picking "the k-th freed
  // block" must not depend on where mmap placed large blocks.
  const std::pmr::map<std::uint64_t, Block>& freed() const { return freed_; }
  std::uint64_t next_id() const { return next_id_; }
  void orphan_blocks_of(int thread);

 private:
  // The maps take and give back a node or two per op: nodes come from the
  // set's own pool, not the system allocator (ASan's records a stack trace
  // per call, which cost more than the op under test). The pool's chunks
  // come from a buffer the thread's next set reuses: under ASan's
  // quarantine every new chunk was fresh memory, page faults included.
  support::ScratchBuffer scratch_;
  std::pmr::monotonic_buffer_resource chunks_{scratch_.data(), scratch_.size()};
  std::pmr::unsynchronized_pool_resource nodes_{&chunks_};
  // Live blocks in allocation order from first_: a free moves the blocks
  // after it down (one memmove, where a deque would move them one by one,
  // a cost ASan multiplies), and the runner's last drain, which frees the
  // first block until none is left, only moves first_.
  std::pmr::vector<Block> live_{&nodes_};
  std::size_t first_ = 0;
  std::pmr::map<std::uintptr_t, std::uintptr_t> extents_{&nodes_};  // live [start, end)
  std::pmr::map<std::uint64_t, Block> freed_{&nodes_};
  std::pmr::map<std::uintptr_t, std::uint64_t> freed_by_addr_{&nodes_};
  std::uint64_t next_id_ = 1;
  std::array<PerClass, 2> count_{}, peak_{};  // [v2?][class]
};

// ---------------------------------------------------------------- frees by any thread
// Whether an accepted free of a live block of `kind` took a route the kind
// allows when which thread owns the block's page is unknown (the stress
// engine: any worker frees any block, and TBB runs a worker on any of its
// threads): a v2 block v2_local or v2_remote, a v1 block v1, a large block
// large. A rejection never fits.
bool route_fits(BlockKind kind, FreeRoute route);

}  // namespace hakfuzz::model
