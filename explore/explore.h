// Exploring the interleavings of one schedule program (explore/interleave.h):
//   random  seeded uniform picks, run after run
//   pct     PCT runs, change points drawn among the decisions the longest
//           run so far made
//   dfs     every schedule with at most P preemptions, CHESS-style: depth
//           first, the non-preemptive pick first, by re-executing the program
//           with a growing prefix of forced picks; each replayed prefix must
//           meet the same decisions (else the harness is not deterministic)
// and shrinking a failing one toward fewer preemptions and fewer ops, since
// the minimal readable trace is what an engineer debugs from.
#pragma once

#include <functional>
#include <optional>

#include "explore/interleave.h"
#include "explore/reduction.h"

namespace hakfuzz {

enum class ExploreStrategy : std::uint8_t { random, pct, dfs };
const char* explore_strategy_name(ExploreStrategy s);

struct ExploreProgress {
  std::size_t runs = 0, steps = 0;
  double seconds = 0;
};

struct ExploreOptions {
  ExploreStrategy strategy = ExploreStrategy::dfs;
  int preemptions = 2;                  // dfs: the bound
  Reduction reduction = Reduction::hb;  // dfs: what it leaves out (explore/reduction.h)
  Shard shard{};                        // dfs: the part of the search to run
  CutCheck check_cuts{};                // dfs, hb: check every cut against the memory model
  int depth = 3;                        // pct: change points + 1
  std::uint64_t seed = 1;               // random, pct
  std::size_t max_runs = 0;             // 0: dfs until exhausted, random/pct 1000 runs
  double max_seconds = 0;               // 0: no limit
  InterleaveOptions run;
  std::function<void(const ExploreProgress&)> progress;   // about once a second
  std::function<void(const InterleaveResult&)> each_run;  // after every run, its result
};

struct Exploration {
  std::size_t runs = 0, steps = 0;
  bool exhausted = false;  // dfs ran every schedule within the bound (up to the reduction)
  std::size_t cut = 0;     // dfs runs cut short: a state reached before (hb), every thread asleep (dpor)
  std::size_t unsound_cuts = 0;  // ExploreOptions::check_cuts: cuts of a different memory state
  double seconds = 0;
  std::optional<Finding> finding;
  ScheduleSpec schedule;  // the failing run's picks, as explicit choices
  std::size_t preemptions = 0;
};

Exploration explore(const Program& program, const ExploreOptions& options);

struct Minimized {
  Program program;
  ScheduleSpec schedule;
  Finding finding;
  std::size_t preemptions = 0, runs = 0;
};
// Keeps the finding's kind while it drops preemptions (a forced pick back to
// the non-preemptive one) and then ops (each re-explored with dfs at the
// preemptions left, up to `runs_per_op` runs).
Minimized minimize(const Program& program, const ScheduleSpec& schedule, const Finding& finding,
                   const InterleaveOptions& options, std::size_t runs_per_op = 2000);

}  // namespace hakfuzz
