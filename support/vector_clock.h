// A vector clock over logical threads (Lamport's happens-before as
// Fidge/Mattern clocks): entry t counts the events of thread t that
// happened before. Header-only, as the rest of support/.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace support {

class VectorClock {
 public:
  std::uint32_t at(int thread) const {
    return static_cast<std::size_t>(thread) < c_.size() ? c_[static_cast<std::size_t>(thread)] : 0;
  }
  void tick(int thread) {
    const auto t = static_cast<std::size_t>(thread);
    if (c_.size() <= t) c_.resize(t + 1, 0);
    ++c_[t];
  }
  void join(const VectorClock& other) {
    if (c_.size() < other.c_.size()) c_.resize(other.c_.size(), 0);
    for (std::size_t i = 0; i < other.c_.size(); ++i) c_[i] = std::max(c_[i], other.c_[i]);
  }
  std::string text() const {  // "[3 0 5]"
    std::string out = "[";
    for (std::size_t i = 0; i < c_.size(); ++i) out += (i ? " " : "") + std::to_string(c_[i]);
    return out + "]";
  }

 private:
  std::vector<std::uint32_t> c_;
};

}  // namespace support
