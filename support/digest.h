// A behaviour digest: a running FNV-1a hash over every value a run observed,
// in order. Two runs agree only if they saw the same values in the same
// sequence; what goes in must never depend on OS addresses, thread ids or
// timing (offsets from the arena base, sequence numbers, outcomes).
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace support {

class Digest {
 public:
  void mix(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) h_ = (h_ ^ ((v >> (8 * i)) & 0xFF)) * 0x100000001b3ull;
  }
  std::uint64_t value() const { return h_; }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ull;
};

inline std::string hex64(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace support
