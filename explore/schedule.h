// How a controlled run picks the next thread at each decision
// (exec/scheduler.h), and the record of what it picked, which is the schedule a
// finding's file replays:
//   choices  replay recorded picks (an index into the runnable set, modulo
//            its size); once they run out, the non-preemptive pick
//   random   a uniform pick, seeded
//   pct      probabilistic concurrency testing (Burckhardt et al. 2010):
//            random distinct thread priorities, the highest runnable runs,
//            and at depth-1 random decisions the running thread drops below
//            all others
//   dfs      (an explorer, not a strategy: see explore.h) every schedule
//            with at most P preemptions, by re-execution
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "exec/scheduler.h"
#include "support/rng.h"

namespace hakfuzz {

enum class ScheduleKind : std::uint8_t { choices, random, pct };
const char* schedule_kind_name(ScheduleKind m);

// A schedule as an input carries it.
struct ScheduleSpec {
  ScheduleKind mode = ScheduleKind::choices;
  std::vector<std::uint8_t> choices;   // choices mode
  std::uint64_t seed = 0;              // random, pct
  int depth = 3;                       // pct: change points + 1
  MemoryKind memory = MemoryKind::sc;  // what a load may read (exec/memory_model.h)
  int history = kDefaultStoreHistory;  // among how many stores per location
  bool operator==(const ScheduleSpec&) const = default;
};

// One decision as it was made: enough to replay it, to charge its
// preemption, and to enumerate its alternatives.
struct DecisionRecord {
  std::uint8_t size = 0;      // runnable threads
  std::uint8_t chosen = 0;    // index picked
  std::uint8_t fallback = 0;  // the non-preemptive pick
  bool current_runnable = false;
  bool preemptive() const { return current_runnable && chosen != fallback; }
  bool operator==(const DecisionRecord&) const = default;
};

// Wraps a pick rule and records every decision.
class RecordingRule : public PickRule {
 public:
  std::size_t choose(const Decision& d) final;
  const std::vector<DecisionRecord>& record() const { return record_; }
  // The recorded picks as a choices schedule (replays this run exactly).
  ScheduleSpec as_choices() const;

 protected:
  virtual std::size_t pick(const Decision& d) = 0;

 private:
  std::vector<DecisionRecord> record_;
};

class ChoicePicks final : public RecordingRule {
 public:
  explicit ChoicePicks(std::vector<std::uint8_t> choices) : choices_(std::move(choices)) {}

 protected:
  std::size_t pick(const Decision& d) override;

 private:
  std::vector<std::uint8_t> choices_;
};

class RandomPicks final : public RecordingRule {
 public:
  explicit RandomPicks(std::uint64_t seed) : rng_(seed) {}

 protected:
  std::size_t pick(const Decision& d) override { return rng_.below(d.runnable.size()); }

 private:
  support::SplitMix64 rng_;
};

class PctPicks final : public RecordingRule {
 public:
  // `expected_decisions`: how many decisions a run of this program makes
  // (the longest seen so far); change points are drawn among them.
  PctPicks(std::uint64_t seed, int depth, std::size_t expected_decisions, int threads);

 protected:
  std::size_t pick(const Decision& d) override;

 private:
  std::vector<std::int64_t> priority_;  // per thread; higher runs first
  std::vector<std::size_t> change_at_;  // decision indices, ascending
  std::int64_t lowest_ = 0;
  support::SplitMix64 stores_;  // reads-from decisions: no priorities, a coin
};

// The strategy a ScheduleSpec names.
std::unique_ptr<RecordingRule> make_pick_rule(const ScheduleSpec& s, std::size_t expected_decisions,
                                              int threads);

}  // namespace hakfuzz
