// `remote`: a schedule of up to 8 logical threads, each a real OS thread,
// run one op at a time in the input's order (fuzz/schedule.h), so a failing
// interleaving replays from its file. Every thread ends with the input.
#include "targets.h"

namespace hakfuzz {

TargetRun run_remote_target(std::span<const std::uint8_t> input, bool trace) {
  return to_target_run(run_program<hakmem::PoolStatsOn>(decode(input, true), {.trace = trace}));
}

}  // namespace hakfuzz
