#include <cstdio>

#include "engine.h"
#include "sha1.h"

namespace hakfuzz {

void print_finding(const Target& target, std::span<const std::uint8_t> input, const TargetRun& run) {
  if (!run.finding) return;
  std::fprintf(stderr, "==hakfuzz== FINDING in target '%s' at op %zu: %s\n", target.name,
               run.finding->op_index, run.finding->what.c_str());
  std::fprintf(stderr,
               "==hakfuzz== input: %zu bytes, sha1 %s; replay: hakfuzz repro --target %s --trace FILE\n",
               input.size(), sha1_hex(input).c_str(), target.name);
  // The traced rerun shows the ops up to the divergence (the last 40).
  TargetRun traced = target.run(input, true);
  std::size_t from = traced.trace.size() > 40 ? traced.trace.size() - 40 : 0;
  for (std::size_t i = from; i < traced.trace.size(); ++i)
    std::fprintf(stderr, "  %s\n", traced.trace[i].c_str());
  std::fflush(stderr);
}

}  // namespace hakfuzz
