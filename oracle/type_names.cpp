#include "oracle/type_names.h"

namespace hakfuzz {

const char* block_kind_name(hakmem::BlockKind k) {
  static const char* const names[] = {"none", "v1", "v2", "large"};
  return names[static_cast<int>(k)];
}

const char* slab_queue_name(hakmem::SlabQueue q) {
  static const char* const names[] = {"none",   "current", "partial",    "full",
                                      "orphan", "cold",    "v1_partial", "v1_full"};
  return names[static_cast<int>(q)];
}

const char* slab_owner_name(hakmem::SlabOwner o) {
  static const char* const names[] = {"none", "live_thread", "exited_thread"};
  return names[static_cast<int>(o)];
}

const char* invariant_fault_name(hakmem::InvariantFault f) {
  static const char* const names[] = {
      "none",
#define HAKMEM_INVARIANT_FAULT(name, text) #name,
#include "hakmem/invariant_faults.def"
#undef HAKMEM_INVARIANT_FAULT
  };
  return names[static_cast<int>(f)];
}

}  // namespace hakfuzz
