// The interleave target and exploration on the tester flavour: inputs
// round-trip, every schedule replays identically, dfs is exhaustive within
// its bound and grows with it, and the unmodified allocator is clean.
#include <filesystem>
#include <fstream>
#include <random>

#include "explore/explore.h"
#include "fuzz/interleave_input.h"
#include "fuzz/targets.h"
#include "pool_test_util.h"

namespace hakfuzz {
namespace {

Program two_thread_program() {
  return parse_text(
      "config HAKMEM_POOL_V2_ENABLED=1 HAKMEM_POOL_V2_CLASSES=0x7F HAKMEM_POOL_V2_STATS=0 threads=2\n"
      "t0 alloc sel=2 n=4096\nt0 alloc sel=2 n=4096\nt1 free block=0\nt0 free block=0\n");
}

TEST(Interleave, InputsRoundTripAndReplayIdentically) {
  const Target& t = *find_target("interleave");
  std::mt19937_64 rng(11);
  for (int i = 0; i < 60; ++i) {
    std::vector<std::uint8_t> in(rng() % 160);
    for (auto& b : in) b = static_cast<std::uint8_t>(rng());
    const InterleaveInput decoded = decode_interleave(in);
    EXPECT_EQ(decode_interleave(encode_interleave(decoded)).program, decoded.program);
    EXPECT_EQ(decode_interleave(encode_interleave(decoded)).schedule, decoded.schedule);
    const RunResult a = t.run(in, false), b = t.run(in, false);
    ASSERT_FALSE(a.finding) << a.finding->describe() << "\n" << t.to_text(in);
    EXPECT_EQ(a.digest, b.digest) << t.to_text(in);
    const std::string text = t.to_text(in);
    EXPECT_EQ(t.to_text(t.from_text(text)), text);
  }
}

TEST(Interleave, EverySchedulePicksTheSameWayTwice) {
  const Program p = two_thread_program();
  for (ScheduleKind mode : {ScheduleKind::random, ScheduleKind::pct}) {
    for (std::uint64_t seed = 1; seed < 20; ++seed) {
      ScheduleSpec spec{mode, {}, seed, 3};
      auto s1 = make_pick_rule(spec, 40, p.threads), s2 = make_pick_rule(spec, 40, p.threads);
      const InterleaveResult a = run_interleaved(p, *s1), b = run_interleaved(p, *s2);
      ASSERT_FALSE(a.run.finding) << a.run.finding->describe();
      EXPECT_EQ(a.decisions, b.decisions);
      EXPECT_EQ(a.run.digest, b.run.digest);
      // The recorded picks replay the run exactly.
      ChoicePicks replay(s1->as_choices().choices);
      EXPECT_EQ(run_interleaved(p, replay).run.digest, a.run.digest);
    }
  }
}

TEST(Interleave, DfsIsExhaustiveWithinItsBoundAndGrowsWithIt) {
  const Program p = two_thread_program();
  std::size_t previous = 0;
  for (int bound = 0; bound <= 2; ++bound) {
    ExploreOptions o;
    o.preemptions = bound;
    const Exploration e = explore(p, o);
    ASSERT_FALSE(e.finding) << e.finding->describe();
    EXPECT_TRUE(e.exhausted);
    EXPECT_GT(e.runs, previous) << "bound " << bound;
    previous = e.runs;
  }
}

TEST(Interleave, TheSeedCorpusIsCleanUnderRandomSchedules) {
  const Target& t = *find_target("interleave");
  for (const auto& entry : std::filesystem::directory_iterator(HAKFUZZ_SOURCE_DIR "/corpus/interleave")) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    ExploreOptions o;
    o.strategy = ExploreStrategy::random;
    o.max_runs = 200;
    const Exploration e = explore(decode_interleave(bytes).program, o);
    EXPECT_FALSE(e.finding) << entry.path() << ": " << e.finding->describe();
    EXPECT_FALSE(t.run(bytes, false).finding) << entry.path();
  }
}

}  // namespace
}  // namespace hakfuzz
