// Each bug planted inside the allocator (hakmem/plants.def) is found by the
// checker meant for it, and the same inputs are clean on the real allocator:
//   the intra-call races by dfs exploration of a corpus schedule program,
//   the same run twice, minimized to at most 2 preemptions, replayed 10/10;
//   the retention and fault-path bugs by the ops and remote targets' corpus inputs.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "explore/audit.h"
#include "explore/explore.h"
#include "fuzz/interleave_input.h"
#include "fuzz/targets.h"
#include "oracle/plants.h"
#include "pool_test_util.h"

namespace hakfuzz {
namespace {

std::vector<std::uint8_t> read_corpus_file(const std::string& relative) {
  std::ifstream in(HAKFUZZ_SOURCE_DIR "/corpus/" + relative, std::ios::binary);
  EXPECT_TRUE(in) << relative;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct RaceHunt {
  const char* plant;
  const char* program;  // corpus/interleave/
};

class IntraCallRace : public ::testing::TestWithParam<RaceHunt> {};

TEST_P(IntraCallRace, DfsFindsItTheSameWayTwiceMinimizedAndReplayed) {
  const Program program =
      decode_interleave(read_corpus_file(std::string("interleave/") + GetParam().program)).program;
  ExploreOptions clean;
  const Exploration real = explore(program, clean);
  ASSERT_FALSE(real.finding) << real.finding->describe();
  EXPECT_TRUE(real.exhausted);

  ExploreOptions planted;
  planted.run.plant = find_plant(GetParam().plant);
  const Exploration a = explore(program, planted), b = explore(program, planted);
  ASSERT_TRUE(a.finding) << GetParam().plant << " not found in " << a.runs << " interleavings";
  EXPECT_EQ(a.runs, b.runs);
  EXPECT_EQ(a.schedule, b.schedule);

  const Minimized m = minimize(program, a.schedule, *a.finding, planted.run);
  EXPECT_LE(m.preemptions, 2u);
  EXPECT_EQ(m.finding.kind, a.finding->kind);
  EXPECT_LE(m.program.ops.size(), program.ops.size());
  for (int i = 0; i < 10; ++i) {
    auto replay = make_pick_rule(m.schedule, 0, m.program.threads);
    const InterleaveResult r = run_interleaved(m.program, *replay, planted.run);
    ASSERT_TRUE(r.run.finding) << "replay " << i;
    EXPECT_EQ(r.run.finding->kind, m.finding.kind);
  }
}

INSTANTIATE_TEST_SUITE_P(Plants, IntraCallRace,
                         ::testing::Values(RaceHunt{"remote_bit_torn", "remote-frees-race-the-drain"},
                                           RaceHunt{"hint_before_bit", "free-races-adoption"},
                                           RaceHunt{"no_owner_reread", "free-races-adoption"},
                                           RaceHunt{"owner_claim_torn", "owner-free-races-a-double-free"}),
                         [](const auto& info) { return std::string(info.param.plant); });

// Memory-order plants (a weaker order at one call site): the unmodified
// allocator is clean on the program under C11 and x86-TSO executions; the
// plant is found the same way twice under the model named, and, for the
// weak-memory ones, not under sequential consistency; x86-TSO shows it
// exactly when this machine could; the minimized file replays 10/10 and its
// trace names the stale read.
struct OrderHunt {
  const char* plant;
  const char* program;  // corpus/interleave/
  MemoryKind model;     // the model that shows it (sc: the happens-before check, any model)
  FindingKind kind;
  bool on_x86;  // x86-TSO shows it: a weakening the hardware does not hide
};

class MemoryOrderPlant : public ::testing::TestWithParam<OrderHunt> {};

TEST_P(MemoryOrderPlant, FoundUnderItsModelMinimizedAndReplayed) {
  if (!Scheduler::kModelsMemory) GTEST_SKIP() << "ThreadSanitizer's build keeps no memory model of its own";
  const OrderHunt& hunt = GetParam();
  const Program program =
      decode_interleave(read_corpus_file(std::string("interleave/") + hunt.program)).program;
  for (MemoryKind memory : {MemoryKind::c11, MemoryKind::tso}) {
    ExploreOptions clean;
    clean.run.memory = memory;
    const Exploration real = explore(program, clean);
    ASSERT_FALSE(real.finding) << memory_kind_name(memory) << ": " << real.finding->describe();
  }

  ExploreOptions planted;
  planted.run.plant = find_plant(hunt.plant);
  planted.run.memory = MemoryKind::tso;
  const Exploration x86 = explore(program, planted);
  EXPECT_EQ(x86.finding.has_value(), hunt.on_x86)
      << hunt.plant << " under x86-TSO: " << (x86.finding ? x86.finding->describe() : "no finding");
  planted.run.memory = MemoryKind::sc;
  if (hunt.model != MemoryKind::sc) {
    const Exploration sc = explore(program, planted);
    EXPECT_FALSE(sc.finding) << hunt.plant
                             << " shows in sequentially consistent runs: " << sc.finding->describe();
    EXPECT_TRUE(sc.exhausted);
  }
  planted.run.memory = hunt.model;
  const Exploration a = explore(program, planted), b = explore(program, planted);
  ASSERT_TRUE(a.finding) << hunt.plant << " not found in " << a.runs << " interleavings";
  EXPECT_EQ(a.finding->kind, hunt.kind) << a.finding->describe();
  EXPECT_EQ(a.runs, b.runs);
  EXPECT_EQ(a.schedule, b.schedule);
  EXPECT_EQ(a.schedule.memory, hunt.model);

  const Minimized m = minimize(program, a.schedule, *a.finding, planted.run, /*runs_per_op=*/200);
  EXPECT_EQ(m.finding.kind, hunt.kind);
  EXPECT_EQ(m.schedule.memory, hunt.model);
  InterleaveOptions replay_options = planted.run;
  replay_options.trace = true;
  for (int i = 0; i < 10; ++i) {
    // From the file's bytes, as `repro` replays it.
    const InterleaveInput in = decode_interleave(encode_interleave({m.program, m.schedule}));
    replay_options.memory = in.schedule.memory;
    auto replay = make_pick_rule(in.schedule, 0, in.program.threads);
    const InterleaveResult r = run_interleaved(in.program, *replay, replay_options);
    ASSERT_TRUE(r.run.finding) << "replay " << i;
    EXPECT_EQ(r.run.finding->kind, hunt.kind);
    if (hunt.model != MemoryKind::sc && i == 0) {
      const char* names = hunt.model == MemoryKind::tso ? "store buffer)" : "(reads ";
      EXPECT_TRUE(std::ranges::any_of(r.run.trace, [&](const std::string& l) {
        return l.find(names) != l.npos;
      })) << "the trace names no stale read";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Plants, MemoryOrderPlant,
    ::testing::Values(OrderHunt{"remote_free_without_release", "free-races-adoption", MemoryKind::sc,
                                FindingKind::reuse_race, false},
                      OrderHunt{"drain_without_acquire", "free-races-adoption", MemoryKind::sc,
                                FindingKind::reuse_race, false},
                      OrderHunt{"hint_load_acquire", "remote-free-lands-on-current-mid-refill",
                                MemoryKind::c11, FindingKind::retained, false},
                      OrderHunt{"remote_check_relaxed", "hinted-refill-walks-pages-while-a-free-is-in-flight",
                                MemoryKind::c11, FindingKind::retained, false},
                      OrderHunt{"hint_cleared_by_store", "a-free-lands-behind-a-refills-walk",
                                MemoryKind::tso, FindingKind::retained, true}),
    [](const auto& info) { return std::string(info.param.plant); });

// The history bounds which stores a load may choose among: with one store
// per location a C11 run reads the latest only, as sc does, and the stale
// hint read hint_load_acquire needs is gone; with more, it is found, and
// its file keeps the history it was found under, so it replays.
TEST(StoreHistory, BoundsTheStaleReadsAndTravelsWithTheFile) {
  if (!Scheduler::kModelsMemory) GTEST_SKIP() << "ThreadSanitizer's build keeps no memory model of its own";
  const Program program =
      decode_interleave(read_corpus_file("interleave/remote-free-lands-on-current-mid-refill")).program;
  ExploreOptions o;
  o.run.plant = find_plant("hint_load_acquire");
  o.run.memory = MemoryKind::c11;
  o.run.history = 1;
  const Exploration one = explore(program, o);
  EXPECT_FALSE(one.finding) << one.finding->describe();
  EXPECT_TRUE(one.exhausted);
  o.run.history = 7;
  const Exploration seven = explore(program, o);
  ASSERT_TRUE(seven.finding);
  EXPECT_EQ(seven.schedule.history, 7);
  const InterleaveInput in = decode_interleave(encode_interleave({program, seven.schedule}));
  EXPECT_EQ(in.schedule.choices, seven.schedule.choices);
  EXPECT_EQ(in.schedule.memory, MemoryKind::c11);
  EXPECT_EQ(in.schedule.history, 7);
  const std::string text = find_target("interleave")->to_text(encode_interleave({program, seven.schedule}));
  EXPECT_NE(text.find("memory=c11 history=7"), std::string::npos) << text;
  setenv(kPlantEnv, "hint_load_acquire", 1);
  const RunResult replay = run_interleave_target(encode_interleave(in), false);
  unsetenv(kPlantEnv);
  ASSERT_TRUE(replay.finding);
  EXPECT_EQ(replay.finding->kind, seven.finding->kind);
}

// audit-atomics on code that breaks as written: the counterexample under
// C11, and x86-TSO's verdict explored, observable exactly for the plant a
// store buffer shows.
TEST(AuditAtomics, JudgesABrokenAllocatorOnX86ByExploringIt) {
  if (!Scheduler::kModelsMemory) GTEST_SKIP() << "ThreadSanitizer's build keeps no memory model of its own";
  struct Case {
    const char* plant;
    const char* program;
    bool on_x86;
  };
  for (const Case& c : {Case{"hint_cleared_by_store", "a-free-lands-behind-a-refills-walk", true},
                        Case{"hint_load_acquire", "remote-free-lands-on-current-mid-refill", false}}) {
    AuditOptions o;
    o.preemptions = 2;
    o.run.plant = find_plant(c.plant);
    const std::string file = std::string("interleave/") + c.program;
    const Audit a = audit_atomics({{file, decode_interleave(read_corpus_file(file)).program}}, o);
    ASSERT_TRUE(a.baseline && a.baseline->counterexample) << c.plant << ": no C11 counterexample";
    EXPECT_TRUE(a.rows.empty());
    ASSERT_TRUE(a.baseline_x86);
    EXPECT_EQ(a.baseline_x86->counterexample.has_value(), c.on_x86) << c.plant;
    if (c.on_x86) {
      EXPECT_EQ(a.baseline_x86->counterexample->schedule.memory, MemoryKind::tso);
    } else {
      EXPECT_TRUE(a.baseline_x86->complete) << c.plant << ": x86-TSO stopped before the bound";
      EXPECT_GT(a.baseline_x86->runs, 0u);
    }
  }
}

struct CorpusHunt {
  const char* plant;
  const char* target;
  FindingKind kind;
};

class PlantInCorpus : public ::testing::TestWithParam<CorpusHunt> {};

// Some corpus input of the target finds the plant, with the kind of finding its
// checker raises; without the plant every one is clean.
TEST_P(PlantInCorpus, SomeCorpusInputFindsIt) {
  const Target& target = *find_target(GetParam().target);
  const PlantSpec* plant = find_plant(GetParam().plant);
  ASSERT_TRUE(plant->reaches_checker(target.name));
  std::string found;
  for (const auto& e :
       std::filesystem::directory_iterator(HAKFUZZ_SOURCE_DIR "/corpus/" + std::string(target.name))) {
    const std::vector<std::uint8_t> bytes =
        read_corpus_file(std::string(target.name) + "/" + e.path().filename().string());
    ASSERT_FALSE(target.run(bytes, false).finding) << e.path();
    setenv(kPlantEnv, plant->name, 1);
    const RunResult r = target.run(bytes, false);
    unsetenv(kPlantEnv);
    if (r.finding && r.finding->kind == GetParam().kind) found = e.path().filename().string();
  }
  EXPECT_FALSE(found.empty()) << "no corpus input of " << target.name << " finds " << plant->name;
}

INSTANTIATE_TEST_SUITE_P(
    Plants, PlantInCorpus,
    ::testing::Values(CorpusHunt{"empty_page_kept", "ops", FindingKind::retained},
                      CorpusHunt{"drain_skips_word", "remote", FindingKind::retained},
                      CorpusHunt{"exit_keeps_pages", "remote", FindingKind::retained},
                      CorpusHunt{"adopt_without_drain", "remote", FindingKind::retained},
                      CorpusHunt{"cold_pages_ignored", "ops", FindingKind::retained},
                      CorpusHunt{"refill_fail_returns_null", "ops", FindingKind::alloc_null},
                      CorpusHunt{"refill_retries", "ops", FindingKind::alloc_route},
                      CorpusHunt{"choice_takes_capitals", "env", FindingKind::config},
                      CorpusHunt{"fork_child_keeps_locks", "env", FindingKind::deadlock},
                      CorpusHunt{"huge_request_truncated", "env", FindingKind::alloc_route},
                      CorpusHunt{"walk_ignores_used", "walk", FindingKind::invariant},
                      CorpusHunt{"block_info_rounds_down", "page_of", FindingKind::usable_size},
                      CorpusHunt{"counter_steers", "stats_diff", FindingKind::stats_diverge}),
    [](const auto& info) { return std::string(info.param.plant) + "_" + info.param.target; });

}  // namespace
}  // namespace hakfuzz
