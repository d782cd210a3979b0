// Thread slots, one registry per flavour. Each thread that touches any pool
// of the flavour gets a small integer slot (recycled after it exits); pools
// index their per-thread contexts by it. When a thread exits, every live pool
// of the flavour hears about it and orphans that thread's v2 pages so other
// threads can adopt them.
//
// Per flavour rather than per process: in the tester's flavour the
// registry's lock is a schedule point a controller must see, and a lock
// shared with the production flavours would be one it cannot model. The
// production flavours each hold the same code.
#pragma once
#include <cstdint>

#include "flavour.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

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
// What the calling thread's exit does (every listener told, the slot freed),
// the thread going on; its next pool call registers it anew. The exit itself
// runs this very function.
void release_current_thread();

inline std::uint32_t current_thread_slot() {
  std::uint32_t s = t_thread_slot_plus1;
  return s ? s - 1 : register_current_thread();
}
inline std::uint32_t current_thread_slot_if_registered() {
  std::uint32_t s = t_thread_slot_plus1;
  return s ? s - 1 : kNoThreadSlot;
}

// Whether a live thread holds `slot` (introspection: Pool::census).
bool thread_slot_live(std::uint32_t slot);

void add_thread_exit_listener(ThreadExitListener* l);
// fork(): the registry's lock, the outermost of a pool's locks (a thread's
// exit takes the others under it), taken and released (Pool::prepare_fork).
void lock_registry_for_fork();
void unlock_registry_after_fork();
void remove_thread_exit_listener(ThreadExitListener* l);

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
