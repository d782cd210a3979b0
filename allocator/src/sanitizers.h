// Sanitizer hooks, no-ops in plain builds. Freed and not-yet-handed-out pool
// memory is poisoned so ASan reports any touch of it inside our arena (the
// pool's metadata lives out of line, so the allocator itself never reads a
// poisoned block).
#pragma once
#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define HAKMEM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAKMEM_ASAN 1
#endif
#endif

#ifdef HAKMEM_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace hakmem::detail {
inline void poison(const void* p, std::size_t n) {
#ifdef HAKMEM_ASAN
  __asan_poison_memory_region(p, n);
#else
  (void)p, (void)n;
#endif
}
inline void unpoison(const void* p, std::size_t n) {
#ifdef HAKMEM_ASAN
  __asan_unpoison_memory_region(p, n);
#else
  (void)p, (void)n;
#endif
}
inline constexpr bool kAsanBuild =
#ifdef HAKMEM_ASAN
    true;
#else
    false;
#endif
}  // namespace hakmem::detail
