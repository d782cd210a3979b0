// How often each schedule point (hakmem/sched_points.def) was reached over
// the explored interleavings, as `explore --point-coverage` prints it: a
// point no run reaches is a race the search never tried. Points only a
// planted bug's code passes (their doc starts "planted") are listed apart.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "explore/interleave.h"
#include "hakmem/sched.h"

namespace hakfuzz {

class PointCoverage {
 public:
  void add(const InterleaveResult& run);
  std::uint64_t count(int point) const { return counts_[static_cast<std::size_t>(point)]; }
  // Points reached by no run, planted-only ones left out.
  int unreached() const;
  // One line per point ("  remote_free.claim  1234"), then the unreached.
  std::string report() const;

 private:
  std::array<std::uint64_t, hakmem::sched::kNumPoints> counts_{};
};

}  // namespace hakfuzz
