// Finding a fuzz target from a command line or from where an input lives
// (corpus/<target>/..., corpus/regressions/<target>/...).
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fuzz/targets.h"

namespace hakfuzz::cli {

// --target when given (must exist), else the nearest path component that
// names a target. Throws UsageError when neither works.
const Target& resolve_target(const std::optional<std::string>& flag, const std::filesystem::path& input);

// The given files, and every fuzz input under the given dirs, sorted; UsageError for a
// missing path or when nothing is found.
std::vector<std::filesystem::path> collect_inputs(const std::vector<std::string>& paths);

// Validates a planted-bug name for the checker (a target name, `stress`,
// `sweep`) and exports it (HAKFUZZ_PLANT) to this process and the engines
// it starts; UsageError for an unknown name or one the checker cannot reach.
void set_plant(const std::string& name, std::string_view checker);

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& p);
std::string read_text(const std::filesystem::path& p);

}  // namespace hakfuzz::cli
