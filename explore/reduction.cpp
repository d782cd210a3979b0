#include "explore/reduction.h"

#include <algorithm>
#include <bit>
#include <unordered_map>

namespace hakfuzz {

namespace {

using Clock = std::array<std::uint32_t, kMaxThreads>;

void join(Clock& into, const Clock& from) {
  for (int t = 0; t < kMaxThreads; ++t) into[t] = std::max(into[t], from[t]);
}

hakmem::sched::PointKind kind_of(int point) {
  return hakmem::sched::point_info(static_cast<hakmem::sched::Point>(point)).kind;
}

// The last steps of each thread on one object: any access, and the last
// one that wrote (a load depends on writes only).
struct LastAccess {
  std::array<int, kMaxThreads> any, write;
  LastAccess() { any.fill(-1), write.fill(-1); }
};

}  // namespace

const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::none:
      return "none";
    case Reduction::sleep:
      return "sleep";
    case Reduction::dpor:
      return "dpor";
  }
  return "?";
}

std::optional<Reduction> parse_reduction(std::string_view name) {
  for (Reduction r : {Reduction::none, Reduction::sleep, Reduction::dpor})
    if (name == reduction_name(r)) return r;
  return std::nullopt;
}

// ---------------------------------------------------------------- the rule of one run

class DecisionTree::Rule final : public RecordingRule {
 public:
  explicit Rule(DecisionTree& tree) : tree_(tree) {}
  bool diverged = false;
  std::optional<std::size_t> blocked_at;  // the decision where every runnable thread slept

 protected:
  std::size_t pick(const Decision& d) override {
    wake(d.steps);
    const std::size_t k = d.index;
    std::vector<Node>& nodes = tree_.nodes_;
    if (k < tree_.forced_) {
      Node& n = nodes[k];
      if (!std::ranges::equal(n.runnable, d.runnable)) diverged = true;
      n.asleep = asleep_;
      n.sleeping = sleeping_;
    } else if (!blocked_at) {
      Node n;
      n.runnable.assign(d.runnable.begin(), d.runnable.end());
      n.pending.assign(d.pending.begin(), d.pending.end());
      n.current = d.current;
      n.current_runnable = d.current_runnable;
      n.fallback = static_cast<std::uint8_t>(d.fallback);
      if (k > 0)
        n.preemptions_before =
            nodes[k - 1].preemptions_before + tree_.cost(nodes[k - 1], nodes[k - 1].chosen);
      n.asleep = asleep_;
      n.sleeping = sleeping_;
      n.chosen = first_awake(n);
      if (n.chosen < 0) {
        blocked_at = k;
        return d.fallback;
      }
      nodes.push_back(std::move(n));
    }
    if (k >= nodes.size() || diverged) return d.fallback;  // blocked or lost: play it out
    Node& n = nodes[k];
    n.step = d.steps.size();
    // The threads explored here before this pick sleep in its subtree.
    if (tree_.reduction_ != Reduction::none)
      for (std::size_t i = 0; i < n.runnable.size(); ++i)
        if ((n.done >> n.runnable[i]) & 1 && n.runnable[i] != n.chosen) {
          asleep_ |= Threads(1u << n.runnable[i]);
          sleeping_[n.runnable[i]] = n.pending[i];
        }
    asleep_ &= Threads(~(1u << n.chosen));
    return tree_.index_in(n, n.chosen);
  }

 private:
  // The steps taken since the last decision wake the sleepers they depend on;
  // a sleeper that ran (the only runnable thread) blocks the run.
  void wake(std::span<const Step> steps) {
    for (; seen_ < steps.size(); ++seen_) {
      const Step& s = steps[seen_];
      if ((asleep_ >> s.thread) & 1) {
        if (!blocked_at) blocked_at = tree_.nodes_.size();
        asleep_ &= Threads(~(1u << s.thread));
      }
      for (int t = 0; t < kThreads; ++t)
        if ((asleep_ >> t) & 1 && dependent(sleeping_[t], access_of(s))) asleep_ &= Threads(~(1u << t));
    }
  }
  // The non-preemptive pick if it is awake, else the first awake thread the
  // bound allows; -1 when none is.
  int first_awake(const Node& n) const {
    auto ok = [&](int t) {
      return !((asleep_ >> t) & 1) && n.preemptions_before + tree_.cost(n, t) <= tree_.bound_;
    };
    if (ok(n.runnable[n.fallback])) return n.runnable[n.fallback];
    for (int t : n.runnable)
      if (ok(t)) return t;
    return -1;
  }

  DecisionTree& tree_;
  Threads asleep_ = 0;
  std::array<Access, kThreads> sleeping_{};
  std::size_t seen_ = 0;
};

// ---------------------------------------------------------------- the tree

DecisionTree::DecisionTree(Reduction reduction, int preemption_bound)
    : reduction_(reduction), bound_(preemption_bound) {}
DecisionTree::~DecisionTree() = default;

std::unique_ptr<RecordingRule> DecisionTree::next_rule() {
  auto rule = std::make_unique<Rule>(*this);
  last_rule_ = rule.get();
  return rule;
}

std::size_t DecisionTree::index_in(const Node& n, int thread) const {
  return static_cast<std::size_t>(std::ranges::find(n.runnable, thread) - n.runnable.begin());
}

bool DecisionTree::record(const InterleaveResult& run) {
  Rule& rule = *last_rule_;
  if (rule.diverged || run.decisions.size() < forced_) return false;
  if (rule.blocked_at) {
    ++sleep_blocked_;
    nodes_.resize(std::min(nodes_.size(), *rule.blocked_at));
  }
  for (std::size_t k = 0; k < nodes_.size(); ++k) {
    Node& n = nodes_[k];
    n.done |= Threads(1u << n.chosen);
    if (k < forced_) continue;
    if (reduction_ == Reduction::dpor)
      n.backtrack |= Threads(1u << n.chosen);
    else
      for (int t : n.runnable) n.backtrack |= Threads(1u << t);
  }
  if (reduction_ == Reduction::dpor) find_races(run);
  return true;
}

bool DecisionTree::advance() {
  for (std::size_t k = nodes_.size(); k-- > 0;) {
    Node& n = nodes_[k];
    const Threads asleep = reduction_ == Reduction::none ? 0 : n.asleep;
    const Threads open = n.backtrack & Threads(~n.done) & Threads(~asleep);
    if (!open) continue;
    auto ok = [&](int t) { return (open >> t) & 1 && n.preemptions_before + cost(n, t) <= bound_; };
    int pick = ok(n.runnable[n.fallback]) ? n.runnable[n.fallback] : -1;
    for (std::size_t i = 0; pick < 0 && i < n.runnable.size(); ++i)
      if (ok(n.runnable[i])) pick = n.runnable[i];
    if (pick < 0) continue;
    n.chosen = pick;
    nodes_.resize(k + 1);
    forced_ = k + 1;
    return true;
  }
  return false;
}

void DecisionTree::add_backtrack(std::size_t node, int thread) {
  Node& n = nodes_[node];
  const bool runnable = std::ranges::find(n.runnable, thread) != n.runnable.end();
  if (!runnable) {
    for (int t : n.runnable) n.backtrack |= Threads(1u << t);  // not enabled there: every thread that was
    return;
  }
  n.backtrack |= Threads(1u << thread);
  if (n.preemptions_before + cost(n, thread) <= bound_) return;
  // Past the bound here: the thread also goes where the running thread
  // last changed, where picking it may cost nothing (bounded POR).
  for (std::size_t m = node; m-- > 0;)
    if (nodes_[m].chosen != nodes_[m].current) {
      const Node& at = nodes_[m];
      if (std::ranges::find(at.runnable, thread) != at.runnable.end())
        nodes_[m].backtrack |= Threads(1u << thread);
      else
        for (int t : at.runnable) nodes_[m].backtrack |= Threads(1u << t);
      return;
    }
}

// Flanagan and Godefroid's race search over the steps of one run: for each
// step, the last dependent step of every other thread that does not
// happen before it is a race, reversed by trying this thread at the
// decision that picked that step.
void DecisionTree::find_races(const InterleaveResult& run) {
  const std::vector<Step>& steps = run.trail;
  std::vector<int> node_of(steps.size(), -1);
  for (std::size_t k = 0; k < nodes_.size(); ++k)
    if (nodes_[k].step < steps.size()) node_of[nodes_[k].step] = static_cast<int>(k);
  std::vector<Clock> clock(steps.size());
  std::vector<Clock> every_before(steps.size() + 1);  // the join of all steps' clocks before index i
  std::vector<std::uint32_t> seq(steps.size());
  std::array<int, kMaxThreads> last_of_thread;
  last_of_thread.fill(-1);
  std::vector<std::vector<const JobOrder*>> orders_of(steps.size());
  for (const JobOrder& o : run.job_orders)
    if (o.after < steps.size()) orders_of[o.after].push_back(&o);
  std::unordered_map<std::uintptr_t, LastAccess> memory, locks;
  LastAccess os, exits;

  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    const int q = s.thread;
    Clock c{};
    if (last_of_thread[q] >= 0) c = clock[last_of_thread[q]];
    for (const JobOrder* o : orders_of[i])
      join(c, o->every_before ? every_before[o->before] : clock[o->before]);
    const Clock before_deps = c;
    if (s.point < hakmem::sched::kNumPoints) {
      const hakmem::sched::PointKind kind = kind_of(s.point);
      using hakmem::sched::PointKind;
      LastAccess& last = kind == PointKind::os     ? os
                         : kind == PointKind::exit ? exits
                         : kind == PointKind::lock ? locks[s.object]
                                                   : memory[s.object];
      const bool reads_only = kind == PointKind::load;
      for (int p = 0; p < kMaxThreads; ++p) {
        if (p == q) continue;
        const int j = reads_only ? last.write[p] : last.any[p];
        if (j < 0) continue;
        if (before_deps[p] < seq[j] && node_of[j] >= 0)
          add_backtrack(static_cast<std::size_t>(node_of[j]), q);
        join(c, clock[j]);
      }
      last.any[q] = static_cast<int>(i);
      if (!reads_only) last.write[q] = static_cast<int>(i);
    }
    seq[i] = (last_of_thread[q] >= 0 ? seq[last_of_thread[q]] : 0) + 1;
    c[q] = seq[i];
    clock[i] = c;
    last_of_thread[q] = static_cast<int>(i);
    every_before[i + 1] = every_before[i];
    join(every_before[i + 1], c);
  }
}

}  // namespace hakfuzz
