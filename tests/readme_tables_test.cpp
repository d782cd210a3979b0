// The README's tables must be exactly the ones generated from the tables
// they document (a flag documented by hand drifts, mimalloc #334): the flag
// table from env_flags.def, the fuzz target table from targets.def.
#include <fstream>
#include <sstream>

#include "fuzz/targets.h"
#include "pool_test_util.h"

#ifndef HAKFUZZ_SOURCE_DIR
#error "HAKFUZZ_SOURCE_DIR must point at the repository root"
#endif

namespace hakmem {
namespace {

// The README text between <!-- NAME:begin --> and <!-- NAME:end -->.
std::string readme_section(const std::string& name) {
  std::ifstream in(HAKFUZZ_SOURCE_DIR "/README.md");
  EXPECT_TRUE(in) << "README.md not found";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str(), begin = "<!-- " + name + ":begin -->\n",
                    end = "<!-- " + name + ":end -->";
  const auto b = text.find(begin), e = text.find(end);
  EXPECT_NE(b, std::string::npos) << begin;
  EXPECT_NE(e, std::string::npos) << end;
  if (b == std::string::npos || e == std::string::npos) return "";
  return text.substr(b + begin.size(), e - b - begin.size());
}

TEST(Readme, FlagTableMatchesTheOneTable) {
  EXPECT_EQ(readme_section("flags"), flag_table_markdown())
      << "regenerate the README table with: build/gcc/tests/print_flag_table";
}

TEST(Readme, TargetTableMatchesTargetsDef) {
  EXPECT_EQ(readme_section("targets"), hakfuzz::targets_markdown())
      << "regenerate the README table with: hakfuzz fuzz --markdown";
}

}  // namespace
}  // namespace hakmem
