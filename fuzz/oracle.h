// Runs a Program on a fresh Pool and checks every op against a reference
// model: blocks never overlap, contents survive, usable >= request, each
// free's route and page_of verdict and each bad free's reason are the ones
// the model predicts, the invariant walk is clean, accounting is exact, and
// (stats compiled in) every counter equals the model's count.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hakmem/variants.h"
#include "ops.h"

namespace hakfuzz {

// The first divergence between pool and model.
struct Finding {
  std::size_t op_index = 0;  // ops.size() for the end-of-run checks
  std::string what;
};

struct RunResult {
  std::optional<Finding> finding;
  std::uint64_t digest = 0;        // behaviour: outcomes, offsets, sizes
  std::vector<std::string> trace;  // one line per op, when asked for
  hakmem::StatsSnapshot stats;
};

// Inputs longer than this are cut: keeps every input inside the oracle's
// 256 MiB arena, so the last slab is always a never-committed one.
inline constexpr std::size_t kMaxOpsPerRun = 2048;

struct RunOptions {
  bool trace = false;
  // After every op, probe page_of at crafted addresses around the op's block
  // (neighbours, one past, header, tail, slab edges) against the geometry.
  bool probe_page_of = false;
};

// Single-thread programs run on the calling thread; schedules (threads > 1)
// run each op on its logical thread through a ThreadTeam.
template <class Pool>
RunResult run_program(const Program& program, RunOptions options = {});

extern template RunResult run_program<hakmem::PoolStatsOff>(const Program&, RunOptions);
extern template RunResult run_program<hakmem::PoolStatsOn>(const Program&, RunOptions);

}  // namespace hakfuzz
