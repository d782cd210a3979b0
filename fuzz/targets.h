// The fuzz target table (targets.def): every target is a function over
// bytes, usable by libFuzzer, the built-in engine and `repro`, plus the
// codec between its bytes and the readable trace (`decode` / `encode`).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "exec/run_program.h"
#include "explore/interleave.h"

namespace hakfuzz {

using Bytes = std::span<const std::uint8_t>;

struct Target {
  const char* name;
  const char* input;  // program, schedule or env_strings
  const char* doc;
  RunResult (*run)(Bytes input, bool trace);
  std::string (*to_text)(Bytes input);
  // Throws std::invalid_argument on malformed text.
  std::vector<std::uint8_t> (*from_text)(const std::string& text);
  // The dictionary both engines get by default (fuzz/dictionary.h), or nullptr.
  std::string (*dictionary)();
};

const std::vector<Target>& targets();
const Target* find_target(std::string_view name);
// The table as Markdown (docs/fuzzing.md's target table).
std::string targets_markdown();

#define HAKFUZZ_TARGET(name, input, doc) RunResult run_##name##_target(Bytes input_bytes, bool trace);
#include "fuzz/targets.def"
#undef HAKFUZZ_TARGET

// The stats_diff target's check on a program of any kind (a schedule runs
// its ops on their threads): four configs that must behave alike, stats
// compiled out and in, each with HAKMEM_POOL_V2_STATS 0 and 1.
RunResult stats_diff(const Program& program, bool trace);

// The options the `interleave` target runs an input with (the tester's
// flavour, the active plant): explore and the controlled stress run theirs
// with them, so a finding they write replays the same from its file.
// HAKFUZZ_WEAKEN=POINT:ORDER (set by `--weaken`, as --plant sets
// HAKFUZZ_PLANT) weakens one schedule point's orders in the model.
InterleaveOptions interleave_target_options(bool trace);
inline constexpr const char* kWeakenEnv = "HAKFUZZ_WEAKEN";
// `--weaken`'s value checked and put where interleave_target_options reads it.
void set_weakening(const std::string& text);

// The env input's field (target_env.cpp): a length byte, kEnvUnset for an
// unset flag, else the value's length modulo kEnvMaxValue + 1; then the value.
inline constexpr std::uint8_t kEnvUnset = 0xFF;
inline constexpr std::size_t kEnvMaxValue = 32;

// The input codecs the table names (the interleave input's: fuzz/interleave_input.h).
std::string program_to_text(Bytes input);
std::vector<std::uint8_t> program_from_text(const std::string& text);
std::string schedule_to_text(Bytes input);
std::vector<std::uint8_t> schedule_from_text(const std::string& text);
std::string env_strings_to_text(Bytes input);
std::vector<std::uint8_t> env_strings_from_text(const std::string& text);
std::string env_strings_dictionary();
std::string interleave_to_text(Bytes input);
std::vector<std::uint8_t> interleave_from_text(const std::string& text);

}  // namespace hakfuzz
