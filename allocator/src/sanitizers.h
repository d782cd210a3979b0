// Sanitizer hooks, no-ops in plain builds. Freed and not-yet-handed-out pool
// memory is poisoned so ASan reports any touch of it inside our arena (the
// pool's metadata lives out of line, so the allocator itself never reads a
// poisoned block). Which sanitizer is on comes from support/sanitizer.h.
#pragma once
#include <cstddef>

#include "support/sanitizer.h"

#ifdef SUPPORT_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace hakmem::detail {
inline void poison(const void* p, std::size_t n) {
#ifdef SUPPORT_ASAN
  __asan_poison_memory_region(p, n);
#else
  (void)p, (void)n;
#endif
}
inline void unpoison(const void* p, std::size_t n) {
#ifdef SUPPORT_ASAN
  __asan_unpoison_memory_region(p, n);
#else
  (void)p, (void)n;
#endif
}
}  // namespace hakmem::detail
