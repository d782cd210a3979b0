#include "explore/schedule.h"

#include <algorithm>
#include <numeric>

namespace hakfuzz {

const char* schedule_kind_name(ScheduleKind m) {
  switch (m) {
    case ScheduleKind::choices:
      return "choices";
    case ScheduleKind::random:
      return "random";
    case ScheduleKind::pct:
      return "pct";
  }
  return "?";
}

std::size_t RecordingRule::choose(const Decision& d) {
  const std::size_t chosen = pick(d) % d.runnable.size();
  record_.push_back({static_cast<std::uint8_t>(d.runnable.size()), static_cast<std::uint8_t>(chosen),
                     static_cast<std::uint8_t>(d.fallback), d.current_runnable});
  return chosen;
}

ScheduleSpec RecordingRule::as_choices() const {
  ScheduleSpec s;
  for (const DecisionRecord& r : record_) s.choices.push_back(r.chosen);
  return s;
}

std::size_t ChoicePicks::pick(const Decision& d) {
  return d.index < choices_.size() ? choices_[d.index] % d.runnable.size() : d.fallback;
}

PctPicks::PctPicks(std::uint64_t seed, int depth, std::size_t expected_decisions, int threads)
    : stores_(seed ^ 0x5354'4F52'4553ull) {
  support::SplitMix64 rng(seed);
  // Distinct random priorities: a shuffled 1..threads.
  priority_.resize(static_cast<std::size_t>(threads));
  std::iota(priority_.begin(), priority_.end(), 1);
  for (std::size_t i = priority_.size(); i > 1; --i) std::swap(priority_[i - 1], priority_[rng.below(i)]);
  // depth - 1 distinct change points among the decisions after the first.
  const std::size_t span = std::max<std::size_t>(expected_decisions, 2);
  for (int k = 0; k + 1 < depth && change_at_.size() + 1 < span; ++k) {
    std::size_t at;
    do at = 1 + rng.below(span - 1);
    while (std::ranges::find(change_at_, at) != change_at_.end());
    change_at_.push_back(at);
  }
  std::ranges::sort(change_at_);
}

std::size_t PctPicks::pick(const Decision& d) {
  // A load reads the latest store half the time, else any it may read.
  if (d.reads_from) return stores_.below(2) ? d.fallback : stores_.below(d.runnable.size());
  // At a change point the running thread drops below every other.
  if (d.current >= 0 && std::ranges::binary_search(change_at_, d.index))
    priority_[static_cast<std::size_t>(d.current)] = --lowest_;
  std::size_t best = 0;
  for (std::size_t i = 1; i < d.runnable.size(); ++i)
    if (priority_[static_cast<std::size_t>(d.runnable[i])] >
        priority_[static_cast<std::size_t>(d.runnable[best])])
      best = i;
  return best;
}

std::unique_ptr<RecordingRule> make_pick_rule(const ScheduleSpec& s, std::size_t expected_decisions,
                                              int threads) {
  switch (s.mode) {
    case ScheduleKind::random:
      return std::make_unique<RandomPicks>(s.seed);
    case ScheduleKind::pct:
      return std::make_unique<PctPicks>(s.seed, s.depth, expected_decisions, threads);
    case ScheduleKind::choices:
      break;
  }
  return std::make_unique<ChoicePicks>(s.choices);
}

}  // namespace hakfuzz
