// The sweep's JSON, written and read in one place: a cell's result (the
// --json report's entries, and the line an --exec child prints), and a whole
// report, read back for `sweep --merge`.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sweep/cell.h"
#include "sweep/matrix.h"
#include "sweep/report.h"

namespace hakfuzz::sweep {

// {"index", "config", "flags", "status" (the verdict), "run_status", "digest"
// ("0x..." or null), "has_digest", "equivalence_key", "equivalence" (the
// equivalence check's note or null), "ops", "ops_per_sec", "seconds", "notes"
// (the run's)}.
nlohmann::ordered_json cell_json(const Matrix& m, const CellResult& r);
// The run's part of a cell_json() entry: the index (with its flags checked
// against the matrix when present), run status, digest, ops, seconds and
// notes; the equivalence note is left for check_equivalence. Throws
// ReportError naming the cell and the field.
CellResult cell_from_json(const Matrix& m, const nlohmann::json& j);

// A --json report read back.
struct ShardReport {
  std::string path;
  RunInfo info;
  std::vector<CellResult> results;
};
// Throws ReportError naming the path and what is wrong: unreadable, not
// JSON, a missing or mistyped field, a matrix other than this binary's.
ShardReport read_report(const Matrix& m, const std::string& path);

}  // namespace hakfuzz::sweep
