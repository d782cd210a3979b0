// `ops`: single-thread op programs on the stats-on flavour, so the model
// also checks every counter.
#include "plant.h"
#include "targets.h"

namespace hakfuzz {

TargetRun run_ops_target(std::span<const std::uint8_t> input, bool trace) {
  return to_target_run(run_program_maybe_planted(decode(input), {.trace = trace}));
}

}  // namespace hakfuzz
