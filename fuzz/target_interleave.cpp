// `interleave`: a schedule program plus a schedule, run under the scheduler
// (explore/interleave.h), so threads switch inside allocator calls at its
// schedule points; on the tester's flavour, the one with the points. The
// schedule is explicit choices (libFuzzer mutates them, so coverage guides it
// to new interleavings, with the pairs of dependent steps it took as extra
// coverage: fuzz/pair_coverage.h), or a random or PCT run from a seed. The
// input's forms and codec: fuzz/interleave_input.h.
#include "explore/interleave.h"
#include "fuzz/interleave_input.h"
#include "fuzz/pair_coverage.h"
#include "fuzz/targets.h"

namespace hakfuzz {

InterleaveOptions interleave_target_options(bool trace) {
  InterleaveOptions o;
  o.trace = trace;
  o.flavour = Flavour::tester;
  return o;
}

RunResult run_interleave_target(Bytes input, bool trace) {
  const InterleaveInput in = decode_interleave(input);
  // PCT draws its change points among the decisions a run makes; a program
  // makes a few per op.
  auto strategy = make_pick_rule(in.schedule, 4 * in.program.ops.size() + 8, in.program.threads);
  InterleaveResult r = run_interleaved(in.program, *strategy, interleave_target_options(trace));
  count_pairs(r.trail);
  return std::move(r.run);
}

}  // namespace hakfuzz
