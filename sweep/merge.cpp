#include "sweep/merge.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace hakfuzz::sweep {

namespace {

constexpr std::size_t kProblemsNamed = 10;

// Every field that changes what a cell does must be the same in all shards.
void check_same_run(const std::vector<ShardReport>& reports) {
  const ShardReport& first = reports.front();
  auto same = [&](const ShardReport& r, const char* name, const auto& mine, const auto& theirs) {
    if (mine != theirs)
      throw ReportError(fmt::format("the shards disagree on {}: {} has {}, {} has {}", name, first.path,
                                    theirs, r.path, mine));
  };
  for (const ShardReport& r : reports) {
    same(r, "build", r.info.build, first.info.build);
    same(r, "seed", r.info.seed, first.info.seed);
    same(r, "ops", r.info.ops, first.info.ops);
    same(r, "threads", r.info.threads, first.info.threads);
    same(r, "selection", r.info.selection, first.info.selection);
    same(r, "plant", r.info.plant.empty() ? "(none)" : r.info.plant,
         first.info.plant.empty() ? "(none)" : first.info.plant);
  }
}

// Problems of one kind: the first few named, the rest counted.
class ProblemList {
 public:
  explicit ProblemList(std::string heading) : heading_(std::move(heading)) {}
  void add(std::string line) {
    if (count_++ < kProblemsNamed) lines_ += "  " + line + "\n";
  }
  std::string text() const {
    if (count_ == 0) return "";
    return fmt::format(
        "{} {}:\n{}{}", count_, heading_, lines_,
        count_ > kProblemsNamed ? fmt::format("  ... and {} more\n", count_ - kProblemsNamed) : "");
  }

 private:
  std::string heading_, lines_;
  std::size_t count_ = 0;
};

}  // namespace

MergedRun merge_reports(const Matrix& m, const std::vector<ShardReport>& reports) {
  if (reports.empty()) throw ReportError("no reports to merge");
  check_same_run(reports);
  MergedRun merged;
  merged.info = reports.front().info;
  merged.info.shard.clear();
  merged.info.wall_seconds = 0;
  for (const ShardReport& r : reports) {
    merged.info.shard += (merged.info.shard.empty() ? "" : " ") + r.info.shard;
    merged.info.jobs = std::max(merged.info.jobs, r.info.jobs);
    merged.info.wall_seconds += r.info.wall_seconds;
  }
  merged.selection = selection_cells(m, merged.info.selection);
  std::set<std::size_t> selected;
  for (const Cell& c : merged.selection) selected.insert(c.index);

  ProblemList foreign(fmt::format("cells not in the {} selection", merged.info.selection));
  ProblemList duplicated("cells held by more than one report");
  ProblemList missing("cells missing (no report holds them)");
  std::map<std::size_t, std::pair<const CellResult*, const std::string*>> held;  // index -> result, its file
  for (const ShardReport& r : reports)
    for (const CellResult& c : r.results) {
      const std::string config = m.describe(c.cell);
      if (!selected.contains(c.cell.index)) {
        foreign.add(fmt::format("cell {:04} [{}] in {}", c.cell.index, config, r.path));
        continue;
      }
      auto [it, fresh] = held.try_emplace(c.cell.index, &c, &r.path);
      if (!fresh)
        duplicated.add(
            fmt::format("cell {:04} [{}] in {} and in {}", c.cell.index, config, *it->second.second, r.path));
    }
  for (const Cell& c : merged.selection)
    if (!held.contains(c.index)) missing.add(fmt::format("cell {:04} [{}]", c.index, m.describe(c)));
  const std::string problems = missing.text() + duplicated.text() + foreign.text();
  if (!problems.empty())
    throw ReportError(fmt::format("the reports do not cover the {} selection ({} cells) exactly once:\n{}",
                                  merged.info.selection, merged.selection.size(), problems));
  for (const auto& [index, source] : held) merged.results.push_back(*source.first);
  return merged;
}

}  // namespace hakfuzz::sweep
