// The sweep's reports without running a cell: a cell's JSON read back, the
// merge of shard reports (coverage, run fields, equivalence across shards)
// and the HTML heatmap's layout, on results made up from the matrix.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>
#include <string>

#include "sweep/heatmap.h"
#include "sweep/merge.h"
#include "sweep/report_json.h"
#include "sweep/sweep.h"

namespace hakfuzz::sweep {
namespace {

// A passing result whose digest depends only on the equivalence key, as a
// correct allocator's would.
CellResult made_up_result(const Matrix& m, const Cell& c) {
  CellResult r;
  r.cell = c;
  r.has_digest = true;
  r.digest = std::hash<std::string>{}(m.equivalence_key(c));
  r.ops = 100 + c.index;
  r.seconds = 0.5;
  return r;
}

std::vector<ShardReport> quick_shards(const Matrix& m, int n) {
  std::vector<ShardReport> out;
  for (int k = 1; k <= n; ++k) {
    ShardReport s;
    s.path = "shard" + std::to_string(k) + ".json";
    s.info = {.seed = 7,
              .ops = 4000,
              .threads = 2,
              .jobs = 2,
              .selection = "quick",
              .shard = std::to_string(k) + "/" + std::to_string(n),
              .build = "g++",
              .plant = "",
              .wall_seconds = 1};
    for (const Cell& c : select_shard(m, m.quick(), k, n)) s.results.push_back(made_up_result(m, c));
    out.push_back(s);
  }
  return out;
}

std::string merge_error(const Matrix& m, const std::vector<ShardReport>& shards) {
  try {
    merge_reports(m, shards);
  } catch (const ReportError& e) {
    return e.what();
  }
  return "";
}

TEST(SweepReport, CellJsonReadsBackWhatWasWritten) {
  const Matrix m;
  CellResult r = made_up_result(m, m.cell(519));
  r.raise(CellStatus::inactive, "class 0 (2 KiB): v2 enabled but a remote free (stress) never happened");
  r.equivalence_note = "not read back: the merge checks equivalence again";
  const CellResult back = cell_from_json(m, nlohmann::json::parse(cell_json(m, r).dump()));
  EXPECT_EQ(back.cell.index, 519u);
  EXPECT_EQ(back.cell.values, r.cell.values);
  EXPECT_EQ(back.status, CellStatus::inactive);
  EXPECT_EQ(back.digest, r.digest);
  EXPECT_TRUE(back.has_digest);
  EXPECT_EQ(back.ops, r.ops);
  EXPECT_DOUBLE_EQ(back.seconds, r.seconds);
  EXPECT_EQ(back.notes, r.notes);
  EXPECT_TRUE(back.equivalence_note.empty());
}

TEST(SweepReport, CellJsonWithFlagsOfAnotherIndexIsRefused) {
  const Matrix m;
  auto j = nlohmann::json::parse(cell_json(m, made_up_result(m, m.cell(3))).dump());
  j["index"] = 4;
  EXPECT_THROW(cell_from_json(m, j), ReportError);
}

TEST(SweepMerge, ShardsMergeToTheWholeSelectionInMatrixOrder) {
  const Matrix m;
  const MergedRun merged = merge_reports(m, quick_shards(m, 4));
  ASSERT_EQ(merged.results.size(), m.quick().size());
  for (std::size_t i = 0; i < merged.results.size(); ++i)
    EXPECT_EQ(merged.results[i].cell.index, merged.selection[i].index);
  EXPECT_EQ(merged.info.shard, "1/4 2/4 3/4 4/4");
  EXPECT_DOUBLE_EQ(merged.info.wall_seconds, 4);
}

TEST(SweepMerge, MissingDuplicatedAndForeignCellsAreNamed) {
  const Matrix m;
  auto shards = quick_shards(m, 4);
  const CellResult gone = shards[1].results[2];
  shards[1].results.erase(shards[1].results.begin() + 2);
  std::string error = merge_error(m, shards);
  EXPECT_NE(error.find("1 cells missing"), std::string::npos) << error;
  EXPECT_NE(error.find(fmt::format("cell {:04} [{}]", gone.cell.index, m.describe(gone.cell))),
            std::string::npos)
      << error;

  shards = quick_shards(m, 4);
  shards.push_back(shards[0]);
  error = merge_error(m, shards);
  EXPECT_NE(error.find("held by more than one report"), std::string::npos) << error;
  EXPECT_NE(error.find("in shard1.json and in shard1.json"), std::string::npos) << error;

  shards = quick_shards(m, 4);
  const std::set<std::size_t> quick = [&] {
    std::set<std::size_t> s;
    for (const Cell& c : m.quick()) s.insert(c.index);
    return s;
  }();
  std::size_t outside = 0;
  while (quick.contains(outside)) ++outside;
  shards[2].results.push_back(made_up_result(m, m.cell(outside)));
  error = merge_error(m, shards);
  EXPECT_NE(error.find("not in the quick selection"), std::string::npos) << error;
}

TEST(SweepMerge, RunFieldsMustAgree) {
  const Matrix m;
  auto shards = quick_shards(m, 4);
  shards[3].info.threads = 4;
  EXPECT_EQ(merge_error(m, shards), "the shards disagree on threads: shard1.json has 2, shard4.json has 4");
  shards = quick_shards(m, 4);
  shards[1].info.plant = "drifting_counter";
  EXPECT_EQ(merge_error(m, shards),
            "the shards disagree on plant: shard1.json has (none), shard2.json has drifting_counter");
}

TEST(SweepMerge, EquivalenceIsCheckedAcrossShards) {
  const Matrix m;
  auto shards = quick_shards(m, 4);
  // The v2-disabled class spans every class mask, so every shard holds some of it.
  CellResult* odd = nullptr;
  for (CellResult& r : shards[0].results)
    if (m.equivalence_key(r.cell) == "v2_enabled=0") odd = &r;
  ASSERT_NE(odd, nullptr);
  odd->digest ^= 1;
  const std::size_t odd_index = odd->cell.index;
  MergedRun merged = merge_reports(m, shards);
  EXPECT_EQ(check_equivalence(m, merged.results), 1u);
  std::set<std::size_t> partner_shards;
  for (const CellResult& r : merged.results) {
    if (m.equivalence_key(r.cell) != "v2_enabled=0") {
      EXPECT_EQ(r.verdict(), CellStatus::pass);
      continue;
    }
    EXPECT_EQ(r.verdict(), CellStatus::finding);
    if (r.cell.index == odd_index)
      EXPECT_NE(r.equivalence_note.find("differs from"), std::string::npos) << r.equivalence_note;
    else
      EXPECT_EQ(r.equivalence_partner, odd_index);
  }
  // Checked again (a merge of merged reports), the notes are replaced, not added to.
  EXPECT_EQ(check_equivalence(m, merged.results), 1u);
  for (const CellResult& r : merged.results) EXPECT_TRUE(r.notes.empty());
}

TEST(SweepHeatmap, FullMatrixHasARowPerMaskValueAndEveryCellOnce) {
  const Matrix m;
  const HeatmapLayout layout = heatmap_layout(m, m.all());
  const Axis& widest = m.axes()[layout.row_axis];
  for (const Axis& a : m.axes()) EXPECT_LE(a.values.size(), widest.values.size());
  EXPECT_EQ(layout.rows(), widest.values.size());
  EXPECT_EQ(layout.rows() * layout.columns(), m.size());
  std::vector<std::size_t> drawn = layout.grid;
  std::ranges::sort(drawn);
  for (std::size_t i = 0; i < drawn.size(); ++i) EXPECT_EQ(drawn[i], i);
  std::size_t header_columns = 1;
  for (const auto& values : layout.column_values) header_columns *= values.size();
  EXPECT_EQ(layout.columns(), header_columns);
  EXPECT_EQ(layout.span(0) * layout.column_values[0].size(), layout.columns());
}

TEST(SweepHeatmap, QuickRowsAreTheCoveringMasks) {
  const Matrix m;
  const std::vector<Cell> quick = m.quick();
  const HeatmapLayout layout = heatmap_layout(m, quick);
  std::set<std::uint32_t> masks;
  for (const Cell& c : quick) masks.insert(c.values[layout.row_axis]);
  EXPECT_EQ(layout.rows(), masks.size());
  EXPECT_LT(layout.rows(), m.axes()[layout.row_axis].values.size());
  std::size_t drawn = 0;
  for (std::size_t i : layout.grid) drawn += i != HeatmapLayout::kNoCell;
  EXPECT_EQ(drawn, quick.size());
}

}  // namespace
}  // namespace hakfuzz::sweep
