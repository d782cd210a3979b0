// Starting an unmodified program under libhakmem_preload.so, shared by
// `hakfuzz run` and `hakfuzz record`: the `OPTIONS -- PROGRAM ARGS` split,
// the shim and the pool's flags, the spawn and the program's end.
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

// A program to start under the shim: its words, the shim (--shim, else
// libhakmem_preload.so beside this binary) and the pool's flags (--env).
// UsageError, before anything runs, for no program, a missing shim or a
// bad flag value; `usage` is the command's synopsis for the first.
struct PreloadLaunch {
  std::vector<std::string> program;
  std::filesystem::path shim;
  hakmem::Config cfg;
};
PreloadLaunch preload_launch(std::vector<std::string> program, const po::variables_map& vm,
                             const std::string& usage);

// A fresh directory under the temp dir, named after `what`.
std::filesystem::path scratch_dir(const std::string& what);

// Starts the program with LD_PRELOAD (the shim first, then any the user
// set), the pool's flags and `own_env` over this process's environment,
// after the line "hakfuzz COMMAND: PROGRAM on SHIM; CONFIG[; NOTE]", and
// waits for it, the terminal's Ctrl-C left to it. Its wait status;
// UsageError when it cannot be started, `scratch` (unless empty) removed.
int spawn_preloaded(const std::string& command, const PreloadLaunch& launch,
                    const std::vector<std::string>& own_env, const std::string& note,
                    const std::filesystem::path& scratch);

// A wait status as an exit code (128 + the signal) and words.
struct ProgramEnd {
  int code;
  std::string how;
};
ProgramEnd program_end(int status);

}  // namespace hakfuzz::cli
