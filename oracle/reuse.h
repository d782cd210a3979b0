// The reuse contract as checks on a census: what a pool may keep at a
// quiescent point, when everything was freed, and when it acquires a page.
#pragma once

#include <optional>
#include <string>

#include "hakmem/types.h"

namespace hakfuzz::model {

// The contract (docs/model.md): a block its owner frees is
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

}  // namespace hakfuzz::model
