// `walk`: schedule programs, as the remote target runs them, on the
// tester's flavour; at every check, once the walk passed, each fault of
// hakmem/invariant_faults.def the pool has a place for is planted in turn,
// walked and undone. The walk must name each: a corruption it cannot see is
// a bug the other targets would miss too. Threads make the places single
// threads lack: idle contexts, orphaned pages, remote frees.
#include "fuzz/targets.h"

namespace hakfuzz {

RunResult run_walk_target(Bytes input, bool trace) {
  return run_program(decode(input, true),
                     {.flavour = Flavour::tester, .trace = trace, .plant_walk_faults = true});
}

}  // namespace hakfuzz
