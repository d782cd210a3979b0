// Process-wide thread slots. Each thread that touches any pool gets a small
// integer slot (recycled after it exits); pools index their per-thread
// contexts by it. When a thread exits, every live pool hears about it and
// orphans that thread's v2 pages so other threads can adopt them.
#pragma once
#include <cstdint>

namespace hakmem::detail {

inline constexpr std::uint32_t kMaxThreadSlots = 1024;
inline constexpr std::uint32_t kNoThreadSlot = UINT32_MAX;

class ThreadExitListener {
 public:
  // Runs on the exiting thread, under the registry lock.
  virtual void on_thread_exit(std::uint32_t slot) = 0;

 protected:
  ~ThreadExitListener() = default;
};

// Slot + 1 of the calling thread, 0 before registration. Constant-initialised,
// so reading it costs one TLS load, no init guard.
inline thread_local std::uint32_t t_thread_slot_plus1 = 0;

std::uint32_t register_current_thread();  // kNoThreadSlot when all are taken

inline std::uint32_t current_thread_slot() {
  std::uint32_t s = t_thread_slot_plus1;
  return s ? s - 1 : register_current_thread();
}
inline std::uint32_t current_thread_slot_if_registered() {
  std::uint32_t s = t_thread_slot_plus1;
  return s ? s - 1 : kNoThreadSlot;
}

void add_thread_exit_listener(ThreadExitListener* l);
void remove_thread_exit_listener(ThreadExitListener* l);

}  // namespace hakmem::detail
