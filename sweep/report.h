// What a sweep leaves behind: the summary table and the not-passed listing
// for people, JSON and JUnit for CI, one self-contained HTML page. A local
// run and a merge of shard reports (merge.h) print and write them through
// the same functions, from the same CellResults.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "sweep/cell.h"
#include "sweep/matrix.h"

namespace hakfuzz::sweep {

struct RunInfo {
  std::uint64_t seed = 0, ops = 0;
  int threads = 0, jobs = 0;
  std::string selection;  // "full" or "quick"
  std::string shard;      // "K/N", "cell INDEX", or the shards a merge read ("1/4 2/4 3/4 4/4")
  std::string build;
  std::string plant;  // the planted bug the cells ran over, "" for none
  double wall_seconds = 0;
};

// A report that cannot be used: unreadable, malformed, or shards that do not
// fit together. The message names the file, the field or the cell.
class ReportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The cells a selection name stands for: "full" (the whole matrix) or
// "quick" (Matrix::quick()). Throws ReportError for any other name.
std::vector<Cell> selection_cells(const Matrix& m, const std::string& selection);

// One line of the summary table: a swept flag's value (a mask's bit count),
// or "(all)" last.
struct SummaryRow {
  std::string flag, value;
  std::size_t configs = 0, passed = 0;
  std::uint64_t ops = 0;
  double seconds = 0;
  std::string rate() const;  // ops/s, "69k" or "1.20M"
};
std::vector<SummaryRow> summary_rows(const Matrix& m, const std::vector<CellResult>& results);
// "126 pass, 2 finding"
std::string status_counts(const std::vector<CellResult>& results);
// Per swept flag, per value: configs, passed, failed, ops/s; then the status counts.
std::string summary_table(const Matrix& m, const std::vector<CellResult>& results);

// The command line that runs one cell again, alone, as the run ran it.
std::string replay_command(const RunInfo& info, std::size_t cell_index);
// Every note of a cell: its run's, then the equivalence check's.
std::vector<std::string> all_notes(const CellResult& r);
// The terminal's listing of the first `most` cells that did not pass: status,
// config, digest, notes and the replay command. Empty when all passed.
std::string not_passed_listing(const Matrix& m, const RunInfo& info, const std::vector<CellResult>& results,
                               std::size_t most);

// Each throws std::runtime_error when the file cannot be written.
void write_json(const std::string& path, const Matrix& m, const RunInfo& info,
                const std::vector<CellResult>& results);
void write_junit(const std::string& path, const Matrix& m, const RunInfo& info,
                 const std::vector<CellResult>& results);
// The heatmap spans `selection` (cells of it without a result are drawn as
// not run); report_html.cpp describes the page.
void write_html(const std::string& path, const Matrix& m, const RunInfo& info,
                const std::vector<Cell>& selection, const std::vector<CellResult>& results);

}  // namespace hakfuzz::sweep
