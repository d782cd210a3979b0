#include "oracle/reuse.h"

#include <algorithm>

#include "oracle/type_names.h"

namespace hakfuzz::model {

using hakmem::BlockKind;

std::string describe(const hakmem::SlabCensus& s) {
  return "slab " + std::to_string(s.slab) + " (" + block_kind_name(s.kind) + ", class " +
         std::to_string(s.cls) + ", " + slab_queue_name(s.queue) + ", owner " + slab_owner_name(s.owner) +
         (s.owner_hinted ? " hinted" : "") + "): used " + std::to_string(s.used) + ", free " +
         std::to_string(s.free_stack) + ", cached " + std::to_string(s.cached) + ", pending " +
         std::to_string(s.remote_pending);
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

}  // namespace hakfuzz::model
