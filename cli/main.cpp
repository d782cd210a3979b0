// hakfuzz: one binary, subcommands from cli/commands.cpp. Usage and
// configuration errors exit 2 inside dispatch(); anything that escapes it is
// a bug in hakfuzz, reported as such rather than as a finding.
#include <exception>
#include <iostream>

#include "cli/commands.h"

int main(int argc, char** argv) {
  try {
    if (hakfuzz::cli::is_engine_child(argc, argv)) hakfuzz::cli::run_engine_child(argc, argv);
    return hakfuzz::cli::dispatch(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "hakfuzz: internal error: " << e.what() << "\n";
    return hakfuzz::cli::kExitInternal;
  }
}
