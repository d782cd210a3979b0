#include "fuzz/seeded_program.h"

#include <iterator>
#include <vector>

#include "support/rng.h"

namespace hakfuzz {

namespace {

constexpr std::size_t kMaxLarge = 200 * 1024;
constexpr std::size_t kMinLive = 8;        // below this, always allocate
constexpr std::size_t kLargeLiveCap = 16;  // large blocks live at once before the tail
constexpr std::size_t kTailFraction = 4;   // the last quarter of the ops is the tail

// Where off-by-one bugs live: 0, 1, each class size and one past it, large.
constexpr std::size_t kEdgeSizes[] = {0,     1,     8,     2048,  2049,  4096,  4097,  8192,  8193,     16384,
                                      16385, 32768, 32769, 40960, 40961, 53248, 53249, 65536, kMaxLarge};

std::size_t class_size(support::SplitMix64& rng) {
  const int c = static_cast<int>(rng.below(hakmem::kNumClasses));
  const std::size_t lo = c ? hakmem::kClassSizes[c - 1] + 1 : 1;
  return lo + rng.below(hakmem::kClassSizes[c] - lo + 1);
}

std::size_t pick_size(support::SplitMix64& rng, bool large_ok) {
  std::size_t size;
  switch (rng.below(16)) {
    case 0:
      size = kEdgeSizes[rng.below(std::size(kEdgeSizes))];
      break;
    case 1:
      size = hakmem::kMaxClassSize + 1 + rng.below(kMaxLarge - hakmem::kMaxClassSize);
      break;
    default:
      return class_size(rng);
  }
  return size <= hakmem::kMaxClassSize || large_ok ? size : class_size(rng);
}

std::uint16_t u16(support::SplitMix64& rng) { return static_cast<std::uint16_t>(rng.next()); }

// The runner's live blocks in its order (allocation order, a free erases
// the k-th), each marked large or not: every allocation succeeds, as no
// fault is ever armed.
class LiveShadow {
 public:
  std::size_t size() const { return large_.size(); }
  std::size_t large() const { return large_count_; }
  void alloc(std::size_t size) {
    large_.push_back(size > hakmem::kMaxClassSize);
    large_count_ += large_.back();
  }
  // The pick of a free op: any block, or one of the pool blocks.
  std::uint8_t pick(support::SplitMix64& rng, bool large_ok) {
    std::size_t k = rng.below(size());
    if (!large_ok) {
      // The n-th pool block.
      std::size_t n = rng.below(size() - large_count_);
      for (k = 0; large_[k] || n-- > 0;) ++k;
    }
    large_count_ -= large_[k];
    large_.erase(large_.begin() + static_cast<std::ptrdiff_t>(k));
    return static_cast<std::uint8_t>(k);
  }

 private:
  std::vector<bool> large_;
  std::size_t large_count_ = 0;
};

}  // namespace

// Determinism across cells: a double_free op aims at the k-th freed block
// (in id order) the runner still holds, and the runner drops a freed large
// block once the OS maps a new large block over it. Where mmap places a
// mapping depends on every thread of the process (the sweep runs cells side
// by side), so after a large free the freed list, and the block a double
// free hits, would differ between equivalent cells. Hence two parts: before
// the tail, double frees and no large free (at most kLargeLiveCap large
// blocks live); in the tail, large blocks churn and no double free.
Program seeded_program(std::uint64_t seed, std::size_t ops, const hakmem::Config& config) {
  Program p;
  p.config = config;
  p.ops.reserve(ops);
  support::SplitMix64 rng(seed);
  const std::size_t tail = ops - ops / kTailFraction;
  LiveShadow live;
  for (std::size_t i = 0; i < ops; ++i) {
    if (i == ops / 2) {
      p.ops.push_back(Op::refresh(0, config));
      continue;
    }
    if (i % kSeededCheckEvery == kSeededCheckEvery - 1) {
      p.ops.push_back(Op::check());
      continue;
    }
    const bool in_tail = i >= tail;
    const std::uint64_t r = rng.below(100);
    const bool pool_block_live = live.size() > live.large();
    if (live.size() < kMinLive || (r < 45 && live.size() < kSeededLiveCap) ||
        (!in_tail && !pool_block_live)) {
      const std::size_t size = pick_size(rng, in_tail || live.large() < kLargeLiveCap);
      p.ops.push_back(Op::alloc_of_size(0, size));
      live.alloc(size);
    } else if (r < 80 || live.size() >= kSeededLiveCap) {
      p.ops.push_back(Op::free(0, live.pick(rng, in_tail)));
    } else if (r < 88 || (r < 95 && in_tail)) {
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

}  // namespace hakfuzz
