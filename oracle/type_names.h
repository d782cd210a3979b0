// Names of the allocator's introspection types, for findings and reports:
// the allocator itself never prints them.
#pragma once

#include "hakmem/types.h"

namespace hakfuzz {

const char* block_kind_name(hakmem::BlockKind k);
const char* slab_queue_name(hakmem::SlabQueue q);
const char* slab_owner_name(hakmem::SlabOwner o);
const char* invariant_fault_name(hakmem::InvariantFault f);

}  // namespace hakfuzz
