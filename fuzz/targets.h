// The fuzz target table: every target is a function over bytes, usable by
// libFuzzer, by the built-in engine and by `repro`, plus the codec between
// its bytes and the readable trace (`decode` / `encode`).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "oracle.h"

namespace hakfuzz {

struct TargetRun {
  std::optional<Finding> finding;
  std::uint64_t digest = 0;        // behaviour digest (the determinism check compares it)
  std::vector<std::string> trace;  // readable op trace, when asked for
};

struct Target {
  const char* name;
  const char* doc;
  TargetRun (*run)(std::span<const std::uint8_t> input, bool trace);
  std::string (*to_text)(std::span<const std::uint8_t> input);
  // Throws std::invalid_argument on malformed text.
  std::vector<std::uint8_t> (*from_text)(const std::string& text);
};

const std::vector<Target>& targets();
const Target* find_target(std::string_view name);

// Per-target entry points (target_<name>.cpp).
TargetRun run_ops_target(std::span<const std::uint8_t> input, bool trace);
TargetRun run_page_of_target(std::span<const std::uint8_t> input, bool trace);
TargetRun run_remote_target(std::span<const std::uint8_t> input, bool trace);
TargetRun run_stats_diff_target(std::span<const std::uint8_t> input, bool trace);
TargetRun run_env_target(std::span<const std::uint8_t> input, bool trace);

std::string env_input_to_text(std::span<const std::uint8_t> input);
std::vector<std::uint8_t> env_input_from_text(const std::string& text);

// Shared by targets whose input is a Program.
TargetRun to_target_run(RunResult r);

}  // namespace hakfuzz
