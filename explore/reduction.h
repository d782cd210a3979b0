// The depth-first search of `explore --strategy dfs`, and what it leaves
// out. Every run re-executes the program under a forced prefix of picks;
// the tree of decisions is kept between runs. Two runs are equivalent when
// they differ only in the order of independent steps: steps of different
// threads that are not dependent (exec/scheduler.h dependent()), with
// happens-before being each thread's order, the dependent steps' order and
// the orders the driver imposes on job starts (explore/interleave.h). The
// reductions:
//   none  every pick at every decision within the preemption bound
//         (CHESS): one run per interleaving
//   hb    the same search, cut wherever a run reaches a state an earlier
//         run already reached with no more preemptions spent and the same
//         thread running: a state is the happens-before relation of the
//         steps so far (its fingerprint: every step's point, target, result
//         and vector clock, what a job's thread knew of the others when the
//         driver handed the job over, and which store a stale load read),
//         which equivalent prefixes share (Musuvathi and Qadeer,
//         "Partial-order reduction for context-bounded state exploration",
//         2007, as CHESS caches it). Everything the cut subtree holds within
//         the bound, the earlier one held within at least as much: sound for
//         the bound. CutCheck tests that claim on every run.
//   dpor  dynamic partial-order reduction (Flanagan and Godefroid, POPL
//         2005) with sleep sets, and no preemption bound: a decision's
//         alternatives are only the threads a race of an explored run asks
//         for; one run per equivalence class at least, every class reached.
//         With a preemption bound, DPOR and sleep sets are unsound (the
//         bound makes independent steps dependent: Coons, Musuvathi and
//         McKinley, OOPSLA 2013): a thread preempted inside a critical
//         section lets others queue on the lock, an order no race asks for
//         within the bound (tests/reduction_test.cpp found one on
//         churn-4-threads). So dpor ignores --preemptions.
// tests/reduction_test.cpp checks both on every corpus program small
// enough to enumerate: the same outcomes (every op's result and the
// finding's kind) as none, and every planted race found; and hb's cuts
// against the memory model's state (CutCheck), on the corpus and on litmus
// programs.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "explore/interleave.h"
#include "explore/schedule.h"

namespace hakfuzz {

// Each pair of dependent steps of different threads, in the order the run
// took them (the earlier one being the other thread's last step the later
// depends on): f(earlier point, later point). Interleaving coverage for the
// fuzzers (fuzz/pair_coverage.h).
void for_each_conflict(std::span<const Step> steps, const std::function<void(int, int)>& f);

enum class Reduction : std::uint8_t { none, hb, dpor };
const char* reduction_name(Reduction r);
std::optional<Reduction> parse_reduction(std::string_view name);
// The reduction a search under memory model `m` runs when `asked` for one.
// hb holds under c11: equivalent prefixes give the model the same state
// when the fingerprint also names the store each stale load read (loads of
// one location commute there). Not under tso, where a load that reads a
// buffered store drains its thread's buffer, other locations' stores
// included, so loads stop commuting; nor dpor, whose races know no
// reads-from. Those run with none.
Reduction reduction_under(MemoryKind m, Reduction asked);

// One of n disjoint parts of a search (1-based k), for several processes or
// machines: a run belongs to the part its first kShardDepth picks name, so
// every run is in exactly one part, and the parts' totals add up to the
// whole search's (each part's hb cut only merges states below one prefix,
// which the whole search does too).
struct Shard {
  int k = 1, n = 1;
};

// A check of the hb cut itself (tests/reduction_test.cpp): whenever a run
// reaches a state reached before, the memory model's whole state
// (MemoryModel::state_digest) must be the one the first visit had. Two prefixes with one fingerprint and
// different model states mean the fingerprint leaves out something a later step may read, and the cut may
// lose outcomes even where no corpus program shows one.
struct CutCheck {
  bool enabled = false;
  // (testing) the bugs the check is for: a fingerprint that leaves out
  // which store a stale load read, or what a job's thread knew when it
  // started.
  enum class Forget : std::uint8_t { nothing, stale_store, job_knowledge };
  Forget plant = Forget::nothing;
};

class DecisionTree {
 public:
  static constexpr std::size_t kShardDepth = 3;

  DecisionTree(Reduction reduction, int preemption_bound, Shard shard = {}, CutCheck check = {});
  ~DecisionTree();

  // The rule for the next run: the forced picks, then the non-preemptive
  // pick (of a thread that is not asleep, under dpor).
  std::unique_ptr<RecordingRule> next_rule();
  // The run the last rule made. False: it did not meet the decisions its
  // forced picks were made for (the program is not deterministic).
  bool record(const InterleaveResult& run);
  // Moves to the next unexplored branch; false when the tree is done.
  bool advance();
  // Runs cut short: a state reached before (hb), every runnable thread
  // asleep (dpor).
  std::size_t cut() const { return cut_; }
  // CutCheck: visits of a reached state whose memory model differed from
  // its first visit's.
  std::size_t unsound_cuts() const { return unsound_cuts_; }
  // The last run belongs to this part of the search (else it only led
  // the way to the part's own runs: not counted, nothing judged).
  bool owned() const { return owned_; }

  class Rule;

 private:
  static constexpr int kThreads = kMaxThreads;
  static constexpr int kMaxDecisions = 1 << 30;  // dpor's "bound": none
  using Threads = std::uint16_t;                 // a set of logical threads
  struct Node {
    std::vector<int> runnable;
    std::vector<Access> pending;  // runnable[i]'s next step
    int current = -1;
    bool current_runnable = false;
    bool reads_from = false;  // which store a load reads, not which thread runs
    std::uint8_t fallback = 0;
    int chosen = -1;             // the thread picked on the current path
    int preemptions_before = 0;  // on the current path
    Threads backtrack = 0, done = 0;
    Threads asleep = 0;                       // on arrival, on the current path (dpor)
    std::array<Access, kThreads> sleeping{};  // their next steps
    std::size_t step = 0;                     // the step the pick took
  };
  // A state of the hb cache: the prefix's fingerprint and who runs.
  struct StateKey {
    std::uint64_t fingerprint;
    std::uint64_t subtree;  // the first kShardDepth picks
    int current;
    bool operator==(const StateKey&) const = default;
  };
  struct StateHash {
    std::size_t operator()(const StateKey& k) const {
      return k.fingerprint ^ k.subtree * 0x9E3779B97F4A7C15ull ^ std::size_t(k.current + 1) << 59;
    }
  };

  int bound() const;
  int cost(const Node& n, int thread) const {
    return n.current_runnable && thread != n.runnable[n.fallback] ? 1 : 0;
  }
  std::size_t index_in(const Node& n, int thread) const;
  void add_backtrack(std::size_t node, int thread);
  void find_races(const InterleaveResult& run);

  const Reduction reduction_;
  const int bound_;
  const Shard shard_;
  const CutCheck check_;
  bool owned_ = true;
  std::vector<Node> nodes_;  // the current path
  std::size_t forced_ = 0;   // nodes_[0 .. forced_) are replayed by the next run
  std::size_t cut_ = 0, unsound_cuts_ = 0;
  struct Reached {
    int preemptions;       // the fewest spent to reach it
    std::uint64_t memory;  // CutCheck: the model's state digest on the first visit
  };
  std::unordered_map<StateKey, Reached, StateHash> reached_;  // hb
  Rule* last_rule_ = nullptr;
};

}  // namespace hakfuzz
