// Fuzzing engines behind `hakfuzz fuzz`. Both take libFuzzer's argv
// conventions (-flag=value words, corpus dirs and files) and keep its output
// contract: `INFO: Seed:`, artifacts named crash-<sha1> under
// -artifact_prefix, the line `Test unit written to <path>`, `stat::` lines.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "fuzz/targets.h"

namespace hakfuzz {

// Prints a finding: target, kind, op index, what diverged, then the readable
// trace of the input (rerun with tracing). Used by engines and `repro`.
void print_finding(const Target& target, Bytes input, const RunResult& run);

// Built-in engine (every build): replays the corpus paths, then mutates and
// generates inputs until -runs or -max_total_time. Returns 0 clean, 1 finding
// (reproducer written first), 2 bad arguments.
int run_builtin_engine(const Target& target, const std::vector<std::string>& args);

// libFuzzer through LLVMFuzzerRunDriver (clang builds with HAKFUZZ_LIBFUZZER).
// Does not return: libFuzzer exits itself. argv is libFuzzer's whole argv.
bool have_libfuzzer();
// One input as libFuzzer sees it: run the target, and on a finding print the
// report and abort, so the engine writes crash-<sha1>. Also the body of the
// standalone <target>_fuzzer executables (oss_fuzz_main.cpp).
int run_one_input(const Target& target, Bytes input);
[[noreturn]] void run_libfuzzer_engine(const Target& target, int argc, char** argv);

// The environment variable that carries the target into the engine process
// and into every process libFuzzer re-executes (-fork, -merge, -minimize_crash).
inline constexpr const char* kTargetEnv = "HAKFUZZ_FUZZ_TARGET";

}  // namespace hakfuzz
