// The reductions of explore's dfs lose nothing: on every schedule program
// of the corpus small enough to enumerate without reduction, the outcomes
// (every op's result and the finding's kind, InterleaveResult::outcome)
// that hb reaches are exactly those every interleaving within the bound
// reaches, at 1 and 2 preemptions, under sequential consistency and C11
// executions (where a load's store is a decision too), and those dpor reaches are those of
// every interleaving with no bound; and each planted race inside a call is
// still found, by each reduction, in no more interleavings than without.
#include <filesystem>
#include <fstream>
#include <set>

#include "explore/explore.h"
#include "fuzz/interleave_input.h"
#include "fuzz/targets.h"
#include "oracle/plants.h"
#include "pool_test_util.h"

namespace hakfuzz {
namespace {

// Programs whose unreduced exploration at 2 preemptions is at most this
// many interleavings (all of the corpus's but churn-4-threads, ~175,000).
constexpr std::size_t kEnumerable = 25'000;
// With no bound: the interleave programs of the corpus, and the smaller
// regressions.
constexpr std::size_t kUnboundedEnumerable = 5'000;

std::vector<std::uint8_t> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::pair<std::string, Program>> schedule_programs() {
  std::vector<std::pair<std::string, Program>> out;
  for (const char* dir : {"interleave", "remote", "regressions/interleave", "regressions/remote"}) {
    const std::filesystem::path path = std::filesystem::path(HAKFUZZ_SOURCE_DIR) / "corpus" / dir;
    if (!std::filesystem::exists(path)) continue;
    for (const auto& e : std::filesystem::directory_iterator(path)) {
      const std::vector<std::uint8_t> bytes = read_file(e.path());
      const bool interleave = std::string(dir).find("interleave") != std::string::npos;
      out.emplace_back(std::string(dir) + "/" + e.path().filename().string(),
                       interleave ? decode_interleave(bytes).program : decode(bytes, true));
    }
  }
  return out;
}

struct Outcomes {
  std::set<std::uint64_t> seen;
  // Each run's threads' own views: every step's point, target and value
  // read, and for a stale load which store it read (its thread and that
  // thread's step count). Equivalent runs share them, so a sound reduction
  // reaches every view the unreduced search reaches.
  std::set<std::string> views;
  Exploration e;
};

std::string views_of(const InterleaveResult& run) {
  std::vector<std::string> per_thread(kMaxThreads + 1);
  std::vector<std::uint32_t> ordinal;
  std::vector<std::uint32_t> count(kMaxThreads + 1, 0);
  for (const Step& s : run.trail) {
    const auto t = static_cast<std::size_t>(s.thread);
    ordinal.push_back(count[t]++);
    std::string& v = per_thread[t];
    v += std::to_string(s.point) + ":" + std::to_string(s.arg) + "=" +
         (s.result ? std::to_string(*s.result) : "-");
    if (s.stale_read)
      v += s.stale_read->thread < 0 ? "<init"
                                    : "<" + std::to_string(s.stale_read->thread) + "." +
                                          std::to_string(ordinal.at(s.stale_read->step));
    v += " ";
  }
  std::string out;
  for (const std::string& v : per_thread) out += v + "|";
  return out;
}

Outcomes explore_all(const Program& p, Reduction r, int bound, std::size_t max_runs = 0,
                     MemoryKind memory = MemoryKind::sc) {
  Outcomes out;
  ExploreOptions o;
  o.run.memory = memory;
  o.reduction = r;
  o.preemptions = bound;
  o.max_runs = max_runs;
  o.each_run = [&](const InterleaveResult& run) {
    out.seen.insert(run.outcome);
    out.views.insert(views_of(run));
  };
  out.e = explore(p, o);
  return out;
}

class HbReduction : public ::testing::TestWithParam<MemoryKind> {};

TEST_P(HbReduction, ReachesWhatEveryInterleavingWithinTheBoundReaches) {
  if (GetParam() != MemoryKind::sc && !Scheduler::kModelsMemory)
    GTEST_SKIP() << "TSan's build keeps no model";
  std::size_t compared = 0;
  for (const auto& [name, program] : schedule_programs()) {
    for (int bound : {1, 2}) {
      const Outcomes all = explore_all(program, Reduction::none, bound, kEnumerable + 1, GetParam());
      if (!all.e.exhausted) continue;  // too big to enumerate
      ASSERT_FALSE(all.e.finding) << name;
      const Outcomes reduced = explore_all(program, Reduction::hb, bound, 0, GetParam());
      ASSERT_TRUE(reduced.e.exhausted) << name;
      EXPECT_EQ(reduced.seen, all.seen) << name << " at " << bound << " preemptions: " << reduced.e.runs
                                        << " vs " << all.e.runs << " interleavings";
      EXPECT_EQ(reduced.views, all.views)
          << name << " at " << bound << " preemptions: " << reduced.views.size() << " vs " << all.views.size()
          << " views";
      EXPECT_LE(reduced.e.runs, all.e.runs) << name;
      RecordProperty(name + "_p" + std::to_string(bound),
                     std::to_string(reduced.e.runs) + " of " + std::to_string(all.e.runs));
      ++compared;
    }
  }
  EXPECT_GE(compared, 20u) << "the corpus's schedule programs were not found";
}

INSTANTIATE_TEST_SUITE_P(Memory, HbReduction, ::testing::Values(MemoryKind::sc, MemoryKind::c11),
                         [](const auto& info) { return std::string(memory_kind_name(info.param)); });

// No bound: the programs that every interleaving of is few enough.
TEST(Reduction, DporReachesWhatEveryInterleavingReaches) {
  constexpr int kNoBound = 1 << 20;
  std::size_t compared = 0;
  for (const auto& [name, program] : schedule_programs()) {
    const Outcomes all = explore_all(program, Reduction::none, kNoBound, kUnboundedEnumerable + 1);
    if (!all.e.exhausted) continue;
    const Outcomes reduced = explore_all(program, Reduction::dpor, kNoBound);
    RecordProperty(name, std::to_string(reduced.e.runs) + " of " + std::to_string(all.e.runs));
    ASSERT_TRUE(reduced.e.exhausted) << name;
    EXPECT_EQ(reduced.seen, all.seen) << name << ": " << reduced.e.runs << " vs " << all.e.runs;
    EXPECT_LE(reduced.e.runs, all.e.runs) << name;
    ++compared;
  }
  EXPECT_GE(compared, 3u);
}

// The bound makes independent steps dependent: with it, DPOR misses orders
// (why dpor has none). churn-4-threads at 2 preemptions: every
// interleaving reaches outcomes that DPOR held to the bound does not.
TEST(Reduction, HbCoversChurnAtTwoPreemptions) {
  if (!std::getenv("HAKFUZZ_SLOW_TESTS")) GTEST_SKIP() << "a minute on g++: set HAKFUZZ_SLOW_TESTS=1";
  const Program churn =
      decode(read_file(std::filesystem::path(HAKFUZZ_SOURCE_DIR) / "corpus/remote/churn-4-threads"), true);
  const Outcomes all = explore_all(churn, Reduction::none, 2);
  const Outcomes reduced = explore_all(churn, Reduction::hb, 2);
  EXPECT_EQ(reduced.seen, all.seen) << reduced.e.runs << " vs " << all.e.runs;
}

struct PlantedRace {
  const char* plant;
  const char* program;  // corpus/interleave/
};

class ReductionFinds : public ::testing::TestWithParam<PlantedRace> {};

TEST_P(ReductionFinds, EveryPlantedRaceUnderEveryReduction) {
  const Program program = decode_interleave(read_file(std::filesystem::path(HAKFUZZ_SOURCE_DIR) /
                                                      "corpus/interleave" / GetParam().program))
                              .program;
  std::size_t unreduced = 0;
  for (Reduction r : {Reduction::none, Reduction::hb, Reduction::dpor}) {
    ExploreOptions o;
    o.reduction = r;
    o.run.plant = find_plant(GetParam().plant);
    const Exploration e = explore(program, o);
    ASSERT_TRUE(e.finding) << GetParam().plant << " not found with reduction " << reduction_name(r) << " in "
                           << e.runs << " interleavings";
    if (r == Reduction::none)
      unreduced = e.runs;
    else
      EXPECT_LE(e.runs, unreduced) << reduction_name(r);
    RecordProperty(std::string("runs_") + reduction_name(r), static_cast<int>(e.runs));
  }
}

INSTANTIATE_TEST_SUITE_P(Plants, ReductionFinds,
                         ::testing::Values(PlantedRace{"remote_bit_torn", "remote-frees-race-the-drain"},
                                           PlantedRace{"hint_before_bit", "free-races-adoption"},
                                           PlantedRace{"no_owner_reread", "free-races-adoption"},
                                           PlantedRace{"owner_claim_torn", "owner-free-races-a-double-free"}),
                         [](const auto& info) { return std::string(info.param.plant); });

}  // namespace
}  // namespace hakfuzz
