// `sweep --merge`: shard reports in, one run out. The shards must have run
// the same build, seed, ops, threads, planted bug and selection, and together
// hold every cell of that selection exactly once. The merged results go
// through the same equivalence check and reports as a local run, so cells
// that must behave alike are compared wherever they ran.
#pragma once
#include <vector>

#include "sweep/matrix.h"
#include "sweep/report.h"
#include "sweep/report_json.h"

namespace hakfuzz::sweep {

struct MergedRun {
  RunInfo info;  // the shards' common fields; shard lists theirs, wall_seconds is their sum
  std::vector<Cell> selection;
  std::vector<CellResult> results;  // one per selected cell, in matrix order, equivalence not yet checked
};

// Throws ReportError when the reports disagree on a run field (naming it and
// both values) or do not cover the selection exactly once (naming each
// missing, duplicated or foreign cell and its config, the first few of each).
MergedRun merge_reports(const Matrix& m, const std::vector<ShardReport>& reports);

}  // namespace hakfuzz::sweep
