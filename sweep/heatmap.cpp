#include "sweep/heatmap.h"

#include <algorithm>
#include <set>

namespace hakfuzz::sweep {

std::size_t HeatmapLayout::span(std::size_t k) const {
  std::size_t out = 1;
  for (std::size_t later = k + 1; later < column_values.size(); ++later) out *= column_values[later].size();
  return out;
}

HeatmapLayout heatmap_layout(const Matrix& m, const std::vector<Cell>& selection) {
  HeatmapLayout layout;
  const std::vector<Axis>& axes = m.axes();
  for (std::size_t a = 1; a < axes.size(); ++a)
    if (axes[a].values.size() > axes[layout.row_axis].values.size()) layout.row_axis = a;
  std::vector<std::set<std::uint32_t>> present(axes.size());
  for (const Cell& c : selection)
    for (std::size_t a = 0; a < axes.size(); ++a) present[a].insert(c.values[a]);
  layout.row_values.assign(present[layout.row_axis].begin(), present[layout.row_axis].end());
  for (std::size_t a = 0; a < axes.size(); ++a)
    if (a != layout.row_axis) {
      layout.column_axes.push_back(a);
      layout.column_values.emplace_back(present[a].begin(), present[a].end());
    }
  const std::size_t columns =
      layout.column_values.empty() ? 1 : layout.span(0) * layout.column_values[0].size();
  layout.grid.assign(layout.rows() * columns, HeatmapLayout::kNoCell);
  auto position = [](const std::vector<std::uint32_t>& values, std::uint32_t v) {
    return static_cast<std::size_t>(std::ranges::lower_bound(values, v) - values.begin());
  };
  for (const Cell& c : selection) {
    std::size_t column = 0;
    for (std::size_t k = 0; k < layout.column_axes.size(); ++k)
      column = column * layout.column_values[k].size() +
               position(layout.column_values[k], c.values[layout.column_axes[k]]);
    layout.grid[position(layout.row_values, c.values[layout.row_axis]) * columns + column] = c.index;
  }
  return layout;
}

}  // namespace hakfuzz::sweep
