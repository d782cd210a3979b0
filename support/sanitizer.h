// Which sanitizer this translation unit is built with. g++ spells it
// __SANITIZE_ADDRESS__ / __SANITIZE_THREAD__, clang __has_feature(...); every
// layer asks here instead of repeating the test.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define SUPPORT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SUPPORT_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define SUPPORT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SUPPORT_TSAN 1
#endif
#endif

#ifdef SUPPORT_TSAN
extern "C" {
void __tsan_acquire(void* addr);
void __tsan_release(void* addr);
}
#endif

namespace support {
#ifdef SUPPORT_ASAN
inline constexpr bool kAsanBuild = true;
#else
inline constexpr bool kAsanBuild = false;
#endif
#ifdef SUPPORT_TSAN
inline constexpr bool kTsanBuild = true;
#else
inline constexpr bool kTsanBuild = false;
#endif
inline constexpr bool kSanitizedBuild = kAsanBuild || kTsanBuild;

// A happens-before edge that only TSan sees: for a hand-off that is relaxed
// on purpose (so that it adds no ordering of its own) but must still order
// what the program it runs would order itself. No code outside TSan.
inline void tsan_release(void* sync) {
#ifdef SUPPORT_TSAN
  __tsan_release(sync);
#else
  (void)sync;
#endif
}
inline void tsan_acquire(void* sync) {
#ifdef SUPPORT_TSAN
  __tsan_acquire(sync);
#else
  (void)sync;
#endif
}
}  // namespace support
