// What `explore` did, as JSON (--json), and the merge of the reports of
// the parts of one search (--merge; --shard K/N on several machines,
// --jobs N on one), in the style of the sweep's shard reports: the parts
// must have run the same build, strategy, bound, reduction, seed and
// inputs, and together be every part 1..N exactly once; the merged totals
// are those of the whole search.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "explore/explore.h"

namespace hakfuzz {

struct ExploredInput {
  std::string file;
  std::size_t interleavings = 0, steps = 0, cut = 0;
  bool exhausted = false;
  double seconds = 0;
  std::optional<Finding> finding;
  std::string finding_file;  // the minimized interleave input written for it
};

struct ExploreReport {
  std::string build;  // build_info(): parts of one search ran one build
  ExploreStrategy strategy = ExploreStrategy::dfs;
  int bound = 2;
  Reduction reduction = Reduction::hb;
  std::uint64_t seed = 1;
  Shard shard{};
  MemoryKind memory = MemoryKind::c11;  // the parts of one search ran one model
  int history = kDefaultStoreHistory;
  std::vector<ExploredInput> inputs;
  std::size_t findings() const;
};

class ReportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string to_json(const ExploreReport& r);
// Throws ReportError naming what is missing or malformed.
ExploreReport report_from_json(const std::string& text);
// One report for the whole search, its shard 1/1; throws ReportError when
// the parts do not fit together (naming the field and both values, or the
// missing or repeated part).
ExploreReport merge_reports(const std::vector<ExploreReport>& parts);

}  // namespace hakfuzz
