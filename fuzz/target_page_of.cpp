// `page_of`: the same programs, with page_of probed after every alloc and
// free at crafted addresses (interior, one past, the block before, the slab
// header and tail) whose verdict the slab geometry fixes, on pages of both
// routes, including after refresh_from_env() changed the route.
#include "plant.h"
#include "targets.h"

namespace hakfuzz {

TargetRun run_page_of_target(std::span<const std::uint8_t> input, bool trace) {
  return to_target_run(run_program_maybe_planted(decode(input), {.trace = trace, .probe_page_of = true}));
}

}  // namespace hakfuzz
