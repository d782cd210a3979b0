// The bounded depth-first search of `explore --strategy dfs`, and what it
// leaves out. Every run re-executes the program under a forced prefix of
// picks; the tree of decisions is kept between runs. Three reductions:
//   none   every pick at every decision, within the preemption bound
//          (CHESS): one run per interleaving
//   sleep  sleep sets (Godefroid 1996): a thread already explored at a
//          decision sleeps in its later siblings until a step dependent
//          with its next one runs; a run whose every runnable thread sleeps
//          is cut short (sleep-blocked)
//   dpor   sleep sets plus dynamic partial-order reduction (Flanagan and
//          Godefroid, POPL 2005): a decision's alternatives are only the
//          threads a race in an explored run asks for. A race is two
//          dependent steps of different threads (exec/scheduler.h
//          dependent()) with no happens-before between them, happens-before
//          being each thread's order, the dependent steps' order and the
//          orders the driver imposes on job starts (explore/interleave.h).
//
// With the preemption bound, DPOR alone is unsound: the bound itself makes
// independent steps dependent (Coons, Musuvathi and McKinley, OOPSLA 2013).
// As in their bounded POR, and as loom does, a race whose reversal would
// cost a preemption past the bound also adds its thread at the latest
// earlier decision where the running thread changed, where picking it
// costs no more. tests/reduction_test.cpp checks the claim on every corpus
// program small enough to enumerate: the same outcomes (every op's result
// and the finding's kind) with dpor as with none, and every planted race
// found.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "explore/interleave.h"
#include "explore/schedule.h"

namespace hakfuzz {

enum class Reduction : std::uint8_t { none, sleep, dpor };
const char* reduction_name(Reduction r);
std::optional<Reduction> parse_reduction(std::string_view name);

class DecisionTree {
 public:
  DecisionTree(Reduction reduction, int preemption_bound);
  ~DecisionTree();

  // The rule for the next run: the forced picks, then the non-preemptive
  // pick of a thread that is not asleep.
  std::unique_ptr<RecordingRule> next_rule();
  // The run the last rule made. False: it did not meet the decisions its
  // forced picks were made for (the program is not deterministic).
  bool record(const InterleaveResult& run);
  // Moves to the next unexplored branch; false when the tree is done.
  bool advance();
  std::size_t sleep_blocked() const { return sleep_blocked_; }

  class Rule;

 private:
  static constexpr int kThreads = kMaxThreads;
  using Threads = std::uint16_t;  // a set of logical threads
  struct Node {
    std::vector<int> runnable;
    std::vector<Access> pending;  // runnable[i]'s next step
    int current = -1;
    bool current_runnable = false;
    std::uint8_t fallback = 0;
    int chosen = -1;             // the thread picked on the current path
    int preemptions_before = 0;  // on the current path
    Threads backtrack = 0, done = 0;
    Threads asleep = 0;                       // on arrival, on the current path
    std::array<Access, kThreads> sleeping{};  // their next steps
    std::size_t step = 0;                     // the step the pick took
  };

  int cost(const Node& n, int thread) const {
    return n.current_runnable && thread != n.runnable[n.fallback] ? 1 : 0;
  }
  std::size_t index_in(const Node& n, int thread) const;
  void add_backtrack(std::size_t node, int thread);
  void find_races(const InterleaveResult& run);

  const Reduction reduction_;
  const int bound_;
  std::vector<Node> nodes_;  // the current path
  std::size_t forced_ = 0;   // nodes_[0 .. forced_) are replayed by the next run
  std::size_t sleep_blocked_ = 0;
  Rule* last_rule_ = nullptr;
};

}  // namespace hakfuzz
