#include "stress/controlled.h"

#include <chrono>

#include "fuzz/targets.h"
#include "program/seeded_program.h"
#include "support/rng.h"

namespace hakfuzz::stress {

ControlledResult run_controlled(const ControlledSpec& spec) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  ControlledResult res;
  double last_progress = 0;
  for (std::uint64_t i = 0; spec.seconds > 0 ? elapsed() < spec.seconds : i < spec.programs; ++i) {
    const std::uint64_t seed = spec.seed ^ support::mix64(i + 1);
    const Program program = seeded_schedule_program(seed, spec.ops_per_program, spec.threads, spec.config);
    ExploreOptions o;
    o.strategy = spec.strategy;
    o.depth = spec.depth;
    o.seed = seed;
    o.max_runs = 1;
    o.run = interleave_target_options(false);
    o.run.memory = spec.memory;
    o.run.history = spec.history;
    const Exploration e = explore(program, o);
    ++res.programs;
    res.steps += e.steps;
    if (e.finding) {
      // A small dfs budget per dropped op: these programs are 8x longer than
      // explore's seeds (`hakfuzz explore` on the written file shrinks on).
      res.seconds = elapsed();
      res.found_preemptions = e.preemptions;
      res.found_ops = program.ops.size();
      res.finding = minimize(program, e.schedule, *e.finding, o.run, spec.shrink_runs_per_op);
      res.failing_program = i;
      res.shrink_seconds = elapsed() - res.seconds;
      return res;
    }
    if (spec.progress && elapsed() - last_progress >= 1) {
      last_progress = elapsed();
      spec.progress(res.programs, res.steps);
    }
  }
  res.seconds = elapsed();
  return res;
}

}  // namespace hakfuzz::stress
