// Runs a Program on a fresh pool, op after op in program order, and reports
// every call to the judge (oracle/judge.h). A single-thread program runs on
// the calling thread; a schedule (threads > 1) runs each op on its logical
// thread, a real OS thread passed a baton (exec/team.h). The fuzz targets,
// the sweep's deterministic phase and `repro` are this loop.
#pragma once

#include <cstdio>
#include <optional>

#include "exec/team.h"
#include "oracle/judge.h"
#include "program/program.h"

namespace hakfuzz {

// Fuzz inputs longer than this are cut: keeps every input inside the run's
// arena, so its last slab is always a never-committed one.
inline constexpr std::size_t kMaxOpsPerRun = 2048;

struct RunOptions {
  Flavour flavour = Flavour::stats_on;
  bool trace = false;
  // After every alloc and free, probe page_of around the block (Judge::Options).
  bool probe_page_of = false;
  // At every check, plant each invariant fault the walk must report (Judge::Options).
  bool plant_walk_faults = false;
  std::size_t max_ops = kMaxOpsPerRun;
  // Where the pool's diagnostics and teardown stats table go; null: none are made.
  std::FILE* report = nullptr;
  // Where the pool reads its flags; empty: the program's config, in memory.
  // (The `{}`s: g++ 12 warns of a designated initializer that omits a member
  // with none, GCC PR 96868.)
  hakmem::EnvSource env{};
  // The pool to break: nullopt takes the process's active plant.
  std::optional<const PlantSpec*> plant{};
  // Which thread judges a schedule's ops (exec/team.h).
  OracleOn oracle = kDefaultOracleOn;
  // An exit op ends its OS thread too (ThreadTeam::exit); the allocator
  // sees the same exit either way.
  bool os_thread_exits = false;
};

RunResult run_program(const Program& program, const RunOptions& options = {});

}  // namespace hakfuzz
