// Runs a list of cells concurrently on oneTBB (pools are independent
// instances) and then holds equivalent cells to identical digests.
#pragma once
#include <atomic>
#include <cstddef>
#include <functional>
#include <vector>

#include "sweep/cell.h"
#include "sweep/matrix.h"

namespace hakfuzz::sweep {

struct SweepOptions {
  CellOptions cell;
  int jobs = 0;  // cells at once; 0 = one per hardware thread
  // Runs one cell; empty = run_cell in this process (`--exec` swaps in a child).
  std::function<CellResult(const Matrix&, const Cell&, const CellOptions&)> runner;
};

// Read by a progress reporter while the sweep runs.
struct SweepProgress {
  std::atomic<std::size_t> done{0}, not_passed{0};
};

std::vector<CellResult> run_sweep(const Matrix& m, const std::vector<Cell>& cells, const SweepOptions& opts,
                                  SweepProgress& progress);

// Cells with one equivalence key must share one digest; every cell of a key
// whose digests disagree gets an equivalence note (its verdict becomes a
// finding). Notes from an earlier check are replaced, so a merge of shard
// reports checks across shards. Returns the number of keys that disagree.
std::size_t check_equivalence(const Matrix& m, std::vector<CellResult>& results);

}  // namespace hakfuzz::sweep
