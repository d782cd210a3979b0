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

using PerClass = std::array<std::uint64_t, hakmem::kNumClasses>;

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

// ---------------------------------------------------------------- frees by any thread
// Whether an accepted free of a live block of `kind` took a route the kind
// allows when which thread owns the block's page is unknown (the stress
// engine: any worker frees any block, and TBB runs a worker on any of its
// threads): a v2 block v2_local or v2_remote, a v1 block v1, a large block
// large. A rejection never fits.
bool route_fits(BlockKind kind, FreeRoute route);

}  // namespace hakfuzz::model
