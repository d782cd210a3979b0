// Planted bugs for self-tests: with HAKFUZZ_PLANT set (`--plant` on `fuzz`
// and `repro`), the single-thread targets run the oracle over a deliberately
// broken pool, so a CI pipeline can prove it finds, reports, minimizes and
// replays a known bug. The variable travels into every process libFuzzer
// starts, like the target does.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "oracle.h"

namespace hakfuzz {

inline constexpr const char* kPlantEnv = "HAKFUZZ_PLANT";

struct PlantedBug {
  const char* name;
  const char* doc;
};
const std::vector<PlantedBug>& planted_bugs();

// The bug named in HAKFUZZ_PLANT, or nullopt. Throws std::invalid_argument
// for a name that is not in the table.
std::optional<std::string> active_plant();

// run_program over the named planted pool (throws for an unknown name).
RunResult run_planted(const std::string& bug, const Program& program, RunOptions options);
// run_program on PoolStatsOn, or on the planted pool when a plant is active.
RunResult run_program_maybe_planted(const Program& program, RunOptions options);

}  // namespace hakfuzz
