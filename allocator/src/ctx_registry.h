// A pool's thread contexts: one per thread slot (thread_registry.h) while the
// thread lives, recycled through an idle list after it exits. Contexts are
// never freed before the pool, so a stale owner pointer stays valid.
//
// Invariants: by_slot[s] is the context of the live thread holding slot s,
// or null; a context is bound to at most one slot, and ctx->slot names it
// (kNoThreadSlot while idle); an idle context owns no pages.
//
// Outline: find (lock-free lookup) - acquire (bind an idle or new context to
// a slot) - release (unbind on thread exit; the pool has taken its pages) -
// for_each (snapshots and the invariant walk, under the mutex).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "flavour.h"
#include "sched_point.h"
#include "thread_ctx.h"
#include "thread_registry.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

class CtxRegistry {
 public:
  // The context bound to `slot`, or nullptr.
  ThreadCtx* find(std::uint32_t slot) const {
    ThreadCtx* ctx = HAKMEM_LOAD(context_slot, &by_slot_[slot], 0, by_slot_[slot], std::memory_order_relaxed);
    HAKMEM_SCHED_RESULT(context_slot, ctx != nullptr);
    return ctx;
  }
  // Binds an idle (or new) context to `slot`, which has none.
  ThreadCtx* acquire(std::uint32_t slot);
  // Unbinds slot's context (its thread exited, its pages are gone) and parks it.
  void release(std::uint32_t slot);

  // f(const ThreadCtx&) for every context ever made, bound or idle.
  template <class F>
  void for_each(F&& f) const {
    std::lock_guard lock(mutex_);
    for (const auto& ctx : all_) f(*ctx);
  }

  // fork(): the registry's lock, taken and released (Pool::prepare_fork).
  void lock_for_fork() { mutex_.lock(); }
  void unlock_after_fork() { mutex_.unlock(); }

 private:
  std::atomic<ThreadCtx*> by_slot_[kMaxThreadSlots] = {};
  mutable HAKMEM_POOL_MUTEX(contexts_lock) mutex_;
  std::vector<std::unique_ptr<ThreadCtx>> all_;  // under mutex_
  std::vector<ThreadCtx*> idle_;                 // under mutex_: reusable after their thread exited
};

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
