// Shared helpers: typed tests over every allocator flavour, pools built from
// an in-memory environment.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "hakmem/variants.h"

// Defined in ASan builds (gcc spells it __SANITIZE_ADDRESS__, clang __has_feature).
#if defined(__SANITIZE_ADDRESS__)
#define HAKFUZZ_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAKFUZZ_TEST_ASAN 1
#endif
#endif

namespace hakmem::testing {

// Up to max_len random bytes: an input to decode as a program.
inline std::vector<std::uint8_t> random_bytes(std::mt19937_64& rng, std::size_t max_len) {
  std::vector<std::uint8_t> out(rng() % (max_len + 1));
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

using Env = std::vector<std::pair<std::string, std::string>>;

inline PoolOptions options_with(Env env, FaultPlan faults = {}) {
  PoolOptions o;
  o.env = map_env(std::move(env));
  o.arena_bytes = std::size_t{256} << 20;
  o.faults = faults;
  o.report = stderr;
  return o;
}

// v2 on for every class, rejections silent (tests assert on the outcome).
inline Env v2_env(const std::string& classes = "0x7F") {
  return {{"HAKMEM_POOL_V2_ENABLED", "1"},
          {"HAKMEM_POOL_V2_CLASSES", classes},
          {"HAKMEM_POOL_INVALID_FREE", "quiet"}};
}
inline Env v1_env() { return {{"HAKMEM_POOL_INVALID_FREE", "quiet"}}; }

template <class P>
std::uint64_t count(const P& pool, int row, V2Stat s) {
  return pool.stats().get(row, s);
}

// Every flavour: the tester's runs the same tests with its points compiled in
// and no controller installed.
using AllFlavours = ::testing::Types<PoolStatsOff, PoolStatsOn, PoolTester>;

// Sums over the pool's snapshots that only tests take.
inline std::uint32_t live(const SlabCensus& s) { return s.used - s.cached - s.remote_pending; }
inline std::uint64_t total(const StatsSnapshot& s, V2Stat stat) {
  std::uint64_t sum = 0;
  for (const auto& row : s.rows) sum += row[static_cast<int>(stat)];
  return sum;
}

}  // namespace hakmem::testing
