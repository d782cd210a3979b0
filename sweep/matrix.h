// The sweep matrix, generated from hakmem::flag_table(): one axis per swept
// flag (environment flags and build switches alike), every value of its
// domain. A flag added to env_flags.def with swept=true joins the matrix, the
// cell environment, the reports and the equivalence keys with no edit here.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "hakmem/types.h"

namespace hakfuzz::sweep {

using EnvVars = std::vector<std::pair<std::string, std::string>>;

struct Axis {
  const hakmem::FlagSpec* spec;
  std::size_t table_index;  // position in flag_table(); an EnvFlag for env flags
  std::vector<std::uint32_t> values;
};

struct Cell {
  std::size_t index = 0;              // position in the full matrix (stable across runs)
  std::vector<std::uint32_t> values;  // one per axis
};

class Matrix {
 public:
  // Throws std::logic_error when a swept build switch has no realisation or
  // an equivalence rule names a flag the table no longer has.
  Matrix();

  const std::vector<Axis>& axes() const { return axes_; }
  std::size_t size() const { return size_; }
  Cell cell(std::size_t index) const;
  std::vector<Cell> all() const;
  // Covering subset, see matrix.cpp for the rule.
  std::vector<Cell> quick() const;

  std::uint32_t value(const Cell& c, std::string_view field) const;
  bool stats_compiled(const Cell& c) const;
  // The cell's environment: every swept env flag set explicitly, rejected
  // frees silenced (the harness asserts on outcomes, not on stderr).
  EnvVars env(const Cell& c) const;
  // "HAKMEM_POOL_V2_ENABLED=1 HAKMEM_POOL_V2_CLASSES=0x2A ..." in table order.
  std::string describe(const Cell& c) const;
  // Cells with equal keys must behave identically: flags that only feed
  // telemetry are dropped, and so are flags that the rest of the cell makes
  // irrelevant (the class mask while v2 is disabled).
  std::string equivalence_key(const Cell& c) const;
  // Like the key but only telemetry flags dropped: a shard keeps each such
  // unit whole, so stats-on/off comparisons never straddle shards.
  std::string shard_unit(const Cell& c) const;
  // "stats_compiled{0,1} x HAKMEM_POOL_V2_ENABLED{0,1} x ..."
  std::string shape() const;

 private:
  std::string key(const Cell& c, bool drop_irrelevant) const;
  std::vector<Axis> axes_;
  std::size_t size_ = 1;
};

// Shard k (1-based) of n: whole shard units dealt round-robin in cell order,
// so shards are disjoint, cover `cells`, and stay balanced.
std::vector<Cell> select_shard(const Matrix& m, const std::vector<Cell>& cells, int k, int n);

}  // namespace hakfuzz::sweep
