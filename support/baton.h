// Sleeping on a baton word. A baton that must add no happens-before of its
// own under ThreadSanitizer cannot sleep in std::atomic::wait: libstdc++'s
// wait and notify meet in a shared table of waiter counts and versions whose
// seq_cst read-modify-writes TSan sees as synchronisation, so whether a
// hand-off synchronised would depend on whether the waiter happened to
// sleep (it hid a planted race in about one run in six). Under TSan the
// word is slept on with the futex system call itself, which TSan does not
// see; elsewhere std::atomic::wait, which skips the wake-up call when no one
// sleeps.
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>

#include "support/sanitizer.h"

#ifdef SUPPORT_TSAN
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace support {

// A baton hand-off's orders: release/acquire, so that the next holder sees
// everything the last one did; relaxed under TSan, where a hand-off must
// add no happens-before of its own (it would hide the allocator's races),
// and the harness orders its own fields by other means.
inline constexpr std::memory_order kBatonPost =
    kTsanBuild ? std::memory_order_relaxed : std::memory_order_release;
inline constexpr std::memory_order kBatonTake =
    kTsanBuild ? std::memory_order_relaxed : std::memory_order_acquire;

template <class T>
void baton_wait(const std::atomic<T>& word, T seen, std::memory_order order) {
  static_assert(sizeof(T) == sizeof(std::uint32_t) && std::atomic<T>::is_always_lock_free);
#ifdef SUPPORT_TSAN
  (void)order;
  syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE,
          std::bit_cast<std::uint32_t>(seen), nullptr, nullptr, 0);
#else
  word.wait(seen, order);
#endif
}

template <class T>
void baton_wake(std::atomic<T>& word) {
#ifdef SUPPORT_TSAN
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
#else
  word.notify_one();
#endif
}

}  // namespace support
