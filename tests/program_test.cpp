// The op language: every byte string decodes, binary and text round-trip
// exactly, the config header follows the flag table, malformed text is a
// clear error naming its line.
#include <random>

#include "pool_test_util.h"
#include "program/program.h"

namespace hakfuzz {
namespace {

using hakmem::testing::random_bytes;

TEST(Program, BinaryAndTextRoundTripExactly) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    const bool schedule = i % 2;
    Program p = decode(random_bytes(rng, 400), schedule);
    EXPECT_EQ(decode(encode(p), schedule), p);
    EXPECT_EQ(parse_text(to_text(p)), p) << to_text(p);
    EXPECT_EQ(encode(parse_text(to_text(p))), encode(p)) << to_text(p);
  }
}

TEST(Program, ConfigHeaderCarriesEverySweptEnvFlag) {
  std::vector<std::string> names;
  for (const hakmem::FlagSpec* f : program_flags()) names.push_back(f->name);
  EXPECT_EQ(names, (std::vector<std::string>{"HAKMEM_POOL_V2_ENABLED", "HAKMEM_POOL_V2_CLASSES",
                                             "HAKMEM_POOL_V2_STATS"}));
  hakmem::Config c;
  c.v2_enabled = 1;
  c.v2_classes = 0x2A;
  c.v2_stats = 1;
  EXPECT_EQ(config_from_bits(config_bits(c)), c);
  EXPECT_EQ(config_text(c), "HAKMEM_POOL_V2_ENABLED=1 HAKMEM_POOL_V2_CLASSES=0x2A HAKMEM_POOL_V2_STATS=1");
  for (std::uint32_t bits = 0; bits < 1024; ++bits) {  // every header decodes into the domain
    hakmem::Config d = config_from_bits(bits);
    EXPECT_EQ(config_from_bits(config_bits(d)), d);
  }
}

TEST(Program, OpsSayWhatTheyAre) {
  EXPECT_EQ(Op::alloc(0, 0, 77).alloc_size(), 0u);
  EXPECT_EQ(Op::alloc(0, 1, 2).alloc_size(), hakmem::kMaxClassSize + 1 + 32);
  EXPECT_EQ(Op::alloc(0, 2, 4096).alloc_size(), 4096u);
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{4097}, hakmem::kMaxClassSize,
                           hakmem::kMaxClassSize + 1, std::size_t{300000}})
    EXPECT_EQ(hakmem::size_class_of(Op::alloc_of_size(0, size).alloc_size()), hakmem::size_class_of(size))
        << size;
  EXPECT_EQ(Op::fault(3, 2, 5).fault_nth(), 2);
  EXPECT_EQ(Op::fault(3, 2, 5).fault_count(), 5);
  EXPECT_EQ(Op::bad_free(1, BadKind::stack, 9, 10).bad_kind(), BadKind::stack);
}

TEST(Program, MalformedTextIsAClearError) {
  const std::string cfg =
      "config HAKMEM_POOL_V2_ENABLED=1 HAKMEM_POOL_V2_CLASSES=0x03 HAKMEM_POOL_V2_STATS=0\n";
  for (const std::string& bad :
       {std::string(""), std::string("alloc sel=1 n=2\n"),
        std::string("config HAKMEM_POOL_V2_CLASSES=0xC8\n"),
        std::string("config HAKMEM_POOL_V2_ENABLED=yes\n"), std::string("config HAKMEM_NOPE=1\n"),
        std::string("config HAKMEM_POOL_V2_STATS=1 HAKMEM_POOL_V2_STATS=0\n"), cfg + "free\n",
        cfg + "bogus\n", cfg + "free block=999\n", cfg + "check extra\n",
        cfg + "refresh HAKMEM_POOL_V2_ENABLED=2\n", cfg + "exit\n", cfg + cfg}) {
    try {
      parse_text(bad);
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("trace"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace hakfuzz
