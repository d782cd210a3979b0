// What both engines and `repro` share: how a finding is reported, and one
// input run as libFuzzer runs it.
#include <cstdio>
#include <cstdlib>

#include "fuzz/engine.h"
#include "fuzz/sha1.h"

namespace hakfuzz {

void print_finding(const Target& target, Bytes input, const RunResult& run) {
  if (!run.finding) return;
  std::fprintf(stderr, "==hakfuzz== FINDING in target '%s': %s\n", target.name,
               run.finding->describe().c_str());
  std::fprintf(stderr,
               "==hakfuzz== input: %zu bytes, sha1 %s; replay: hakfuzz repro --target %s --trace FILE\n",
               input.size(), sha1_hex(input).c_str(), target.name);
  // The traced rerun shows the ops up to the divergence (the last 40).
  const RunResult traced = target.run(input, true);
  const std::size_t from = traced.trace.size() > 40 ? traced.trace.size() - 40 : 0;
  for (std::size_t i = from; i < traced.trace.size(); ++i)
    std::fprintf(stderr, "  %s\n", traced.trace[i].c_str());
  std::fflush(stderr);
}

int run_one_input(const Target& target, Bytes input) {
  const RunResult r = target.run(input, false);
  if (r.finding) {
    print_finding(target, input, r);
    std::abort();
  }
  return 0;  // clang 14's libFuzzer has no -1 "reject input"
}

}  // namespace hakfuzz
