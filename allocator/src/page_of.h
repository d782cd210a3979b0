// Pointer classification, inline because every free runs it. locate() reads
// only the descriptor table, never slab memory, so any pointer (stack, freed
// large block, a never-committed slab, a page header) is classified without a
// fault. page_of() is v2's view (Location::v2_verdict):
//   unknown        outside this pool's arena
//   header_missing the slab is not a live v2 page (unused, or a v1 page)
//   out_of_range   in a v2 page's header or tail, outside its block area
//   misaligned     in the block area, not at a block start
#pragma once
#include "arena.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

inline Location Arena::locate(const void* ptr) const {
  Location loc;
  // One unsigned compare: below the arena wraps around to a huge offset.
  const std::uintptr_t arena_offset = reinterpret_cast<std::uintptr_t>(ptr) - begin_;
  if (arena_offset >= span_) return loc;
  std::size_t index = arena_offset >> kSlabShift;
  loc.where = Location::Where::unused_slab;
  loc.geometry = Verdict::header_missing;
  if (index >= slabs_used_.load(std::memory_order_acquire)) return loc;

  PageDesc* d = &descs_[index];
  loc.where = Location::Where::slab;
  loc.desc = d;
  loc.kind = d->kind.load(std::memory_order_relaxed);
  loc.cls = d->cls;
  const ClassGeometry& g = kGeometry[d->cls];
  auto offset = static_cast<std::uint32_t>(arena_offset & (kSlabSize - 1));
  if (offset < kSlabHeaderBytes || offset >= g.area_end) {
    loc.geometry = Verdict::out_of_range;
    return loc;
  }
  std::uint32_t rel = offset - kSlabHeaderBytes;
  auto block = static_cast<std::uint32_t>((rel * g.reciprocal) >> 40);
  loc.block = block;
  loc.geometry = block * g.block_size == rel ? Verdict::ok : Verdict::misaligned;
  return loc;
}

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
