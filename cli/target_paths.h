// Finding a fuzz target from a command line or from where an input lives
// (corpus/<target>/..., corpus/regressions/<target>/...).
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "explore/explore.h"
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

// A minimized failing interleaving as an `interleave` input, DIR/interleave/
// <sha1> (the dir names the target, so `repro` finds it from the path), with
// its readable trace beside it as <sha1>.txt. Returns the input's path.
std::string write_interleave_finding(const std::string& dir, const Minimized& m);
std::string read_text(const std::filesystem::path& p);

}  // namespace hakfuzz::cli
