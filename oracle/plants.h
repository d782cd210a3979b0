// The planted-bug table (plants.def) and the process's active plant. The
// plant travels in HAKFUZZ_PLANT so every process libFuzzer starts (fork,
// merge, minimize) breaks the same pool; make_pool() applies it everywhere.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "oracle/pool_under_test.h"

namespace hakfuzz {

inline constexpr const char* kPlantEnv = "HAKFUZZ_PLANT";

struct PlantSpec {
  const char* name;
  const char* reaches;  // '*' or a comma-separated list of checker names
  const char* doc;
  // A wrapper plant breaks the pool from outside; an inside plant is the
  // tester flavour's PoolOptions::plant (then wrap is null).
  std::unique_ptr<PoolUnderTest> (*wrap)(std::unique_ptr<PoolUnderTest>);
  hakmem::Plant inside = hakmem::Plant::none;
  bool reaches_checker(std::string_view checker) const;
};

const std::vector<PlantSpec>& plant_table();
const PlantSpec* find_plant(std::string_view name);
// One line per plant, for --help.
std::string plant_help();
// The table as Markdown (docs/plants.md; `hakfuzz --markdown=plants`).
std::string plants_markdown();

// The plant named in HAKFUZZ_PLANT (read once), or nullptr. Throws
// std::invalid_argument for a name that is not in the table.
const PlantSpec* active_plant();
// Validates `name` for `checker` and exports it to this process and the
// ones it starts. Throws std::invalid_argument for an unknown name, or one
// the checker cannot reach (it would silently prove nothing).
void activate_plant(const std::string& name, std::string_view checker);

}  // namespace hakfuzz
