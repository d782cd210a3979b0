#include "pool_test_util.h"

namespace hakmem {
namespace {

struct Case {
  const char* name;
  const char* value;
  bool ok;
  std::uint32_t expect;
};

TEST(Config, StrictParsingTableDriven) {
  const Case cases[] = {
      {"HAKMEM_POOL_V2_ENABLED", "0", true, 0},
      {"HAKMEM_POOL_V2_ENABLED", "1", true, 1},
      {"HAKMEM_POOL_V2_ENABLED", "", false, 0},
      {"HAKMEM_POOL_V2_ENABLED", "2", false, 0},
      {"HAKMEM_POOL_V2_ENABLED", "yes", false, 0},
      {"HAKMEM_POOL_V2_ENABLED", " 1", false, 0},
      {"HAKMEM_POOL_V2_ENABLED", "1 ", false, 0},
      {"HAKMEM_POOL_V2_ENABLED", "01", false, 0},
      {"HAKMEM_POOL_V2_CLASSES", "0x7F", true, 0x7F},
      {"HAKMEM_POOL_V2_CLASSES", "0x00", true, 0},
      {"HAKMEM_POOL_V2_CLASSES", "0x7f", true, 0x7F},
      {"HAKMEM_POOL_V2_CLASSES", "0X05", true, 5},
      {"HAKMEM_POOL_V2_CLASSES", "127", true, 127},
      {"HAKMEM_POOL_V2_CLASSES", "0", true, 0},
      {"HAKMEM_POOL_V2_CLASSES", "0x80", false, 0},
      {"HAKMEM_POOL_V2_CLASSES", "128", false, 0},
      {"HAKMEM_POOL_V2_CLASSES", "0x", false, 0},
      {"HAKMEM_POOL_V2_CLASSES", "-1", false, 0},
      {"HAKMEM_POOL_V2_CLASSES", "0x7G", false, 0},
      {"HAKMEM_POOL_V2_CLASSES", "", false, 0},
      {"HAKMEM_POOL_V2_CLASSES", "99999999999999999999999", false, 0},
      {"HAKMEM_POOL_V2_STATS", "1", true, 1},
      {"HAKMEM_POOL_V2_STATS", "true", false, 0},
      {"HAKMEM_POOL_INVALID_FREE", "report", true, 0},
      {"HAKMEM_POOL_INVALID_FREE", "abort", true, 1},
      {"HAKMEM_POOL_INVALID_FREE", "quiet", true, 2},
      {"HAKMEM_POOL_INVALID_FREE", "QUIET", false, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.name) + "='" + c.value + "'");
    testing::Env env = {{c.name, c.value}};
    if (c.ok) {
      Config cfg = parse_config(map_env(env));
      bool found = false;
      for (const FlagSpec& spec : flag_table())
        if (!spec.build_switch && std::string(spec.name) == c.name) {
          EXPECT_EQ(cfg.get(env_flag_of(spec)), c.expect);
          found = true;
        }
      EXPECT_TRUE(found);
    } else {
      try {
        parse_config(map_env(env));
        ADD_FAILURE() << "accepted a malformed value";
      } catch (const ConfigError& e) {
        EXPECT_EQ(e.variable, c.name);
        EXPECT_EQ(e.value, c.value);
        std::string msg = e.what();
        EXPECT_NE(msg.find(c.name), std::string::npos) << msg;
        EXPECT_NE(msg.find("accepted"), std::string::npos) << msg;
      }
    }
  }
}

TEST(Config, UnprintableValuesAreEscapedInTheMessage) {
  // Found by the env fuzz target: a NUL in the value cut the message short.
  try {
    parse_config(map_env({{"HAKMEM_POOL_V2_CLASSES", std::string("\0\x01", 2)}}));
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.value, std::string("\0\x01", 2));
    EXPECT_STREQ(
        e.what(),
        "HAKMEM_POOL_V2_CLASSES='\\x00\\x01': not a number; accepted: 0x00..0x7F (hex with 0x prefix, "
        "or decimal 0..127)");
  }
}

TEST(Config, DefaultsComeFromTheTable) {
  Config cfg = parse_config(map_env({}));
  EXPECT_EQ(cfg.v2_enabled, 0u);
  EXPECT_EQ(cfg.v2_classes, 0x7Fu);
  EXPECT_EQ(cfg.v2_stats, 0u);
  EXPECT_EQ(cfg.invalid_free_policy(), InvalidFreePolicy::report);
  for (const FlagSpec& spec : flag_table()) {
    if (spec.build_switch) continue;
    EXPECT_EQ(cfg.get(env_flag_of(spec)), spec.default_value) << spec.name;
  }
}

TEST(Config, EveryFlagIsReadByThePool) {
  // tcmalloc-style: a flag the table declares must change what the pool sees.
  for (const FlagSpec& spec : flag_table()) {
    if (spec.build_switch) continue;
    std::uint32_t other = spec.default_value == spec.max ? spec.min : spec.max;
    PoolStatsOff pool(testing::options_with({{spec.name, spec.value_text(other)}}));
    EXPECT_EQ(pool.config().get(env_flag_of(spec)), other) << spec.name;
  }
}

TEST(Config, TableHasTheBriefsFlagsAndBuildSwitch) {
  std::vector<std::string> names;
  for (const FlagSpec& spec : flag_table()) names.push_back(spec.name);
  for (const char* want : {"HAKMEM_POOL_V2_ENABLED", "HAKMEM_POOL_V2_CLASSES", "HAKMEM_POOL_V2_STATS",
                           "HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED"})
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  std::size_t cells = 1;
  for (const FlagSpec& spec : flag_table())
    if (spec.swept) cells *= spec.max - spec.min + 1;
  EXPECT_EQ(cells, 1024u);  // the sweep matrix of the brief
}

TEST(Config, PoolConstructionRejectsBadEnvAndRefreshKeepsOldConfig) {
  EXPECT_THROW(PoolStatsOff(testing::options_with({{"HAKMEM_POOL_V2_CLASSES", "0x100"}})), ConfigError);
  PoolStatsOff pool(testing::options_with(testing::v2_env("0x01")));
  pool.set_env_source(map_env({{"HAKMEM_POOL_V2_ENABLED", "maybe"}}));
  std::optional<ConfigError> err = pool.refresh_from_env();
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->variable, "HAKMEM_POOL_V2_ENABLED");
  EXPECT_EQ(pool.config().v2_enabled, 1u);
  EXPECT_EQ(pool.config().v2_classes, 0x01u);
}

TEST(Config, DescribeNamesEveryEnvFlag) {
  std::string d = parse_config(map_env({})).describe();
  EXPECT_EQ(d,
            "HAKMEM_POOL_V2_ENABLED=0 HAKMEM_POOL_V2_CLASSES=0x7F HAKMEM_POOL_V2_STATS=0 "
            "HAKMEM_POOL_INVALID_FREE=report");
}

}  // namespace
}  // namespace hakmem
