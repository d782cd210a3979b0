// Request sizes a stress worker draws: which classes, and how often the
// large path (one OS mapping per block, so slow) is taken.
#pragma once
#include <cstddef>
#include <optional>
#include <string_view>

#include "hakmem/types.h"
#include "stress/canary.h"
#include "support/rng.h"

namespace hakfuzz::stress {

enum class SizeMix : std::uint8_t {
  mixed,  // every class evenly, 1/16 large
  mid,    // every class evenly, never large
  small,  // the two smallest classes (2 and 4 KiB): many blocks per page
  large,  // large path only (above 52 KiB, up to +64 KiB)
};

inline const char* size_mix_name(SizeMix m) {
  constexpr const char* names[] = {"mixed", "mid", "small", "large"};
  return names[static_cast<int>(m)];
}
inline std::optional<SizeMix> parse_size_mix(std::string_view s) {
  for (SizeMix m : {SizeMix::mixed, SizeMix::mid, SizeMix::small, SizeMix::large})
    if (s == size_mix_name(m)) return m;
  return std::nullopt;
}

inline std::size_t draw_size(SizeMix mix, support::SplitMix64& rng) {
  auto large = [&] { return hakmem::kMaxClassSize + 1 + rng.below(64 * 1024); };
  auto in_class = [&](int c) {
    std::size_t lo = c ? hakmem::kClassSizes[c - 1] + 1 : kMinCanarySize;
    return lo + rng.below(hakmem::kClassSizes[c] - lo + 1);
  };
  switch (mix) {
    case SizeMix::mixed:
      if (rng.below(16) == 0) return large();
      return in_class(static_cast<int>(rng.below(hakmem::kNumClasses)));
    case SizeMix::mid:
      return in_class(static_cast<int>(rng.below(hakmem::kNumClasses)));
    case SizeMix::small:
      return in_class(static_cast<int>(rng.below(2)));
    case SizeMix::large:
      return large();
  }
  return kMinCanarySize;
}

}  // namespace hakfuzz::stress
