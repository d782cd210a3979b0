// Fuzz inputs as the user names them: files and directories of inputs, and
// the target an input belongs to, from a flag or from where it lives
// (corpus/<target>/..., corpus/regressions/<target>/...). Every failure is a
// UserError (fuzz/user_error.h) naming the path or the name.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fuzz/targets.h"
#include "fuzz/user_error.h"

namespace hakfuzz {

// `flag` when given (must name a target), else the nearest path component
// of `input` that names one.
const Target& resolve_target(const std::optional<std::string>& flag, const std::filesystem::path& input);

// The given files, and every fuzz input under the given dirs, sorted; an
// error for a missing path or when nothing is found.
std::vector<std::filesystem::path> collect_inputs(const std::vector<std::string>& paths);

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& p);
std::string read_text(const std::filesystem::path& p);

}  // namespace hakfuzz
