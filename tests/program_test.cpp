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

// `free same=N` names the block op N allocates or frees; in the binary it is
// a double-free bad_free whose pick has the top bit set, so the inputs
// written before it decode as they did.
TEST(Program, ARacingFreeNamesAnOpAndKeepsOldInputsMeaning) {
  const Program p = parse_text(
      "config HAKMEM_POOL_V2_ENABLED=1 HAKMEM_POOL_V2_CLASSES=0x7F HAKMEM_POOL_V2_STATS=0 threads=2\n"
      "t0 alloc sel=2 n=4096\nt0 free block=0\nt1 free same=1\nt1 bad_free double_free block=0 off=0\n");
  ASSERT_EQ(p.ops.size(), 4u);
  EXPECT_EQ(p.ops[2].code(), OpCode::free);
  EXPECT_EQ(p.ops[2].same_as(), std::optional<std::size_t>(1));
  EXPECT_FALSE(p.ops[1].same_as());
  EXPECT_EQ(p.ops[3].code(), OpCode::bad_free);
  EXPECT_EQ(decode(encode(p), true), p);
  EXPECT_NE(to_text(p).find("t1 free same=1\n"), std::string::npos) << to_text(p);
  const std::vector<std::uint8_t> bytes = encode(p);
  const std::vector<std::uint8_t> plain = encode(Program{p.config, p.threads, {p.ops[3]}});
  // The racing free's five operand bytes: kind double_free, then the flagged op index.
  const std::size_t header = plain.size() - 6;
  const std::size_t racing = header + 4 + 2;  // after alloc (1 + 3) and free (1 + 1)
  EXPECT_EQ(bytes[racing] % kNumOpCodes, static_cast<int>(OpCode::bad_free));
  EXPECT_EQ(bytes[racing + 1] % kNumBadKinds, static_cast<int>(BadKind::double_free));
  EXPECT_EQ(bytes[racing + 2] | bytes[racing + 3] << 8, 0x8001);
  EXPECT_THROW(parse_text("config HAKMEM_POOL_V2_ENABLED=1 threads=2\nt0 free same=x\n"),
               std::invalid_argument);
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
