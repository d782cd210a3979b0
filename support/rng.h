// splitmix64: tiny, seedable and the same sequence on every platform, which
// is what makes a run replayable from its seed alone. The one generator of
// the project: the allocator's fault plans, the fuzz engines, the stress
// workers and the benchmark workloads all draw from it.
#pragma once
#include <cstdint>

namespace support {

constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class SplitMix64 {
 public:
  explicit constexpr SplitMix64(std::uint64_t seed = 0) : state_(seed) {}
  constexpr std::uint64_t next() { return mix64(state_ += 0x9E3779B97F4A7C15ull); }
  // Uniform enough for test mixes; the tiny modulo bias does not matter here.
  constexpr std::uint64_t below(std::uint64_t n) { return n ? next() % n : 0; }
  constexpr bool chance(std::uint64_t numerator, std::uint64_t denominator) {
    return below(denominator) < numerator;
  }
  constexpr std::uint64_t state() const { return state_; }

 private:
  std::uint64_t state_;
};

}  // namespace support
