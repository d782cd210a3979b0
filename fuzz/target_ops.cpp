// `ops`: single-thread op programs on the stats-on flavour, so the model
// also checks every counter.
#include "fuzz/targets.h"

namespace hakfuzz {

RunResult run_ops_target(Bytes input, bool trace) { return run_program(decode(input), {.trace = trace}); }

}  // namespace hakfuzz
