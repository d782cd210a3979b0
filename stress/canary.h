// Block canaries any thread can verify without shared state: the head word
// names the block (owner, id, size), the second word carries a caller's value
// (the stress driver keeps the usable size there, for byte accounting), the
// tail word hashes both and one pattern word per 4 KiB hashes the head. The id carries the block's generation
// (the round it was born in) in its top bits, so a stale block from an earlier round never matches a fresh
// one.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "support/rng.h"

namespace hakfuzz::stress {

inline constexpr std::size_t kMinCanarySize = 24;
inline constexpr std::size_t kPatternStride = 4096;

inline std::uint64_t canary_head(int owner, std::uint64_t id, std::size_t size) {
  return (static_cast<std::uint64_t>(owner) << 56) | (id & 0xFFFFFFFFull) << 24 | (size & 0xFFFFFF);
}
inline std::size_t canary_size(std::uint64_t head) { return head & 0xFFFFFF; }
inline int canary_owner(std::uint64_t head) { return static_cast<int>(head >> 56); }
inline std::uint64_t canary_id(std::uint64_t head) { return (head >> 24) & 0xFFFFFFFFull; }

inline std::uint64_t read_word(const void* p, std::size_t offset) {
  std::uint64_t w;
  std::memcpy(&w, static_cast<const char*>(p) + offset, 8);
  return w;
}
inline void write_word(void* p, std::size_t offset, std::uint64_t w) {
  std::memcpy(static_cast<char*>(p) + offset, &w, 8);
}

// `size` must be at least kMinCanarySize.
inline void put_canary(void* p, std::uint64_t head, std::size_t size, std::uint64_t aux = 0) {
  write_word(p, 0, head);
  write_word(p, 8, aux);
  for (std::size_t off = kPatternStride; off + 16 <= size; off += kPatternStride)
    write_word(p, off, support::mix64(head + off));
  write_word(p, size - 8, support::mix64(head ^ aux));
}

inline std::uint64_t canary_head_of(const void* p) { return read_word(p, 0); }
inline std::uint64_t canary_aux_of(const void* p) { return read_word(p, 8); }

// The block's size as written in its canary, or 0 when the canary is broken.
inline std::size_t check_canary(const void* p) {
  const std::uint64_t head = read_word(p, 0);
  const std::size_t size = canary_size(head);
  if (size < kMinCanarySize) return 0;
  for (std::size_t off = kPatternStride; off + 16 <= size; off += kPatternStride)
    if (read_word(p, off) != support::mix64(head + off)) return 0;
  return read_word(p, size - 8) == support::mix64(head ^ read_word(p, 8)) ? size : 0;
}

}  // namespace hakfuzz::stress
