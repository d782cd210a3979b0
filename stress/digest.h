// A 64-bit running hash of everything a workload observed. Order matters:
// two runs agree only if they saw the same values in the same sequence.
#pragma once
#include <cstdint>

#include "stress/rng.h"

namespace hakfuzz::stress {

class Digest {
 public:
  void add(std::uint64_t v) { h_ = mix64(h_ ^ mix64(v + 0x9E3779B97F4A7C15ull)); }
  // A tag per record kind keeps ("alloc", 5) apart from ("free", 5).
  void add(char tag, std::uint64_t v) {
    add(static_cast<std::uint64_t>(tag));
    add(v);
  }
  std::uint64_t value() const { return h_; }

 private:
  std::uint64_t h_ = 0x6A09E667F3BCC908ull;
};

}  // namespace hakfuzz::stress
