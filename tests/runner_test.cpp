// The runner: random programs and schedules run clean on both flavours with
// identical behaviour digests, and it does fail when the pool misbehaves
// (every planted bug of the table).
#include <random>

#include "exec/run_program.h"
#include "fuzz/targets.h"
#include "oracle/plants.h"
#include "pool_test_util.h"
#include "support/sanitizer.h"

namespace hakfuzz {
namespace {

using hakmem::testing::random_bytes;

TEST(Runner, RandomProgramsRunCleanAndBothFlavoursAgree) {
  std::mt19937_64 rng(20261124);
  for (int i = 0; i < 1500; ++i) {
    auto bytes = random_bytes(rng, 600);
    Program p = decode(bytes);
    RunResult off = run_program(p, {.flavour = Flavour::stats_off});
    RunResult on = run_program(p, {.probe_page_of = true});
    ASSERT_FALSE(off.finding) << "op " << off.finding->op_index << ": " << off.finding->what << "\n"
                              << to_text(p);
    ASSERT_FALSE(on.finding) << "op " << on.finding->op_index << ": " << on.finding->what << "\n"
                             << to_text(p);
    Program toggled = p;
    toggled.config.v2_stats ^= 1;  // HAKMEM_POOL_V2_STATS flipped: behaviour must not move
    ASSERT_EQ(run_program(toggled).digest, off.digest);
  }
}

TEST(Runner, RandomSchedulesOnRealThreadsRunClean) {
  std::mt19937_64 rng(99);
  for (int i = 0; i < 300; ++i) {
    Program p = decode(random_bytes(rng, 500), /*multi_thread=*/true);
    ASSERT_GE(p.threads, 2);
    RunResult r = run_program(p);
    ASSERT_FALSE(r.finding) << "op " << r.finding->op_index << ": " << r.finding->what << "\n" << to_text(p);
    // The interleaving is the input's: the same schedule behaves the same.
    ASSERT_EQ(run_program(p).digest, r.digest) << to_text(p);
  }
}

TEST(Runner, ScheduleWithRemoteFreesAndThreadExit) {
  Program p = parse_text(
      "config HAKMEM_POOL_V2_ENABLED=1 HAKMEM_POOL_V2_CLASSES=0x7F HAKMEM_POOL_V2_STATS=0 threads=3\n"
      "t0 alloc sel=2 n=4096\nt0 alloc sel=2 n=4096\nt1 free block=0\n"  // remote free
      "t0 exit\nt2 free block=0\n"                                       // free of an orphan's block
      "t1 alloc sel=2 n=4096\nt1 check\n");
  RunResult r = run_program(p, {.trace = true});
  ASSERT_FALSE(r.finding) << r.finding->what;
  EXPECT_NE(r.trace[2].find("v2_remote"), std::string::npos) << r.trace[2];
  EXPECT_GT(hakmem::testing::total(r.stats, hakmem::V2Stat::free_fast), 1u);
}

// The same verdict op for op: digest, finding, and where it was found.
void expect_alike(const Program& p, const RunOptions& a, const RunOptions& b, int& findings) {
  const RunResult x = run_program(p, a);
  const RunResult y = run_program(p, b);
  ASSERT_EQ(x.digest, y.digest) << to_text(p);
  ASSERT_EQ(x.finding.has_value(), y.finding.has_value())
      << (x.finding ? x.finding->what : y.finding->what) << "\n"
      << to_text(p);
  if (!x.finding) return;
  ++findings;
  ASSERT_EQ(x.finding->kind, y.finding->kind) << to_text(p);
  ASSERT_EQ(x.finding->op_index, y.finding->op_index) << to_text(p);
}

// Random schedules, clean and with planted bugs a schedule finds (a block
// handed out twice; an exit that keeps its pages), judged two ways.
void expect_schedules_alike(std::uint64_t seed, const RunOptions& options_a, const RunOptions& options_b) {
  std::mt19937_64 rng(seed);
  int findings = 0;
  for (int i = 0; i < 150; ++i) {
    const Program p = decode(random_bytes(rng, 800), /*multi_thread=*/true);
    for (const char* plant : {"", "live_block_twice", "exit_keeps_pages"}) {
      RunOptions a = options_a, b = options_b;
      a.plant = b.plant = *plant ? find_plant(plant) : nullptr;
      ASSERT_NO_FATAL_FAILURE(expect_alike(p, a, b, findings)) << "plant: " << plant;
    }
  }
  EXPECT_GT(findings, 50);  // the verdicts compared include findings
}

TEST(Runner, OpsJudgedOnTheirOwnThreadsOrFromTheDriverAlike) {
  if (support::kTsanBuild) GTEST_SKIP() << "under TSan only the driver judges (exec/team.h)";
  expect_schedules_alike(20261130, {.oracle = OracleOn::op_thread}, {.oracle = OracleOn::driver});
}

TEST(Runner, UnderTsanOnlyTheDriverJudges) {
  if (!support::kTsanBuild) GTEST_SKIP() << "outside TSan both seats judge (see above)";
  const Program p = parse_text(
      "config HAKMEM_POOL_V2_ENABLED=1 HAKMEM_POOL_V2_CLASSES=0x7F HAKMEM_POOL_V2_STATS=0 threads=2\n"
      "t0 alloc sel=2 n=4096\nt1 free block=0\n");
  EXPECT_THROW(run_program(p, {.oracle = OracleOn::op_thread}), std::invalid_argument);
  EXPECT_FALSE(run_program(p, {.oracle = OracleOn::driver}).finding);
}

// To the allocator an exit op is a thread's exit whether or not its OS
// thread ends too (exec/team.h keeps it, as a new one costs ASan 0.4 ms).
TEST(Runner, AnExitIsTheSameToThePoolWhetherOrNotItsOsThreadEnds) {
  expect_schedules_alike(20261131, {.os_thread_exits = false}, {.os_thread_exits = true});
}

TEST(Runner, PlantedPageOfBugIsFound) {
  Program p = parse_text(
      "config HAKMEM_POOL_V2_ENABLED=1 HAKMEM_POOL_V2_CLASSES=0x7F HAKMEM_POOL_V2_STATS=0\n"
      "alloc sel=2 n=4000\n"
      "bad_free interior block=0 off=17\n");
  RunResult r = run_program(p, {.trace = true, .plant = find_plant("page_of_interior")});
  ASSERT_TRUE(r.finding);
  EXPECT_EQ(r.finding->kind, FindingKind::free_outcome);
  EXPECT_EQ(r.finding->op_index, 1u);
  EXPECT_NE(r.finding->what.find("model expects rejected"), std::string::npos) << r.finding->what;
  EXPECT_FALSE(run_program(p).finding);
}

TEST(Runner, PlantedCounterDriftIsFound) {
  Program p =
      parse_text("config HAKMEM_POOL_V2_ENABLED=1 HAKMEM_POOL_V2_CLASSES=0x7F HAKMEM_POOL_V2_STATS=0\n" +
                 std::string(20, ' ') + "\n" + [] {
                   std::string ops;
                   for (int i = 0; i < 10; ++i) ops += "alloc sel=2 n=3000\nfree block=0\n";
                   return ops;
                 }());
  RunResult r = run_program(p, {.plant = find_plant("drifting_counter")});
  ASSERT_TRUE(r.finding);
  EXPECT_EQ(r.finding->kind, FindingKind::counter);
  EXPECT_NE(r.finding->what.find("counter free_fast"), std::string::npos) << r.finding->what;
}

TEST(Runner, PlantedLiveBlockHandedOutTwiceIsFound) {
  std::string text = "config HAKMEM_POOL_V2_ENABLED=1 HAKMEM_POOL_V2_CLASSES=0x7F HAKMEM_POOL_V2_STATS=0\n";
  for (int i = 0; i < 60; ++i) text += "alloc sel=2 n=3000\n";
  Program p = parse_text(text);
  RunResult r = run_program(p, {.plant = find_plant("live_block_twice")});
  ASSERT_TRUE(r.finding);
  EXPECT_EQ(r.finding->kind, FindingKind::overlap) << r.finding->describe();
  EXPECT_EQ(r.finding->op_index, 49u);
  EXPECT_FALSE(run_program(p).finding);
}

TEST(Runner, EveryPlantNamesTheCheckersThatReachIt) {
  for (const PlantSpec& plant : plant_table()) {
    bool reached = plant.reaches_checker("stress") || plant.reaches_checker("sweep");
    for (const Target& t : targets()) reached |= plant.reaches_checker(t.name);
    EXPECT_TRUE(reached) << plant.name;
    EXPECT_FALSE(plant.reaches_checker("nonexistent") && std::string(plant.reaches) != "*") << plant.name;
  }
  EXPECT_FALSE(find_plant("remote_bit_torn")->reaches_checker("ops"));
  EXPECT_EQ(find_plant("refill_retries")->inside, hakmem::Plant::refill_retries);
  EXPECT_FALSE(find_plant("page_of_interior")->reaches_checker("stress"));
  EXPECT_THROW(activate_plant("page_of_interior", "stress"), std::invalid_argument);
  EXPECT_THROW(activate_plant("no_such_bug", "ops"), std::invalid_argument);
}

TEST(Runner, TraceNamesEveryOp) {
  Program p = parse_text(
      "config HAKMEM_POOL_V2_ENABLED=1 HAKMEM_POOL_V2_CLASSES=0x05 HAKMEM_POOL_V2_STATS=1\n"
      "alloc sel=2 n=2000\nalloc sel=1 n=10\nfree block=0\nbad_free double_free block=0 off=0\n"
      "bad_free stack block=0 off=0\nrefresh HAKMEM_POOL_V2_ENABLED=0 HAKMEM_POOL_V2_CLASSES=0x00 "
      "HAKMEM_POOL_V2_STATS=0\nbad_free unused_slab block=0 off=3\n"
      "fault nth=1 count=2\nalloc sel=3 n=9000\nfault nth=0 count=1\ncheck\n");
  RunResult r = run_program(p, {.trace = true});
  ASSERT_FALSE(r.finding) << r.finding->what;
  ASSERT_GT(r.trace.size(), p.ops.size());  // plus the end-of-run frees and checks
  EXPECT_NE(r.trace[3].find("double_free"), std::string::npos) << r.trace[3];
}

}  // namespace
}  // namespace hakfuzz
