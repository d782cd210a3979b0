// The HTML report's heatmap grid, laid out from the matrix: one row per
// value of the widest axis (the class mask: its 128 values, or the covering
// subset --quick picks), one column per combination of the other axes'
// values (the last axis varying fastest), both limited to the values the
// selection holds. No flag is named here: a flag added to the table becomes
// a row or a column by itself.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "sweep/matrix.h"

namespace hakfuzz::sweep {

struct HeatmapLayout {
  static constexpr std::size_t kNoCell = std::numeric_limits<std::size_t>::max();

  std::size_t row_axis = 0;                               // index into Matrix::axes()
  std::vector<std::uint32_t> row_values;                  // ascending
  std::vector<std::size_t> column_axes;                   // the other axes, in table order
  std::vector<std::vector<std::uint32_t>> column_values;  // per column axis, ascending
  std::vector<std::size_t> grid;                          // row-major matrix indices, kNoCell where none

  std::size_t rows() const { return row_values.size(); }
  std::size_t columns() const { return rows() ? grid.size() / rows() : 0; }
  std::size_t at(std::size_t row, std::size_t column) const { return grid[row * columns() + column]; }
  // Columns one value of column axis `k` spans in the header (the product of the later axes' value counts).
  std::size_t span(std::size_t k) const;
};

HeatmapLayout heatmap_layout(const Matrix& m, const std::vector<Cell>& selection);

}  // namespace hakfuzz::sweep
