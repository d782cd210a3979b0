#include "explore/reduction.h"

#include "support/digest.h"

#include <algorithm>
#include <bit>
#include <functional>
#include <span>
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

// The vector clocks of a run's steps, one step at a time: each thread's
// order, plus, for each step, the last step of every other thread it
// depends on, plus the driver's orders on job starts when known.
class HappensBefore {
 public:
  // (thread q, the racing step j of another thread): a race of q's access
  // with j, which does not happen before q's own last step.
  using Race = std::function<void(int q, std::size_t j)>;
  // (q's step i, step j of another thread it depends on): every dependent pair.
  using Pair = std::function<void(std::size_t j)>;

  const Clock& clock(std::size_t i) const { return clock_[i]; }
  Clock clock_of(int thread) const { return last_of_[thread] >= 0 ? clock_[last_of_[thread]] : Clock{}; }

  // Step i (the next one) of the run, ordered after `orders`' sources.
  const Clock& add(const Step& s, std::span<const JobOrder* const> orders, const Race& race,
                   const Pair& pair = nullptr) {
    const std::size_t i = clock_.size();
    Clock c = clock_of(s.thread);
    for (const JobOrder* o : orders) join(c, o->every_before ? every_before_[o->before] : clock_[o->before]);
    const Clock known = c;
    depend(s.thread, access_of(s), known, race, &c, pair);
    if (Last* last = table(access_of(s))) {
      last->any[s.thread] = static_cast<int>(i);
      if (kind_of(s.point) != hakmem::sched::PointKind::load) last->write[s.thread] = static_cast<int>(i);
    }
    seq_.push_back(clock_of(s.thread)[s.thread] + 1);
    c[s.thread] = seq_.back();
    clock_.push_back(c);
    last_of_[s.thread] = static_cast<int>(i);
    every_before_.push_back(every_before_.back());
    join(every_before_.back(), c);
    return clock_.back();
  }
  // Thread q's access `a`, with q knowing `known` of the others: races with
  // the last dependent step of each other thread; joins those into `into`.
  void depend(int q, const Access& a, const Clock& known, const Race& race, Clock* into,
              const Pair& pair = nullptr) {
    Last* last = table(a);
    if (!last) return;
    const bool reads_only = kind_of(a.point) == hakmem::sched::PointKind::load;
    for (int p = 0; p < kMaxThreads; ++p) {
      if (p == q) continue;
      const int j = reads_only ? last->write[p] : last->any[p];
      if (j < 0) continue;
      if (race && known[p] < seq_[j]) race(q, static_cast<std::size_t>(j));
      if (pair) pair(static_cast<std::size_t>(j));
      if (into) join(*into, clock_[j]);
    }
  }

 private:
  // The last steps of each thread on one object: any access, and the last
  // one that wrote (a load depends on writes only).
  struct Last {
    std::array<int, kMaxThreads> any, write;
    Last() { any.fill(-1), write.fill(-1); }
  };
  Last* table(const Access& a) {
    if (a.point >= hakmem::sched::kNumPoints) return nullptr;  // the driver's pseudo-steps touch nothing
    using hakmem::sched::PointKind;
    const PointKind kind = kind_of(a.point);
    return kind == PointKind::os     ? &os_
           : kind == PointKind::exit ? &exits_
           : kind == PointKind::lock ? &locks_[a.object]
                                     : &memory_[a.object];
  }

  std::vector<Clock> clock_;
  std::vector<Clock> every_before_{Clock{}};  // [i]: the join of the clocks of steps before i
  std::vector<std::uint32_t> seq_;            // each step's place in its thread
  std::array<int, kMaxThreads> last_of_ = [] {
    std::array<int, kMaxThreads> a;
    a.fill(-1);
    return a;
  }();
  std::unordered_map<std::uintptr_t, Last> memory_, locks_;
  Last os_, exits_;
};

}  // namespace

void for_each_conflict(std::span<const Step> steps, const std::function<void(int, int)>& f) {
  HappensBefore hb;
  for (const Step& s : steps) hb.add(s, {}, nullptr, [&](std::size_t j) { f(steps[j].point, s.point); });
}

const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::none:
      return "none";
    case Reduction::hb:
      return "hb";
    case Reduction::dpor:
      return "dpor";
  }
  return "?";
}

std::optional<Reduction> parse_reduction(std::string_view name) {
  for (Reduction r : {Reduction::none, Reduction::hb, Reduction::dpor})
    if (name == reduction_name(r)) return r;
  return std::nullopt;
}

Reduction reduction_under(MemoryKind m, Reduction asked) {
  if (m == MemoryKind::sc || (m == MemoryKind::c11 && asked == Reduction::hb)) return asked;
  return Reduction::none;
}

// ---------------------------------------------------------------- the rule of one run

class DecisionTree::Rule final : public RecordingRule {
 public:
  explicit Rule(DecisionTree& tree) : tree_(tree) {}
  bool diverged = false;
  std::optional<std::size_t> cut_at;  // the decision past which the run explores nothing new

 protected:
  std::size_t pick(const Decision& d) override {
    // A reads-from decision comes inside its load, whose step has no result
    // yet: it is taken in at the next decision.
    follow(d.reads_from ? d.steps.first(d.steps.size() - 1) : d.steps);
    const std::size_t k = d.index;
    std::vector<Node>& nodes = tree_.nodes_;
    if (k == kShardDepth) settle_part(k);
    if (k < tree_.forced_) {
      Node& n = nodes[k];
      if (!std::ranges::equal(n.runnable, d.runnable)) diverged = true;
      n.asleep = asleep_;
      n.sleeping = sleeping_;
    } else if (!cut_at) {
      Node n;
      n.runnable.assign(d.runnable.begin(), d.runnable.end());
      n.pending.assign(d.pending.begin(), d.pending.end());
      n.current = d.current;
      n.current_runnable = d.current_runnable;
      n.reads_from = d.reads_from;
      n.fallback = static_cast<std::uint8_t>(d.fallback);
      if (k > 0)
        n.preemptions_before =
            nodes[k - 1].preemptions_before + tree_.cost(nodes[k - 1], nodes[k - 1].chosen);
      n.asleep = asleep_;
      n.sleeping = sleeping_;
      n.chosen = first_awake(n);
      if (n.chosen < 0 || reached_before(n, d)) {
        cut_at = k;
        return d.fallback;
      }
      nodes.push_back(std::move(n));
    }
    if (k >= nodes.size() || diverged) return d.fallback;  // cut or lost: play it out
    Node& n = nodes[k];
    n.step = d.steps.size();
    // dpor: the threads explored here before this pick sleep in its subtree.
    if (tree_.reduction_ == Reduction::dpor)
      for (std::size_t i = 0; i < n.runnable.size(); ++i)
        if ((n.done >> n.runnable[i]) & 1 && n.runnable[i] != n.chosen) {
          asleep_ |= Threads(1u << n.runnable[i]);
          sleeping_[n.runnable[i]] = n.pending[i];
        }
    asleep_ &= Threads(~(1u << n.chosen));
    const std::size_t index = tree_.index_in(n, n.chosen);
    if (k < kShardDepth) prefix_.mix(index);
    return index;
  }

 public:
  // The part of the search the run's first picks put it in: not the tree's
  // part, the run only leads the way (nothing below it explored here).
  void settle_part(std::size_t k) {
    if (part_settled_) return;
    part_settled_ = true;
    const Shard shard = tree_.shard_;
    owned = shard.n <= 1 ||
            prefix_.value() % static_cast<std::uint64_t>(shard.n) == static_cast<std::uint64_t>(shard.k - 1);
    if (!owned && !cut_at) cut_at = k;
  }
  bool owned = true;

 private:
  // The steps taken since the last decision: hb's fingerprint takes each
  // in; under dpor each wakes the sleepers it depends on, and a sleeper
  // that ran (the only runnable thread) cuts the run.
  void follow(std::span<const Step> steps) {
    for (; seen_ < steps.size(); ++seen_) {
      const Step& s = steps[seen_];
      if (tree_.reduction_ == Reduction::hb) {
        const Clock& c = hb_.add(s, {}, nullptr);
        support::Digest h;
        h.mix(thread_hash_[s.thread]);
        h.mix(std::uint64_t(s.point) | s.arg << 16);
        h.mix(s.result.value_or(~0ull));
        if (tree_.check_.plant != CutCheck::Forget::job_knowledge) h.mix(s.knows);
        for (std::uint32_t v : c) h.mix(v);
        // A stale load: which store it read, as its thread's how-manyth
        // step (a step's index in the run differs between equivalent runs).
        if (const auto& stale = s.stale_read; stale && tree_.check_.plant != CutCheck::Forget::stale_store)
          h.mix(stale->thread < 0 ? ~0ull : std::uint64_t(stale->thread) << 32 | ordinal_.at(stale->step));
        thread_hash_[s.thread] = h.value();
        ordinal_.push_back(steps_of_[s.thread]++);
      }
      if (tree_.reduction_ != Reduction::dpor) continue;
      if ((asleep_ >> s.thread) & 1) {
        if (!cut_at) cut_at = tree_.nodes_.size();
        asleep_ &= Threads(~(1u << s.thread));
      }
      for (int t = 0; t < kThreads; ++t)
        if ((asleep_ >> t) & 1 && dependent(sleeping_[t], access_of(s))) asleep_ &= Threads(~(1u << t));
    }
  }
  // hb: this state, with this thread running, was reached before with no
  // more preemptions spent. Else it is now.
  bool reached_before(const Node& n, const Decision& d) {
    // A reads-from decision sits inside a load: its state is the thread
    // pick's before it.
    if (tree_.reduction_ != Reduction::hb || n.reads_from) return false;
    std::uint64_t fingerprint = 0;
    for (int t = 0; t < kThreads; ++t) {
      support::Digest h;
      h.mix(static_cast<std::uint64_t>(t));
      h.mix(thread_hash_[t]);
      fingerprint += h.value();  // the threads in any order
    }
    const std::uint64_t memory = tree_.check_.enabled && d.memory ? memory_digest(*d.memory) : 0;
    auto [it, fresh] = tree_.reached_.try_emplace(StateKey{fingerprint, prefix_.value(), n.current},
                                                  Reached{n.preemptions_before, memory});
    if (!fresh && it->second.memory != memory) ++tree_.unsound_cuts_;
    if (fresh || n.preemptions_before < it->second.preemptions) {
      it->second.preemptions = n.preemptions_before;
      return false;
    }
    return true;
  }
  // A store named as its thread's how-manyth step, as the fingerprint does.
  std::uint64_t memory_digest(const MemoryModel& m) const {
    return m.state_digest(
        [&](int thread, std::size_t step) { return std::uint64_t(thread) << 32 | ordinal_.at(step); });
  }
  // The non-preemptive pick if it is awake, else the first awake thread the
  // bound allows; -1 when none is.
  int first_awake(const Node& n) const {
    auto ok = [&](int t) {
      return !((asleep_ >> t) & 1) && n.preemptions_before + tree_.cost(n, t) <= tree_.bound();
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
  HappensBefore hb_;
  std::array<std::uint64_t, kThreads> thread_hash_{};
  std::vector<std::uint32_t> ordinal_;  // hb: each step's place among its thread's
  std::array<std::uint32_t, kThreads> steps_of_{};
  support::Digest prefix_;  // the first kShardDepth picks
  bool part_settled_ = false;
};

// ---------------------------------------------------------------- the tree

DecisionTree::DecisionTree(Reduction reduction, int preemption_bound, Shard shard, CutCheck check)
    : reduction_(reduction), bound_(preemption_bound), shard_(shard), check_(check) {}
DecisionTree::~DecisionTree() = default;

int DecisionTree::bound() const { return reduction_ == Reduction::dpor ? kMaxDecisions : bound_; }

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
  rule.settle_part(run.decisions.size());  // a run of fewer decisions
  owned_ = rule.owned;
  if (rule.diverged || run.decisions.size() < forced_) return false;
  if (rule.cut_at) {
    cut_ += owned_;
    nodes_.resize(std::min(nodes_.size(), *rule.cut_at));
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
    const Threads asleep = reduction_ == Reduction::dpor ? n.asleep : 0;
    const Threads open = n.backtrack & Threads(~n.done) & Threads(~asleep);
    if (!open) continue;
    auto ok = [&](int t) { return (open >> t) & 1 && n.preemptions_before + cost(n, t) <= bound(); };
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
  if (std::ranges::find(n.runnable, thread) != n.runnable.end())
    n.backtrack |= Threads(1u << thread);
  else
    for (int t : n.runnable) n.backtrack |= Threads(1u << t);  // not enabled there: every thread that was
}

// Flanagan and Godefroid's race search over one run. At every state, the
// next step of each thread (taken next, or waiting at a decision) races
// with the last step of every other thread that it depends on and that
// does not happen before the thread's own last step; each race is
// reversed by trying the thread at the decision that picked that step.
// Races with steps a thread only waited to take count as well: by the time
// it takes one, a later dependent step may hide the earlier race.
void DecisionTree::find_races(const InterleaveResult& run) {
  const std::vector<Step>& steps = run.trail;
  std::vector<int> node_of(steps.size(), -1);
  for (std::size_t k = 0; k < nodes_.size(); ++k)
    if (nodes_[k].step < steps.size()) node_of[nodes_[k].step] = static_cast<int>(k);
  std::vector<std::vector<const JobOrder*>> orders_of(steps.size());
  for (const JobOrder& o : run.job_orders)
    if (o.after < steps.size()) orders_of[o.after].push_back(&o);
  const HappensBefore::Race reverse = [&](int q, std::size_t j) {
    if (node_of[j] >= 0) add_backtrack(static_cast<std::size_t>(node_of[j]), q);
  };
  HappensBefore hb;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (node_of[i] >= 0) {
      const Node& n = nodes_[static_cast<std::size_t>(node_of[i])];
      for (std::size_t r = 0; r < n.runnable.size(); ++r)
        if (n.runnable[r] != steps[i].thread)
          hb.depend(n.runnable[r], n.pending[r], hb.clock_of(n.runnable[r]), reverse, nullptr);
    }
    hb.add(steps[i], orders_of[i], reverse);
  }
}

}  // namespace hakfuzz
