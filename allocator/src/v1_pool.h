// Pool v1: the default route. One mutex per class guards a queue of slabs
// with free blocks (partial) and one of exhausted slabs (full). v1 is also
// where every free lands that v2 did not take (free.cpp hands v2 blocks of an
// old route back to v2 first): it frees its own blocks and rejects everything
// else by name, state untouched.
//
// Invariants: a v1 page is on its class's partial queue exactly when it has a
// free block, else on its full queue; v1 never holds a v2 page.
//
// Outline: V1Pool::alloc -> V1Class::alloc (partial head, else a new slab);
// V1Pool::free (not ours / bad geometry / a v2 page: rejected) ->
// V1Class::free (double free rejected, else back on the page).
#pragma once

#include <mutex>

#include "arena.h"
#include "flavour.h"
#include "page.h"
#include "sched_point.h"

namespace hakmem::HAKMEM_FLAVOUR_NS {

// One class's queues. The arena is passed in, not kept, so that no call pays
// a load for it.
struct V1Class {
  mutable HAKMEM_POOL_MUTEX(v1_lock) mutex;
  PageQueue partial, full;

  // A block of class `cls`; nullptr when no slab can be acquired.
  void* alloc(Arena& arena, int cls);
  // Frees loc's block: loc is a block start of a v1 page of this class.
  FreeOutcome free(Arena& arena, const Location& loc, FreeOutcome out);
};

class V1Pool {
 public:
#if HAKMEM_POOL_SCHED_POINTS
  V1Pool() {
    for (int c = 0; c < kNumClasses; ++c) classes_[c].mutex.arg = c;
  }
#endif
  void* alloc(Arena& arena, int cls) { return classes_[cls].alloc(arena, cls); }
  // Any pointer v2 did not take. By value: keeps the hot caller's copy in registers.
  FreeOutcome free(Arena& arena, Location loc, FreeOutcome out);

  // f(queue, list id) for class cls's queues, under its mutex.
  template <class F>
  void visit_queues(int cls, F&& f) const {
    const V1Class& c = classes_[cls];
    std::lock_guard lock(c.mutex);
    f(c.partial, PageList::v1_partial);
    f(c.full, PageList::v1_full);
  }

  // fork(): every class lock, taken in class order and released (Pool::prepare_fork).
  void lock_for_fork() {
    for (V1Class& c : classes_) c.mutex.lock();
  }
  void unlock_after_fork() {
    for (V1Class& c : classes_) c.mutex.unlock();
  }

 private:
  V1Class classes_[kNumClasses];
};

}  // namespace hakmem::HAKMEM_FLAVOUR_NS
