// The README's flag table must be exactly the one generated from
// env_flags.def: a flag documented by hand drifts (mimalloc #334).
#include <fstream>
#include <sstream>

#include "pool_test_util.h"

#ifndef HAKFUZZ_SOURCE_DIR
#error "HAKFUZZ_SOURCE_DIR must point at the repository root"
#endif

namespace hakmem {
namespace {

TEST(Readme, FlagTableMatchesTheOneTable) {
  std::ifstream in(HAKFUZZ_SOURCE_DIR "/README.md");
  ASSERT_TRUE(in) << "README.md not found";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  const std::string begin = "<!-- flags:begin -->\n", end = "<!-- flags:end -->";
  auto b = text.find(begin), e = text.find(end);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  EXPECT_EQ(text.substr(b + begin.size(), e - b - begin.size()), flag_table_markdown())
      << "regenerate the README table with: build/gcc/tests/print_flag_table";
}

}  // namespace
}  // namespace hakmem
