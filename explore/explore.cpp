#include "explore/explore.h"

#include <algorithm>
#include <chrono>

namespace hakfuzz {

namespace {

using Clock = std::chrono::steady_clock;

InterleaveResult run_choices(const Program& p, const std::vector<std::uint8_t>& choices,
                             const InterleaveOptions& o) {
  ChoicePicks s(choices);
  return run_interleaved(p, s, o);
}

bool same_kind(const InterleaveResult& r, const Finding& f) {
  return r.run.finding && r.run.finding->kind == f.kind;
}

}  // namespace

const char* explore_strategy_name(ExploreStrategy s) {
  switch (s) {
    case ExploreStrategy::random:
      return "random";
    case ExploreStrategy::pct:
      return "pct";
    case ExploreStrategy::dfs:
      return "dfs";
  }
  return "?";
}

Exploration explore(const Program& program, const ExploreOptions& o) {
  Exploration out;
  const auto start = Clock::now();
  auto last_report = start;
  const bool dfs = o.strategy == ExploreStrategy::dfs;
  const std::size_t max_runs = o.max_runs ? o.max_runs : dfs ? SIZE_MAX : 1000;
  std::size_t longest = 0;  // decisions of the longest run so far (pct)
  const Reduction reduction = reduction_under(o.run.memory, o.reduction);
  DecisionTree tree(reduction, o.preemptions, dfs ? o.shard : Shard{}, o.check_cuts);
  for (;;) {
    std::unique_ptr<RecordingRule> s;
    if (dfs)
      s = tree.next_rule();
    else if (o.strategy == ExploreStrategy::random)
      s = std::make_unique<RandomPicks>(o.seed + out.runs);
    else
      s = std::make_unique<PctPicks>(o.seed + out.runs, o.depth, longest, program.threads);
    InterleaveResult r = run_interleaved(program, *s, o.run);
    // A replayed prefix must meet the same decisions.
    const bool deterministic = !dfs || tree.record(r);
    // A run of another part of the search only led the way to this part's.
    const bool counted = !dfs || tree.owned();
    if (counted) {
      if (o.each_run) o.each_run(r);
      ++out.runs;
      out.steps += r.steps;
    }
    longest = std::max(longest, r.decisions.size());
    if (!deterministic && !r.run.finding)
      r.run.finding =
          Finding{FindingKind::nondeterministic, 0,
                  "a replayed schedule prefix met different decisions: the run is not deterministic"};
    out.cut = tree.cut();
    out.unsound_cuts = tree.unsound_cuts();
    out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (r.run.finding && (counted || !deterministic)) {
      out.finding = r.run.finding;
      out.schedule = s->as_choices();
      out.schedule.memory = o.run.memory;
      out.schedule.history = o.run.history;
      out.preemptions = r.preemptions;
      return out;
    }
    if (o.progress && Clock::now() - last_report > std::chrono::seconds(1)) {
      last_report = Clock::now();
      o.progress({out.runs, out.steps, out.seconds});
    }
    if (out.runs >= max_runs || (o.max_seconds > 0 && out.seconds >= o.max_seconds)) return out;
    if (dfs && !tree.advance()) {
      out.exhausted = true;
      return out;
    }
  }
}

namespace {

// The picks a run made, as explicit choices.
std::vector<std::uint8_t> picks_of(const InterleaveResult& r) {
  std::vector<std::uint8_t> choices;
  for (const DecisionRecord& d : r.decisions) choices.push_back(d.chosen);
  return choices;
}

// minimize's state: the program and the run it keeps (`best_`), every
// candidate judged by whether it fails the same way.
class Minimizer {
 public:
  Minimizer(const Program& program, const ScheduleSpec& schedule, const Finding& finding,
            const InterleaveOptions& options, std::size_t runs_per_op)
      : m_{program, schedule, finding}, finding_(finding), options_(options), runs_per_op_(runs_per_op) {}

  Minimized run() {
    std::optional<InterleaveResult> first = replay(m_.program, m_.schedule.choices);
    if (!first) return std::move(m_);  // does not replay: keep it as it is
    best_ = std::move(*first);
    shrink();
    // A long random schedule seldom shrinks down to the one or two
    // preemptions a race needs; dfs within two, over the program shrunk so
    // far, often finds them.
    if (best_.preemptions > 2) {
      ExploreOptions eo;
      eo.max_runs = std::min<std::size_t>(10'000, 500 * runs_per_op_);  // seconds, not minutes
      eo.run = options_;
      std::optional<InterleaveResult> r = search(m_.program, eo);
      if (r && r->preemptions < best_.preemptions) {
        best_ = std::move(*r);
        shrink();
      }
    }
    // Trailing non-preemptive picks are what an empty tail means anyway.
    std::vector<std::uint8_t> choices = picks_of(best_);
    while (!choices.empty() && choices.back() == best_.decisions[choices.size() - 1].fallback)
      choices.pop_back();
    m_.schedule = ScheduleSpec{};
    m_.schedule.choices = std::move(choices);
    m_.schedule.memory = options_.memory;
    m_.schedule.history = options_.history;
    m_.finding = *best_.run.finding;
    m_.preemptions = best_.preemptions;
    return std::move(m_);
  }

 private:
  // Dropped ops change the schedule, which may free more preemptions.
  void shrink() {
    for (int round = 0; round < 4; ++round) {
      fewer_preemptions();
      if (!fewer_ops()) break;
    }
  }

  // Preemptive picks back to the non-preemptive one, a chunk at a time,
  // halving the chunk (ddmin): a random schedule of a long program has
  // hundreds of preemptions, and one at a time costs a run each.
  void fewer_preemptions() {
    for (std::size_t chunk = std::max<std::size_t>(1, best_.preemptions / 2);; chunk /= 2) {
      for (std::size_t start = 0;;) {
        std::vector<std::size_t> at;
        for (std::size_t i = 0; i < best_.decisions.size(); ++i)
          if (best_.decisions[i].preemptive()) at.push_back(i);
        if (start >= at.size()) break;
        std::vector<std::uint8_t> choices = picks_of(best_);
        for (std::size_t k = start; k < std::min(at.size(), start + chunk); ++k)
          choices[at[k]] = best_.decisions[at[k]].fallback;
        std::optional<InterleaveResult> r = replay(m_.program, choices);
        if (r && r->preemptions < best_.preemptions)
          best_ = std::move(*r);  // the same start again, over the new schedule's preemptions
        else
          start += chunk;
      }
      if (chunk == 1) return;
    }
  }

  // Drops each op; keeps the same picks (an op the bug does not need
  // usually leaves them meaningful), else looks again within the
  // preemptions left, up to runs_per_op runs. Whether any op went.
  bool fewer_ops() {
    bool dropped = false;
    for (std::size_t k = m_.program.ops.size(); k-- > 0;) {
      Program smaller = m_.program;
      smaller.ops.erase(smaller.ops.begin() + static_cast<std::ptrdiff_t>(k));
      std::optional<InterleaveResult> r = replay(smaller, picks_of(best_));
      if (!r) {
        ExploreOptions eo;
        eo.preemptions = static_cast<int>(best_.preemptions);
        eo.max_runs = runs_per_op_;
        eo.run = options_;
        r = search(smaller, eo);
      }
      if (!r) continue;
      m_.program = std::move(smaller);
      best_ = std::move(*r);
      dropped = true;
    }
    return dropped;
  }

  // The run of `choices` when it fails the same way.
  std::optional<InterleaveResult> replay(const Program& program, const std::vector<std::uint8_t>& choices) {
    InterleaveResult r = run_choices(program, choices, options_);
    ++m_.runs;
    if (!same_kind(r, finding_)) return std::nullopt;
    return r;
  }
  // A schedule an exploration finds that fails the same way, replayed.
  std::optional<InterleaveResult> search(const Program& program, const ExploreOptions& eo) {
    const Exploration e = explore(program, eo);
    m_.runs += e.runs;
    if (!e.finding || e.finding->kind != finding_.kind) return std::nullopt;
    return replay(program, e.schedule.choices);
  }

  Minimized m_;
  InterleaveResult best_;
  const Finding finding_;
  const InterleaveOptions& options_;
  const std::size_t runs_per_op_;
};

}  // namespace

Minimized minimize(const Program& program, const ScheduleSpec& schedule, const Finding& finding,
                   const InterleaveOptions& options, std::size_t runs_per_op) {
  return Minimizer(program, schedule, finding, options, runs_per_op).run();
}

}  // namespace hakfuzz
