// One sweep cell: its config realised (the pool flavour from the build
// switch, an in-memory environment for the env flags), the seeded program
// through the runner, the parallel stress run, a few controlled
// interleavings inside allocator calls, and the proof that every enabled
// path actually ran.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sweep/matrix.h"

namespace hakfuzz::sweep {

// Ordered by severity: a cell reports the worst that happened to it.
enum class CellStatus : std::uint8_t { pass, inactive, finding, harness_error };
const char* status_name(CellStatus s);  // "pass", "inactive", "finding", "harness-error"
std::optional<CellStatus> parse_status(std::string_view name);

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
  CellStatus status = CellStatus::pass;  // the cell's own run; verdict() adds the equivalence check
  bool has_digest = false;
  std::uint64_t digest = 0;
  std::uint64_t ops = 0;
  double seconds = 0;
  std::vector<std::string> notes;  // why the run's status is not pass
  // Set by check_equivalence when a cell with the same equivalence key has
  // another digest: what differs, and one such cell to compare against.
  std::string equivalence_note;
  std::size_t equivalence_partner = 0;

  void raise(CellStatus s, std::string note);
  // The run's status, raised to a finding when the equivalence check failed.
  CellStatus verdict() const {
    return equivalence_note.empty() || status > CellStatus::finding ? status : CellStatus::finding;
  }
  double ops_per_sec() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
};

CellResult run_cell(const Matrix& m, const Cell& cell, const CellOptions& opts);

}  // namespace hakfuzz::sweep
