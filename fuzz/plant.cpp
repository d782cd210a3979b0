#include "plant.h"

#include <cstdlib>
#include <stdexcept>

#include "oracle_impl.h"

namespace hakfuzz {

namespace {

// page_of takes an interior pointer for a block start: the misaligned free
// is reported as a successful v2 free (the brief's example of a planted bug).
class InteriorAcceptingPool : public hakmem::PoolStatsOn {
 public:
  using hakmem::PoolStatsOn::PoolStatsOn;
  hakmem::FreeOutcome free(void* ptr) {
    hakmem::FreeOutcome out = hakmem::PoolStatsOn::free(ptr);
    if (out.route == hakmem::FreeRoute::rejected && out.reason == hakmem::Verdict::misaligned) {
      out.route = hakmem::FreeRoute::v2_local;
      out.reason = hakmem::Verdict::ok;
      out.page_of = hakmem::Verdict::ok;
    }
    return out;
  }
};

// A telemetry counter that drifts: free_fast over-counts every 7th free.
class DriftingCounterPool : public hakmem::PoolStatsOn {
 public:
  using hakmem::PoolStatsOn::PoolStatsOn;
  hakmem::StatsSnapshot stats() const {
    hakmem::StatsSnapshot s = hakmem::PoolStatsOn::stats();
    for (auto& row : s.rows) row[static_cast<int>(hakmem::V2Stat::free_fast)] += row[0] / 7;
    return s;
  }
};

}  // namespace

const std::vector<PlantedBug>& planted_bugs() {
  static const std::vector<PlantedBug> table = {
      {"page_of_interior",
       "page_of accepts interior pointers: a misaligned free is taken as a valid v2 free"},
      {"drifting_counter", "the v2 free_fast counter over-counts (stats-on build)"},
  };
  return table;
}

std::optional<std::string> active_plant() {
  const char* v = std::getenv(kPlantEnv);
  if (!v || !*v) return std::nullopt;
  for (const PlantedBug& b : planted_bugs())
    if (std::string(v) == b.name) return std::string(v);
  throw std::invalid_argument(std::string(kPlantEnv) + "='" + v + "' names no planted bug");
}

RunResult run_planted(const std::string& bug, const Program& program, RunOptions options) {
  if (bug == "page_of_interior") return oracle_detail::Runner<InteriorAcceptingPool>(program, options).run();
  if (bug == "drifting_counter") return oracle_detail::Runner<DriftingCounterPool>(program, options).run();
  throw std::invalid_argument("no planted bug named '" + bug + "'");
}

RunResult run_program_maybe_planted(const Program& program, RunOptions options) {
  static const std::optional<std::string> plant = active_plant();
  return plant ? run_planted(*plant, program, options) : run_program<hakmem::PoolStatsOn>(program, options);
}

}  // namespace hakfuzz
