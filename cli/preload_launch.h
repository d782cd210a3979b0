// Starting an unmodified program under libhakmem_preload.so, shared by
// `hakfuzz run` and `hakfuzz record`: the `OPTIONS -- PROGRAM ARGS` split,
// the shim's path, its environment, the spawn and the program's end.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "hakmem/types.h"

namespace hakfuzz::cli {

// Parses the words before `--` with `desc` (plus --help, --shim) into `vm`
// and returns the words after it (empty when there is no `--`).
std::vector<std::string> parse_program_command(const std::vector<std::string>& args,
                                               po::options_description& desc, po::variables_map& vm);

// --shim, else libhakmem_preload.so beside this binary; UsageError when missing.
std::filesystem::path shim_path(const po::variables_map& vm);

// A fresh directory under the temp dir, named after `what`.
std::filesystem::path scratch_dir(const std::string& what);

// LD_PRELOAD (the shim first, then any the user set) and the pool's flags.
std::vector<std::string> preload_env(const std::filesystem::path& shim, const hakmem::Config& cfg);

// Starts PROGRAM with `extra_env` over this process's environment and waits
// for it, the terminal's Ctrl-C left to it. Its wait status; UsageError when
// it cannot be started.
int spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env);

// A wait status as an exit code (128 + the signal) and words.
struct ProgramEnd {
  int code;
  std::string how;
};
ProgramEnd program_end(int status);

std::string join_words(const std::vector<std::string>& words);

}  // namespace hakfuzz::cli
