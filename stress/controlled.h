// Stress under the scheduler: seeded stress-shaped schedule programs
// (program/seeded_program.h: allocations on every thread, most frees remote,
// exits) run one after another, each under one seeded random or PCT
// schedule that switches threads inside allocator calls. Unlike the
// parallel run, a finding is an exact schedule: shrunk and written as an
// `interleave` input, it replays every time.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>

#include "explore/explore.h"

namespace hakfuzz::stress {

struct ControlledSpec {
  ExploreStrategy strategy = ExploreStrategy::pct;  // random or pct
  int threads = 4;                                  // 2..kMaxThreads
  double seconds = 0;                               // > 0: run for this long
  std::uint64_t programs = 1000;                    // else: this many programs
  std::size_t ops_per_program = 32;
  std::uint64_t seed = 1;
  int depth = 3;                        // pct
  MemoryKind memory = MemoryKind::c11;  // what a load may read (exec/memory_model.h)
  int history = kDefaultStoreHistory;   // among how many stores per location
  std::size_t shrink_runs_per_op = 20;  // minimize's dfs budget for each op it tries to drop
  hakmem::Config config;
  std::function<void(std::uint64_t programs, std::uint64_t steps)> progress;  // about once a second
};

struct ControlledResult {
  std::uint64_t programs = 0, steps = 0;
  double seconds = 0;                // to the finding, or the whole run
  double shrink_seconds = 0;         // minimizing the finding
  std::optional<Minimized> finding;  // the failing program and its schedule, shrunk
  std::uint64_t failing_program = 0;
  std::size_t found_preemptions = 0, found_ops = 0;  // before shrinking
};

ControlledResult run_controlled(const ControlledSpec& spec);

}  // namespace hakfuzz::stress
