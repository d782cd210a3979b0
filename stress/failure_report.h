// What a failed stress run leaves behind: a JSON report (findings, the last
// ops of each worker, rounds, RSS) and, beside it, a `remote` fuzz-target
// input replaying the failing interleaving, with the replay's verdict.
#pragma once
#include <string>

#include "hakmem/types.h"
#include "stress/parallel.h"
#include "stress/replay.h"

namespace hakfuzz::stress {

struct RunHeader {
  std::uint64_t seed = 0;
  std::string config;   // Config::describe()
  std::string flavour;  // stats_off or stats_on
  std::string plant;    // the planted bug (oracle/plants.def), empty for the real pool
  std::string build;
};

// The replay input's path for a report path: "x.json" -> "x.remote".
std::string replay_path_for(const std::string& report_path);

// Throws std::runtime_error when a file cannot be written.
void write_failure_report(const std::string& path, const RunHeader& header, const StressSpec& spec,
                          const StressResult& result, const Replay& replay, const std::string& replay_file,
                          const ReplayVerdict& verdict);

}  // namespace hakfuzz::stress
