#include "oracle/model.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <memory>

#include "oracle/type_names.h"

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

  std::string route = std::string(block_kind_name(wanted)) + " route, acquisitions";
  for (std::uint64_t i = first; i < first + made; ++i)
    route += " #" + std::to_string(i) + (w.fails(i) ? " (fails)" : " (ok)");
  if (made == 0) route += " none";
  if (!plausible) return route + ": more page acquisitions than the route makes";
  return route + ": the pool returned " + (got == BlockKind::none ? "null" : block_kind_name(got)) +
         ", the model expects " + (want == BlockKind::none ? "null" : block_kind_name(want));
}

bool v2_refill_failed(BlockKind wanted, std::uint64_t first, std::uint64_t made, const FaultWindow& w) {
  return wanted == BlockKind::v2 && made > 0 && w.fails(first);
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
