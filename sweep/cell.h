// One sweep cell: its config realised (the pool flavour from the build
// switch, an in-memory environment for the env flags), the seeded program
// through the runner, the parallel stress on the engine, and the proof that
// every enabled path actually ran.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sweep/matrix.h"

namespace hakfuzz::sweep {

// Ordered by severity: a cell reports the worst that happened to it.
enum class CellStatus : std::uint8_t { pass, inactive, finding, harness_error };
const char* status_name(CellStatus s);  // "pass", "inactive", "finding", "harness-error"

struct CellOptions {
  std::uint64_t seed = 1;
  std::uint64_t ops = 10000;  // per phase: program ops; stress allocations (split among threads)
  int threads = 2;
  // Pools read the flags through getenv (the real environment, which the
  // caller set: `sweep --exec` children) instead of an in-memory map.
  bool process_env = false;
};

struct CellResult {
  Cell cell;
  CellStatus status = CellStatus::pass;
  bool has_digest = false;
  std::uint64_t digest = 0;
  std::uint64_t ops = 0;
  double seconds = 0;
  std::vector<std::string> notes;  // why the status is not pass

  void raise(CellStatus s, std::string note);
  double ops_per_sec() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
};

CellResult run_cell(const Matrix& m, const Cell& cell, const CellOptions& opts);

}  // namespace hakfuzz::sweep
