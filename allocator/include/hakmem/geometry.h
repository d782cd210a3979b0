// Size classes and slab geometry: which class a request lands in, and how a
// slab is cut into blocks of that class. Public so that a reference model
// cites these numbers instead of restating them; the allocator computes every
// block address and every page_of() verdict from them.
//
//   slab (kSlabSize bytes, aligned to kSlabSize):
//   | header: kSlabHeaderBytes | block 0 | block 1 | ... | block capacity-1 | tail |
//   ^ slab base                 ^ first block start          area_end ^
//
// A block start is base + kSlabHeaderBytes + k * block_size with k < capacity;
// an address below the first block or from area_end on is out_of_range, any
// other address in the block area misaligned.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace hakmem {

// ---------------------------------------------------------------- size classes
inline constexpr int kNumClasses = 7;  // POOL_NUM_CLASSES
inline constexpr std::array<std::size_t, kNumClasses> kClassSizes = {2048,  4096,  8192, 16384,
                                                                     32768, 40960, 53248};
inline constexpr std::size_t kMaxClassSize = kClassSizes[kNumClasses - 1];
// Requests above this fail with nullptr before touching the OS: no sane
// mid-size workload asks for a terabyte, and size arithmetic stays far from
// overflow.
inline constexpr std::size_t kMaxRequest = std::size_t{1} << 40;

namespace detail {
// Every class size is a multiple of 2 KiB, so one table entry per 2 KiB step
// replaces a search on the allocation path.
inline constexpr std::size_t kClassGranuleShift = 11;
inline constexpr auto kClassByGranule = [] {
  std::array<std::int8_t, (kMaxClassSize >> kClassGranuleShift) + 1> table{};
  for (std::size_t g = 0; g < table.size(); ++g) {
    int c = 0;
    while (kClassSizes[c] < (g << kClassGranuleShift)) ++c;
    table[g] = static_cast<std::int8_t>(c);
  }
  return table;
}();
static_assert([] {
  for (std::size_t s : kClassSizes)
    if (s % (std::size_t{1} << kClassGranuleShift)) return false;
  return true;
}());
}  // namespace detail

// Smallest class that fits `size` (0 counts as 1), or -1 above kMaxClassSize.
constexpr int size_class_of(std::size_t size) {
  if (size > kMaxClassSize) return -1;
  return detail::kClassByGranule[(size + (std::size_t{1} << detail::kClassGranuleShift) - 1) >>
                                 detail::kClassGranuleShift];
}

// ---------------------------------------------------------------- slabs
inline constexpr std::size_t kSlabShift = 18;
inline constexpr std::size_t kSlabSize = std::size_t{1} << kSlabShift;  // 256 KiB
inline constexpr std::uint32_t kSlabHeaderBytes = 64;                   // before the first block
inline constexpr std::uint32_t kMaxBlocksPerSlab = (kSlabSize - kSlabHeaderBytes) / kClassSizes[0];
static_assert(kMaxBlocksPerSlab < 255, "block indices are bytes");

// A thread's free cache holds about this many bytes per class, as 16 to
// kFreeCacheMax blocks (tcmalloc's thread caches hold a few MiB in all).
inline constexpr std::uint32_t kFreeCacheBytes = 256 * 1024;
inline constexpr std::uint32_t kFreeCacheMin = 16;
inline constexpr std::uint32_t kFreeCacheMax = 56;  // a thread's per-class state is then 256 bytes

struct ClassGeometry {
  std::uint32_t block_size;   // bytes per block (the class size; also the usable size)
  std::uint32_t capacity;     // blocks per slab
  std::uint32_t area_end;     // slab offset one past the last block
  std::uint64_t reciprocal;   // ceil(2^40 / block_size): exact division for offsets < 2^18
  std::uint32_t cache_limit;  // free-cache entries per thread: kFreeCacheBytes in blocks, clamped
};
consteval ClassGeometry make_geometry(int cls) {
  std::uint32_t bs = static_cast<std::uint32_t>(kClassSizes[cls]);
  std::uint32_t cap = static_cast<std::uint32_t>((kSlabSize - kSlabHeaderBytes) / bs);
  std::uint32_t limit = std::clamp<std::uint32_t>(kFreeCacheBytes / bs, kFreeCacheMin, kFreeCacheMax);
  return {bs, cap, kSlabHeaderBytes + cap * bs, ((std::uint64_t{1} << 40) + bs - 1) / bs, limit};
}
inline constexpr std::array<ClassGeometry, kNumClasses> kGeometry = {
    make_geometry(0), make_geometry(1), make_geometry(2), make_geometry(3),
    make_geometry(4), make_geometry(5), make_geometry(6)};

}  // namespace hakmem
