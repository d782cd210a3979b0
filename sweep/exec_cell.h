// `sweep --exec`: a cell run in a child process whose real environment holds
// the cell's flags, so the pool reads them through getenv like a user's
// program would. The child (`hakfuzz sweep --exec-child INDEX ...`) prints
// its CellResult as one JSON line on a pipe (report_json.h's cell_json), and
// the parent reads it back with cell_from_json.
#pragma once
#include <string>

#include "sweep/cell.h"
#include "sweep/matrix.h"

namespace hakfuzz::sweep {

// Parent side: spawns `self_exe sweep --exec-child <index> --seed --ops
// --threads` with the cell's variables added to this process's environment.
// A child that crashes, exits non-zero or prints no result is a
// harness-error naming what happened.
CellResult run_cell_in_child(const Matrix& m, const Cell& cell, const CellOptions& opts,
                             const std::string& self_exe);

}  // namespace hakfuzz::sweep
