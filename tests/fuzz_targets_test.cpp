// Every fuzz target over random inputs: clean, deterministic, and its text
// form round-trips; plus pinned cases for the env target.
#include <random>

#include "fuzz/targets.h"
#include "pool_test_util.h"

namespace hakfuzz {
namespace {

TEST(FuzzTargets, TableHasTheBriefsTargets) {
  for (const char* name : {"ops", "page_of", "remote", "stats_diff", "env"})
    EXPECT_NE(find_target(name), nullptr);
  EXPECT_EQ(find_target("nope"), nullptr);
}

TEST(FuzzTargets, RandomInputsRunCleanDeterministicallyAndRoundTrip) {
  std::mt19937_64 rng(4242);
  for (const Target& t : targets()) {
    SCOPED_TRACE(t.name);
    const int runs = std::string(t.name) == "remote" ? 60 : 200;
    for (int i = 0; i < runs; ++i) {
      std::vector<std::uint8_t> in(rng() % 400);
      for (auto& b : in) b = static_cast<std::uint8_t>(rng());
      RunResult a = t.run(in, false);
      ASSERT_FALSE(a.finding) << "op " << a.finding->op_index << ": " << a.finding->what << "\n"
                              << t.to_text(in);
      ASSERT_EQ(t.run(in, false).digest, a.digest) << t.to_text(in);
      std::string text = t.to_text(in);
      std::vector<std::uint8_t> back = t.from_text(text);
      ASSERT_EQ(t.to_text(back), text);
      ASSERT_EQ(t.from_text(t.to_text(back)), back);
    }
  }
}

TEST(FuzzTargets, EnvTargetAgreesWithTheTableOnPinnedStrings) {
  const Target& env = *find_target("env");
  auto run = [&](const std::string& init_classes, const std::string& refresh_enabled) {
    std::string text = "init HAKMEM_POOL_V2_ENABLED \"1\"\ninit HAKMEM_POOL_V2_CLASSES " + init_classes +
                       "\nrefresh_env HAKMEM_POOL_V2_ENABLED " + refresh_enabled +
                       "\nconfig HAKMEM_POOL_V2_ENABLED=0 HAKMEM_POOL_V2_CLASSES=0x7F "
                       "HAKMEM_POOL_V2_STATS=0\nalloc sel=3 n=100\n";
    RunResult r = env.run(env.from_text(text), true);
    EXPECT_FALSE(r.finding) << r.finding->what << "\n" << text;
    std::string all;
    for (auto& l : r.trace) all += l + "\n";
    return all;
  };
  EXPECT_NE(run("\"0x05\"", "\"0\"").find("HAKMEM_POOL_V2_CLASSES=0x05"), std::string::npos);
  EXPECT_NE(run("\"0x80\"", "unset").find("init rejected: HAKMEM_POOL_V2_CLASSES='0x80'"), std::string::npos);
  EXPECT_NE(run("\"7\"", "\"yes\"").find("refresh rejected: HAKMEM_POOL_V2_ENABLED='yes'"),
            std::string::npos);
  EXPECT_NE(run("\"\\x00\"", "unset").find("init rejected"), std::string::npos);
}

TEST(FuzzTargets, MalformedTracesAreClearErrors) {
  EXPECT_THROW(
      find_target("remote")->from_text(
          "config HAKMEM_POOL_V2_ENABLED=1 HAKMEM_POOL_V2_CLASSES=0x03 HAKMEM_POOL_V2_STATS=0\ncheck\n"),
      std::invalid_argument);
  EXPECT_THROW(find_target("ops")->from_text("config HAKMEM_POOL_V2_ENABLED=1 HAKMEM_POOL_V2_CLASSES=0x03 "
                                             "HAKMEM_POOL_V2_STATS=0 threads=2\nt0 check\n"),
               std::invalid_argument);
  EXPECT_THROW(find_target("env")->from_text("init HAKMEM_NOPE \"1\"\nconfig HAKMEM_POOL_V2_ENABLED=1 "
                                             "HAKMEM_POOL_V2_CLASSES=0x03 HAKMEM_POOL_V2_STATS=0\n"),
               std::invalid_argument);
  EXPECT_THROW(
      find_target("env")->from_text("init HAKMEM_POOL_V2_STATS \"\\xZZ\"\nconfig HAKMEM_POOL_V2_ENABLED=1 "
                                    "HAKMEM_POOL_V2_CLASSES=0x03 HAKMEM_POOL_V2_STATS=0\n"),
      std::invalid_argument);
}

}  // namespace
}  // namespace hakfuzz
