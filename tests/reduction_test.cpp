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
#include <map>
#include <set>

#include "explore/explore.h"
#include "fuzz/interleave_input.h"
#include "fuzz/targets.h"
#include "oracle/plants.h"
#include "pool_test_util.h"
#include "support/digest.h"

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
                     MemoryKind memory = MemoryKind::sc, CutCheck check = {}) {
  Outcomes out;
  ExploreOptions o;
  o.check_cuts = check;
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
      const Outcomes reduced = explore_all(program, Reduction::hb, bound, 0, GetParam(), {.enabled = true});
      ASSERT_TRUE(reduced.e.exhausted) << name;
      EXPECT_EQ(reduced.e.unsound_cuts, 0u) << name << " at " << bound << " preemptions";
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

// Litmus programs run through the search as the scheduler runs the
// allocator's: a thread pick at every step where two threads may go on, a
// reads-from decision where a load may read two stores, the memory model
// (C11) saying which. Small enough to enumerate with no bound, and unlike
// the allocator, they store one value twice, so a fingerprint that forgets
// which store a load read merges states the model tells apart.
namespace litmus {

constexpr auto relaxed = std::memory_order_relaxed;
int x_, y_;
const void* const x = &x_;
const void* const y = &y_;

struct Instr {
  bool load;
  const void* loc;
  std::memory_order order;
  std::uint64_t value = 0;  // a store's
};
Instr ld(const void* l, std::memory_order o = relaxed) { return {true, l, o}; }
Instr st(const void* l, std::uint64_t v, std::memory_order o = relaxed) { return {false, l, o, v}; }
using Program = std::vector<std::vector<Instr>>;

constexpr int kLoad = static_cast<int>(hakmem::sched::Point::remote_free_hint);
constexpr int kStore = static_cast<int>(hakmem::sched::Point::remote_free_hint_store);

// The search merges states only below one choice of its first picks
// (DecisionTree::kShardDepth): thread 0 first spends them on a location of
// its own, so that the test proper runs below.
int own_;
Program padded(Program test) {
  test[0].insert(test[0].begin(), DecisionTree::kShardDepth, Instr{false, &own_, relaxed, 7});
  return test;
}

// One run under `rule`; its outcome is every load's value in program order.
InterleaveResult run(const Program& test, RecordingRule& rule) {
  const int threads = static_cast<int>(test.size());
  MemoryModel model(threads, MemoryKind::c11);
  std::map<const void*, std::uint64_t> memory;
  std::vector<std::size_t> pc(test.size());
  std::vector<std::vector<std::uint64_t>> reads(test.size());
  InterleaveResult out;
  std::vector<Step>& steps = out.trail;
  std::size_t decisions = 0;
  int current = -1;
  for (;;) {
    std::vector<int> runnable;
    std::vector<Access> pending;
    for (int t = 0; t < threads; ++t)
      if (pc[t] < test[t].size()) {
        runnable.push_back(t);
        pending.push_back(
            {test[t][pc[t]].load ? kLoad : kStore, reinterpret_cast<std::uintptr_t>(test[t][pc[t]].loc)});
      }
    if (runnable.empty()) break;
    std::size_t pick = 0;
    if (runnable.size() > 1) {
      Decision d{decisions++, runnable, pending, steps, current};
      d.memory = &model;
      for (std::size_t i = 0; i < runnable.size(); ++i)
        if (runnable[i] == current) d.current_runnable = true, d.fallback = i;
      pick = std::min(rule.choose(d), runnable.size() - 1);
    }
    const int t = runnable[pick];
    const Instr& in = test[t][pc[t]++];
    current = t;
    Step s;
    s.thread = t;
    s.point = in.load ? kLoad : kStore;
    s.object = reinterpret_cast<std::uintptr_t>(in.loc);
    steps.push_back(s);
    if (!in.load) {
      model.store(t, in.loc, memory[in.loc], in.value, in.order, steps.size() - 1);
      memory[in.loc] = in.value;
      continue;
    }
    const std::vector<MemoryModel::StoreRef> stores = model.readable(t, in.loc, memory[in.loc], in.order);
    std::size_t chosen = stores.size() - 1;
    if (stores.size() > 1) {
      std::vector<int> indices(stores.size());
      for (std::size_t i = 0; i < stores.size(); ++i) indices[i] = static_cast<int>(i);
      const std::vector<Access> none(stores.size());
      Decision d{decisions++, indices, none, steps, t, true, chosen};
      d.reads_from = true;
      d.memory = &model;
      chosen = std::min(rule.choose(d), chosen);
    }
    model.load(t, in.loc, chosen, in.order);
    steps.back().result = stores[chosen].value;
    if (chosen + 1 != stores.size())
      steps.back().stale_read = Step::StaleRead{stores[chosen].thread, stores.back().thread,
                                                stores[chosen].step, stores.back().step};
    reads[t].push_back(stores[chosen].value);
  }
  out.decisions = rule.record();
  support::Digest h;
  for (const auto& r : reads) {
    for (std::uint64_t v : r) h.mix(v);
    h.mix(~0ull);
  }
  out.outcome = h.value();
  return out;
}

struct Search {
  std::set<std::uint64_t> outcomes;
  std::size_t runs = 0, unsound_cuts = 0;
};

Search search(const Program& unpadded, Reduction r, CutCheck check = {.enabled = true}) {
  const Program test = padded(unpadded);
  DecisionTree tree(r, 1 << 20, {}, check);
  Search out;
  do {
    std::unique_ptr<RecordingRule> rule = tree.next_rule();
    const InterleaveResult result = run(test, *rule);
    EXPECT_TRUE(tree.record(result));
    out.outcomes.insert(result.outcome);
    ++out.runs;
  } while (tree.advance());
  out.unsound_cuts = tree.unsound_cuts();
  return out;
}

constexpr auto release = std::memory_order_release;
constexpr auto acquire = std::memory_order_acquire;

// A writer stores 1, 2, 1 and goes on; a reader reads twice, relaxed:
// reading the first 1 leaves 2 to read next, reading the last does not.
const Program kOneValueTwice = {{st(x, 1), st(x, 2), st(x, 1), st(y, 1)}, {ld(x), ld(x)}};
const std::pair<const char*, Program> kTests[] = {
    {"one value stored twice", kOneValueTwice},
    {"one value stored by two threads", {{st(x, 1)}, {st(x, 2)}, {st(x, 1)}, {ld(x), ld(x)}}},
    {"SB", {{st(x, 1), ld(y)}, {st(y, 1), ld(x)}}},
    {"MP", {{st(y, 1), st(x, 1, release)}, {ld(x, acquire), ld(y)}}},
    {"MP relaxed", {{st(y, 1), st(x, 1)}, {ld(x), ld(y)}}},
    {"IRIW", {{st(x, 1)}, {st(y, 1)}, {ld(x, acquire), ld(y, acquire)}, {ld(y, acquire), ld(x, acquire)}}},
};

}  // namespace litmus

TEST(HbReductionOnLitmus, ReachesEveryOutcomeAndCutsOnlyStatesTheModelAgreesOn) {
  std::size_t runs = 0, unreduced = 0;
  for (const auto& [name, test] : litmus::kTests) {
    const litmus::Search all = litmus::search(test, Reduction::none);
    const litmus::Search reduced = litmus::search(test, Reduction::hb);
    EXPECT_EQ(reduced.outcomes, all.outcomes) << name;
    EXPECT_LE(reduced.runs, all.runs) << name;
    EXPECT_EQ(reduced.unsound_cuts, 0u) << name;
    RecordProperty(name, std::to_string(reduced.runs) + " of " + std::to_string(all.runs));
    runs += reduced.runs;
    unreduced += all.runs;
  }
  EXPECT_LT(runs, unreduced);
}

// The check is no formality: with a fingerprint that forgets which store a
// load read, it sees states merged that the model tells apart (no outcome
// is lost here: each merged state's future is reached another way).
TEST(HbReductionOnLitmus, CutCheckCatchesAFingerprintThatForgetsTheStoreRead) {
  const litmus::Search planted = litmus::search(litmus::kOneValueTwice, Reduction::hb,
                                                {.enabled = true, .plant = CutCheck::Forget::stale_store});
  EXPECT_GT(planted.unsound_cuts, 0u);
}

// And on the allocator: a fingerprint that forgets what a job's thread knew
// when the driver handed it over (every job end the driver saw by then)
// merges runs where a thread knows less, and may read or race more, with
// runs where it knows more. The check found this in the fingerprint itself.
TEST(CutCheck, CatchesAFingerprintThatForgetsWhatAJobKnew) {
  if (!Scheduler::kModelsMemory) GTEST_SKIP() << "TSan's build keeps no model";
  const Program program = decode_interleave(read_file(std::filesystem::path(HAKFUZZ_SOURCE_DIR) /
                                                      "corpus/interleave/remote-free-races-owner-exit"))
                              .program;
  const CutCheck sound{.enabled = true}, planted{.enabled = true, .plant = CutCheck::Forget::job_knowledge};
  EXPECT_EQ(explore_all(program, Reduction::hb, 1, 0, MemoryKind::sc, sound).e.unsound_cuts, 0u);
  EXPECT_GT(explore_all(program, Reduction::hb, 1, 0, MemoryKind::sc, planted).e.unsound_cuts, 0u);
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
