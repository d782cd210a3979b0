// `interleave`: a schedule program plus a schedule, run under the scheduler
// (explore/interleave.h), so threads switch inside allocator calls at its
// schedule points; on the tester's flavour, the one with the points. The
// schedule is explicit choices (libFuzzer mutates them, so coverage guides it
// to new interleavings, with the pairs of dependent steps it took as extra
// coverage: fuzz/pair_coverage.h), or a random or PCT run from a seed. The
// input's forms and codec: fuzz/interleave_input.h.
#include <cstdlib>

#include "explore/interleave.h"
#include "fuzz/interleave_input.h"
#include "fuzz/pair_coverage.h"
#include "fuzz/targets.h"

namespace hakfuzz {

namespace {

Weakening checked_weakening(const std::string& text) {
  const std::optional<Weakening> w = parse_weakening(text);
  if (!w || !Scheduler::kModelsMemory)
    throw UserError(!w ? "--weaken (HAKFUZZ_WEAKEN) '" + text +
                             "': expected POINT:ORDER, a schedule point's name as traces print it "
                             "(hakmem/sched_points.def) and relaxed, acquire, release, acq_rel or seq_cst"
                       : "--weaken needs a build without ThreadSanitizer (TSan keeps its own model)");
  return *w;
}

}  // namespace

void set_weakening(const std::string& text) {
  (void)checked_weakening(text);
  setenv(kWeakenEnv, text.c_str(), 1);
}

InterleaveOptions interleave_target_options(bool trace) {
  InterleaveOptions o;
  o.trace = trace;
  o.flavour = Flavour::tester;
  if (const char* w = std::getenv(kWeakenEnv)) o.weaken = checked_weakening(w);
  return o;
}

RunResult run_interleave_target(Bytes input, bool trace) {
  const InterleaveInput in = decode_interleave(input);
  // PCT draws its change points among the decisions a run makes; a program
  // makes a few per op.
  auto strategy = make_pick_rule(in.schedule, 4 * in.program.ops.size() + 8, in.program.threads);
  InterleaveOptions options = interleave_target_options(trace);
  options.memory = in.schedule.memory;
  options.history = in.schedule.history;
  InterleaveResult r = run_interleaved(in.program, *strategy, options);
  count_pairs(r.trail);
  return std::move(r.run);
}

}  // namespace hakfuzz
