// The `ops` op language and its oracle: codecs round-trip exactly, random
// programs run clean on both flavours with identical behaviour digests, and
// the oracle does fail when the pool misbehaves (a planted page_of bug).
#include <random>

#include "oracle_impl.h"
#include "plant.h"
#include "pool_test_util.h"

namespace hakfuzz {
namespace {

std::vector<std::uint8_t> random_bytes(std::mt19937_64& rng, std::size_t max_len) {
  std::vector<std::uint8_t> out(rng() % (max_len + 1));
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

TEST(OpsCodec, BinaryAndTextRoundTripExactly) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    Program p = decode(random_bytes(rng, 400));
    EXPECT_EQ(decode(encode(p)), p);
    EXPECT_EQ(encode(parse_text(to_text(p))), encode(p)) << to_text(p);
  }
}

TEST(OpsCodec, MalformedTextIsAClearError) {
  for (const char* bad :
       {"", "alloc sel=1 n=2\n", "config v2=1 stats=0 classes=200\n", "config v2=1 stats=0 classes=3\nfree\n",
        "config v2=1 stats=0 classes=3\nbogus\n", "config v2=1 stats=0 classes=3\nfree block=999\n",
        "config v2=1 stats=0 classes=3\ncheck extra\n"}) {
    try {
      parse_text(bad);
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("trace"), std::string::npos);
    }
  }
}

TEST(Oracle, RandomProgramsRunCleanAndBothFlavoursAgree) {
  std::mt19937_64 rng(20261124);
  for (int i = 0; i < 1500; ++i) {
    auto bytes = random_bytes(rng, 600);
    Program p = decode(bytes);
    RunResult off = run_program<hakmem::PoolStatsOff>(p);
    RunResult on = run_program<hakmem::PoolStatsOn>(p, {.probe_page_of = true});
    ASSERT_FALSE(off.finding) << "op " << off.finding->op_index << ": " << off.finding->what << "\n"
                              << to_text(p);
    ASSERT_FALSE(on.finding) << "op " << on.finding->op_index << ": " << on.finding->what << "\n"
                             << to_text(p);
    Program toggled = p;
    toggled.flags ^= 2;  // HAKMEM_POOL_V2_STATS flipped: behaviour must not move
    ASSERT_EQ(run_program<hakmem::PoolStatsOn>(toggled).digest, off.digest);
  }
}

TEST(Oracle, RandomSchedulesOnRealThreadsRunClean) {
  std::mt19937_64 rng(99);
  for (int i = 0; i < 300; ++i) {
    Program p = decode(random_bytes(rng, 500), /*multi_thread=*/true);
    ASSERT_GE(p.threads, 2);
    EXPECT_EQ(decode(encode(p), true), p);
    EXPECT_EQ(encode(parse_text(to_text(p))), encode(p)) << to_text(p);
    RunResult r = run_program<hakmem::PoolStatsOn>(p);
    ASSERT_FALSE(r.finding) << "op " << r.finding->op_index << ": " << r.finding->what << "\n" << to_text(p);
    // The interleaving is the input's: the same schedule behaves the same.
    ASSERT_EQ(run_program<hakmem::PoolStatsOn>(p).digest, r.digest) << to_text(p);
  }
}

TEST(Oracle, ScheduleWithRemoteFreesAndThreadExit) {
  Program p = parse_text(
      "config v2=1 stats=0 classes=127 threads=3\n"
      "t0 alloc sel=2 n=4096\nt0 alloc sel=2 n=4096\nt1 free block=0\n"  // remote free
      "t0 exit\nt2 free block=0\n"                                       // free of an orphan's block
      "t1 alloc sel=2 n=4096\nt1 check\n");
  RunResult r = run_program<hakmem::PoolStatsOn>(p, {.trace = true});
  ASSERT_FALSE(r.finding) << r.finding->what;
  EXPECT_NE(r.trace[2].find("v2_remote"), std::string::npos) << r.trace[2];
  EXPECT_GT(r.stats.total(hakmem::V2Stat::free_fast), 1u);
}

TEST(Oracle, PlantedPageOfBugIsFound) {
  Program p = parse_text(
      "config v2=1 stats=0 classes=127\n"
      "alloc sel=2 n=4000\n"
      "bad_free interior block=0 off=17\n");
  RunResult r = run_planted("page_of_interior", p, {.trace = true});
  ASSERT_TRUE(r.finding);
  EXPECT_EQ(r.finding->op_index, 1u);
  EXPECT_NE(r.finding->what.find("model expects rejected"), std::string::npos) << r.finding->what;
  EXPECT_FALSE(run_program<hakmem::PoolStatsOn>(p).finding);
}

TEST(Oracle, PlantedCounterDriftIsFound) {
  Program p = parse_text("config v2=1 stats=0 classes=127\n" + std::string(20, ' ') + "\n" + [] {
    std::string ops;
    for (int i = 0; i < 10; ++i) ops += "alloc sel=2 n=3000\nfree block=0\n";
    return ops;
  }());
  RunResult r = run_planted("drifting_counter", p, {});
  ASSERT_TRUE(r.finding);
  EXPECT_NE(r.finding->what.find("counter free_fast"), std::string::npos) << r.finding->what;
}

TEST(Oracle, TraceNamesEveryOp) {
  Program p = parse_text(
      "config v2=1 stats=1 classes=5\n"
      "alloc sel=2 n=2000\nalloc sel=1 n=10\nfree block=0\nbad_free double_free block=0 off=0\n"
      "bad_free stack block=0 off=0\nrefresh v2=0 stats=0 classes=0\nbad_free unused_slab block=0 off=3\n"
      "fault nth=1 count=2\nalloc sel=3 n=9000\nfault nth=0 count=1\ncheck\n");
  RunResult r = run_program<hakmem::PoolStatsOn>(p, {.trace = true});
  ASSERT_FALSE(r.finding) << r.finding->what;
  ASSERT_GT(r.trace.size(), p.ops.size());  // plus the end-of-run frees and checks
  EXPECT_NE(r.trace[3].find("double_free"), std::string::npos) << r.trace[3];
}

}  // namespace
}  // namespace hakfuzz
