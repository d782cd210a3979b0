// Runs a Program on a fresh pool and judges every op with the reference
// model (oracle/model.h): blocks never overlap, contents survive, usable >=
// request, each free's route and page_of verdict and each bad free's reason
// are the model's, the invariant walk is clean, accounting is exact, and
// (stats compiled in) every counter equals the model's count. The fuzz
// targets and the sweep's deterministic phase are this loop.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "exec/team.h"
#include "oracle/finding.h"
#include "oracle/model.h"
#include "oracle/pool_under_test.h"
#include "program/program.h"

namespace hakfuzz {

struct RunResult {
  std::optional<Finding> finding;
  std::uint64_t digest = 0;        // behaviour: outcomes, offsets, sizes (support/digest.h)
  std::vector<std::string> trace;  // one line per op, when asked for
  hakmem::StatsSnapshot stats;     // at the end, before teardown
  model::Tally tally;              // what ran, by route and class
};

// Fuzz inputs longer than this are cut: keeps every input inside the
// runner's 256 MiB arena, so the last slab is always a never-committed one.
inline constexpr std::size_t kMaxOpsPerRun = 2048;
inline constexpr std::size_t kRunnerArenaBytes = std::size_t{256} << 20;

struct PlantSpec;

struct RunOptions {
  Flavour flavour = Flavour::stats_on;
  bool trace = false;
  // After every alloc and free, probe page_of at crafted addresses around the
  // block (neighbours, one past, header, tail, slab edges) against the geometry.
  bool probe_page_of = false;
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

// A program's flags as its pools read them, rejected frees silenced: the
// harness judges outcomes, never stderr.
hakmem::EnvSource program_env(hakmem::Config config);

// Every block freed, every other thread gone: collected by the calling
// thread, the pool must be empty (model::check_empty), and each class that
// has pages of its route must allocate again without a fresh acquisition.
// What it kept, or nullopt. Leaves the pool collected and its faults off.
std::optional<std::string> nothing_kept(PoolUnderTest& pool, const model::Routing& routing);

// Single-thread programs run on the calling thread; schedules (threads > 1)
// run each op on its logical thread, a real OS thread (exec/team.h).
RunResult run_program(const Program& program, const RunOptions& options = {});

}  // namespace hakfuzz
