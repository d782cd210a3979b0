// The subcommand table: one explicit row per command, no static
// registration. Each command describes its options once; the same
// description parses argv and prints `hakfuzz <command> --help`.
#pragma once
#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "fuzz/targets.h"
#include "fuzz/user_error.h"

namespace hakfuzz::cli {

namespace po = boost::program_options;

// Exit codes, as the brief fixes them.
inline constexpr int kExitClean = 0;
inline constexpr int kExitFinding = 1;
inline constexpr int kExitUsage = 2;     // usage or configuration error
inline constexpr int kExitInternal = 3;  // a bug in hakfuzz itself

// A bad option value the parser could not catch (ranges, formats).
class UsageError : public UserError {
 public:
  using UserError::UserError;
};

struct Command {
  const char* name;
  const char* summary;
  po::options_description (*options)();
  int (*run)(const po::variables_map& vm);
  // Positional words are collected under "inputs" and shown as this in usage
  // (nullptr: a stray word is an error).
  const char* positional = nullptr;
  // Pass-through commands get their raw words and parse them themselves
  // (fuzz: libFuzzer's -flag=value words must never meet Boost's short
  // options; run, record: the program's words after `--`).
  int (*run_raw)(const std::vector<std::string>& args) = nullptr;
};

const std::vector<Command>& commands();
// The command table as Markdown (the README's; `hakfuzz --markdown`).
std::string commands_markdown();
// The allocator's flag table as Markdown (docs/allocator.md; `hakfuzz flags --markdown`).
std::string flag_table_markdown();

// Parses argv in two passes (command, then that command's options) and runs
// it; every usage or configuration error becomes one line on stderr and
// kExitUsage.
int dispatch(int argc, char** argv);

// Per-command entry points (cmd_<name>.cpp).
po::options_description sweep_options();
int run_sweep(const po::variables_map& vm);
po::options_description stress_options();
int run_stress(const po::variables_map& vm);
po::options_description flags_options();
int run_flags(const po::variables_map& vm);
po::options_description repro_options();
int run_repro(const po::variables_map& vm);
po::options_description decode_options();
int run_decode(const po::variables_map& vm);
po::options_description encode_options();
int run_encode(const po::variables_map& vm);
int run_fuzz(const std::vector<std::string>& args);
int run_run(const std::vector<std::string>& args);
int run_record(const std::vector<std::string>& args);
po::options_description bench_options();
int run_bench(const po::variables_map& vm);
po::options_description ab_options();
int run_ab(const po::variables_map& vm);
po::options_description explore_options();
int run_explore(const po::variables_map& vm);
po::options_description audit_atomics_options();
int run_audit_atomics(const po::variables_map& vm);
// The schedule program an input holds: a `remote` schedule, or the program
// of an `interleave` input (explore, audit-atomics).
Program schedule_program_of(const Target& t, const std::vector<std::uint8_t>& bytes);

// A process libFuzzer started (or our supervised engine child): the target
// travels in HAKFUZZ_FUZZ_TARGET and argv has no subcommand word.
bool is_engine_child(int argc, char** argv);
[[noreturn]] void run_engine_child(int argc, char** argv);

}  // namespace hakfuzz::cli
