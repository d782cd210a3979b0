// Every target replays deterministically inside one process: a few hundred
// random inputs each, run three times in different orders (so each run sees
// a different mmap history, thread stacks and earlier inputs), must give the
// same digest and the same finding every time. tests/determinism.sh checks
// the same across separate processes.
#include <algorithm>
#include <random>

#include "fuzz/targets.h"
#include "pool_test_util.h"

namespace hakfuzz {
namespace {

TEST(Determinism, EveryTargetReplaysIdenticallyInOneProcess) {
  std::mt19937_64 rng(20261130);
  for (const Target& t : targets()) {
    SCOPED_TRACE(t.name);
    // Fewer for the targets whose inputs cost most: remote's real threads,
    // and walk's, which walks the pool once per planted fault at every check.
    const std::string name = t.name;
    std::vector<std::vector<std::uint8_t>> inputs(name == "walk" ? 50 : name == "remote" ? 150 : 300);
    for (auto& in : inputs) {
      in.resize(rng() % 3000);
      for (auto& b : in) b = static_cast<std::uint8_t>(rng());
    }
    std::vector<std::size_t> order(inputs.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::vector<RunResult> first(inputs.size());
    for (std::size_t i : order) first[i] = t.run(inputs[i], false);
    for (int pass = 0; pass < 2; ++pass) {
      if (pass == 0) std::reverse(order.begin(), order.end());
      if (pass == 1) std::shuffle(order.begin(), order.end(), rng);
      for (std::size_t i : order) {
        const RunResult again = t.run(inputs[i], false);
        ASSERT_EQ(again.digest, first[i].digest) << t.to_text(inputs[i]);
        ASSERT_EQ(again.finding.has_value(), first[i].finding.has_value()) << t.to_text(inputs[i]);
        if (again.finding) {
          ASSERT_EQ(again.finding->kind, first[i].finding->kind);
          ASSERT_EQ(again.finding->op_index, first[i].finding->op_index);
        }
      }
    }
  }
}

}  // namespace
}  // namespace hakfuzz
