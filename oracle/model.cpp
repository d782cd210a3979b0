#include "oracle/model.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <memory>

namespace hakfuzz::model {

using hakmem::V2Stat;

namespace {
// The slab geometry is the allocator's own (hakmem/geometry.h).
constexpr std::uintptr_t kSlabSize = hakmem::kSlabSize;
constexpr std::size_t kSlabHeader = hakmem::kSlabHeaderBytes;

std::size_t block_span(const Block& b) { return hakmem::kGeometry[b.cls].block_size; }
std::uintptr_t slab_of(const Block& b) { return reinterpret_cast<std::uintptr_t>(b.ptr) & ~(kSlabSize - 1); }

std::string outcome_text(FreeRoute r, bool entered, Verdict v, Verdict why) {
  return std::string(hakmem::free_route_name(r)) +
         (entered ? std::string(" via v2 page_of=") + hakmem::verdict_name(v)
                  : std::string(" (v2 not entered)")) +
         " reason=" + hakmem::verdict_name(why);
}

// fill_byte(id, i) repeats every 256 bytes of i (7 * 256 = 0 mod 256), so
// each filled range is a slice of the pattern written out twice: one memcpy
// or memcmp per range (which ASan checks once, not byte by byte). It depends
// on id mod 256 only (id * 131 mod 256), so the 256 patterns are made once.
static_assert(kFillBytes == 256, "the filled ranges are at most one period long");
const std::uint8_t* pattern_of(std::uint64_t id) {
  using Table = std::array<std::array<std::uint8_t, 2 * kFillBytes>, 256>;
  static const std::unique_ptr<const Table> kTable = [] {
    auto t = std::make_unique<Table>();
    for (std::size_t id = 0; id < t->size(); ++id)
      for (std::size_t i = 0; i < (*t)[id].size(); ++i) (*t)[id][i] = fill_byte(id, i);
    return t;
  }();
  return (*kTable)[id % 256].data();
}
// f(offset, pattern slice, length) for the block's first and last kFillBytes.
template <class F>
bool for_filled(const Block& b, F f) {
  const std::uint8_t* pattern = pattern_of(b.id);
  const std::size_t n = std::max<std::size_t>(b.size, 1);
  const std::size_t tail = n > kFillBytes ? std::max(kFillBytes, n - kFillBytes) : n;
  return f(0, pattern, std::min(n, kFillBytes)) && f(tail, pattern + tail % kFillBytes, n - tail);
}
}  // namespace

BlockKind Routing::kind_for(std::size_t size) const {
  const int cls = hakmem::size_class_of(size);
  return cls < 0 ? BlockKind::large : routed(cls) ? BlockKind::v2 : BlockKind::v1;
}

std::uint8_t fill_byte(std::uint64_t id, std::size_t i) {
  return static_cast<std::uint8_t>(id * 131 + i * 7 + 1);
}

void fill(const Block& b) {
  for_filled(b, [&](std::size_t at, const std::uint8_t* from, std::size_t len) {
    std::memcpy(b.ptr + at, from, len);
    return true;
  });
}

bool contents_intact(const Block& b) {
  return for_filled(b, [&](std::size_t at, const std::uint8_t* from, std::size_t len) {
    return std::memcmp(b.ptr + at, from, len) == 0;
  });
}

// ---------------------------------------------------------------- frees

bool Expected::matches(const FreeOutcome& got) const {
  const bool route_ok =
      got.route == route ||
      (either_v2_route && (got.route == FreeRoute::v2_local || got.route == FreeRoute::v2_remote));
  return route_ok && got.entered_v2 == entered && (!entered || got.page_of == page_of) &&
         got.reason == reason && got.cls == cls;
}

std::string Expected::describe() const { return outcome_text(route, entered, page_of, reason); }
std::string describe(const FreeOutcome& got) {
  return outcome_text(got.route, got.entered_v2, got.page_of, got.reason);
}

Expected expect_free(const Block& b, int thread, const Routing& r) {
  if (b.kind == BlockKind::large) return {FreeRoute::large, false, Verdict::ok, Verdict::ok, -1};
  Expected e;
  e.entered = r.routed(b.cls);
  e.page_of = !e.entered ? Verdict::ok : b.kind == BlockKind::v2 ? Verdict::ok : Verdict::header_missing;
  e.route = b.kind == BlockKind::v1           ? FreeRoute::v1
            : b.owner == thread || b.orphaned ? FreeRoute::v2_local
                                              : FreeRoute::v2_remote;
  e.cls = b.cls;
  e.either_v2_route = b.orphaned && b.kind == BlockKind::v2;
  return e;
}

std::string BadPointer::what() const {
  const std::string id = std::to_string(block_id);
  switch (kind) {
    case BadKind::interior:
      return "free interior of block " + id;
    case BadKind::slab_header:
      return "free slab header of block " + id;
    case BadKind::double_free:
      return "double free of block " + id;
    case BadKind::stack:
      return "free of a stack address";
    case BadKind::unused_slab:
      return "free inside a never-used slab";
  }
  return "bad free";
}

BadPointer craft_bad_free(BadKind kind, const Block* b, std::uint16_t offset, std::uintptr_t arena_end,
                          void* stack, const Routing& r) {
  BadPointer out;
  out.kind = kind;
  if (b) out.block_id = b->id;
  Expected& want = out.want;
  want.route = FreeRoute::rejected;
  switch (kind) {
    case BadKind::interior: {
      const bool large = b->kind == BlockKind::large;
      const std::size_t span = large ? b->usable : block_span(*b);
      out.ptr = b->ptr + 1 + offset % (span - 1);
      want.cls = large ? -1 : b->cls;
      want.entered = r.enters_v2(want.cls);
      want.page_of = large                      ? Verdict::unknown
                     : b->kind == BlockKind::v2 ? Verdict::misaligned
                                                : Verdict::header_missing;
      want.reason = large ? Verdict::not_ours : Verdict::misaligned;
      break;
    }
    case BadKind::slab_header:
      out.ptr = reinterpret_cast<char*>(slab_of(*b)) + offset % kSlabHeader;
      want.cls = b->cls;
      want.entered = r.enters_v2(b->cls);
      want.page_of = b->kind == BlockKind::v2 ? Verdict::out_of_range : Verdict::header_missing;
      want.reason = Verdict::out_of_range;
      break;
    case BadKind::double_free:
      out.ptr = b->ptr;
      want.reason = Verdict::double_free;
      want.page_of = Verdict::unknown;  // a large block lies outside the arena
      if (b->kind != BlockKind::large) {
        want.cls = b->cls;
        want.entered = r.enters_v2(b->cls);
        want.page_of = b->kind == BlockKind::v2 ? Verdict::ok : Verdict::header_missing;
      }
      break;
    case BadKind::stack:
      out.ptr = stack;
      want.entered = r.enters_v2(-1);
      want.page_of = Verdict::unknown;
      want.reason = Verdict::not_ours;
      break;
    case BadKind::unused_slab:
      out.ptr = reinterpret_cast<char*>(arena_end - kSlabSize + offset % kSlabSize);
      want.entered = r.enters_v2(-1);
      want.page_of = Verdict::header_missing;
      want.reason = Verdict::not_ours;
      break;
  }
  return out;
}

Verdict geometric_verdict(const Block& b, std::uintptr_t addr) {
  const std::uintptr_t slab = slab_of(b);
  if (addr < slab || addr >= slab + kSlabSize) return Verdict::unknown;  // not this slab
  if (b.kind != BlockKind::v2) return Verdict::header_missing;
  const hakmem::ClassGeometry& g = hakmem::kGeometry[b.cls];
  const std::size_t off = addr - slab;
  if (off < kSlabHeader || off >= g.area_end) return Verdict::out_of_range;
  return (off - kSlabHeader) % g.block_size == 0 ? Verdict::ok : Verdict::misaligned;
}

std::vector<std::uintptr_t> probe_addresses(const Block& b) {
  const auto start = reinterpret_cast<std::uintptr_t>(b.ptr);
  const std::uintptr_t slab = slab_of(b);
  const std::size_t bs = block_span(b);
  return {start,
          start + 1,
          start + 8,
          start + bs - 1,
          start + bs,
          start - 1,
          start - bs,
          slab,
          slab + kSlabHeader - 1,
          slab + kSlabHeader,
          slab + kSlabSize - 1,
          slab + kSlabSize - bs};
}

// ---------------------------------------------------------------- faults

std::optional<std::string> check_acquisitions(BlockKind wanted, BlockKind got, std::uint64_t first,
                                              std::uint64_t made, const FaultWindow& w) {
  BlockKind want = wanted;
  bool plausible = true;
  switch (wanted) {
    case BlockKind::large:
      plausible = made == 1;
      want = plausible && w.fails(first) ? BlockKind::none : BlockKind::large;
      break;
    case BlockKind::v1:
      plausible = made <= 1;
      want = made == 1 && w.fails(first) ? BlockKind::none : BlockKind::v1;
      break;
    case BlockKind::v2:
      if (made == 0 || !w.fails(first)) {
        plausible = made <= 1;  // a fresh slab serves the allocation that acquired it
        want = BlockKind::v2;
      } else {
        plausible = made <= 2;  // the refill failed: v1 serves, acquiring at most once
        want = made == 2 && w.fails(first + 1) ? BlockKind::none : BlockKind::v1;
      }
      break;
    case BlockKind::none:
      break;
  }
  if (plausible && got == want) return std::nullopt;  // every allocation asks: no text unless it diverged

  std::string route = std::string(hakmem::block_kind_name(wanted)) + " route, acquisitions";
  for (std::uint64_t i = first; i < first + made; ++i)
    route += " #" + std::to_string(i) + (w.fails(i) ? " (fails)" : " (ok)");
  if (made == 0) route += " none";
  if (!plausible) return route + ": more page acquisitions than the route makes";
  return route + ": the pool returned " + (got == BlockKind::none ? "null" : hakmem::block_kind_name(got)) +
         ", the model expects " + (want == BlockKind::none ? "null" : hakmem::block_kind_name(want));
}

bool v2_refill_failed(BlockKind wanted, std::uint64_t first, std::uint64_t made, const FaultWindow& w) {
  return wanted == BlockKind::v2 && made > 0 && w.fails(first);
}

// ---------------------------------------------------------------- nothing kept

std::string describe(const hakmem::SlabCensus& s) {
  return "slab " + std::to_string(s.slab) + " (" + hakmem::block_kind_name(s.kind) + ", class " +
         std::to_string(s.cls) + ", " + hakmem::slab_queue_name(s.queue) + ", owner " +
         hakmem::slab_owner_name(s.owner) + (s.owner_hinted ? " hinted" : "") + "): used " +
         std::to_string(s.used) + ", free " + std::to_string(s.free_stack) + ", cached " +
         std::to_string(s.cached) + ", pending " + std::to_string(s.remote_pending);
}

std::optional<std::string> check_retention(const hakmem::Census& c) {
  using hakmem::SlabOwner;
  using hakmem::SlabQueue;
  for (const hakmem::SlabCensus& s : c.slabs) {
    if (s.kind != BlockKind::v2) continue;
    if (s.owner == SlabOwner::exited_thread)
      return "a thread that exited still owns " + describe(s) + " (never orphaned)";
    if (s.used == 0 && s.queue != SlabQueue::cold && s.queue != SlabQueue::current)
      return "an empty page is kept off the cold list: " + describe(s);
    if (s.remote_pending && s.owner == SlabOwner::live_thread && !s.owner_hinted)
      return "remote frees wait on a page whose owner was never hinted (it will not drain them): " +
             describe(s);
  }
  return std::nullopt;
}

std::optional<std::string> check_empty(const hakmem::Census& c) {
  if (c.large_blocks) return std::to_string(c.large_blocks) + " large blocks still mapped";
  for (const hakmem::SlabCensus& s : c.slabs) {
    if (s.used || s.remote_pending || s.cached)
      return "memory kept after everything was freed: " + describe(s);
    if (s.kind == BlockKind::v2 && s.queue != hakmem::SlabQueue::cold)
      return "a v2 page is not back on the cold list after everything was freed: " + describe(s);
  }
  return std::nullopt;
}

std::optional<std::string> check_commit(const hakmem::Census& c, std::uint32_t slab) {
  const auto fresh = std::ranges::find(c.slabs, slab, &hakmem::SlabCensus::slab);
  if (fresh == c.slabs.end()) return "the fresh slab " + std::to_string(slab) + " is not in the census";
  for (const hakmem::SlabCensus& s : c.slabs) {
    if (s.slab == slab || s.kind != fresh->kind || s.cls != fresh->cls) continue;
    auto why = [&s](const char* reason) { return "a fresh page was acquired while " + describe(s) + reason; };
    if (s.kind == BlockKind::v1) {
      if (s.free_stack) return why(" had free blocks");
      continue;
    }
    if (s.queue == hakmem::SlabQueue::cold) return why(" was cold (reusable)");
    if (s.queue == hakmem::SlabQueue::orphan) return why(" was orphaned (adoptable)");
    if (s.owner_slot == fresh->owner_slot && (s.free_stack || s.cached || s.remote_pending))
      return why(" belonged to the same thread and had blocks it could reuse");
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- telemetry

void Tally::alloc(int cls, bool routed, BlockKind landed, bool refill_failed) {
  if (routed) ++counters[cls][static_cast<int>(V2Stat::alloc_calls)];
  if (refill_failed) {
    ++counters[cls][static_cast<int>(V2Stat::alloc_refill_fail)];
    ++counters[cls][static_cast<int>(V2Stat::alloc_fallback_v1)];
  }
  switch (landed) {
    case BlockKind::v2:
      ++allocs, ++v2_allocs[cls];
      break;
    case BlockKind::v1:
      ++allocs, ++v1_allocs[cls];
      break;
    case BlockKind::large:
      ++allocs, ++large_allocs;
      break;
    case BlockKind::none:
      ++null_allocs;
      break;
  }
}

void Tally::free(const FreeOutcome& o) {
  const bool in_class = o.cls >= 0 && o.cls < hakmem::kNumClasses;
  switch (o.route) {
    case FreeRoute::v2_local:
    case FreeRoute::v2_remote:
      ++frees;
      if (in_class) ++(o.route == FreeRoute::v2_local ? v2_local : v2_remote)[o.cls];
      break;
    case FreeRoute::v1:
      ++frees;
      if (in_class) ++v1_frees[o.cls];
      break;
    case FreeRoute::large:
      ++frees, ++large_frees;
      break;
    case FreeRoute::rejected:
      ++rejected;
      break;
    case FreeRoute::null:
      break;
  }
  if (!o.entered_v2) return;
  auto& row = counters[in_class ? o.cls : hakmem::kNoClassRow];
  ++row[static_cast<int>(V2Stat::free_calls)];
  if (o.page_of == Verdict::ok) {
    if (o.reason == Verdict::ok) ++row[static_cast<int>(V2Stat::free_fast)];
    return;
  }
  ++row[static_cast<int>(hakmem::page_of_fail_counter(o.page_of).value_or(V2Stat::page_of_fail_unknown))];
  ++row[static_cast<int>(V2Stat::free_fallback_v1)];
}

std::uint64_t Tally::remote_frees() const {
  std::uint64_t n = 0;
  for (std::uint64_t v : v2_remote) n += v;
  return n;
}

Tally& Tally::operator+=(const Tally& o) {
  for (int c = 0; c < hakmem::kNumClasses; ++c) {
    v2_allocs[c] += o.v2_allocs[c], v1_allocs[c] += o.v1_allocs[c];
    v2_local[c] += o.v2_local[c], v2_remote[c] += o.v2_remote[c], v1_frees[c] += o.v1_frees[c];
  }
  allocs += o.allocs, frees += o.frees, large_allocs += o.large_allocs, large_frees += o.large_frees;
  rejected += o.rejected, null_allocs += o.null_allocs;
  for (int row = 0; row < hakmem::kNumStatRows; ++row)
    for (int i = 0; i < hakmem::kNumV2Stats; ++i) counters[row][i] += o.counters[row][i];
  return *this;
}

std::optional<std::string> Tally::check_counters(const hakmem::StatsSnapshot& s) const {
  if (!s.compiled) return std::nullopt;
  for (int row = 0; row < hakmem::kNumStatRows; ++row) {
    for (V2Stat exact :
         {V2Stat::alloc_calls, V2Stat::alloc_refill_fail, V2Stat::alloc_fallback_v1, V2Stat::free_calls,
          V2Stat::free_fast, V2Stat::free_fallback_v1, V2Stat::page_of_fail_header_missing,
          V2Stat::page_of_fail_out_of_range, V2Stat::page_of_fail_misaligned, V2Stat::page_of_fail_unknown}) {
      if (s.get(row, exact) != expected(row, exact))
        return std::string("counter ") + hakmem::v2_stat_name(exact) + " of row " + std::to_string(row) +
               " is " + std::to_string(s.get(row, exact)) + ", model expects " +
               std::to_string(expected(row, exact));
    }
    if (s.get(row, V2Stat::alloc_fast) + s.get(row, V2Stat::alloc_refill) != s.get(row, V2Stat::alloc_calls))
      return "alloc_fast + alloc_refill != alloc_calls in row " + std::to_string(row);
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- live set

std::optional<std::string> LiveSet::add(Block b) {
  const auto start = reinterpret_cast<std::uintptr_t>(b.ptr);
  auto next = extents_.lower_bound(start);
  if (next != extents_.end() && next->first < start + b.usable) return "new block overlaps a live block";
  if (next != extents_.begin() && std::prev(next)->second > start)
    return "new block overlaps the live block before it";
  extents_[start] = start + b.usable;
  if (b.kind == BlockKind::large) {
    // The OS may map a new large block over any freed one, and whether it
    // did depends on the process's whole mmap history (threads, earlier
    // inputs): a rule that looked at addresses made replays differ. So every
    // freed large block stops being a double-free candidate here, wherever
    // the new one landed.
    std::erase_if(freed_by_addr_,
                  [&](const auto& kv) { return freed_.at(kv.second).kind == BlockKind::large; });
    std::erase_if(freed_, [](const auto& kv) { return kv.second.kind == BlockKind::large; });
  } else {
    // Arena offsets are deterministic: freed blocks that started in the
    // range handed out again are gone.
    for (auto it = freed_by_addr_.lower_bound(start);
         it != freed_by_addr_.end() && it->first < start + b.usable; it = freed_by_addr_.erase(it))
      freed_.erase(it->second);
  }
  b.id = next_id_++;
  if (b.kind == BlockKind::v1 || b.kind == BlockKind::v2) {
    auto& n = count_[b.kind == BlockKind::v2][b.cls];
    peak_[b.kind == BlockKind::v2][b.cls] = std::max(peak_[b.kind == BlockKind::v2][b.cls], ++n);
  }
  live_.push_back(b);
  return std::nullopt;
}

Block LiveSet::take(std::size_t k) {
  Block b = at(k);
  if (k == 0)
    ++first_;
  else
    live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(first_ + k));
  if (first_ == live_.size()) {
    live_.clear();
    first_ = 0;
  }
  if (b.kind == BlockKind::v1 || b.kind == BlockKind::v2) --count_[b.kind == BlockKind::v2][b.cls];
  const auto start = reinterpret_cast<std::uintptr_t>(b.ptr);
  extents_.erase(start);
  freed_[b.id] = b;
  freed_by_addr_[start] = b.id;
  return b;
}

std::uint64_t LiveSet::live_bytes() const {
  std::uint64_t bytes = 0;
  for (const Block& b : blocks()) bytes += b.usable;
  return bytes;
}

void LiveSet::orphan_blocks_of(int thread) {
  for (std::size_t k = 0; k < size(); ++k)
    if (at(k).owner == thread) at(k).orphaned = true;
}

// ---------------------------------------------------------------- frees by any thread

bool route_fits(BlockKind kind, FreeRoute route) {
  switch (kind) {
    case BlockKind::v2:
      return route == FreeRoute::v2_local || route == FreeRoute::v2_remote;
    case BlockKind::v1:
      return route == FreeRoute::v1;
    case BlockKind::large:
      return route == FreeRoute::large;
    case BlockKind::none:
      return false;
  }
  return false;
}

}  // namespace hakfuzz::model
