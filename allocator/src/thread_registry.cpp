// The flavour's thread slots (thread_registry.h): a slot per live thread,
// recycled from a free list, and the listeners (every live pool of the
// flavour) told when a slot's thread exits. The registry is leaked so that
// exits after static destruction still find it.
#include "thread_registry.h"

#include <algorithm>
#include <mutex>
#include <vector>

#include "sched_point.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

namespace {

struct Registry {
  HAKMEM_POOL_MUTEX(registry_lock) mutex;
  std::vector<std::uint32_t> free_slots;
  std::uint32_t next_slot = 0;
  std::vector<ThreadExitListener*> listeners;
};

// Leaked on purpose: thread_local destructors (the main thread's included)
// may run after static destructors.
Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

struct SlotOwner {
  std::uint32_t slot = kNoThreadSlot;
  void release() {
    if (slot == kNoThreadSlot) return;
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    for (ThreadExitListener* l : r.listeners) l->on_thread_exit(slot);
    r.free_slots.push_back(slot);
    slot = kNoThreadSlot;
    t_thread_slot_plus1 = 0;
  }
  ~SlotOwner() { release(); }
};
thread_local SlotOwner t_slot_owner;

}  // namespace

void release_current_thread() { t_slot_owner.release(); }

std::uint32_t register_current_thread() {
  Registry& r = registry();
  std::uint32_t slot;
  {
    std::lock_guard lock(r.mutex);
    if (!r.free_slots.empty()) {
      slot = r.free_slots.back();
      r.free_slots.pop_back();
    } else if (r.next_slot < kMaxThreadSlots) {
      slot = r.next_slot++;
    } else {
      return kNoThreadSlot;
    }
  }
  t_slot_owner.slot = slot;
  t_thread_slot_plus1 = slot + 1;
  return slot;
}

bool thread_slot_live(std::uint32_t slot) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return slot < r.next_slot && std::ranges::find(r.free_slots, slot) == r.free_slots.end();
}

void lock_registry_for_fork() { registry().mutex.lock(); }
void unlock_registry_after_fork() { registry().mutex.unlock(); }

void add_thread_exit_listener(ThreadExitListener* l) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.listeners.push_back(l);
}

void remove_thread_exit_listener(ThreadExitListener* l) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::erase(r.listeners, l);
}

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
