// The sweep's seeded program: its ops depend only on (seed, ops), it keeps
// the mix it promises, and the runner runs it clean on every route.
#include <gtest/gtest.h>

#include "exec/run_program.h"
#include "program/seeded_program.h"

namespace hakfuzz {
namespace {

hakmem::Config config_of(std::uint32_t enabled, std::uint32_t classes, std::uint32_t stats) {
  hakmem::Config c;
  c.v2_enabled = enabled;
  c.v2_classes = classes;
  c.v2_stats = stats;
  return c;
}

TEST(SeededProgram, OpsDependOnlyOnSeedAndCount) {
  const Program a = seeded_program(7, 5000, config_of(0, 0x7F, 0));
  const Program b = seeded_program(7, 5000, config_of(1, 0x15, 1));
  ASSERT_EQ(a.ops.size(), 5000u);
  ASSERT_EQ(b.ops.size(), 5000u);
  for (std::size_t i = 0; i < a.ops.size(); ++i) {
    ASSERT_EQ(a.ops[i].code(), b.ops[i].code()) << "op " << i;
    if (a.ops[i].code() != OpCode::refresh) {
      ASSERT_EQ(a.ops[i], b.ops[i]) << "op " << i;
    }
  }
  EXPECT_EQ(b.ops[2500].code(), OpCode::refresh);
  EXPECT_EQ(b.ops[2500].refresh_config(), b.config);
  EXPECT_EQ(a.ops[999].code(), OpCode::check);
  EXPECT_NE(seeded_program(8, 5000, a.config).ops, a.ops);
}

TEST(SeededProgram, KeepsItsMix) {
  const Program p = seeded_program(1, 20000, config_of(1, 0x7F, 0));
  std::size_t allocs = 0, frees = 0, large = 0, bad[kNumBadKinds] = {};
  for (const Op& op : p.ops) {
    allocs += op.code() == OpCode::alloc;
    frees += op.code() == OpCode::free;
    large += op.code() == OpCode::alloc && op.alloc_size() > hakmem::kMaxClassSize;
    if (op.code() == OpCode::bad_free) ++bad[static_cast<int>(op.bad_kind())];
  }
  EXPECT_NEAR(allocs / 20000.0, 0.45, 0.05);
  EXPECT_NEAR(frees / 20000.0, 0.40, 0.05);  // 35% plus the frees the live cap forces
  EXPECT_GT(large, 40u);                     // 1/128 of the allocations
  for (std::size_t n : bad) EXPECT_GT(n, 100u);
}

TEST(SeededProgram, RunsCleanOnBothFlavoursWithEqualDigests) {
  for (const hakmem::Config& c : {config_of(0, 0x7F, 0), config_of(1, 0x7F, 1), config_of(1, 0x22, 0)}) {
    const Program p = seeded_program(3, 6000, c);
    const RunResult on = run_program(p, {.flavour = Flavour::stats_on, .max_ops = p.ops.size()});
    const RunResult off = run_program(p, {.flavour = Flavour::stats_off, .max_ops = p.ops.size()});
    ASSERT_FALSE(on.finding) << on.finding->describe();
    ASSERT_FALSE(off.finding) << off.finding->describe();
    EXPECT_EQ(on.digest, off.digest);
    EXPECT_GT(on.tally.large_allocs, 0u);
    EXPECT_GT(on.tally.rejected, 0u);
    if (c.v2_enabled)
      for (int cls = 0; cls < hakmem::kNumClasses; ++cls)
        if ((c.v2_classes >> cls) & 1) {
          EXPECT_GT(on.tally.v2_local[cls], 0u) << "class " << cls;
        }
  }
}

}  // namespace
}  // namespace hakfuzz
