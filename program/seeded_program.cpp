#include "program/seeded_program.h"

#include <iterator>
#include <vector>

#include "support/rng.h"

namespace hakfuzz {

namespace {

constexpr std::size_t kMaxLarge = 200 * 1024;
constexpr std::size_t kMinLive = 8;  // below this, always allocate

// Where off-by-one bugs live: 0, 1, each class size and one past it, and
// the large path's edges.
constexpr std::size_t kEdgeSizes[] = {0,    1,     8,     2048,  2049,  4096,  4097,  8192,
                                      8193, 16384, 16385, 32768, 32769, 40960, 40961, 53248};
constexpr std::size_t kLargeEdges[] = {53249, 65536, kMaxLarge};

// Every class evenly, 1/16 a class edge, 1/128 large (half of those an
// edge): the large path is the same in every config, and each large block
// costs an mmap, page faults and an munmap's TLB shootdown; 1/128 still
// takes it ~70 times in 20,000 ops.
std::size_t pick_size(support::SplitMix64& rng) {
  const std::uint64_t r = rng.below(128);
  if (r < 8) return kEdgeSizes[rng.below(std::size(kEdgeSizes))];
  if (r == 8)
    return rng.below(2) ? kLargeEdges[rng.below(std::size(kLargeEdges))]
                        : hakmem::kMaxClassSize + 1 + rng.below(kMaxLarge - hakmem::kMaxClassSize);
  const int c = static_cast<int>(rng.below(hakmem::kNumClasses));
  const std::size_t lo = c ? hakmem::kClassSizes[c - 1] + 1 : 1;
  return lo + rng.below(hakmem::kClassSizes[c] - lo + 1);
}

std::uint16_t u16(support::SplitMix64& rng) { return static_cast<std::uint16_t>(rng.next()); }

}  // namespace

// The ops depend on (seed, ops) only: every allocation succeeds (no fault is
// armed), so the live count the picks are drawn from is known here, and
// equivalent cells run the same ops whatever their config.
Program seeded_program(std::uint64_t seed, std::size_t ops, const hakmem::Config& config) {
  Program p;
  p.config = config;
  p.ops.reserve(ops);
  support::SplitMix64 rng(seed);
  std::size_t live = 0;
  for (std::size_t i = 0; i < ops; ++i) {
    if (i == ops / 2) {
      p.ops.push_back(Op::refresh(0, config));
      continue;
    }
    if (i % kSeededCheckEvery == kSeededCheckEvery - 1) {
      p.ops.push_back(Op::check());
      continue;
    }
    const std::uint64_t r = rng.below(100);
    if (live < kMinLive || (r < 45 && live < kSeededLiveCap)) {
      p.ops.push_back(Op::alloc_of_size(0, pick_size(rng)));
      ++live;
    } else if (r < 80 || live >= kSeededLiveCap) {
      p.ops.push_back(Op::free(0, static_cast<std::uint8_t>(rng.below(live--))));
    } else if (r < 88) {
      p.ops.push_back(Op::bad_free(0, BadKind::interior, u16(rng), u16(rng)));
    } else if (r < 95) {
      p.ops.push_back(Op::bad_free(0, BadKind::double_free, u16(rng), u16(rng)));
    } else {
      constexpr BadKind kForeign[] = {BadKind::stack, BadKind::unused_slab, BadKind::slab_header};
      const BadKind kind = kForeign[rng.below(std::size(kForeign))];
      p.ops.push_back(Op::bad_free(0, kind, u16(rng), u16(rng)));
    }
  }
  return p;
}

Program seeded_schedule_program(std::uint64_t seed, std::size_t ops, int threads,
                                const hakmem::Config& config) {
  Program p;
  p.config = config;
  p.threads = static_cast<std::uint8_t>(threads);
  support::SplitMix64 rng(seed);
  std::vector<int> classes;
  for (int c = 0; c < hakmem::kNumClasses; ++c)
    if ((config.v2_route_mask() >> c) & 1) classes.push_back(c);
  if (classes.empty())
    for (int c = 0; c < hakmem::kNumClasses; ++c) classes.push_back(c);
  std::size_t live = 0;
  const auto thread = [&] { return static_cast<int>(rng.below(static_cast<std::uint64_t>(threads))); };
  for (std::size_t i = 0; i + 1 < ops; ++i) {
    const std::uint64_t r = rng.below(100);
    if (live < 2 || (r < 50 && live < kSeededLiveCap)) {
      const int cls = classes[rng.below(classes.size())];
      p.ops.push_back(Op::alloc_of_size(thread(), hakmem::kClassSizes[cls]));
      ++live;
    } else if (r < 94) {
      p.ops.push_back(Op::free(thread(), static_cast<std::uint8_t>(rng.below(live--))));
    } else {
      p.ops.push_back(Op::exit(thread()));
    }
  }
  p.ops.push_back(Op::check());
  return p;
}

}  // namespace hakfuzz
