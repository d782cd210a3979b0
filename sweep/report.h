// What a sweep leaves behind: the summary table for people, JSON and JUnit
// for CI. All three read the same CellResults.
#pragma once
#include <string>
#include <vector>

#include "sweep/cell.h"
#include "sweep/matrix.h"

namespace hakfuzz::sweep {

struct RunInfo {
  std::uint64_t seed = 0, ops = 0;
  int threads = 0, jobs = 0;
  std::string selection;  // "full" or "quick"
  std::string shard;      // "K/N"
  std::string build;
  double wall_seconds = 0;
};

// Per swept flag, per value (masks grouped by how many bits are set):
// configs, passed, failed, ops/s.
std::string summary_table(const Matrix& m, const std::vector<CellResult>& results);

// Throw std::runtime_error when the file cannot be written.
void write_json(const std::string& path, const Matrix& m, const RunInfo& info,
                const std::vector<CellResult>& results);
void write_junit(const std::string& path, const Matrix& m, const RunInfo& info,
                 const std::vector<CellResult>& results);

}  // namespace hakfuzz::sweep
